//! Reference reads from memory: the same bytes and ETags as the database path, a
//! write read back at once, a change made behind the service's back picked up by
//! the periodic refresh, and on PostgreSQL a write on one replica seen by another
//! within a second.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::db::{Backend, TestDb};
use crate::helpers::{Endpoints, TestApp};

/// Wait until the snapshot holds countries (bounded), so reads are from memory.
async fn wait_loaded(app: &Endpoints) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, text) = app.scrape().await;
        let loaded = text.lines().any(|l| {
            l.contains("catalog_snapshot_items{kind=\"countries\"}")
                && l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) > Some(0.0)
        });
        if loaded {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the catalog snapshot never loaded"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Another atlas on the same database as `app`.
async fn replica(app: &TestApp, db: &TestDb, extra: &[(&str, &str)]) -> TestApp {
    let sqlite = app.dir().join("atlas.db").display().to_string();
    let mut env: Vec<(&str, String)> = match db.backend {
        Backend::Sqlite => vec![("ATLAS_DATABASE__SQLITE_PATH", sqlite)],
        Backend::Postgres => db.env(),
    };
    env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    TestApp::spawn(&env).await
}

/// Status, ETag and body of a GET.
async fn fetch(app: &Endpoints, path: &str) -> (u16, Option<String>, String) {
    let res = app.get(path).await;
    let status = res.status().as_u16();
    let tag = res
        .headers()
        .get("etag")
        .map(|t| t.to_str().unwrap().to_string());
    (status, tag, res.text().await.unwrap())
}

const READS: &[&str] = &[
    "/api/v1/countries/PT",
    "/api/v1/countries/prt",
    "/api/v1/countries/XA",
    "/api/v1/countries/ZZ",
    "/api/v1/countries?limit=50",
    "/api/v1/countries?limit=250",
    "/api/v1/countries?limit=7&cursor=PT",
    "/api/v1/countries?limit=3&cursor=ZW",
    "/api/v1/countries?currency=EUR&limit=10",
    "/api/v1/countries?currency=eur&limit=10&cursor=FR",
    "/api/v1/countries?q=land&limit=20",
    "/api/v1/countries?q=REPUBLIC%20OF&limit=5",
    "/api/v1/countries?q=atlan",
    "/api/v1/countries?q=%25",
    "/api/v1/countries?q=_",
    "/api/v1/countries?currency=XTS",
    "/api/v1/currencies/EUR",
    "/api/v1/currencies/eur",
    "/api/v1/currencies/XTS",
    "/api/v1/currencies?limit=40",
    "/api/v1/currencies?q=dollar&limit=5&cursor=CAD",
    "/api/v1/currencies/EUR/countries",
    "/api/v1/currencies/CHF/countries",
    "/api/v1/currencies/XTS/countries",
    "/api/v1/countries/PT/time",
    "/api/v1/countries/PT/subdivisions?limit=5",
    "/api/v1/countries/prt/subdivisions?type=DISTRICT&limit=3&cursor=PT-05",
    "/api/v1/countries/GB/subdivisions?limit=250",
    "/api/v1/countries/XA/subdivisions",
    "/api/v1/countries/ZZ/subdivisions",
    "/api/v1/subdivisions/PT-05",
    "/api/v1/subdivisions/gb-abc",
    "/api/v1/subdivisions/PT-99",
    "/api/v1/countries/XA/flag",
    "/api/v1/countries?region=europe&language=por",
    "/api/v1/countries?q=espanha",
    "/api/v1/countries?codes=PT,ESP,250&fields=name,latlng.lat,translations.deu",
    "/api/v1/countries?sort=-area_km2&limit=5",
    "/api/v1/countries?sort=name&limit=4&cursor=GB~746772656e616461",
    "/api/v1/countries/PT?fields=capitals,languages.code",
    "/api/v1/currencies/EUR/countries?limit=5&sort=-name&fields=alpha2",
    "/api/v1/currencies?sort=name&fields=code&limit=10",
];

async fn memory_answers_as_the_database_does(app: &TestApp, db: &TestDb) {
    let atlantis = json!({"alpha2": "XA", "alpha3": "XAA", "numeric": "901",
        "name": "Atlantis", "official_name": "Republic of Atlantis",
        "currencies": ["EUR", "USD"], "timezones": ["Atlantic/Azores"]});
    let res = app
        .http
        .post(format!("{}/api/v1/countries", app.api))
        .json(&atlantis)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let direct = replica(app, db, &[("ATLAS_API__CACHE", "false")]).await;
    wait_loaded(app).await;
    let (_, off) = direct.scrape().await;
    assert!(
        !off.contains("catalog_snapshot_items"),
        "with the cache off there is no snapshot"
    );
    for path in READS {
        let mem = fetch(app, path).await;
        let sql = fetch(&direct, path).await;
        assert_eq!(mem.0, sql.0, "status of {path}");
        assert_eq!(mem.1, sql.1, "ETag of {path}");
        if mem.0 == 200 {
            let (m, s): (Value, Value) = (
                serde_json::from_str(&mem.2).unwrap(),
                serde_json::from_str(&sql.2).unwrap(),
            );
            if path.ends_with("/time") {
                assert_eq!(
                    m["zones"].as_array().map(Vec::len),
                    s["zones"].as_array().map(Vec::len),
                    "{path}"
                );
            } else {
                assert_eq!(m, s, "body of {path}");
            }
        }
    }
    direct.shut_down().await.unwrap();
}

db_test!(memory_matches_database, memory_answers_as_the_database_does);

async fn a_write_is_read_back_and_a_delete_is_gone(app: &TestApp, _: &TestDb) {
    wait_loaded(app).await;
    let url = format!("{}/api/v1/currencies/XTS", app.api);
    let before = fetch(app, "/api/v1/currencies/XTS").await;
    assert_eq!(before.0, 200);
    let body = json!({"code": "XTS", "numeric": "963", "name": "Testing Code Renamed", "minor_units": null});
    let res = app.http.put(&url).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let after = fetch(app, "/api/v1/currencies/XTS").await;
    let got: Value = serde_json::from_str(&after.2).unwrap();
    assert_eq!(got["name"], "Testing Code Renamed", "read your write");
    assert_ne!(before.1, after.1, "a new ETag");
    let listed = fetch(app, "/api/v1/currencies?q=renamed").await;
    assert!(listed.2.contains("Testing Code Renamed"), "{}", listed.2);
    let res = app.http.delete(&url).send().await.unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(fetch(app, "/api/v1/currencies/XTS").await.0, 404);
    assert_eq!(fetch(app, "/api/v1/currencies/XTS/countries").await.0, 404);
}

db_test!(read_your_writes, a_write_is_read_back_and_a_delete_is_gone);

/// A change made straight in the database (a DBA's fix, another tool) shows up by
/// the periodic refresh.
#[tokio::test]
async fn a_change_behind_the_services_back_shows_within_the_refresh_period() {
    let app = TestApp::spawn(&[("ATLAS_API__CACHE_REFRESH", "200ms")]).await;
    wait_loaded(&app).await;
    let file = app.dir().join("atlas.db");
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!(
        "sqlite://{}",
        file.display()
    ))
    .await
    .unwrap();
    sqlx::query("UPDATE countries SET name = 'Portugal (edited)' WHERE alpha2 = 'PT'")
        .execute(&mut conn)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, _, body) = fetch(&app, "/api/v1/countries/PT").await;
        if body.contains("Portugal (edited)") {
            break;
        }
        assert!(Instant::now() < deadline, "the edit never showed: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Two replicas on one PostgreSQL: a write on one is served by the other within
/// a second (LISTEN/NOTIFY), without waiting for the periodic refresh.
#[tokio::test]
async fn a_write_on_one_replica_reaches_the_other_within_a_second() {
    let db = TestDb::new(Backend::Postgres).await;
    let env = db.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let a = TestApp::spawn(&env).await;
    let b = replica(&a, &db, &[]).await;
    wait_loaded(&a).await;
    wait_loaded(&b).await;
    let body = json!({"code": "XTS", "numeric": "963", "name": "Announced Name", "minor_units": 2});
    let res = a
        .http
        .put(format!("{}/api/v1/currencies/XTS", a.api))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let written = Instant::now();
    loop {
        let (_, _, got) = fetch(&b, "/api/v1/currencies/XTS").await;
        if got.contains("Announced Name") {
            break;
        }
        assert!(
            written.elapsed() < Duration::from_secs(1),
            "replica b still serves the old currency after 1 s: {got}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    eprintln!("replica b served the write after {:?}", written.elapsed());
    b.shut_down().await.unwrap();
    a.shut_down().await.unwrap();
}

#[test]
fn a_zero_refresh_period_is_refused_naming_the_key() {
    let err = atlas::config::loader(&podkit::cli::CommonArgs::default())
        .with_env([("ATLAS_API__CACHE_REFRESH", "0s")])
        .load::<atlas::config::Settings>()
        .expect_err("0s is refused");
    let msg = err.to_string();
    assert!(
        msg.contains("cache_refresh") && msg.contains("must be above 0"),
        "{msg}"
    );
}

/// Concurrent writes share snapshot refreshes; each writer still reads its own
/// write back at once.
async fn concurrent_writers_each_read_their_own_write(app: &TestApp, _: &TestDb) {
    wait_loaded(app).await;
    let mut tasks = Vec::new();
    for i in 0..16u8 {
        let (http, api) = (app.http.clone(), app.api.clone());
        tasks.push(tokio::spawn(async move {
            let code = format!("XQ{}", (b'A' + i) as char);
            let body = |name: &str| json!({"code": code, "numeric": format!("{:03}", 300 + u16::from(i)), "name": name, "minor_units": 2});
            let res = http.post(format!("{api}/api/v1/currencies")).json(&body("First")).send().await.unwrap();
            assert_eq!(res.status(), 201, "create {code}");
            for round in 0..5 {
                let name = format!("Round {round} of {code}");
                let url = format!("{api}/api/v1/currencies/{code}");
                let res = http.put(&url).json(&body(&name)).send().await.unwrap();
                assert_eq!(res.status(), 200, "replace {code}");
                let got: Value = http.get(&url).send().await.unwrap().json().await.unwrap();
                assert_eq!(got["name"], name.as_str(), "{code} reads its own write");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

db_test!(
    concurrent_read_your_writes,
    concurrent_writers_each_read_their_own_write
);
