//! The lifecycle against real sockets and a real SIGTERM, without atlas.
//!
//! One test per binary: the signal goes to this whole process.

use std::net::TcpListener;
use std::process::{Command, ExitCode};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::routing::get;
use axum::Router;
use podkit::cli::KitCommand;
use podkit::{App, BuildInfo, Loader};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

const BUILD: BuildInfo = BuildInfo {
    name: "kit-test",
    release: "0.0.0",
    commit: "test",
    build_time: "unset",
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_turns_readiness_off_then_drains_in_flight_requests_and_runs_hooks_in_reverse() {
    let (api, admin) = (free_port(), free_port());
    let config = Loader::new("KITTEST")
        .with_env([
            ("HOST", "127.0.0.1".to_string()),
            ("PORT", api.to_string()),
            ("ADMIN_PORT", admin.to_string()),
            ("LOG_LEVEL", "warn".to_string()),
            ("KITTEST_SHUTDOWN__DRAIN_DELAY", "600ms".to_string()),
            ("KITTEST_SHUTDOWN__TIMEOUT", "5s".to_string()),
        ])
        .load::<podkit::config::NoSettings>()
        .unwrap();

    let hooks = Arc::new(Mutex::new(Vec::<&str>::new()));
    let task_saw_stop = Arc::new(Mutex::new(false));
    let (h, t) = (hooks.clone(), task_saw_stop.clone());
    let server = std::thread::spawn(move || {
        App::new(BUILD, config).run(KitCommand::Serve, move |ctx| async move {
            for name in ["first", "second"] {
                let h = h.clone();
                ctx.on_shutdown(name, move || async move { h.lock().unwrap().push(name) });
            }
            let stopping = ctx.stopping();
            ctx.spawn(async move {
                stopping.cancelled().await;
                *t.lock().unwrap() = true;
            });
            Ok::<_, std::convert::Infallible>(
                Router::new()
                    .route("/fast", get(|| async { "fast" }))
                    .route(
                        "/panic",
                        get(|| async {
                            panic!("boom");
                            #[allow(unreachable_code)]
                            ""
                        }),
                    )
                    .route(
                        "/slow",
                        get(|| async {
                            tokio::time::sleep(Duration::from_millis(1500)).await;
                            "slow done"
                        }),
                    ),
            )
        })
    });

    podkit::tls::install_default_provider();

    let http = reqwest::Client::new();
    let api_url = |p: &str| format!("http://127.0.0.1:{api}{p}");
    let admin_url = |p: &str| format!("http://127.0.0.1:{admin}{p}");
    let status = |url: String| {
        let http = http.clone();
        async move {
            http.get(url)
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }
    };

    let deadline = Instant::now() + Duration::from_secs(10);
    while status(admin_url("/readyz")).await != 200 {
        assert!(Instant::now() < deadline, "never became ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status(admin_url("/startupz")).await, 200);
    assert_eq!(status(api_url("/panic")).await, 500, "a panic is a 500");
    assert_eq!(
        status(api_url("/fast")).await,
        200,
        "and the process keeps serving"
    );

    let slow = tokio::spawn({
        let http = http.clone();
        let url = api_url("/slow");
        async move { http.get(url).send().await.unwrap().text().await.unwrap() }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;

    let signalled = Instant::now();
    let kill = Command::new("kill")
        .args(["-TERM", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    while status(admin_url("/readyz")).await != 503 {
        assert!(
            signalled.elapsed() < Duration::from_secs(2),
            "readiness never turned off"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let readiness_off = signalled.elapsed();
    eprintln!("readiness off {readiness_off:?} after SIGTERM");
    assert!(
        readiness_off < Duration::from_millis(500),
        "readiness off took {readiness_off:?}"
    );
    assert_eq!(
        status(api_url("/fast")).await,
        200,
        "still serving during the drain delay"
    );

    assert_eq!(
        slow.await.unwrap(),
        "slow done",
        "in-flight request finished after the drain ended"
    );
    assert!(signalled.elapsed() > Duration::from_millis(600));

    let code = tokio::task::spawn_blocking(move || server.join().unwrap())
        .await
        .unwrap();
    assert_eq!(format!("{code:?}"), format!("{:?}", ExitCode::SUCCESS));
    assert_eq!(
        *hooks.lock().unwrap(),
        vec!["second", "first"],
        "hooks run in reverse order"
    );
    assert!(
        *task_saw_stop.lock().unwrap(),
        "tracked tasks are told to stop"
    );
    assert_eq!(
        status(api_url("/fast")).await,
        0,
        "no longer accepting after exit"
    );
}
