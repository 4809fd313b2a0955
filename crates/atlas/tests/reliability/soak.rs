//! A soak of mixed traffic against the real binary: no error, no file-descriptor
//! growth, RSS growth under 10 % after warm-up. One minute in CI;
//! `ATLAS_SOAK_SECS=600` (set by `make reliability`) for the full ten.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{BinApp, Endpoints};

/// `VmRSS` of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// Open descriptors other than the SQLite pool's (each pooled connection holds the
/// database and its WAL; the pool may still grow to `max_connections` after the
/// warm-up, which is bounded, not a leak).
fn open_fds(pid: u32) -> usize {
    fd_targets(pid)
        .iter()
        .filter(|t| !t.contains("atlas.db"))
        .count()
}

/// SQLite connections open: one descriptor on the database file each.
fn sqlite_connections(pid: u32) -> usize {
    fd_targets(pid)
        .iter()
        .filter(|t| t.ends_with("/atlas.db"))
        .count()
}

/// What each open descriptor points at (`socket:[…]`, a file path), sorted.
fn fd_targets(pid: u32) -> Vec<String> {
    let mut targets: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .map(|t| t.display().to_string())
        .collect();
    targets.sort();
    targets
}

/// One round of the mix; every answer must be the expected one. Each worker
/// creates and deletes a currency of its own (codes and numerics no seed uses).
async fn round(app: &Endpoints, worker: u8, errors: &AtomicU64) {
    let (code, numeric) = (
        format!("ZQ{}", (b'A' + worker) as char),
        format!("00{worker}"),
    );
    let gets = [
        ("/api/v1/countries/PT", 200),
        ("/api/v1/countries?limit=50", 200),
        ("/api/v1/currencies/EUR", 200),
        ("/api/v1/timezones/Europe/Lisbon", 200),
        ("/api/v1/places?q=lis", 200),
        ("/api/v1/time?lat=38.7&lon=-9.1", 200),
        ("/api/v1/countries/PT/flag?format=png&width=64", 200),
        ("/api/v1/countries/QQ", 404),
        ("/nope", 404),
    ];
    for (path, want) in gets {
        let got = app.get(path).await.status().as_u16();
        if got != want {
            eprintln!("soak: GET {path} → {got}, wanted {want}");
            errors.fetch_add(1, Ordering::Relaxed);
        }
    }
    let url = format!("{}/api/v1/currencies", app.api);
    let body = json!({"code": code, "numeric": numeric, "name": "Soak", "minor_units": 2});
    let created = app
        .http
        .post(&url)
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    let deleted = app
        .http
        .delete(format!("{url}/{code}"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    if (created, deleted) != (201, 204) {
        eprintln!("soak: create/delete {code} → {created}/{deleted}");
        errors.fetch_add(1, Ordering::Relaxed);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_soak_of_mixed_traffic_grows_neither_memory_nor_file_descriptors() {
    let _serial = crate::one_at_a_time().await;
    let secs: u64 = std::env::var("ATLAS_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    // Access lines off: the harness keeps every stdout line in memory.
    let app = BinApp::spawn(&[("LOG_LEVEL", "info,access=warn")]).await;
    app.wait_for_admin("/readyz", 200, Duration::from_secs(60))
        .await;
    let endpoints = Arc::new(Endpoints::new(
        app.api.trim_start_matches("http://"),
        app.admin.trim_start_matches("http://"),
    ));
    let (errors, rounds) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let run = |until: Instant| {
        (0..4u8)
            .map(|worker| {
                let (app, errors, rounds) = (endpoints.clone(), errors.clone(), rounds.clone());
                tokio::spawn(async move {
                    while Instant::now() < until {
                        rounds.fetch_add(1, Ordering::Relaxed);
                        round(&app, worker, &errors).await;
                    }
                })
            })
            .collect::<Vec<_>>()
    };
    // Warm-up: caches, pools and allocator arenas reach their working size.
    let warm = Duration::from_secs((secs / 6).clamp(5, 60));
    for t in run(Instant::now() + warm) {
        t.await.unwrap();
    }
    let (rss0, fds0) = (rss_kib(app.pid()), open_fds(app.pid()));
    let before = fd_targets(app.pid());
    let started = Instant::now();
    for t in run(started + Duration::from_secs(secs)) {
        t.await.unwrap();
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (rss1, fds1) = (rss_kib(app.pid()), open_fds(app.pid()));
    let growth = (rss1 as f64 - rss0 as f64) / rss0 as f64;
    println!(
        "soak: {secs} s, {} rounds ({} requests), {} errors; RSS {rss0} → {rss1} KiB ({:+.1} %); fds besides the SQLite pool {fds0} → {fds1}",
        rounds.load(Ordering::Relaxed),
        rounds.load(Ordering::Relaxed) * 11,
        errors.load(Ordering::Relaxed),
        growth * 100.0
    );
    assert_eq!(errors.load(Ordering::Relaxed), 0, "no error");
    assert!(growth < 0.10, "RSS grew {:.1} %", growth * 100.0);
    assert!(
        fds1 <= fds0 + 2,
        "fds {fds0} → {fds1}: before {before:?}, after {:?}",
        fd_targets(app.pid())
    );
    let connections = sqlite_connections(app.pid());
    assert!(
        connections <= 10,
        "{connections} SQLite connections open; the pool's default max_connections is 10"
    );
}
