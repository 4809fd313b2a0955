//! Serving: /home, problem bodies, request ids, limits, probes and the probe command.

use std::process::Command;

use serde_json::Value;

use crate::helpers::{base_env, run, BinApp, TestApp, BIN};

#[tokio::test]
async fn home_returns_release_commit_and_build_time() {
    let app = TestApp::spawn(&[]).await;
    let res = app.get("/home").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["release"], env!("CARGO_PKG_VERSION"));
    assert!(
        body["commit"].is_string() && body["buildTime"].is_string(),
        "{body}"
    );
}

#[tokio::test]
async fn unknown_path_is_404_and_wrong_method_is_405_with_allow_both_as_problems() {
    let app = TestApp::spawn(&[]).await;
    let res = app.get("/no/such/path").await;
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let rid = res.headers()["x-request-id"].to_str().unwrap().to_string();
    let body: Value = res.json().await.unwrap();
    for key in [
        "type",
        "title",
        "status",
        "detail",
        "instance",
        "request_id",
    ] {
        assert!(body.get(key).is_some(), "{key} missing in {body}");
    }
    assert_eq!(body["instance"], "/no/such/path");
    assert_eq!(body["request_id"], rid);

    let res = app
        .http
        .delete(format!("{}/home", app.api))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    assert!(res.headers()["allow"].to_str().unwrap().contains("GET"));
    assert_eq!(res.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn request_id_is_honoured_echoed_and_logged_with_the_route() {
    let app = BinApp::spawn(&[]).await;
    let res = app
        .http
        .get(format!("{}/home", app.api))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "abc-123");
    let line = app
        .wait_for_log(|v| v["target"] == "access" && v["request_id"] == "abc-123")
        .await;
    assert_eq!(line["route"], "/home");
    assert_eq!(line["method"], "GET");
    assert_eq!(line["status"], 200);
    assert!(line["duration_ms"].as_f64().is_some(), "{line}");
    // Regression (#10): the id came from the span and the event both.
    let raw = app
        .raw_log_lines()
        .into_iter()
        .find(|l| l.contains(r#""target":"access""#) && l.contains("abc-123"))
        .unwrap();
    assert_eq!(raw.matches(r#""request_id""#).count(), 1, "{raw}");

    let bad = "x".repeat(300);
    let res = app
        .http
        .get(format!("{}/home", app.api))
        .header("x-request-id", &bad)
        .send()
        .await
        .unwrap();
    let echoed = res.headers()["x-request-id"].to_str().unwrap();
    assert_ne!(echoed, bad, "over-long ids are replaced");
    assert!(!echoed.is_empty());
}

#[tokio::test]
async fn oversized_body_is_a_413_problem() {
    let app = TestApp::spawn(&[("ATLAS_SERVER__BODY_LIMIT", "1KiB")]).await;
    let res = app
        .http
        .post(format!("{}/home", app.api))
        .body(vec![b'x'; 4096])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn probes_answer_on_the_admin_port_only() {
    let app = TestApp::spawn(&[]).await;
    app.wait_for_admin("/readyz", 200, std::time::Duration::from_secs(30))
        .await;
    for path in ["/healthz", "/livez", "/readyz", "/startupz"] {
        assert_eq!(app.admin_status(path).await, 200, "{path}");
        assert_eq!(
            app.get(path).await.status(),
            404,
            "{path} is not on the API port"
        );
    }
    let ready: Value = app.admin_get("/readyz").await.json().await.unwrap();
    assert_eq!(ready["status"], "ready");
    assert!(ready["checks"].is_array());
}

// Multi-threaded: the probe command blocks this thread while the pod answers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_subcommand_exits_0_against_a_live_pod_and_1_without_one() {
    let app = TestApp::spawn(&[("ATLAS_SHUTDOWN__DRAIN_DELAY", "0s")]).await;
    app.wait_for_admin("/readyz", 200, std::time::Duration::from_secs(30))
        .await;
    let port = app.admin.rsplit(':').next().unwrap().to_string();
    for kind in ["live", "ready", "startup"] {
        let status = Command::new(BIN)
            .args(["probe", kind])
            .env_clear()
            .env("ADMIN_PORT", &port)
            .env("HOST", "127.0.0.1")
            .status()
            .unwrap();
        assert!(status.success(), "probe {kind}");
    }
    app.shut_down().await.unwrap();
    let mut env = base_env();
    env.insert("ADMIN_PORT".into(), port);
    let (status, _, stderr, _) = run(&["probe", "ready"], &env);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("/readyz"), "{stderr}");
}

#[tokio::test]
async fn in_process_shutdown_runs_the_phases_and_closes_the_ports() {
    let app = TestApp::spawn(&[("ATLAS_SHUTDOWN__DRAIN_DELAY", "0s")]).await;
    let api = app.api.clone();
    assert_eq!(app.get("/home").await.status(), 200);
    app.shut_down().await.expect("a clean stop");
    assert!(
        reqwest::get(format!("{api}/home")).await.is_err(),
        "the listener is closed after shutdown"
    );
}

// Regression (#11): a chunked body over the limit got the extractor's 400.
#[tokio::test]
async fn a_chunked_body_over_the_limit_is_a_413_problem() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let app = TestApp::spawn(&[("ATLAS_SERVER__BODY_LIMIT", "1KiB")]).await;
    let addr = app.api.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let chunk = format!("400\r\n{}\r\n", "x".repeat(0x400));
    let req = format!(
        "POST /api/v1/currencies HTTP/1.1\r\nHost: atlas\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n{chunk}{chunk}0\r\n\r\n"
    );
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut answer),
    )
    .await
    .expect("answered in time")
    .unwrap();
    let answer = String::from_utf8_lossy(&answer).to_lowercase();
    assert!(answer.starts_with("http/1.1 413"), "{answer}");
    assert!(
        answer.contains("content-type: application/problem+json"),
        "{answer}"
    );
}
