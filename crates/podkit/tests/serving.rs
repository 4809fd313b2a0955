//! How a pod serves connections: header-read timeout, the connection cap, the
//! admin port's own budget, `Connection: close` while draining, what hyper answers
//! by itself, readiness during start-up, and the method label's bound.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::routing::get;
use axum::Router;
use podkit::config::NoSettings;
use podkit::{BuildInfo, Config, Loader, Pod};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const BUILD: BuildInfo = BuildInfo {
    name: "serving-test",
    release: "0.0.0",
    commit: "test",
    build_time: "unset",
};

fn config(extra: &[(&str, &str)]) -> Config<NoSettings> {
    let mut env = vec![
        ("HOST", "127.0.0.1"),
        ("PORT", "0"),
        ("ADMIN_PORT", "0"),
        ("LOG_LEVEL", "warn"),
        ("SRVTEST_SHUTDOWN__DRAIN_DELAY", "0s"),
        ("SRVTEST_SHUTDOWN__TIMEOUT", "5s"),
    ];
    env.extend_from_slice(extra);
    Loader::new("SRVTEST")
        .with_env(env)
        .load::<NoSettings>()
        .unwrap()
}

fn routes() -> Router {
    Router::new().route("/fast", get(|| async { "fast" }))
}

/// A pod serving [`routes`] until the returned sender fires (or is dropped).
struct Running {
    api: SocketAddr,
    admin: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), podkit::PodError>>,
}

impl Running {
    async fn start(extra: &[(&str, &str)]) -> Self {
        let pod = Pod::bind(BUILD, config(extra)).await.unwrap();
        let (api, admin) = (pod.api_addr(), pod.admin_addr());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(pod.run_until(
            |_ctx| async { Ok::<_, std::convert::Infallible>(routes()) },
            async {
                let _ = stopped.await;
            },
        ));
        let running = Self {
            api,
            admin,
            stop: Some(stop),
            task,
        };
        running.wait_for("/readyz", 200).await;
        running
    }

    async fn wait_for(&self, path: &str, want: u16) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while status(&format!("http://{}{path}", self.admin)).await != want {
            assert!(Instant::now() < deadline, "{path} never answered {want}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the pod stops")
            .unwrap()
            .unwrap();
    }
}

async fn status(url: &str) -> u16 {
    podkit::tls::install_default_provider();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    match client.get(url).send().await {
        Ok(r) => r.status().as_u16(),
        Err(_) => 0,
    }
}

/// Write `bytes` one at a time, `every` apart, until the server closes the
/// connection or `within` passes; how long the server took to close it.
async fn trickle(addr: SocketAddr, bytes: &[u8], every: Duration, within: Duration) -> Duration {
    let start = Instant::now();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut buf = [0u8; 1024];
    for b in bytes.iter().cycle() {
        assert!(start.elapsed() < within, "still open after {within:?}");
        if stream.write_all(&[*b]).await.is_err() {
            break;
        }
        match tokio::time::timeout(every, stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(n)) => panic!(
                "unexpected answer: {:?}",
                String::from_utf8_lossy(&buf[..n])
            ),
            Err(_) => {}
        }
    }
    start.elapsed()
}

#[tokio::test]
async fn connections_trickling_a_request_are_closed_after_the_header_read_timeout() {
    let pod = Running::start(&[("SRVTEST_SERVER__HEADER_READ_TIMEOUT", "300ms")]).await;
    let cases: [(&str, &[u8]); 3] = [
        (
            "HTTP/1.1 headers",
            b"GET /fast HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaa",
        ),
        ("the HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
        (
            "the admin port",
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaa",
        ),
    ];
    for (name, bytes) in cases {
        let addr = if name == "the admin port" {
            pod.admin
        } else {
            pod.api
        };
        let took = trickle(
            addr,
            bytes,
            Duration::from_millis(40),
            Duration::from_secs(5),
        )
        .await;
        assert!(
            took >= Duration::from_millis(250) && took < Duration::from_secs(2),
            "{name}: closed after {took:?}"
        );
    }
    // Silence is cut off too.
    let mut quiet = TcpStream::connect(pod.api).await.unwrap();
    let start = Instant::now();
    let n = tokio::time::timeout(Duration::from_secs(3), quiet.read(&mut [0u8; 16]))
        .await
        .expect("closed in time")
        .unwrap_or(0);
    assert_eq!(n, 0, "closed without an answer");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(status(&format!("http://{}/fast", pod.api)).await, 200);
    pod.stop().await;
}

#[tokio::test]
async fn beyond_max_connections_new_ones_wait_while_the_admin_port_answers() {
    let pod = Running::start(&[
        ("SRVTEST_SERVER__MAX_CONNECTIONS", "2"),
        ("SRVTEST_SERVER__HEADER_READ_TIMEOUT", "10s"),
    ])
    .await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(pod.api).await.unwrap();
        s.write_all(b"GET /fast HTTP/1.1\r\n").await.unwrap();
        held.push(s);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let url = format!("http://{}/fast", pod.api);
    assert_eq!(
        status_within(&url, Duration::from_millis(500)).await,
        0,
        "a third waits"
    );
    let t = Instant::now();
    assert_eq!(status(&format!("http://{}/healthz", pod.admin)).await, 200);
    assert_eq!(status(&format!("http://{}/readyz", pod.admin)).await, 200);
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "probes took {:?}",
        t.elapsed()
    );
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(5);
    while status(&url).await != 200 {
        assert!(
            Instant::now() < deadline,
            "never served after the slots freed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    pod.stop().await;
}

async fn status_within(url: &str, within: Duration) -> u16 {
    podkit::tls::install_default_provider();
    let client = reqwest::Client::builder().timeout(within).build().unwrap();
    client
        .get(url)
        .send()
        .await
        .map_or(0, |r| r.status().as_u16())
}

#[tokio::test]
async fn oversized_request_heads_get_hyper_s_bare_431() {
    let pod = Running::start(&[("SRVTEST_SERVER__MAX_HEADER_BYTES", "16KiB")]).await;
    let mut s = TcpStream::connect(pod.api).await.unwrap();
    let req = format!(
        "GET /fast HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "x".repeat(32 * 1024)
    );
    let _ = s.write_all(req.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    // hyper answers from its codec, before any layer: status line, no body.
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    assert_eq!(status(&format!("http://{}/fast", pod.api)).await, 200);
    pod.stop().await;
}

#[tokio::test]
async fn responses_carry_connection_close_once_the_pod_drains() {
    let pod = Running::start(&[("SRVTEST_SHUTDOWN__DRAIN_DELAY", "2s")]).await;
    podkit::tls::install_default_provider();
    let client = reqwest::Client::new();
    let url = format!("http://{}/fast", pod.api);
    let before = client.get(&url).send().await.unwrap();
    assert!(before.headers().get("connection").is_none(), "{before:?}");
    let (api, admin) = (pod.api, pod.admin);
    let stopping = tokio::spawn(pod.stop());
    let deadline = Instant::now() + Duration::from_secs(5);
    while status(&format!("http://{admin}/readyz")).await != 503 {
        assert!(Instant::now() < deadline, "readiness never turned off");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let during = client
        .get(format!("http://{api}/fast"))
        .send()
        .await
        .unwrap();
    assert_eq!(during.status(), 200, "still serving while draining");
    assert_eq!(during.headers()["connection"], "close");
    stopping.await.unwrap();
}

#[tokio::test]
async fn readiness_is_starting_until_start_up_ends_even_without_checks() {
    let pod = Pod::bind(BUILD, config(&[])).await.unwrap();
    let admin = pod.admin_addr();
    let (release, released) = oneshot::channel::<()>();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(pod.run_until(
        |_ctx| async move {
            let _ = released.await;
            Ok::<_, std::convert::Infallible>(routes())
        },
        async {
            let _ = stopped.await;
        },
    ));
    podkit::tls::install_default_provider();
    let client = reqwest::Client::new();
    let res = client
        .get(format!("http://{admin}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "starting", "{body}");
    release.send(()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while status(&format!("http://{admin}/readyz")).await != 200 {
        assert!(Instant::now() < deadline, "never ready after start-up");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn three_hundred_invented_methods_add_at_most_one_series() {
    let pod = Running::start(&[]).await;
    podkit::tls::install_default_provider();
    let client = reqwest::Client::new();
    let series = |text: &str| {
        text.lines()
            .filter(|l| l.starts_with("http_server_requests_total{"))
            .count()
    };
    let scrape = || async {
        let url = format!("http://{}/metrics", pod.admin);
        client.get(url).send().await.unwrap().text().await.unwrap()
    };
    let before = series(&scrape().await);
    for i in 0..300 {
        let method = reqwest::Method::from_bytes(format!("M{i:03}X").as_bytes()).unwrap();
        let url = format!("http://{}/fast", pod.api);
        let res = client.request(method, url).send().await.unwrap();
        assert_eq!(res.status(), 405, "request {i}");
    }
    let text = scrape().await;
    assert!(series(&text) <= before + 1, "{text}");
    assert!(text.contains(r#"method="_OTHER""#), "{text}");
    pod.stop().await;
}
