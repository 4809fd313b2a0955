//! Bulk imports on the worker pool, on both backends.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::routing::get;
use serde_json::{json, Value};

use crate::db::TestDb;
use crate::helpers::{BinApp, Endpoints, HttpsSource, TestApp};

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

/// `POST /api/v1/imports` of a URL import.
async fn post_url(app: &Endpoints, url: &str) -> reqwest::Response {
    post(
        app,
        json!({ "url": url }).to_string().into(),
        "application/json",
        "",
    )
    .await
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
        job["message"], "1 row rejected (1 field error); nothing was written",
        "rows are counted, not field errors: {job}"
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

/// Regression test for #11: the message counted field errors as rows.
async fn a_failed_import_counts_rejected_rows_apart_from_field_errors(app: &TestApp, _: &TestDb) {
    let csv = "alpha2,alpha3,numeric,name,official_name,currencies,timezones\nXB,XBBB,9999,,,EUR,Mars/Base\nXC,XCC,903,Cibola,,EUR,Europe/Madrid\nXE,XEE,905,Eldorado,,EUR,Mars/Base\n";
    let res = post(app, csv.into(), "text/csv", "?kind=countries").await;
    assert_eq!(res.status(), 202);
    let job = wait_done(app, res.headers()["location"].to_str().unwrap()).await;
    assert_eq!(job["status"], "failed", "{job}");
    let fields = job["errors"].as_array().unwrap().len();
    assert!(fields >= 4, "{job}");
    assert_eq!(
        job["message"],
        format!("2 rows rejected ({fields} field errors); nothing was written"),
        "{job}"
    );
    assert_eq!(app.get("/api/v1/countries/XC").await.status(), 404);
}
db_test!(
    rejected_rows,
    a_failed_import_counts_rejected_rows_apart_from_field_errors
);

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

/// `ATLAS_IMPORTS__ALLOWED_HOSTS` allowing exactly the host and port of `url`.
fn allow(url: &str) -> String {
    let u = url::Url::parse(url).unwrap();
    format!("[{}:{}]", u.host_str().unwrap(), u.port().unwrap())
}

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

    let app = TestApp::spawn(&[("ATLAS_IMPORTS__ALLOWED_HOSTS", &allow(&url))]).await;
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
    let res = post_url(&app, &url).await;
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
        ("ATLAS_IMPORTS__ALLOWED_HOSTS", &allow(&url)),
        ("ATLAS_IMPORTS__POOL__WORKERS", "1"),
        ("ATLAS_IMPORTS__POOL__QUEUE_SIZE", "1"),
    ])
    .await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let res = post_url(&app, &url).await;
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
        ("ATLAS_IMPORTS__ALLOWED_HOSTS", &allow(&url)),
        ("ATLAS_SHUTDOWN__DRAIN_DELAY", "200ms"),
        ("ATLAS_SHUTDOWN__TIMEOUT", "10s"),
    ])
    .await;
    // Credentials in the URL are used, never shown: not in the job, not in a log line.
    let with_credentials = url.replace("http://", "http://importer:s3cr3t@");
    let res = post(
        &app,
        json!({"url": with_credentials}).to_string().into(),
        "application/json",
        "",
    )
    .await;
    assert_eq!(res.status(), 202);
    let job: Value = res.json().await.unwrap();
    assert_eq!(job["source"], url, "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    app.signal("TERM");
    let status = app.wait_exit(Duration::from_secs(15)).await;
    assert_eq!(status.code(), Some(0));
    let drained = app
        .wait_for_log(|l| l["message"] == "import pool drained")
        .await;
    assert_eq!(drained["completed"], 1, "{drained}");
    assert_eq!(drained["cancelled"], 0, "{drained}");
    let leaks: Vec<String> = app
        .log_lines()
        .iter()
        .map(Value::to_string)
        .filter(|l| l.contains("s3cr3t") || l.contains("importer@"))
        .collect();
    assert!(leaks.is_empty(), "credentials logged: {leaks:?}");

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

/// A data server with fixed routes: (path, content type, body). `/stream.csv`
/// streams its body without a declared length.
async fn serve(routes: Vec<(&'static str, &'static str, Vec<u8>)>) -> String {
    let mut app = axum::Router::new();
    for (path, content_type, body) in routes {
        app = app.route(
            path,
            get(move || {
                let body = body.clone();
                async move {
                    let chunks = body
                        .chunks(256)
                        .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
                        .collect::<Vec<_>>();
                    let stream = futures_util::stream::iter(chunks);
                    (
                        [("content-type", content_type)],
                        axum::body::Body::from_stream(stream),
                    )
                }
            }),
        );
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

fn currency_csv(rows: usize) -> String {
    let mut csv = String::from("code,numeric,name\n");
    for i in 0..rows {
        csv.push_str(&format!(
            "X{}{},{:03},Currency {i}\n",
            (b'A' + (i / 26) as u8 % 26) as char,
            (b'A' + (i % 26) as u8) as char,
            i % 1000
        ));
    }
    csv
}

async fn problem(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

#[tokio::test]
async fn imports_stop_at_max_rows_and_url_bodies_at_the_byte_cap() {
    let base = serve(vec![
        ("/rows.csv", "text/csv", currency_csv(50).into_bytes()),
        ("/big.json", "application/json", vec![b' '; 4096]),
    ])
    .await;
    let app = TestApp::spawn(&[
        ("ATLAS_IMPORTS__MAX_ROWS", "5"),
        ("ATLAS_IMPORTS__CLIENT__MAX_BODY_BYTES", "1KiB"),
        ("ATLAS_IMPORTS__ALLOWED_HOSTS", &allow(&base)),
        ("ATLAS_SERVER__BODY_LIMIT", "8KiB"),
    ])
    .await;

    // Inline CSV: one row over is refused at once, naming the limit.
    let (status, p) =
        problem(post(&app, currency_csv(6).into(), "text/csv", "?kind=currencies").await).await;
    assert_eq!(status, 422, "{p}");
    let detail = p["errors"][0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("more than 5 rows") && detail.contains("imports.max_rows"),
        "{p}"
    );
    let res = post(&app, currency_csv(5).into(), "text/csv", "?kind=currencies").await;
    assert_eq!(res.status(), 202, "exactly max_rows is fine");

    // Inline JSON: the same, pointing at the array that went over.
    let row = json!({"code": "XQA", "numeric": "001", "name": "Q"});
    let body = json!({"currencies": [row, row, row, row, row, row, "the rest is never read"]});
    let (status, p) =
        problem(post(&app, body.to_string().into(), "application/json", "").await).await;
    assert_eq!(
        (status, p["errors"][0]["pointer"].as_str()),
        (422, Some("/currencies")),
        "{p}"
    );

    // Over `server.body_limit`: 413 before any parsing.
    let res = post(
        &app,
        currency_csv(400).into(),
        "text/csv",
        "?kind=currencies",
    )
    .await;
    assert_eq!(res.status(), 413);

    // URL imports: the job fails with the limit in its message.
    let cases = [
        (
            format!("{base}/rows.csv"),
            "more than 5 rows; at most 5 per import (`imports.max_rows`)",
        ),
        (format!("{base}/big.json"), "larger than 1024 bytes"),
    ];
    for (url, want) in cases {
        let body = json!({"url": url, "kind": "currencies"}).to_string();
        let res = post(&app, body.into(), "application/json", "").await;
        assert_eq!(res.status(), 202, "case {url}");
        let job = wait_done(&app, res.headers()["location"].to_str().unwrap()).await;
        assert_eq!(job["status"], "failed", "case {url}: {job}");
        let message = job["message"].as_str().unwrap();
        assert!(message.contains(want), "case {url}: {job}");
    }
}

#[tokio::test]
async fn a_bare_allowed_host_allows_only_its_default_port() {
    let (url, calls) = data_server(0, Duration::ZERO, DATA).await;
    let app = TestApp::spawn(&[(
        "ATLAS_IMPORTS__ALLOWED_HOSTS",
        "[127.0.0.1, example.org:8080]",
    )])
    .await;
    let (status, p) = problem(post_url(&app, &url).await).await;
    assert_eq!(status, 403, "{p}");
    let detail = p["detail"].as_str().unwrap();
    assert!(detail.contains("default port"), "{p}");
    assert_eq!(calls.load(Ordering::SeqCst), 0, "nothing was fetched");
}

#[tokio::test]
async fn url_imports_never_reach_the_services_own_ports() {
    let (api, admin) = (crate::helpers::free_port(), crate::helpers::free_port());
    let allowed = format!("[127.0.0.1:{api}, 127.0.0.1:{admin}, localhost:{admin}]");
    let app = TestApp::spawn(&[
        ("PORT", &api.to_string()),
        ("ADMIN_PORT", &admin.to_string()),
        ("ATLAS_IMPORTS__ALLOWED_HOSTS", &allowed),
    ])
    .await;
    let urls = [
        format!("http://127.0.0.1:{admin}/admin/config"),
        format!("http://localhost:{admin}/metrics"),
        format!("http://127.0.0.1:{api}/api/v1/countries"),
    ];
    for url in urls {
        let (status, p) = problem(post_url(&app, &url).await).await;
        assert_eq!(status, 403, "case {url}: {p}");
        assert!(
            p["detail"].as_str().unwrap().contains("own port"),
            "case {url}: {p}"
        );
    }
}

#[test]
fn bad_import_and_render_settings_stop_start_up_naming_the_key() {
    let cases = [
        (
            "ATLAS_IMPORTS__ALLOWED_HOSTS",
            "[http://x.org]",
            "imports.allowed_hosts",
        ),
        (
            "ATLAS_IMPORTS__ALLOWED_HOSTS",
            "[x.org:0]",
            "imports.allowed_hosts",
        ),
        (
            "ATLAS_IMPORTS__ALLOWED_HOSTS",
            "[x.org:http]",
            "imports.allowed_hosts",
        ),
        (
            "ATLAS_API__FLAG_RENDER_CONCURRENCY",
            "0",
            "api.flag_render_concurrency",
        ),
    ];
    for (key, value, name) in cases {
        let mut env = crate::helpers::base_env();
        env.insert(key.into(), value.into());
        let (status, _, stderr, _) = crate::helpers::run(&["config"], &env);
        assert_eq!(status.code(), Some(2), "case {value}: {stderr}");
        assert!(stderr.contains(name), "case {value}: {stderr}");
    }
}

#[tokio::test]
async fn a_failed_job_lists_at_most_max_errors_but_counts_them_all() {
    let app = TestApp::spawn(&[("ATLAS_IMPORTS__MAX_ERRORS", "2")]).await;
    let csv = "code,numeric,name\nx1,1,\nx2,2,\nx3,3,\n";
    let res = post(&app, csv.into(), "text/csv", "?kind=currencies").await;
    assert_eq!(res.status(), 202);
    let job = wait_done(&app, res.headers()["location"].to_str().unwrap()).await;
    assert_eq!(job["errors"].as_array().unwrap().len(), 2, "{job}");
    let message = job["message"].as_str().unwrap();
    assert!(
        message.starts_with("3 rows rejected (") && message.contains("the first 2 are listed"),
        "{job}"
    );
}

#[tokio::test]
async fn https_imports_trust_imports_client_tls_ca_file_and_say_why_without_it() {
    let data = get(|| async { ([("content-type", "application/json")], DATA) });
    let source = HttpsSource::serve(axum::Router::new().route("/data.json", data)).await;
    let url = format!("{}/data.json", source.base);
    let dir = crate::helpers::TempDir::new();
    let ca = source.write_ca(&dir.0).display().to_string();
    let allowed = allow(&url);
    let host = url::Url::parse(&url).unwrap();
    let host = format!("localhost:{}", host.port().unwrap());

    let trusting = [
        ("ATLAS_IMPORTS__ALLOWED_HOSTS", allowed.as_str()),
        ("ATLAS_IMPORTS__CLIENT__TLS__CA_FILE", ca.as_str()),
    ];
    let app = TestApp::spawn(&trusting).await;
    let res = post_url(&app, &url).await;
    assert_eq!(res.status(), 202);
    let job = wait_done(&app, res.headers()["location"].to_str().unwrap()).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["processed_rows"], 1, "{job}");
    assert_eq!(app.get("/api/v1/currencies/XQB").await.status(), 200);
    drop(app);

    let app = TestApp::spawn(&trusting[..1]).await;
    let res = post_url(&app, &url).await;
    let job = wait_done(&app, res.headers()["location"].to_str().unwrap()).await;
    assert_eq!(job["status"], "failed", "{job}");
    let message = job["message"].as_str().unwrap();
    eprintln!("{message}");
    let want = format!("fetching {url}: cannot connect to {host}: TLS: ");
    assert!(message.starts_with(&want), "{job}");
    assert!(message.contains("unknown CA"), "{job}");
    let metrics = app.admin_get("/metrics").await.text().await.unwrap();
    assert!(
        !metrics
            .lines()
            .any(|l| l.starts_with("http_client_retries_total{")),
        "a TLS failure is not retried: {metrics}"
    );
    drop(app);

    // The right CA, the wrong name: the certificate names only `localhost`.
    let by_ip = url.replace("https://localhost:", "https://127.0.0.1:");
    let allowed_ip = allow(&by_ip);
    let app = TestApp::spawn(&[
        ("ATLAS_IMPORTS__ALLOWED_HOSTS", allowed_ip.as_str()),
        ("ATLAS_IMPORTS__CLIENT__TLS__CA_FILE", ca.as_str()),
    ])
    .await;
    let res = post_url(&app, &by_ip).await;
    let job = wait_done(&app, res.headers()["location"].to_str().unwrap()).await;
    assert_eq!(job["status"], "failed", "{job}");
    let message = job["message"].as_str().unwrap();
    assert!(
        message.contains("TLS: the server's certificate is not valid for host name 127.0.0.1"),
        "{job}"
    );
}
