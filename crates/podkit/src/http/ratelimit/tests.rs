use std::net::Ipv4Addr;
use std::num::{NonZeroU32, NonZeroUsize};
use std::time::Duration;

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use tower::ServiceExt;

use super::*;

const SEC: u64 = NANOS;

fn config(requests: u32, period: Duration) -> RateLimitConfig {
    RateLimitConfig {
        enabled: true,
        requests: NonZeroU32::new(requests).unwrap(),
        period,
        ..RateLimitConfig::default()
    }
}

fn limiter(cfg: &RateLimitConfig) -> RateLimiter {
    RateLimiter::build(cfg, None).unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn a_burst_is_allowed_then_refused_until_the_interval_passes() {
    let l = limiter(&config(3, Duration::from_secs(3)));
    let a = ip("192.0.2.1");
    for (remaining, reset) in [(2, 1), (1, 2), (0, 3)] {
        assert_eq!(l.check_at(a, 0), Decision::Allowed { remaining, reset });
    }
    assert_eq!(l.check_at(a, 0), Decision::Limited { retry_after: 1 });
    assert_eq!(
        l.check_at(a, SEC / 2),
        Decision::Limited { retry_after: 1 },
        "half an interval is not enough"
    );
    assert!(matches!(
        l.check_at(a, SEC),
        Decision::Allowed { remaining: 0, .. }
    ));
    assert!(matches!(l.check_at(a, SEC), Decision::Limited { .. }));
    // After a whole quiet period the whole burst is back.
    assert_eq!(
        l.check_at(a, 5 * SEC),
        Decision::Allowed {
            remaining: 2,
            reset: 1
        }
    );
    // Other clients have their own budget.
    assert!(matches!(
        l.check_at(ip("192.0.2.2"), 0),
        Decision::Allowed { remaining: 2, .. }
    ));
}

#[test]
fn burst_below_requests_caps_what_a_quiet_client_may_send_at_once() {
    let cfg = RateLimitConfig {
        burst: NonZeroU32::new(2),
        ..config(60, Duration::from_secs(60))
    };
    let l = limiter(&cfg);
    let a = ip("192.0.2.1");
    assert!(matches!(
        l.check_at(a, 0),
        Decision::Allowed { remaining: 1, .. }
    ));
    assert!(matches!(
        l.check_at(a, 0),
        Decision::Allowed { remaining: 0, .. }
    ));
    assert_eq!(l.check_at(a, 0), Decision::Limited { retry_after: 1 });
}

#[test]
fn the_key_store_stays_within_max_clients_under_a_flood_of_addresses() {
    let cfg = RateLimitConfig {
        max_clients: NonZeroUsize::new(100).unwrap(),
        ..config(1, Duration::from_secs(3600))
    };
    let l = limiter(&cfg);
    for i in 0..50_000u32 {
        let a = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
        assert!(matches!(l.check_at(a, 0), Decision::Allowed { .. }), "{a}");
        assert!(l.clients() <= 100, "{} clients after {a}", l.clients());
    }
    assert!(l.clients() >= 50, "the store is used: {}", l.clients());
    // IPv6 from one /64 is one client, however many addresses it uses.
    let before = l.clients();
    let v6 = limiter(&cfg);
    for i in 0..1000u128 {
        let a = IpAddr::V6((0x2001_0db8_0000_0001_0000_0000_0000_0000u128 + i).into());
        v6.check_at(a, 0);
    }
    assert_eq!(v6.clients(), 1);
    assert!(matches!(
        v6.check_at(ip("2001:db8:0:1::ffff"), 0),
        Decision::Limited { .. }
    ));
    assert_eq!(l.clients(), before);
}

fn keyed(key: ClientKey, trusted: &[&str]) -> RateLimiter {
    limiter(&RateLimitConfig {
        key,
        trusted_proxies: trusted.iter().map(|n| n.parse().unwrap()).collect(),
        ..config(10, Duration::from_secs(1))
    })
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    h
}

/// Limiter, peer, headers, the client expected.
type Case<'a> = (&'a RateLimiter, &'a str, &'a [(&'a str, &'a str)], &'a str);

fn check_clients(cases: &[Case]) {
    for (l, peer, h, want) in cases {
        let got = l.client_of(Some(ip(peer)), &headers(h));
        assert_eq!(got, Some(ip(want)), "case {peer} {h:?}");
    }
}

#[test]
fn behind_trusted_proxies_the_client_is_the_rightmost_untrusted_x_forwarded_for_hop() {
    let xff = keyed(ClientKey::XForwardedFor, &["10.0.0.0/8", "fd00::/8"]);
    let cases: [Case; 8] = [
        (
            &xff,
            "10.0.0.1",
            &[("x-forwarded-for", "203.0.113.7")],
            "203.0.113.7",
        ),
        (
            &xff,
            "10.0.0.1",
            &[("x-forwarded-for", "1.1.1.1, 203.0.113.7, 10.0.0.9")],
            "203.0.113.7",
        ),
        (
            &xff,
            "10.0.0.1",
            &[
                ("x-forwarded-for", "1.1.1.1"),
                ("x-forwarded-for", "203.0.113.7"),
            ],
            "203.0.113.7",
        ),
        // A spoofed header from a peer that is not a trusted proxy is ignored.
        (
            &xff,
            "198.51.100.5",
            &[("x-forwarded-for", "203.0.113.7")],
            "198.51.100.5",
        ),
        // Garbage ends the walk at the last hop a trusted proxy wrote.
        (
            &xff,
            "10.0.0.1",
            &[("x-forwarded-for", "203.0.113.7, nonsense")],
            "10.0.0.1",
        ),
        (
            &xff,
            "10.0.0.1",
            &[("x-forwarded-for", "10.0.0.2, 10.0.0.3")],
            "10.0.0.2",
        ),
        (&xff, "10.0.0.1", &[], "10.0.0.1"),
        (
            &xff,
            "::ffff:10.0.0.1",
            &[("x-forwarded-for", "[2001:db8::1]:443")],
            "2001:db8::1",
        ),
    ];
    check_clients(&cases);
    assert_eq!(xff.client_of(None, &HeaderMap::new()), None);
}

#[test]
fn forwarded_is_read_the_same_way_and_peer_keys_ignore_every_header() {
    let fwd = keyed(ClientKey::Forwarded, &["10.0.0.0/8"]);
    let peer_only = keyed(ClientKey::Peer, &["10.0.0.0/8"]);
    let cases: [Case; 5] = [
        (
            &fwd,
            "10.0.0.1",
            &[(
                "forwarded",
                "for=1.1.1.1, for=\"[2001:db8::2]:4711\";proto=https",
            )],
            "2001:db8::2",
        ),
        (
            &fwd,
            "10.0.0.1",
            &[("forwarded", "for=203.0.113.9;by=10.0.0.1, For=10.0.0.4")],
            "203.0.113.9",
        ),
        (
            &fwd,
            "10.0.0.1",
            &[("forwarded", "for=unknown")],
            "10.0.0.1",
        ),
        (
            &fwd,
            "10.0.0.1",
            &[("x-forwarded-for", "203.0.113.7")],
            "10.0.0.1",
        ),
        (
            &peer_only,
            "10.0.0.1",
            &[("x-forwarded-for", "203.0.113.7")],
            "10.0.0.1",
        ),
    ];
    check_clients(&cases);
}

fn app(l: RateLimiter) -> Router {
    Router::new()
        .route("/", get(|| async { "ok" }))
        .layer(axum::middleware::from_fn_with_state(l, limit_layer))
        .layer(axum::middleware::from_fn(
            super::super::problem::problem_layer,
        ))
        // What the kit's server does for every request.
        .layer(tower::util::MapRequestLayer::new(|mut req: Request| {
            let peer = SocketAddr::from(([192, 0, 2, 1], 5000));
            req.extensions_mut().insert(ConnectInfo(peer));
            req
        }))
}

#[tokio::test]
async fn a_refused_request_gets_429_with_retry_after_headers_and_a_problem() {
    let m = Metrics::build(
        &crate::config::MetricsConfig::default(),
        &crate::build::BuildInfo {
            name: "t",
            release: "0",
            commit: "x",
            build_time: "unset",
        },
    )
    .unwrap();
    let l = RateLimiter::build(&config(2, Duration::from_secs(60)), Some(&m)).unwrap();
    let router = app(l);
    let call = || {
        router
            .clone()
            .oneshot(Request::get("/").body(Body::empty()).unwrap())
    };
    let first = call().await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(first.headers()[&RATELIMIT_POLICY], "\"default\";q=2;w=60");
    assert_eq!(first.headers()[&RATELIMIT], "\"default\";r=1;t=30");
    assert_eq!(
        call().await.unwrap().headers()[&RATELIMIT],
        "\"default\";r=0;t=60"
    );
    let refused = call().await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.headers()[header::RETRY_AFTER], "30");
    assert_eq!(refused.headers()[&RATELIMIT], "\"default\";r=0;t=30");
    assert_eq!(refused.headers()[&RATELIMIT_POLICY], "\"default\";q=2;w=60");
    assert_eq!(
        refused.headers()[header::CONTENT_TYPE],
        super::super::PROBLEM_JSON
    );
    let body = axum::body::to_bytes(refused.into_body(), 1 << 16)
        .await
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["status"], 429);
    assert_eq!(body["title"], "Too Many Requests");
    assert!(
        m.render().contains("http_server_rate_limited_total 1"),
        "{}",
        m.render()
    );
}
