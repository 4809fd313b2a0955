//! Per-client rate limiting of the API port (`server.rate_limit`, issue #15 item 6).

use std::time::Duration;

use crate::helpers::TestApp;

async fn get_from(app: &TestApp, path: &str, xff: Option<&str>) -> reqwest::Response {
    let mut req = app.http.get(format!("{}{path}", app.api));
    if let Some(v) = xff {
        req = req.header("x-forwarded-for", v);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn rate_limiting_is_off_by_default() {
    let app = TestApp::spawn(&[]).await;
    for _ in 0..120 {
        let res = app.get("/api/v1/currencies/EUR").await;
        assert_eq!(res.status(), 200);
        assert!(res.headers().get("ratelimit").is_none());
        assert!(res.headers().get("ratelimit-policy").is_none());
    }
}

#[tokio::test]
async fn beyond_the_budget_requests_get_429_problems_then_recover() {
    let app = TestApp::spawn(&[
        ("ATLAS_SERVER__RATE_LIMIT__ENABLED", "true"),
        ("ATLAS_SERVER__RATE_LIMIT__REQUESTS", "3"),
        ("ATLAS_SERVER__RATE_LIMIT__PERIOD", "1500ms"),
    ])
    .await;
    for remaining in [2, 1, 0] {
        let res = app.get("/api/v1/currencies/EUR").await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["ratelimit-policy"], "\"default\";q=3;w=1");
        let rate = res.headers()["ratelimit"].to_str().unwrap();
        assert!(
            rate.starts_with(&format!("\"default\";r={remaining};t=")),
            "{rate}"
        );
    }
    let res = app.get("/api/v1/currencies/EUR").await;
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "1");
    assert_eq!(res.headers()["ratelimit"], "\"default\";r=0;t=1");
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    assert!(res.headers().get("x-request-id").is_some());
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], 429);
    assert_eq!(body["instance"], "/api/v1/currencies/EUR");
    assert!(body["request_id"].is_string(), "{body}");

    // Probes and metrics on the admin port are never limited.
    for _ in 0..10 {
        assert_eq!(app.admin_status("/livez").await, 200);
    }
    let metrics = app.admin_get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("http_server_rate_limited_total 1"),
        "{metrics}"
    );

    // One interval (500 ms) later one more request is allowed.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(app.get("/api/v1/currencies/EUR").await.status(), 200);
    assert_eq!(app.get("/api/v1/currencies/EUR").await.status(), 429);
}

#[tokio::test]
async fn forwarded_addresses_count_only_from_trusted_proxies() {
    let limits = [
        ("ATLAS_SERVER__RATE_LIMIT__ENABLED", "true"),
        ("ATLAS_SERVER__RATE_LIMIT__REQUESTS", "2"),
        ("ATLAS_SERVER__RATE_LIMIT__PERIOD", "1h"),
        ("ATLAS_SERVER__RATE_LIMIT__KEY", "x_forwarded_for"),
    ];
    // The test client (127.0.0.1) is no trusted proxy: spoofed headers are ignored.
    let untrusted = TestApp::spawn(
        &[
            &limits[..],
            &[("ATLAS_SERVER__RATE_LIMIT__TRUSTED_PROXIES", "[10.0.0.0/8]")],
        ]
        .concat(),
    )
    .await;
    let statuses = [
        get_from(&untrusted, "/home", Some("203.0.113.1"))
            .await
            .status(),
        get_from(&untrusted, "/home", Some("203.0.113.2"))
            .await
            .status(),
        get_from(&untrusted, "/home", Some("203.0.113.3"))
            .await
            .status(),
    ];
    assert_eq!(statuses.map(|s| s.as_u16()), [200, 200, 429]);

    // Behind a trusted proxy each forwarded client has its own budget.
    let trusted = TestApp::spawn(
        &[
            &limits[..],
            &[(
                "ATLAS_SERVER__RATE_LIMIT__TRUSTED_PROXIES",
                "[127.0.0.0/8, \"::1/128\"]",
            )],
        ]
        .concat(),
    )
    .await;
    for client in ["203.0.113.1", "203.0.113.2", "203.0.113.3"] {
        for _ in 0..2 {
            assert_eq!(
                get_from(&trusted, "/home", Some(client)).await.status(),
                200,
                "{client}"
            );
        }
    }
    let spoofed_left = get_from(&trusted, "/home", Some("198.51.100.9, 203.0.113.1")).await;
    assert_eq!(
        spoofed_left.status(),
        429,
        "the rightmost untrusted hop is the client"
    );
}
