//! PostgreSQL stopped for 5 s under mixed read/write load: once the outage is
//! known, requests fail fast with 503 + `Retry-After`; atlas recovers by itself
//! within 2 s of the database's return; every write acknowledged with a 2xx is in
//! the database afterwards.

use std::collections::BTreeSet;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::{Connection, PgConnection};

use crate::helpers::pg_cluster::PgCluster;
use crate::helpers::{base_env, run, Endpoints, TestApp};

/// One request of the load, relative to the start of the run.
#[derive(Debug, Clone)]
struct Sample {
    started: Duration,
    took: Duration,
    status: u16,
    retry_after: bool,
    /// The currency code a write created (for the durability check).
    wrote: Option<String>,
}

type Samples = Arc<Mutex<Vec<Sample>>>;

async fn reader(app: Arc<Endpoints>, t0: Instant, until: Instant, out: Samples) {
    while Instant::now() < until {
        let start = Instant::now();
        let res = app
            .http
            .get(format!("{}/api/v1/countries/PT", app.api))
            .send()
            .await;
        record(&out, t0, start, res, None);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn writer(
    app: Arc<Endpoints>,
    t0: Instant,
    until: Instant,
    codes: Vec<(String, String)>,
    out: Samples,
) {
    for (code, numeric) in codes {
        if Instant::now() >= until {
            return;
        }
        let start = Instant::now();
        let res = app
            .http
            .post(format!("{}/api/v1/currencies", app.api))
            .json(
                &json!({"code": code, "numeric": numeric, "name": "Outage test", "minor_units": 2}),
            )
            .send()
            .await;
        record(&out, t0, start, res, Some(code));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn record(
    out: &Samples,
    t0: Instant,
    start: Instant,
    res: reqwest::Result<reqwest::Response>,
    code: Option<String>,
) {
    let (status, retry_after) = match &res {
        Ok(r) => (r.status().as_u16(), r.headers().contains_key("retry-after")),
        Err(_) => (0, false),
    };
    let wrote = code.filter(|_| (200..300).contains(&status));
    out.lock().unwrap().push(Sample {
        started: start - t0,
        took: start.elapsed(),
        status,
        retry_after,
        wrote,
    });
}

/// Currency codes and numeric codes no seeded currency uses.
async fn fresh_codes(url: &str, n: usize) -> Vec<(String, String)> {
    let mut conn = PgConnection::connect(url).await.unwrap();
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT code, numeric_code FROM currencies")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    let taken: BTreeSet<String> = rows.into_iter().flat_map(|(c, n)| [c, n]).collect();
    let numerics = (0..1000)
        .map(|n| format!("{n:03}"))
        .filter(|n| !taken.contains(n));
    let letters = (b'A'..=b'Z')
        .flat_map(|a| (b'A'..=b'Z').map(move |b| format!("Q{}{}", a as char, b as char)))
        .filter(|c| !taken.contains(c));
    letters.zip(numerics).take(n).collect()
}

fn p99(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get((v.len() * 99 / 100).min(v.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_for_5s_fails_fast_recovers_and_keeps_every_acknowledged_write() {
    let _serial = crate::one_at_a_time().await;
    let cluster = PgCluster::start(&["start"]);
    let cluster_url = cluster.export("ATLAS_TEST_DATABASE_URL");
    let mut env = base_env();
    env.insert("DATABASE_URL".into(), cluster_url.clone());
    let (status, _, stderr, _) = run(&["migrate", "up"], &env);
    assert!(status.success(), "{stderr}");
    let app = TestApp::spawn(&[
        ("DATABASE_URL", &cluster_url),
        ("ATLAS_DATABASE__ACQUIRE_TIMEOUT", "1s"),
        ("ATLAS_HEALTH__CACHE_TTL", "0s"),
        ("ATLAS_SHUTDOWN__DRAIN_DELAY", "0s"),
    ])
    .await;
    let endpoints = Arc::new(Endpoints::new(
        app.api.trim_start_matches("http://"),
        app.admin.trim_start_matches("http://"),
    ));
    let codes = fresh_codes(&cluster_url, 600).await;

    let (t0, samples) = (Instant::now(), Samples::default());
    let until = t0 + Duration::from_secs(10);
    let mut load = Vec::new();
    for _ in 0..4 {
        load.push(tokio::spawn(reader(
            endpoints.clone(),
            t0,
            until,
            samples.clone(),
        )));
    }
    for chunk in codes.chunks(300) {
        load.push(tokio::spawn(writer(
            endpoints.clone(),
            t0,
            until,
            chunk.to_vec(),
            samples.clone(),
        )));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let down_at = t0.elapsed();
    cluster.control("pause");
    tokio::time::sleep(Duration::from_secs(5)).await;
    cluster.control("resume");
    let up_at = t0.elapsed();
    for task in load {
        task.await.unwrap();
    }
    let samples = samples.lock().unwrap().clone();
    verdict(&samples, down_at, up_at, &cluster_url).await;
    drop(app);
}

async fn verdict(samples: &[Sample], down_at: Duration, up_at: Duration, url: &str) {
    let bad: Vec<_> = samples
        .iter()
        .filter(|s| !((200..300).contains(&s.status) || s.status == 503 && s.retry_after))
        .collect();
    assert!(bad.is_empty(), "only 2xx or 503 + Retry-After: {bad:?}");

    // Known down: from the first 503 after the stop (plus the requests already
    // waiting then) to the restart.
    let first_503 = samples
        .iter()
        .filter(|s| s.status == 503 && s.started >= down_at)
        .map(|s| s.started + s.took)
        .min()
        .expect("the outage was noticed");
    let known: Vec<Duration> = samples
        .iter()
        .filter(|s| s.started > first_503 + Duration::from_millis(100) && s.started < up_at)
        .map(|s| s.took)
        .collect();
    let fast = p99(known.clone());
    let recovered = samples
        .iter()
        .filter(|s| s.started >= up_at && (200..300).contains(&s.status))
        .map(|s| s.started + s.took - up_at)
        .min()
        .expect("served again after the restart");

    let acknowledged: Vec<&String> = samples.iter().filter_map(|s| s.wrote.as_ref()).collect();
    let mut conn = PgConnection::connect(url).await.unwrap();
    let mut missing = Vec::new();
    for code in &acknowledged {
        let found: Option<(String,)> =
            sqlx::query_as("SELECT code FROM currencies WHERE code = $1")
                .bind(code.as_str())
                .fetch_optional(&mut conn)
                .await
                .unwrap();
        if found.is_none() {
            missing.push(code.to_string());
        }
    }
    println!(
        "outage: {} requests, {} during the known outage (p99 {:?}), noticed {:?} after the stop, \
         first 2xx {:?} after the restart, {} writes acknowledged, {} missing",
        samples.len(),
        known.len(),
        fast,
        first_503.saturating_sub(down_at),
        recovered,
        acknowledged.len(),
        missing.len()
    );
    assert!(
        known.len() > 20,
        "load kept running through the outage: {}",
        known.len()
    );
    assert!(fast < Duration::from_millis(50), "fail fast: p99 {fast:?}");
    assert!(
        recovered <= Duration::from_secs(2),
        "recovery took {recovered:?}"
    );
    assert!(missing.is_empty(), "acknowledged writes lost: {missing:?}");
}
