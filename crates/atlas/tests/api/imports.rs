//! Bulk imports on the worker pool, on both backends.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::routing::get;
use serde_json::{json, Value};

use crate::db::TestDb;
use crate::helpers::{BinApp, Endpoints, TestApp};

async fn wait_done(app: &Endpoints, location: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let job: Value = app.get(location).await.json().await.unwrap();
        if !matches!(job["status"].as_str(), Some("queued" | "running")) {
            return job;
        }
        assert!(Instant::now() < deadline, "import never finished: {job}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn post(
    app: &Endpoints,
    body: reqwest::Body,
    content_type: &str,
    query: &str,
) -> reqwest::Response {
    app.http
        .post(format!("{}/api/v1/imports{query}", app.api))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn json_and_csv_imports_land_whole_or_not_at_all(app: &TestApp, _: &TestDb) {
    let body = json!({
        "currencies": [{"code": "XQA", "numeric": "001", "name": "Quatloo", "minor_units": 2}],
        "countries": [
            {"alpha2": "XA", "alpha3": "XAA", "numeric": "901", "name": "Atlantis", "currencies": ["XQA"], "timezones": ["Atlantic/Azores"]},
            {"alpha2": "PT", "alpha3": "PRT", "numeric": "620", "name": "Portugal (imported)", "currencies": ["EUR"], "timezones": ["Europe/Lisbon"]}
        ]
    });
    let res = post(app, body.to_string().into(), "application/json", "").await;
    assert_eq!(res.status(), 202);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let job = wait_done(app, &location).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(
        (job["total_rows"].as_i64(), job["processed_rows"].as_i64()),
        (Some(3), Some(3)),
        "{job}"
    );
    let xa: Value = app.get("/api/v1/countries/XA").await.json().await.unwrap();
    assert_eq!(xa["currencies"], json!(["XQA"]));
    let pt: Value = app.get("/api/v1/countries/PT").await.json().await.unwrap();
    assert_eq!(
        pt["name"], "Portugal (imported)",
        "existing rows are replaced"
    );

    // One bad row (unknown zone) and one dangling currency: nothing is written.
    let csv = "alpha2,alpha3,numeric,name,official_name,currencies,timezones\nXB,XBB,902,Bermuda Triangle,,EUR,Mars/Base\nXC,XCC,903,Cibola,,ZZZ,Europe/Madrid\nXD,XDD,904,El Dorado,,EUR,America/Bogota\n";
    let res = post(app, csv.into(), "text/csv", "?kind=countries").await;
    assert_eq!(res.status(), 202);
    let job = wait_done(app, res.headers()["location"].to_str().unwrap()).await;
    assert_eq!(job["status"], "failed", "{job}");
    let errors = job["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e["row"] == 1 && e["pointer"] == "/timezones/0"),
        "{job}"
    );
    assert_eq!(
        app.get("/api/v1/countries/XD").await.status(),
        404,
        "a failed import writes nothing"
    );

    let csv = "alpha2,alpha3,numeric,name,official_name,currencies,timezones\nXD,XDD,904,El Dorado,,EUR;USD,America/Bogota\n";
    let res = post(app, csv.into(), "text/csv", "?kind=countries").await;
    let job = wait_done(app, res.headers()["location"].to_str().unwrap()).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let xd: Value = app.get("/api/v1/countries/XD").await.json().await.unwrap();
    assert_eq!(xd["currencies"], json!(["EUR", "USD"]));

    assert_eq!(
        post(app, "x".into(), "text/csv", "").await.status(),
        422,
        "CSV needs kind"
    );
    assert_eq!(
        post(app, "x".into(), "text/csv", "?kind=planets")
            .await
            .status(),
        400,
        "kind is countries or currencies"
    );
    assert_eq!(
        post(app, "{}".into(), "application/json", "")
            .await
            .status(),
        422,
        "nothing to import"
    );
    assert_eq!(
        post(app, "{\"rows\": 1}".into(), "application/json", "")
            .await
            .status(),
        400,
        "unknown field"
    );
    assert_eq!(app.get("/api/v1/imports/nope").await.status(), 404);
}
db_test!(imports, json_and_csv_imports_land_whole_or_not_at_all);

/// A data server that fails `failures` times with 503, then serves `body`, each
/// response after `delay`.
async fn data_server(
    failures: usize,
    delay: Duration,
    body: &'static str,
) -> (String, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let app = axum::Router::new().route(
        "/data.json",
        get(move || {
            let c = c.clone();
            async move {
                tokio::time::sleep(delay).await;
                if c.fetch_add(1, Ordering::SeqCst) < failures {
                    (axum::http::StatusCode::SERVICE_UNAVAILABLE, "later").into_response()
                } else {
                    ([("content-type", "application/json")], body).into_response()
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/data.json", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, calls)
}

use axum::response::IntoResponse;

const DATA: &str =
    r#"{"currencies": [{"code": "XQB", "numeric": "003", "name": "Bitcredit", "minor_units": 4}]}"#;

#[tokio::test]
async fn url_imports_need_an_allowed_host_and_retry_until_the_source_recovers() {
    let (url, calls) = data_server(2, Duration::ZERO, DATA).await;
    let refused = TestApp::spawn(&[]).await;
    let res = post(
        &refused,
        json!({"url": url}).to_string().into(),
        "application/json",
        "",
    )
    .await;
    assert_eq!(res.status(), 403, "empty allow-list refuses URL imports");
    drop(refused);

    let app = TestApp::spawn(&[("ATLAS_IMPORTS__ALLOWED_HOSTS", "[127.0.0.1]")]).await;
    let res = post(
        &app,
        json!({"url": "http://example.org/x.json"})
            .to_string()
            .into(),
        "application/json",
        "",
    )
    .await;
    assert_eq!(res.status(), 403, "a host not on the list");
    let res = post(
        &app,
        json!({"url": url}).to_string().into(),
        "application/json",
        "",
    )
    .await;
    assert_eq!(res.status(), 202);
    let job = wait_done(&app, res.headers()["location"].to_str().unwrap()).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(calls.load(Ordering::SeqCst), 3, "two 503s, then success");
    assert_eq!(app.get("/api/v1/currencies/XQB").await.status(), 200);
    let metrics = app.admin_get("/metrics").await.text().await.unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("http_client_retries_total") && l.ends_with(" 2")),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_full_queue_answers_429_with_retry_after() {
    let (url, _) = data_server(0, Duration::from_secs(3), DATA).await;
    let app = TestApp::spawn(&[
        ("ATLAS_IMPORTS__ALLOWED_HOSTS", "[127.0.0.1]"),
        ("ATLAS_IMPORTS__POOL__WORKERS", "1"),
        ("ATLAS_IMPORTS__POOL__QUEUE_SIZE", "1"),
    ])
    .await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let res = post(
            &app,
            json!({"url": url}).to_string().into(),
            "application/json",
            "",
        )
        .await;
        if res.status() == 429 {
            assert_eq!(res.headers()["retry-after"], "2");
            assert_eq!(res.headers()["content-type"], "application/problem+json");
        }
        statuses.push(res.status().as_u16());
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    assert_eq!(statuses[0], 202, "{statuses:?}");
}

#[tokio::test]
async fn sigterm_lets_a_running_import_finish_before_exit() {
    let (url, _) = data_server(0, Duration::from_millis(1500), DATA).await;
    let mut app = BinApp::spawn(&[
        ("ATLAS_IMPORTS__ALLOWED_HOSTS", "[127.0.0.1]"),
        ("ATLAS_SHUTDOWN__DRAIN_DELAY", "200ms"),
        ("ATLAS_SHUTDOWN__TIMEOUT", "10s"),
    ])
    .await;
    let res = post(
        &app,
        json!({"url": url}).to_string().into(),
        "application/json",
        "",
    )
    .await;
    assert_eq!(res.status(), 202);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.signal("TERM");
    let status = app.wait_exit(Duration::from_secs(15)).await;
    assert_eq!(status.code(), Some(0));
    let drained = app
        .wait_for_log(|l| l["message"] == "import pool drained")
        .await;
    assert_eq!(drained["completed"], 1, "{drained}");
    assert_eq!(drained["cancelled"], 0, "{drained}");

    let db = format!("sqlite://{}", app.dir().join("atlas.db").display());
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&db)
        .await
        .unwrap();
    let status: String = sqlx::query_scalar("SELECT status FROM imports WHERE id = ?")
        .bind(&id)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(status, "succeeded");
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM currencies WHERE code = 'XQB'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(n, 1);
}
