//! The pod contract against the real binary and real signals.

use std::time::{Duration, Instant};

use crate::helpers::BinApp;

#[tokio::test]
async fn sigterm_flips_readiness_keeps_serving_through_the_drain_then_exits_0() {
    let mut app = BinApp::spawn(&[
        ("ATLAS_SHUTDOWN__DRAIN_DELAY", "1500ms"),
        ("ATLAS_SHUTDOWN__TIMEOUT", "5s"),
    ])
    .await;
    app.wait_for_admin("/readyz", 200, Duration::from_secs(5))
        .await;

    let signalled = Instant::now();
    app.signal("TERM");
    app.wait_for_admin("/readyz", 503, Duration::from_secs(2))
        .await;
    let readiness_off = signalled.elapsed();
    eprintln!("readiness turned 503 {readiness_off:?} after SIGTERM");
    assert!(
        readiness_off < Duration::from_millis(500),
        "{readiness_off:?}"
    );

    // During the drain delay: not ready, yet serving normally on new connections.
    podkit::tls::install_default_provider();
    let fresh = reqwest::Client::new();
    let res = fresh.get(format!("{}/home", app.api)).send().await.unwrap();
    assert_eq!(res.status(), 200, "still serving during the drain delay");
    assert_eq!(
        app.admin_status("/healthz").await,
        200,
        "liveness stays up while draining"
    );

    let status = app.wait_exit(Duration::from_secs(10)).await;
    let took = signalled.elapsed();
    assert_eq!(status.code(), Some(0));
    assert!(
        took >= Duration::from_millis(1500),
        "exited before the drain delay: {took:?}"
    );
    assert!(took < Duration::from_millis(1500 + 5000), "{took:?}");

    let phases: Vec<String> = app
        .log_lines()
        .iter()
        .filter_map(|l| l["phase"].as_str().map(String::from))
        .collect();
    for p in [
        "starting",
        "listening",
        "started",
        "signal",
        "draining",
        "stopping",
        "drained",
        "stopped",
    ] {
        assert!(
            phases.iter().any(|x| x == p),
            "phase {p} not logged: {phases:?}"
        );
    }
}

#[tokio::test]
async fn a_second_signal_exits_at_once_with_a_non_zero_code() {
    let mut app = BinApp::spawn(&[("ATLAS_SHUTDOWN__DRAIN_DELAY", "30s")]).await;
    app.signal("TERM");
    app.wait_for_admin("/readyz", 503, Duration::from_secs(2))
        .await;
    let t = Instant::now();
    app.signal("INT");
    let status = app.wait_exit(Duration::from_secs(5)).await;
    assert_eq!(status.code(), Some(130));
    assert!(t.elapsed() < Duration::from_secs(2));
}

/// A request whose body is still arriving when the drain delay ends must complete:
/// the listener closes, the connection in flight does not.
#[tokio::test]
async fn a_request_in_flight_when_the_drain_ends_still_completes() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let mut app = BinApp::spawn(&[
        ("ATLAS_SHUTDOWN__DRAIN_DELAY", "500ms"),
        ("ATLAS_SHUTDOWN__TIMEOUT", "10s"),
    ])
    .await;
    let addr = app.api.trim_start_matches("http://").to_string();
    let body = br#"{"code": "XQA", "numeric": "001", "name": "Quatloo", "minor_units": 2}"#;
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /api/v1/currencies HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(&body[..10]).await.unwrap();

    let signalled = Instant::now();
    app.signal("TERM");
    app.wait_for_admin("/readyz", 503, Duration::from_secs(2))
        .await;
    // Past the drain delay: the server has stopped accepting new connections.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(
        tokio::net::TcpStream::connect(&addr).await.is_err(),
        "the listener is closed after the drain delay"
    );
    conn.write_all(&body[10..]).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), conn.read_to_end(&mut response))
        .await
        .unwrap()
        .unwrap();
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    let status = app.wait_exit(Duration::from_secs(10)).await;
    assert_eq!(status.code(), Some(0));
    assert!(signalled.elapsed() < Duration::from_secs(10));
}
