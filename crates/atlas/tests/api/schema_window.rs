//! Schema compatibility windows (#13): this binary plays the old release, serving;
//! the next release is this catalog plus one migration, applied in-process the way
//! that release's `atlas migrate up` would (`migrate::up_with`). An expand
//! migration keeps the old pod ready and serving, a contract one turns it
//! unready, and `migrate down` of the next migration restores the old state.

use std::collections::HashMap;
use std::time::Duration;

use atlas::migrate;
use atlas::store::{Catalog, Db, ExtraMigration, Kind};
use podkit::cli::CommonArgs;
use serde_json::Value;

use crate::db::{Backend, TestDb};
use crate::helpers::{base_env, run, TestApp};

/// The next release: this binary's migrations and one more of `kind`.
fn next_release(kind: Kind, up: &str, down: &str) -> Catalog {
    let version = atlas::store::expected_version().unwrap() + 1;
    Catalog::embedded().with(ExtraMigration {
        version,
        description: "next release".into(),
        kind,
        up: up.into(),
        down: down.into(),
    })
}

/// A nullable column: old binaries neither read nor write it.
fn expand() -> Catalog {
    next_release(
        Kind::Expand,
        "ALTER TABLE countries ADD COLUMN motto TEXT NULL;",
        "ALTER TABLE countries DROP COLUMN motto;",
    )
}

/// Dropping what old binaries rely on (here the index their place search uses).
fn contract() -> Catalog {
    next_release(
        Kind::Contract,
        "DROP INDEX places_search_name;",
        "CREATE INDEX places_search_name ON places(search_name);",
    )
}

/// The old pod, with readiness computed afresh on every probe, a handle on its
/// database for the next release's migration Job, and the environment the old
/// binary's own `atlas migrate` runs with.
async fn old_pod(db: &TestDb) -> (TestApp, Db, HashMap<String, String>) {
    let mut extra: Vec<(&str, String)> = db.env();
    extra.push(("ATLAS_HEALTH__CACHE_TTL", "0s".into()));
    let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = TestApp::spawn(&extra).await;
    // Ready first: the place index loads in the background after start-up.
    app.wait_for_admin("/readyz", 200, Duration::from_secs(60))
        .await;
    let mut env = base_env();
    // The test's own maintenance pool: on a loaded CI machine a SQLite writer can
    // wait on the pod's readers past the 3 s default; a real deadlock still fails.
    env.insert("ATLAS_DATABASE__ACQUIRE_TIMEOUT".into(), "20s".into());
    match &db.url {
        Some(url) => env.insert("DATABASE_URL".into(), url.clone()),
        None => env.insert(
            "ATLAS_DATABASE__SQLITE_PATH".into(),
            app.dir().join("atlas.db").display().to_string(),
        ),
    };
    let config: atlas::config::Config = atlas::config::loader(&CommonArgs::default())
        .with_env(env.clone())
        .load()
        .unwrap();
    let handle = Db::connect_lazy(&config.service.database, None).unwrap();
    (app, handle, env)
}

/// The old binary's `atlas migrate up`, as a rollback's migrate Job runs it.
async fn old_migrate_up(env: &HashMap<String, String>) -> (Option<i32>, String) {
    let env = env.clone();
    let (status, _, stderr, _) = tokio::task::spawn_blocking(move || run(&["migrate", "up"], &env))
        .await
        .unwrap();
    (status.code(), stderr)
}

/// `/readyz` a few probes in a row, with the failing checks' names and errors.
async fn readiness(app: &TestApp) -> (u16, String) {
    let mut last = (0, String::new());
    for _ in 0..3 {
        let res = app.admin_get("/readyz").await;
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap();
        let failing: Vec<String> = body["checks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["error"].is_string())
            .map(|c| format!("{}: {}", c["name"], c["error"]))
            .collect();
        last = (status, failing.join("; "));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    last
}

async fn serves(app: &TestApp, when: &str) {
    let (status, failing) = readiness(app).await;
    assert_eq!(status, 200, "ready {when}: {failing}");
    let res = app.get("/api/v1/countries/PT").await;
    assert_eq!(res.status(), 200, "GET a country {when}");
}

async fn expand_keeps_the_old_pod_ready_and_down_restores(backend: Backend) {
    let db = TestDb::new(backend).await;
    let (app, handle, env) = old_pod(&db).await;
    serves(&app, "before the next release").await;

    migrate::up_with(&handle, &expand()).await.unwrap();
    let status = handle.schema_status().await.unwrap();
    assert!(status.is_newer_and_compatible(), "{status:?}");
    serves(&app, "after the next release's expand migration").await;
    // A rollback's migrate Job runs the old binary's `migrate up`: nothing to do.
    let (code, stderr) = old_migrate_up(&env).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("compatible (expand only)"), "{stderr}");

    migrate::down_with(&handle, 1, &expand()).await.unwrap();
    let status = handle.schema_status().await.unwrap();
    assert_eq!(status.applied, status.expected, "{status:?}");
    serves(&app, "after `migrate down` of the next migration").await;
    handle.close().await;
}

async fn contract_turns_the_old_pod_unready_until_reverted(backend: Backend) {
    let db = TestDb::new(backend).await;
    let (app, handle, env) = old_pod(&db).await;
    serves(&app, "before the next release").await;

    migrate::up_with(&handle, &contract()).await.unwrap();
    let (status, failing) = readiness(&app).await;
    assert_eq!(status, 503, "unready past a contract migration");
    assert!(
        failing.contains("\"schema\"") && failing.contains("contract migration"),
        "the schema check says why: {failing}"
    );
    let (code, stderr) = old_migrate_up(&env).await;
    assert_eq!(code, Some(1), "the old binary refuses to migrate: {stderr}");
    assert!(
        stderr.contains("cannot migrate") && stderr.contains("contract migration"),
        "{stderr}"
    );

    migrate::down_with(&handle, 1, &contract()).await.unwrap();
    serves(&app, "after `migrate down` of the contract migration").await;
    handle.close().await;
}

#[tokio::test]
async fn an_old_pod_stays_ready_after_the_next_expand_migration_on_sqlite() {
    expand_keeps_the_old_pod_ready_and_down_restores(Backend::Sqlite).await;
}

#[tokio::test]
async fn an_old_pod_stays_ready_after_the_next_expand_migration_on_postgres() {
    expand_keeps_the_old_pod_ready_and_down_restores(Backend::Postgres).await;
}

#[tokio::test]
async fn a_contract_migration_turns_the_old_pod_unready_on_sqlite() {
    contract_turns_the_old_pod_unready_until_reverted(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_contract_migration_turns_the_old_pod_unready_on_postgres() {
    contract_turns_the_old_pod_unready_until_reverted(Backend::Postgres).await;
}
