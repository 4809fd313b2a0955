//! The examples run: each example's start function on the `Pod` seam (port 0, a
//! channel instead of SIGTERM), probed, then stopped. `main` is not run; what it
//! adds (flags, signals) is `App`'s and is tested in `lifecycle.rs`.

use std::time::{Duration, Instant};

use axum::routing::get;
use axum::Router;
use podkit::{BuildInfo, Loader, Pod};
use tokio::sync::oneshot;

#[allow(dead_code)]
#[path = "../examples/minimal.rs"]
mod minimal;

#[allow(dead_code)]
#[path = "../examples/full.rs"]
mod full;

const BUILD: BuildInfo = BuildInfo {
    name: "example",
    release: "0.0.0",
    commit: "test",
    build_time: "unset",
};

fn env(prefix: &str, extra: &[(&str, String)]) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = [
        ("HOST", "127.0.0.1"),
        ("PORT", "0"),
        ("ADMIN_PORT", "0"),
        ("LOG_LEVEL", "warn"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    vars.push((format!("{prefix}_SHUTDOWN__DRAIN_DELAY"), "0s".into()));
    vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
    vars
}

/// GET or POST `url`; 0 when nothing answered.
async fn status(client: &reqwest::Client, method: &str, url: &str) -> u16 {
    let req = match method {
        "POST" => client.post(url),
        _ => client.get(url),
    };
    req.send().await.map_or(0, |r| r.status().as_u16())
}

async fn wait_ready(client: &reqwest::Client, admin: std::net::SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while status(client, "GET", &format!("http://{admin}/readyz")).await != 200 {
        assert!(Instant::now() < deadline, "never became ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_minimal_example_serves_hello_and_stops_when_told() {
    let config = Loader::new("MINIMAL")
        .with_env(env("MINIMAL", &[]))
        .load()
        .unwrap();
    let pod = Pod::bind(BUILD, config).await.unwrap();
    let (api, admin) = (pod.api_addr(), pod.admin_addr());
    let (stop, stopped) = oneshot::channel::<()>();
    let running = tokio::spawn(pod.run_until(minimal::start, async {
        stopped.await.ok();
    }));
    podkit::tls::install_default_provider();
    let client = reqwest::Client::new();
    wait_ready(&client, admin).await;

    let hello = client
        .get(format!("http://{api}/hello"))
        .send()
        .await
        .unwrap();
    assert_eq!(hello.text().await.unwrap(), "hello\n");
    let metrics = client
        .get(format!("http://{admin}/metrics"))
        .send()
        .await
        .unwrap();
    let metrics = metrics.text().await.unwrap();
    assert!(
        metrics
            .contains(r#"http_server_requests_total{method="GET",route="/hello",status="200"} 1"#),
        "{metrics}"
    );

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("stops within the shutdown budget")
        .unwrap()
        .unwrap();
    assert_eq!(
        status(&client, "GET", &format!("http://{api}/hello")).await,
        0
    );
}

/// An upstream on port 0 that answers 200 on `/ok` and 500 on `/broken`.
async fn upstream() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().route("/ok", get(|| async { "ok" })).route(
        "/broken",
        get(|| async { axum::http::StatusCode::INTERNAL_SERVER_ERROR }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

async fn start_full(
    url: String,
    queue: &str,
) -> (
    std::net::SocketAddr,
    std::net::SocketAddr,
    oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), podkit::PodError>>,
) {
    let config = Loader::new("FULL")
        .with_env(env(
            "FULL",
            &[
                ("FULL_UPSTREAM__URL", url),
                ("FULL_UPSTREAM__CLIENT__MAX_RETRIES", "0".into()),
                ("FULL_JOBS__WORKERS", "1".into()),
                ("FULL_JOBS__QUEUE_SIZE", queue.into()),
            ],
        ))
        .load::<full::Settings>()
        .unwrap();
    let pod = Pod::bind(BUILD, config).await.unwrap();
    let (api, admin) = (pod.api_addr(), pod.admin_addr());
    let (stop, stopped) = oneshot::channel::<()>();
    let running = tokio::spawn(pod.run_until(full::start, async {
        stopped.await.ok();
    }));
    podkit::tls::install_default_provider();
    (api, admin, stop, running)
}

#[tokio::test]
async fn the_full_example_checks_its_upstream_queues_jobs_and_rejects_past_the_queue() {
    let up = upstream().await;
    let (api, admin, stop, running) = start_full(format!("http://{up}/ok"), "1").await;
    let client = reqwest::Client::new();
    wait_ready(&client, admin).await;

    assert_eq!(
        status(&client, "GET", &format!("http://{api}/upstream")).await,
        200
    );
    // One worker, a queue of one: the first job runs (200 ms), the second waits,
    // the third finds the queue full. The pool's dispatcher may not have taken the
    // first job yet, so allow one more 202 before the 429.
    let jobs = format!("http://{api}/jobs");
    let mut codes = Vec::new();
    for _ in 0..4 {
        codes.push(status(&client, "POST", &jobs).await);
    }
    assert_eq!(codes[0], 202, "{codes:?}");
    assert!(
        codes[1..].contains(&429),
        "a full queue answers 429: {codes:?}"
    );
    let metrics = client
        .get(format!("http://{admin}/metrics"))
        .send()
        .await
        .unwrap();
    let metrics = metrics.text().await.unwrap();
    assert!(
        metrics.contains(r#"worker_pool_rejected_total{pool="jobs"}"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"http_client_requests_total{client="upstream""#),
        "{metrics}"
    );

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the pool drains within the shutdown budget")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn the_full_example_is_not_ready_while_its_upstream_answers_500() {
    let up = upstream().await;
    let (api, admin, stop, running) = start_full(format!("http://{up}/broken"), "4").await;
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    // Started (the API answers) but not ready: the gating check fails.
    while status(&client, "GET", &format!("http://{admin}/startupz")).await != 200 {
        assert!(Instant::now() < deadline, "never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ready = client
        .get(format!("http://{admin}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 503);
    let body = ready.text().await.unwrap();
    assert!(body.contains("upstream") && body.contains("500"), "{body}");
    assert_eq!(
        status(&client, "GET", &format!("http://{api}/upstream")).await,
        200,
        "a 500 is an answer, relayed"
    );

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("stops")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn the_full_example_answers_502_when_its_upstream_is_unreachable() {
    // A port that was free a moment ago: connections are refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (api, admin, stop, running) = start_full(format!("http://{closed}/ok"), "4").await;
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while status(&client, "GET", &format!("http://{admin}/startupz")).await != 200 {
        assert!(Instant::now() < deadline, "never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let res = client
        .get(format!("http://{api}/upstream"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 502);
    let body = res.text().await.unwrap();
    assert!(
        !body.contains("127.0.0.1") && !body.contains("refused"),
        "the cause stays in the log: {body}"
    );
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("stops")
        .unwrap()
        .unwrap();
}
