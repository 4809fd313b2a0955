//! Health groups (#13): the shared database is reported but does not gate
//! readiness, so an outage keeps the endpoints that need no database in traffic;
//! `health.checks.<name>.gates_readiness` changes that, and a typo in it fails
//! start-up.

use std::time::Duration;

use serde_json::Value;

use crate::db::TestDb;
use crate::helpers::{base_env, run, TestApp};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A TCP proxy to PostgreSQL that goes down the way a stopped server does: it stops
/// listening, so connects are refused, and open connections are cut.
struct Proxy {
    port: u16,
    want: watch::Sender<bool>,
    state: watch::Receiver<bool>,
}

impl Proxy {
    async fn start(target: String) -> Self {
        let first = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = first.local_addr().unwrap().port();
        let (want, mut wanted) = watch::channel(true);
        let (set_state, state) = watch::channel(true);
        let cut = wanted.clone();
        tokio::spawn(async move {
            let mut listener = Some(first);
            loop {
                let listening = listener.take().unwrap();
                set_state.send_replace(true);
                loop {
                    tokio::select! {
                        Ok((client, _)) = listening.accept() => {
                            tokio::spawn(pipe(client, target.clone(), cut.clone()));
                        }
                        _ = wanted.wait_for(|up| !*up) => break,
                    }
                }
                drop(listening);
                set_state.send_replace(false);
                if wanted.wait_for(|up| *up).await.is_err() {
                    return;
                }
                // Same port again; the OS allows it at once (SO_REUSEADDR).
                listener = Some(TcpListener::bind(("127.0.0.1", port)).await.unwrap());
            }
        });
        Self { port, want, state }
    }

    /// Go up or down, and return once the proxy has.
    async fn set_up(&mut self, up: bool) {
        self.want.send_replace(up);
        self.state.wait_for(|s| *s == up).await.unwrap();
    }
}

async fn pipe(mut client: TcpStream, target: String, mut wanted: watch::Receiver<bool>) {
    let Ok(mut server) = TcpStream::connect(&target).await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        _ = wanted.wait_for(|up| !*up) => {}
    }
}

/// `/readyz`'s status and body, once the database check has noticed `failing`.
async fn readyz_once_database_is(app: &TestApp, failing: bool) -> (u16, Value) {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let res = app.admin_get("/readyz").await;
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap();
        let db = body["checks"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["name"] == "database"))
            .cloned();
        if db.is_some_and(|db| (db["status"] == "fail") == failing) {
            return (status, body);
        }
        assert!(std::time::Instant::now() < deadline, "{body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// atlas on PostgreSQL through a proxy that can cut it off, ready to serve.
async fn app_behind_proxy(extra: &[(&str, &str)]) -> (TestApp, Proxy, TestDb) {
    let db = TestDb::new(crate::db::Backend::Postgres).await;
    let real = url::Url::parse(db.url.as_ref().unwrap()).unwrap();
    let proxy = Proxy::start(format!("127.0.0.1:{}", real.port().unwrap())).await;
    let mut via = real.clone();
    via.set_port(Some(proxy.port)).unwrap();
    let mut env = vec![
        ("DATABASE_URL", via.as_str()),
        ("ATLAS_HEALTH__CACHE_TTL", "0s"),
        ("ATLAS_DATABASE__ACQUIRE_TIMEOUT", "1s"),
        // Reads from the database: with the snapshot on, PT is served from memory
        // until a failed refresh drops it, a wait that depends on the machine's load.
        ("ATLAS_API__CACHE", "false"),
    ];
    env.extend_from_slice(extra);
    let app = TestApp::spawn(&env).await;
    app.wait_for_admin("/readyz", 200, Duration::from_secs(30))
        .await;
    (app, proxy, db)
}

#[tokio::test]
async fn a_database_outage_keeps_the_pod_ready_and_only_database_calls_answer_503() {
    let (app, mut proxy, _db) = app_behind_proxy(&[]).await;
    proxy.set_up(false).await;

    let res = app
        .get_until("/api/v1/countries/PT", 503, Duration::from_secs(5))
        .await;
    assert_eq!(res.status(), 503, "a call that needs the database");
    assert_eq!(res.headers()["retry-after"], "5");
    for path in [
        "/api/v1/timezones/Europe/Lisbon",
        "/api/v1/places?q=covilha",
        "/api/v1/places/covilha/time",
    ] {
        assert_eq!(
            app.get(path).await.status(),
            200,
            "{path} needs no database"
        );
    }
    let (status, body) = readyz_once_database_is(&app, true).await;
    assert_eq!(status, 200, "still in traffic: {body}");
    assert_eq!(body["status"], "ready", "{body}");
    assert_eq!(body["degraded"], serde_json::json!(["database"]), "{body}");
    let checks = body["checks"].as_array().unwrap();
    let gating = |name: &str| checks.iter().find(|c| c["name"] == name).unwrap()["gating"].clone();
    assert_eq!(gating("database"), false, "{body}");
    assert_eq!(gating("places"), true, "{body}");
    assert_eq!(gating("schema"), true, "{body}");

    let (_, metrics) = app.scrape().await;
    for line in [
        "health_ready 1",
        "health_check_status{check=\"database\"} 0",
        "health_check_gating{check=\"database\"} 0",
        "health_check_gating{check=\"places\"} 1",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in {metrics}");
    }

    proxy.set_up(true).await;
    let (status, body) = readyz_once_database_is(&app, false).await;
    assert_eq!((status, &body["degraded"]), (200, &serde_json::json!([])));
    assert_eq!(app.get("/api/v1/countries/PT").await.status(), 200);
}

#[tokio::test]
async fn with_the_database_set_to_gate_readiness_an_outage_turns_it_503() {
    let gate = ("ATLAS_HEALTH__CHECKS__DATABASE__GATES_READINESS", "true");
    let (app, mut proxy, _db) = app_behind_proxy(&[gate]).await;
    proxy.set_up(false).await;
    let (status, body) = readyz_once_database_is(&app, true).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "not_ready", "{body}");
    assert_eq!(body["degraded"], serde_json::json!([]), "{body}");
    assert_eq!(app.admin_status("/livez").await, 200, "liveness ignores it");
    proxy.set_up(true).await;
    app.wait_for_admin("/readyz", 200, Duration::from_secs(15))
        .await;
}

// Multi-threaded: the binary runs to completion while this thread waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_health_override_naming_no_check_exits_2_naming_the_key() {
    let mut env = base_env();
    env.insert(
        "ATLAS_HEALTH__CHECKS__DATABSE__GATES_READINESS".into(),
        "false".into(),
    );
    env.insert("ATLAS_MIGRATE__ON_START".into(), "false".into());
    env.insert("ATLAS_SHUTDOWN__DRAIN_DELAY".into(), "0s".into());
    let (status, _, stderr, _) = tokio::task::spawn_blocking(move || run(&[], &env))
        .await
        .unwrap();
    assert_eq!(status.code(), Some(2), "{stderr}");
    for needle in [
        "health.checks.databse",
        "`database`",
        "`places`",
        "`schema`",
    ] {
        assert!(stderr.contains(needle), "{needle} in {stderr}");
    }
}
