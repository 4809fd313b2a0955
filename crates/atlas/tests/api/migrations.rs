//! Migrations, schema-aware readiness, and surviving a database outage.

use std::time::Duration;

use sqlx::{Connection, Executor, PgConnection};
use tokio::net::{TcpListener, TcpStream};

use crate::db::TestDb;
use crate::helpers::{base_env, run, TempDir, TestApp};

/// How many migrations this binary ships.
fn known_migrations() -> usize {
    atlas::store::migration_count()
}

fn env_for(db: &TestDb, dir: &TempDir) -> std::collections::HashMap<String, String> {
    let mut env = base_env();
    match &db.url {
        Some(u) => env.insert("DATABASE_URL".into(), u.clone()),
        None => env.insert(
            "ATLAS_DATABASE__SQLITE_PATH".into(),
            dir.0.join("atlas.db").display().to_string(),
        ),
    };
    env
}

async fn up_down_status_round_trip(db: TestDb) {
    let all = known_migrations();
    let dir = TempDir::new();
    let env = env_for(&db, &dir);
    // The migrations' lines; the last line is the window.
    let status = |env| {
        let (s, out, err, _) = run(&["migrate", "status"], env);
        assert!(s.success(), "{err}");
        let (migrations, window) = out.trim_end().rsplit_once('\n').unwrap();
        assert!(window.starts_with("window: "), "{out}");
        assert!(migrations.lines().all(|l| l.contains(" expand ")), "{out}");
        migrations.to_string()
    };
    assert!(
        status(&env).lines().all(|l| l.contains("pending")),
        "{}",
        status(&env)
    );
    let (s, _, err, _) = run(&["migrate", "up"], &env);
    assert!(s.success(), "{err}");
    assert_eq!(
        status(&env)
            .lines()
            .filter(|l| l.contains("applied"))
            .count(),
        all,
        "{}",
        status(&env)
    );
    let (s, _, err, _) = run(&["migrate", "down", "2"], &env);
    assert!(s.success(), "{err}");
    let out = status(&env);
    assert!(
        out.lines().next().unwrap().contains("applied")
            && out.lines().filter(|l| l.contains("pending")).count() == 2,
        "{out}"
    );
    let (s, _, err, _) = run(&["migrate", "down", "50"], &env);
    assert_eq!(s.code(), Some(1), "more than applied is refused: {err}");
    let (s, _, err, _) = run(&["migrate", "up"], &env);
    assert!(s.success(), "{err}");
    assert_eq!(
        status(&env)
            .lines()
            .filter(|l| l.contains("applied"))
            .count(),
        all
    );
}

#[tokio::test]
async fn migrate_up_down_status_on_sqlite() {
    up_down_status_round_trip(TestDb::new(crate::db::Backend::Sqlite).await).await;
}

#[tokio::test]
async fn migrate_up_down_status_on_postgres() {
    up_down_status_round_trip(TestDb::empty_postgres().await).await;
}

#[tokio::test]
async fn concurrent_migrations_on_postgres_apply_each_version_once() {
    let all = known_migrations();
    let db = TestDb::empty_postgres().await;
    let mut env = base_env();
    env.insert("DATABASE_URL".into(), db.url.clone().unwrap());
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let env = env.clone();
            std::thread::spawn(move || run(&["migrate", "up"], &env))
        })
        .collect();
    for r in runs {
        let (s, _, err, _) = r.join().unwrap();
        assert!(s.success(), "a racing migrator failed: {err}");
    }
    let mut conn = PgConnection::connect(db.url.as_ref().unwrap())
        .await
        .unwrap();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(n as usize, all, "each version exactly once");
    let places: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM places")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(places > 30_000, "{places}");
    conn.close().await.unwrap();
}

#[tokio::test]
async fn readiness_waits_for_the_expected_schema_and_reports_a_newer_one() {
    let db = TestDb::empty_postgres().await;
    let url = db.url.clone().unwrap();
    let app = TestApp::spawn(&[
        ("DATABASE_URL", &url),
        ("ATLAS_MIGRATE__ON_START", "false"),
        ("ATLAS_HEALTH__CACHE_TTL", "0s"),
    ])
    .await;
    app.wait_for_admin("/readyz", 503, Duration::from_secs(5))
        .await;
    let body: serde_json::Value = app.admin_get("/readyz").await.json().await.unwrap();
    let err = body["checks"][0]["error"].as_str().unwrap();
    assert!(
        err.contains("behind") && err.contains("atlas migrate up"),
        "{body}"
    );

    let mut env = base_env();
    env.insert("DATABASE_URL".into(), url.clone());
    let (s, _, e, _) = run(&["migrate", "up"], &env);
    assert!(s.success(), "{e}");
    app.wait_for_admin("/readyz", 200, Duration::from_secs(5))
        .await;

    let mut conn = PgConnection::connect(&url).await.unwrap();
    conn.execute("INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (999, 'from the future', true, '\\x00'::bytea, 0)")
        .await
        .unwrap();
    conn.close().await.unwrap();
    app.wait_for_admin("/readyz", 503, Duration::from_secs(5))
        .await;
    let body: serde_json::Value = app.admin_get("/readyz").await.json().await.unwrap();
    assert!(
        body["checks"][0]["error"]
            .as_str()
            .unwrap()
            .contains("newer than this binary"),
        "{body}"
    );
}

/// A TCP proxy to PostgreSQL that can be cut and restored, to take the database away
/// from a running atlas without touching the shared test server.
struct Proxy {
    port: u16,
    up: tokio::sync::watch::Sender<bool>,
}

impl Proxy {
    async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (up, rx) = tokio::sync::watch::channel(true);
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                let mut rx = rx.clone();
                if !*rx.borrow() {
                    continue; // drop the connection: the database is "down"
                }
                let target = target.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = rx.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Self { port, up }
    }

    fn set_up(&self, up: bool) {
        let _ = self.up.send(up);
    }
}

#[tokio::test]
async fn a_database_outage_is_503_with_retry_after_and_recovers_by_itself() {
    let db = TestDb::new(crate::db::Backend::Postgres).await;
    let real = url::Url::parse(db.url.as_ref().unwrap()).unwrap();
    let proxy = Proxy::start(format!("127.0.0.1:{}", real.port().unwrap())).await;
    let mut via = real.clone();
    via.set_port(Some(proxy.port)).unwrap();
    let app = TestApp::spawn(&[
        ("DATABASE_URL", via.as_str()),
        ("ATLAS_HEALTH__CACHE_TTL", "0s"),
        ("ATLAS_DATABASE__ACQUIRE_TIMEOUT", "1s"),
        // Gating is opt-in since #13; this test is about the gated recovery.
        ("ATLAS_HEALTH__CHECKS__DATABASE__GATES_READINESS", "true"),
        // Reads from the database, not the snapshot (see health.rs).
        ("ATLAS_API__CACHE", "false"),
    ])
    .await;
    assert_eq!(app.get("/api/v1/countries/PT").await.status(), 200);

    proxy.set_up(false);
    let res = app
        .get_until("/api/v1/countries/PT", 503, Duration::from_secs(5))
        .await;
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "5");
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    app.wait_for_admin("/readyz", 503, Duration::from_secs(10))
        .await;
    assert_eq!(
        app.admin_status("/healthz").await,
        200,
        "liveness ignores the database"
    );

    proxy.set_up(true);
    app.wait_for_admin("/readyz", 200, Duration::from_secs(15))
        .await;
    assert_eq!(
        app.get("/api/v1/countries/PT").await.status(),
        200,
        "the pool recovered by itself"
    );
}

// Regression (#11): a deleted SQLite file gave 500s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_sqlite_file_is_503_and_readiness_says_what_to_run() {
    let app = TestApp::spawn(&[("ATLAS_HEALTH__CACHE_TTL", "0s")]).await;
    assert_eq!(app.get("/api/v1/countries/PT").await.status(), 200);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(app.dir().join(format!("atlas.db{suffix}")));
    }
    let mut statuses = Vec::new();
    // Concurrent reads make the pool open connections, which find an empty file.
    let reads = (0..16).map(|_| app.get("/api/v1/countries/PT"));
    for res in futures_util::future::join_all(reads).await {
        statuses.push(res.status().as_u16());
    }
    for _ in 0..5 {
        let res = app
            .http
            .put(format!("{}/api/v1/currencies/EUR", app.api))
            .json(&serde_json::json!({"code": "EUR", "numeric": "978", "name": "Euro", "minor_units": 2}))
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
    }
    assert!(
        statuses.iter().all(|s| [200, 503].contains(s)),
        "never a 500: {statuses:?}"
    );
    assert!(statuses.contains(&503), "the loss is noticed: {statuses:?}");
    let ready: serde_json::Value = app.admin_get("/readyz").await.json().await.unwrap();
    assert!(ready.to_string().contains("migrate up"), "{ready}");
}

/// Issue #16: a read-only command must not create state.
#[test]
fn migrate_status_without_a_database_lists_everything_pending_and_creates_nothing() {
    let dir = TempDir::new();
    let mut env = base_env();
    let file = dir.0.join("atlas.db");
    env.insert(
        "ATLAS_DATABASE__SQLITE_PATH".into(),
        file.display().to_string(),
    );
    let (status, stdout, stderr, _) = run(&["migrate", "status"], &env);
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("no database yet"), "{stderr}");
    let pending = stdout.lines().filter(|l| l.contains("pending")).count();
    assert_eq!(pending, known_migrations(), "{stdout}");
    assert!(!file.exists(), "status created {}", file.display());
}

/// Issue #16: the migration line says `"from":0,"to":N`, not `"None"`/`"Some(N)"`;
/// and `LOG_FORMAT=pretty` writes no colour codes into a pipe or file.
#[test]
fn the_migration_log_line_has_plain_versions_and_pretty_logs_no_colour_codes_when_piped() {
    let dir = TempDir::new();
    let mut env = base_env();
    env.insert(
        "ATLAS_DATABASE__SQLITE_PATH".into(),
        dir.0.join("atlas.db").display().to_string(),
    );
    // Commands log to stderr; stdout is for what they print.
    let (status, _, stderr, _) = run(&["migrate", "up"], &env);
    assert!(status.success(), "{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.contains("migrations applied"))
        .unwrap_or_else(|| panic!("no migration line in {stderr}"));
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["from"], 0, "{line}");
    assert_eq!(v["to"], known_migrations() as u64, "{line}");

    let dir = TempDir::new();
    env.insert(
        "ATLAS_DATABASE__SQLITE_PATH".into(),
        dir.0.join("atlas.db").display().to_string(),
    );
    env.insert("LOG_FORMAT".into(), "pretty".into());
    let (status, _, stderr, _) = run(&["migrate", "up"], &env);
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("migrations applied"), "{stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "colour codes in a pipe: {stderr:?}"
    );
}
