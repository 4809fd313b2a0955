//! The HTTP client against a local axum server that fails, stalls, throttles and
//! recovers on cue. Time is paused: backoffs and timeouts cost no real time.
//!
//! Run with: `cargo test -p podkit --test client`

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use podkit::client::{BuildError, ClientConfig, ClientError, HttpClient};
use podkit::config::{MetricFamilies, MetricsConfig};
use podkit::{BuildInfo, Metrics};
use tokio::time::Instant;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

const BUILD: BuildInfo = BuildInfo {
    name: "kit-test",
    release: "0.0.0",
    commit: "test",
    build_time: "unset",
};

/// Every span of this binary's tests. Installed once, before any test makes a span:
/// a scoped subscriber (`set_default`) races with other test threads registering the
/// same callsites and can miss spans.
static SPANS: LazyLock<SpanLog> = LazyLock::new(|| {
    let log = SpanLog::default();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(log.clone()))
        .expect("no other global subscriber in this binary");
    log
});

/// A server whose routes misbehave on cue; `hits` counts every request it gets.
struct TestServer {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
}

impl TestServer {
    async fn spawn() -> Self {
        LazyLock::force(&SPANS);
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let router = Router::new()
            .route("/ok", get(|| async { "ok" }))
            .route("/fail", any(|| async { StatusCode::INTERNAL_SERVER_ERROR }))
            .route("/flaky", get(flaky))
            .route("/slow", get(slow))
            .route("/limited", get(limited))
            .route("/limited-long", get(|| async { too_many(120) }))
            .route("/endless", get(endless))
            .route("/declared", get(|| async { vec![b'x'; 4096] }))
            .route("/echo", any(echo))
            .with_state(hits.clone())
            .layer(axum::middleware::map_request(move |req: Request| {
                counter.fetch_add(1, Ordering::SeqCst);
                async move { req }
            }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { addr, hits }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

type Hits = State<Arc<AtomicUsize>>;

/// 503 for the first two calls, then 200.
async fn flaky(State(hits): Hits) -> Response {
    if hits.load(Ordering::SeqCst) <= 2 {
        StatusCode::SERVICE_UNAVAILABLE.into_response()
    } else {
        "recovered".into_response()
    }
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(60)).await;
    "too late"
}

/// 429 with `Retry-After: 1` for the first call, then 200.
async fn limited(State(hits): Hits) -> Response {
    if hits.load(Ordering::SeqCst) == 1 {
        too_many(1)
    } else {
        "welcome back".into_response()
    }
}

fn too_many(secs: u64) -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::RETRY_AFTER, secs.to_string())],
    )
        .into_response()
}

/// A body that never ends, without a declared length.
async fn endless() -> Body {
    let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
    Body::from_stream(futures_util::stream::repeat_with(move || {
        Ok::<_, Infallible>(chunk.clone())
    }))
}

async fn echo(method: Method, headers: HeaderMap, body: String) -> String {
    let tag = headers
        .get("x-test")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    format!("{method} {tag} {body}")
}

fn metrics() -> Metrics {
    LazyLock::force(&SPANS);
    let config = MetricsConfig {
        families: MetricFamilies {
            process: false,
            ..Default::default()
        },
        ..Default::default()
    };
    Metrics::build(&config, &BUILD).unwrap()
}

fn client(m: &Metrics, config: ClientConfig) -> HttpClient {
    HttpClient::build("upstream", config, Some(m)).unwrap()
}

/// The value of the series of `family` whose labels include `labels`, 0 if absent.
fn value(m: &Metrics, family: &str, labels: &[(&str, &str)]) -> f64 {
    let text = m.render();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|line| {
            let (series, v) = line.rsplit_once(' ')?;
            let (name, rest) = series.split_once('{').unwrap_or((series, ""));
            let has_all = labels
                .iter()
                .all(|(k, val)| rest.contains(&format!("{k}=\"{val}\"")));
            (name == family && has_all).then(|| v.parse().unwrap())
        })
        .unwrap_or(0.0)
}

fn requests(m: &Metrics, method: &str, status: &str) -> f64 {
    let labels = [
        ("client", "upstream"),
        ("method", method),
        ("host", "127.0.0.1"),
        ("status", status),
    ];
    value(m, "http_client_requests_total", &labels)
}

fn retries(m: &Metrics, method: &str) -> f64 {
    let labels = [
        ("client", "upstream"),
        ("method", method),
        ("host", "127.0.0.1"),
    ];
    value(m, "http_client_retries_total", &labels)
}

#[tokio::test(start_paused = true)]
async fn get_retries_503s_until_the_service_recovers() {
    let server = TestServer::spawn().await;
    let m = metrics();
    let res = client(&m, ClientConfig::default())
        .get(&server.url("/flaky"))
        .await
        .unwrap();

    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.body, "recovered");
    assert_eq!(server.hits(), 3);
    assert_eq!(retries(&m, "GET"), 2.0);
    assert_eq!(requests(&m, "GET", "503"), 2.0);
    assert_eq!(requests(&m, "GET", "200"), 1.0);
    let labels = [("client", "upstream"), ("method", "GET"), ("status", "503")];
    assert_eq!(
        value(&m, "http_client_request_duration_seconds_count", &labels),
        2.0
    );
}

#[tokio::test(start_paused = true)]
async fn post_is_not_retried() {
    let server = TestServer::spawn().await;
    let m = metrics();
    let res = client(&m, ClientConfig::default())
        .send(Method::POST, &server.url("/fail"), HeaderMap::new(), "{}")
        .await
        .unwrap();

    assert_eq!(res.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(server.hits(), 1);
    assert_eq!(retries(&m, "POST"), 0.0);
    assert_eq!(requests(&m, "POST", "500"), 1.0);
}

#[tokio::test(start_paused = true)]
async fn send_passes_method_headers_and_body() {
    let server = TestServer::spawn().await;
    let m = metrics();
    let mut headers = HeaderMap::new();
    headers.insert("x-test", "42".parse().unwrap());
    let res = client(&m, ClientConfig::default())
        .send(Method::PUT, &server.url("/echo"), headers, "payload")
        .await
        .unwrap();
    assert_eq!(res.body, "PUT 42 payload");
}

#[tokio::test(start_paused = true)]
async fn a_stalled_server_times_out_and_every_attempt_counts_as_error() {
    let server = TestServer::spawn().await;
    let m = metrics();
    let config = ClientConfig {
        request_timeout: Duration::from_secs(1),
        max_retries: 2,
        ..ClientConfig::default()
    };
    let started = Instant::now();
    let err = client(&m, config)
        .get(&server.url("/slow"))
        .await
        .unwrap_err();

    assert!(matches!(err, ClientError::Timeout { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("{} did not answer within 1s", server.addr),
        "the message names host and port"
    );
    assert_eq!(server.hits(), 3);
    assert_eq!(requests(&m, "GET", "error"), 3.0);
    assert_eq!(retries(&m, "GET"), 2.0);
    // Three 1s attempts and two backoffs of at most 100ms and 200ms.
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(3) && took <= Duration::from_millis(3310),
        "{took:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_429_is_retried_after_the_retry_after_delay() {
    let server = TestServer::spawn().await;
    let m = metrics();
    let started = Instant::now();
    let res = client(&m, ClientConfig::default())
        .get(&server.url("/limited"))
        .await
        .unwrap();

    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(server.hits(), 2);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_millis(1050),
        "waited Retry-After: 1, not a jittered backoff: {took:?}"
    );
    assert_eq!(requests(&m, "GET", "429"), 1.0);
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_beyond_backoff_max_returns_the_429_at_once() {
    let server = TestServer::spawn().await;
    let m = metrics();
    let res = client(&m, ClientConfig::default())
        .get(&server.url("/limited-long"))
        .await
        .unwrap();

    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.headers[header::RETRY_AFTER], "120");
    assert_eq!(server.hits(), 1);
    assert_eq!(retries(&m, "GET"), 0.0);
}

#[tokio::test(start_paused = true)]
async fn the_retry_budget_stops_a_retry_storm() {
    let server = TestServer::spawn().await;
    let m = metrics();
    let config = ClientConfig {
        backoff_base: Duration::from_millis(1),
        backoff_max: Duration::from_millis(1),
        ..ClientConfig::default()
    };
    let client = client(&m, config);
    for _ in 0..50 {
        let res = client.get(&server.url("/fail")).await.unwrap();
        assert_eq!(res.status, StatusCode::INTERNAL_SERVER_ERROR);
    }

    // Unlimited, 50 calls × 3 retries = 150. The budget allows its reserve
    // (1/s × 10s) plus 20% of 50 calls.
    let spent = retries(&m, "GET");
    assert!((15.0..=20.0).contains(&spent), "{spent}");
    assert_eq!(server.hits() as f64, 50.0 + spent);
}

#[tokio::test(start_paused = true)]
async fn an_endless_body_is_cut_off_at_max_body_bytes() {
    let server = TestServer::spawn().await;
    let m = metrics();
    let config = ClientConfig {
        max_body_bytes: 1024 * 1024,
        ..ClientConfig::default()
    };
    // Finishing at all shows the client stopped reading: the body never ends.
    let err = client(&m, config)
        .get(&server.url("/endless"))
        .await
        .unwrap_err();

    assert!(
        matches!(err, ClientError::TooLarge { limit: 1048576, .. }),
        "{err:?}"
    );
    assert_eq!(server.hits(), 1, "not retried");
    assert_eq!(requests(&m, "GET", "error"), 1.0);
}

#[tokio::test(start_paused = true)]
async fn a_declared_length_above_the_limit_is_refused_before_reading() {
    let server = TestServer::spawn().await;
    let m = metrics();
    let config = ClientConfig {
        max_body_bytes: 1024,
        ..ClientConfig::default()
    };
    let err = client(&m, config)
        .get(&server.url("/declared"))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::TooLarge { .. }), "{err:?}");
}

#[tokio::test(start_paused = true)]
async fn a_refused_connection_is_retried_then_reported_as_connect() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let m = metrics();
    let err = client(&m, ClientConfig::default())
        .get(&format!("http://127.0.0.1:{port}/"))
        .await
        .unwrap_err();

    assert!(matches!(err, ClientError::Connect { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("cannot connect to 127.0.0.1:{port}: connection refused"),
        "host, port and cause in one line"
    );
    assert_eq!(retries(&m, "GET"), 3.0);
    assert_eq!(requests(&m, "GET", "error"), 4.0);
}

#[tokio::test(start_paused = true)]
async fn invalid_urls_fail_before_sending_without_echoing_secrets() {
    let m = metrics();
    let client = client(&m, ClientConfig::default());
    for url in [
        "not a url?token=hunter2",
        "ftp://files/x",
        "http://u:hunter2@/x",
    ] {
        let err = client.get(url).await.unwrap_err();
        assert!(
            matches!(err, ClientError::InvalidRequest(_)),
            "case {url}: {err:?}"
        );
        assert!(!err.to_string().contains("hunter2"), "case {url}: {err}");
    }
    assert!(!m.render().contains("http_client_requests_total{"));
}

#[tokio::test(start_paused = true)]
async fn metrics_show_the_client_families_and_clients_are_told_apart_by_name() {
    let server = TestServer::spawn().await;
    let m = metrics();
    let a = HttpClient::build("a", ClientConfig::default(), Some(&m)).unwrap();
    let b = HttpClient::build("b", ClientConfig::default(), Some(&m)).unwrap();
    a.get(&server.url("/ok")).await.unwrap();
    b.get(&server.url("/flaky")).await.unwrap();

    let text = m.render();
    for (family, kind) in [
        ("http_client_requests_total", "counter"),
        ("http_client_request_duration_seconds", "histogram"),
        ("http_client_retries_total", "counter"),
    ] {
        assert!(
            text.contains(&format!("# TYPE {family} {kind}")),
            "case {family}: {text}"
        );
    }
    let ok = |client| {
        let labels = [("client", client), ("status", "200")];
        value(&m, "http_client_requests_total", &labels)
    };
    assert_eq!((ok("a"), ok("b")), (1.0, 1.0));

    let dup = HttpClient::build("a", ClientConfig::default(), Some(&m)).unwrap_err();
    assert!(matches!(dup, BuildError::Metrics(_)), "{dup:?}");

    let quiet = metrics_without_client_families();
    HttpClient::build("a", ClientConfig::default(), Some(&quiet))
        .unwrap()
        .get(&server.url("/ok"))
        .await
        .unwrap();
    assert!(!quiet.render().contains("http_client_"));
}

fn metrics_without_client_families() -> Metrics {
    let config = MetricsConfig {
        families: MetricFamilies {
            process: false,
            http_client: false,
            ..Default::default()
        },
        ..Default::default()
    };
    Metrics::build(&config, &BUILD).unwrap()
}

/// Span name and fields of every span created, in order.
#[derive(Clone, Default)]
struct SpanLog(Arc<Mutex<Vec<LoggedSpan>>>);

type LoggedSpan = (Id, &'static str, BTreeMap<String, String>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().into(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
}

impl<S: tracing::Subscriber> Layer<S> for SpanLog {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        attrs.record(&mut Fields(&mut fields));
        let name = attrs.metadata().name();
        self.0.lock().unwrap().push((id.clone(), name, fields));
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        let mut log = self.0.lock().unwrap();
        if let Some((_, _, fields)) = log.iter_mut().rev().find(|(i, _, _)| i == id) {
            values.record(&mut Fields(fields));
        }
    }
}

#[tokio::test(start_paused = true)]
async fn each_attempt_gets_a_client_span_with_http_attributes_and_no_secrets() {
    let server = TestServer::spawn().await;
    let m = metrics();
    let url = format!("http://u:pw@{}/flaky?page=2&token=hunter2", server.addr);
    HttpClient::build("spanned", ClientConfig::default(), Some(&m))
        .unwrap()
        .get(&url)
        .await
        .unwrap();

    let log = SPANS.0.lock().unwrap();
    let spans: Vec<_> = log
        .iter()
        .filter(|(_, name, fields)| {
            *name == "http_client_request"
                && fields.get("peer.service").map(String::as_str) == Some("spanned")
        })
        .map(|(_, _, fields)| fields)
        .collect();
    assert_eq!(spans.len(), 3, "one span per attempt");
    let want_url = format!("http://{}/flaky?page=2&token=REDACTED", server.addr);
    for (i, (span, status)) in spans.iter().zip(["503", "503", "200"]).enumerate() {
        let field = |k: &str| span.get(k).map(String::as_str);
        assert_eq!(field("otel.kind"), Some("client"), "attempt {i}");
        assert_eq!(field("otel.name"), Some("GET"), "attempt {i}");
        assert_eq!(field("http.request.method"), Some("GET"), "attempt {i}");
        assert_eq!(field("server.address"), Some("127.0.0.1"), "attempt {i}");
        assert_eq!(field("url.full"), Some(want_url.as_str()), "attempt {i}");
        assert_eq!(
            field("http.response.status_code"),
            Some(status),
            "attempt {i}"
        );
        let resend = (i > 0).then(|| i.to_string());
        assert_eq!(
            field("http.request.resend_count"),
            resend.as_deref(),
            "attempt {i}"
        );
    }
    assert_eq!(spans[0].get("error.type").map(String::as_str), Some("503"));
}

#[tokio::test(start_paused = true)]
async fn a_streamed_get_retries_until_a_status_then_enforces_the_limit_per_chunk() {
    let server = TestServer::spawn().await;
    let m = metrics();
    let config = ClientConfig {
        max_body_bytes: 64 * 1024,
        ..ClientConfig::default()
    };
    let c = client(&m, config);

    let mut res = c.get_streaming(&server.url("/flaky")).await.unwrap();
    assert_eq!(res.status, StatusCode::OK);
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.unwrap() {
        body.extend_from_slice(&chunk);
    }
    assert_eq!(body, b"recovered");
    assert_eq!(retries(&m, "GET"), 2.0, "503s are retried before the body");

    // The body never ends: reading stops with an error once past the limit.
    let mut res = c.get_streaming(&server.url("/endless")).await.unwrap();
    let mut read = 0;
    let err = loop {
        match res.chunk().await {
            Ok(Some(chunk)) => read += chunk.len(),
            Ok(None) => panic!("an endless body ended"),
            Err(e) => break e,
        }
    };
    assert!(
        matches!(err, ClientError::TooLarge { limit: 65536, .. }),
        "{err:?}"
    );
    assert!(read <= 64 * 1024, "{read} bytes handed over");

    let small = client(
        &metrics(),
        ClientConfig {
            max_body_bytes: 1024,
            ..ClientConfig::default()
        },
    );
    let err = small
        .get_streaming(&server.url("/declared"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::TooLarge { .. }),
        "declared length: {err:?}"
    );
}
