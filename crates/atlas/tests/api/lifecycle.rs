//! The pod contract against the real binary and real signals.

use std::time::{Duration, Instant};

use crate::helpers::TestApp;

#[tokio::test]
async fn sigterm_flips_readiness_keeps_serving_through_the_drain_then_exits_0() {
    let mut app = TestApp::spawn(&[
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
    let mut app = TestApp::spawn(&[("ATLAS_SHUTDOWN__DRAIN_DELAY", "30s")]).await;
    app.signal("TERM");
    app.wait_for_admin("/readyz", 503, Duration::from_secs(2))
        .await;
    let t = Instant::now();
    app.signal("INT");
    let status = app.wait_exit(Duration::from_secs(5)).await;
    assert_eq!(status.code(), Some(130));
    assert!(t.elapsed() < Duration::from_secs(2));
}
