//! The `Pod` seam in-process: port 0, a channel instead of SIGTERM, the same phases.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::routing::get;
use axum::Router;
use podkit::config::NoSettings;
use podkit::{BuildInfo, Config, Loader, Pod, PodError};
use tokio::sync::oneshot;

const BUILD: BuildInfo = BuildInfo {
    name: "pod-test",
    release: "0.0.0",
    commit: "test",
    build_time: "unset",
};

fn config(drain: &str) -> Config<NoSettings> {
    Loader::new("PODTEST")
        .with_env([
            ("HOST", "127.0.0.1"),
            ("PORT", "0"),
            ("ADMIN_PORT", "0"),
            ("LOG_LEVEL", "warn"),
            ("PODTEST_SHUTDOWN__DRAIN_DELAY", drain),
            ("PODTEST_SHUTDOWN__TIMEOUT", "5s"),
        ])
        .load::<NoSettings>()
        .unwrap()
}

async fn status(client: &reqwest::Client, url: String) -> u16 {
    match client.get(url).send().await {
        Ok(r) => r.status().as_u16(),
        Err(_) => 0,
    }
}

fn routes() -> Router {
    Router::new()
        .route("/fast", get(|| async { "fast" }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(800)).await;
                "slow done"
            }),
        )
}

#[tokio::test]
async fn a_pod_binds_port_zero_serves_and_stops_through_every_phase_when_told() {
    let pod = Pod::bind(BUILD, config("300ms")).await.unwrap();
    let (api, admin) = (pod.api_addr(), pod.admin_addr());
    assert!(api.port() != 0 && admin.port() != 0 && api != admin);
    let hooks = Arc::new(Mutex::new(Vec::new()));
    let h = hooks.clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let running = tokio::spawn(pod.run_until(
        move |ctx| async move {
            for name in ["first", "second"] {
                let h = h.clone();
                ctx.on_shutdown(name, move || async move { h.lock().unwrap().push(name) });
            }
            Ok::<_, std::convert::Infallible>(routes())
        },
        async {
            let _ = stopped.await;
        },
    ));

    podkit::tls::install_default_provider();

    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while status(&client, format!("http://{admin}/readyz")).await != 200 {
        assert!(Instant::now() < deadline, "never became ready");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(status(&client, format!("http://{api}/fast")).await, 200);

    let slow = tokio::spawn({
        let client = client.clone();
        async move { client.get(format!("http://{api}/slow")).send().await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    stop.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    // Draining: readiness is off, the API still serves.
    assert_eq!(status(&client, format!("http://{admin}/readyz")).await, 503);
    assert_eq!(status(&client, format!("http://{api}/fast")).await, 200);

    let res = slow
        .await
        .unwrap()
        .expect("the in-flight request completes");
    assert_eq!(res.text().await.unwrap(), "slow done");
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("run_until returns after the phases")
        .unwrap()
        .unwrap();
    assert_eq!(*hooks.lock().unwrap(), ["second", "first"]);
    assert_eq!(status(&client, format!("http://{api}/fast")).await, 0);
}

#[tokio::test]
async fn a_failed_start_is_an_error_and_still_runs_the_hooks() {
    let pod = Pod::bind(BUILD, config("0s")).await.unwrap();
    let ran = Arc::new(Mutex::new(false));
    let r = ran.clone();
    let result = pod
        .run_until(
            move |ctx| async move {
                ctx.on_shutdown("cleanup", move || async move { *r.lock().unwrap() = true });
                Err::<Router, _>("database unreachable")
            },
            std::future::pending::<()>(),
        )
        .await;
    assert!(
        matches!(&result, Err(PodError::Start(m)) if m.contains("database unreachable")),
        "{result:?}"
    );
    assert!(*ran.lock().unwrap(), "hooks run after a failed start");
}

#[tokio::test]
async fn a_shutdown_during_start_up_stops_without_serving() {
    let pod = Pod::bind(BUILD, config("0s")).await.unwrap();
    let api = pod.api_addr();
    let result = tokio::time::timeout(
        Duration::from_secs(5),
        pod.run_until(
            |_ctx| async {
                std::future::pending::<()>().await;
                Ok::<_, std::convert::Infallible>(Router::new())
            },
            async {},
        ),
    )
    .await
    .expect("stops without waiting for start-up");
    assert!(result.is_ok(), "{result:?}");
    podkit::tls::install_default_provider();
    let client = reqwest::Client::new();
    assert_eq!(status(&client, format!("http://{api}/")).await, 0);
}

#[tokio::test]
async fn a_taken_port_is_a_bind_error_naming_the_key() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let config = Loader::new("PODTEST")
        .with_env([("HOST", "127.0.0.1"), ("PORT", "0"), ("ADMIN_PORT", &port)])
        .load::<NoSettings>()
        .unwrap();
    let err = Pod::bind(BUILD, config).await.err().expect("bind fails");
    let msg = err.to_string();
    assert!(
        matches!(
            err,
            PodError::Bind {
                key: "admin.port",
                ..
            }
        ),
        "{msg}"
    );
    assert!(msg.contains(&port) && msg.contains("admin.port"), "{msg}");
}

#[tokio::test]
async fn dropping_a_running_pod_closes_both_ports() {
    let pod = Pod::bind(BUILD, config("0s")).await.unwrap();
    let (api, admin) = (pod.api_addr(), pod.admin_addr());
    let running = tokio::spawn(pod.run_until(
        |_ctx| async { Ok::<_, std::convert::Infallible>(routes()) },
        std::future::pending::<()>(),
    ));
    podkit::tls::install_default_provider();
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while status(&client, format!("http://{api}/fast")).await != 200 {
        assert!(Instant::now() < deadline, "never served");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    running.abort();
    let _ = running.await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (a, b) = (
            status(&client, format!("http://{api}/fast")).await,
            status(&client, format!("http://{admin}/healthz")).await,
        );
        if (a, b) == (0, 0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still answering: api {a}, admin {b}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn config_with(vars: &[(&str, &str)]) -> Config<NoSettings> {
    let mut env = vec![
        ("HOST", "127.0.0.1"),
        ("PORT", "0"),
        ("ADMIN_PORT", "0"),
        ("LOG_LEVEL", "warn"),
        ("PODTEST_SHUTDOWN__DRAIN_DELAY", "0s"),
        ("PODTEST_HEALTH__CACHE_TTL", "0s"),
    ];
    env.extend_from_slice(vars);
    Loader::new("PODTEST").with_env(env).load().unwrap()
}

#[tokio::test]
async fn a_health_override_naming_no_registered_check_fails_start_up_naming_the_key() {
    let config = config_with(&[("PODTEST_HEALTH__CHECKS__DATABSE__GATES_READINESS", "true")]);
    let pod = Pod::bind(BUILD, config).await.unwrap();
    let result = pod
        .run_until(
            |ctx| async move {
                ctx.health.add_check("database", || async { Ok(()) });
                Ok::<_, std::convert::Infallible>(routes())
            },
            std::future::pending::<()>(),
        )
        .await;
    let Err(err @ PodError::Config(_)) = result else {
        panic!("a config error: {result:?}");
    };
    let msg = err.to_string();
    assert!(
        msg.contains("`health.checks.databse`") && msg.contains("`database`"),
        "{msg}"
    );
}

/// Liveness answers from the process alone: every check failing, gating or not,
/// leaves `/livez` and `/healthz` at 200 while `/readyz` says why it is 503.
#[tokio::test]
async fn liveness_stays_200_while_every_check_fails() {
    use podkit::health::Role;
    let pod = Pod::bind(BUILD, config_with(&[])).await.unwrap();
    let admin = pod.admin_addr();
    let _running = tokio::spawn(pod.run_until(
        |ctx| async move {
            ctx.health
                .add_check("index", || async { Err("not loaded".into()) });
            ctx.health
                .add_check_with("database", Role::ReportOnly, || async {
                    Err("connection refused".into())
                });
            Ok::<_, std::convert::Infallible>(routes())
        },
        std::future::pending::<()>(),
    ));
    podkit::tls::install_default_provider();
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while status(&client, format!("http://{admin}/startupz")).await != 200 {
        assert!(Instant::now() < deadline, "never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let ready = client
        .get(format!("http://{admin}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "not_ready", "{body}");
    assert_eq!(body["degraded"], serde_json::json!(["database"]), "{body}");
    for path in ["/livez", "/healthz"] {
        assert_eq!(
            status(&client, format!("http://{admin}{path}")).await,
            200,
            "{path}"
        );
    }
}
