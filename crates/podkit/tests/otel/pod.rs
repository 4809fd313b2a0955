//! A podkit App running in this (child) process with OTLP export configured.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant, SystemTime};

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use podkit::cli::KitCommand;
use podkit::config::{Level, LogFormat, NoSettings, SinkConfig, SinkKind};
use podkit::{App, Loader};

use super::BUILD;

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn scratch_dir() -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("podkit-otel-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A running App on loopback ports, logging JSON to `log`.
pub struct Pod {
    pub api: u16,
    pub admin: u16,
    pub log: PathBuf,
    server: std::thread::JoinHandle<ExitCode>,
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
}

impl Pod {
    pub fn start(dir: &Path, otel_env: &[(&str, String)]) -> Self {
        let (api, admin) = (free_port(), free_port());
        let mut env = vec![
            ("HOST", "127.0.0.1".to_string()),
            ("PORT", api.to_string()),
            ("ADMIN_PORT", admin.to_string()),
            ("LOG_LEVEL", "info".to_string()),
            ("KITTEST_SHUTDOWN__DRAIN_DELAY", "0s".to_string()),
        ];
        env.extend(otel_env.iter().map(|(k, v)| (*k, v.clone())));
        let mut config = Loader::new("KITTEST")
            .with_env(env)
            .load::<NoSettings>()
            .unwrap();
        let log = dir.join("app.log");
        config.kit.log.sinks = vec![SinkConfig {
            kind: SinkKind::File,
            format: LogFormat::Json,
            min_level: Level::Trace,
            max_level: Level::Error,
            path: Some(log.clone()),
            max_size: 64 << 20,
            max_backups: 0,
            compress: false,
        }];
        let server = std::thread::spawn(move || {
            App::new(BUILD, config).run(KitCommand::Serve, |_ctx| async move {
                Ok::<_, std::convert::Infallible>(
                    Router::new()
                        .route(
                            "/items/{id}",
                            get(|| async {
                                tracing::info!("looking the item up");
                                // What a client call from here would send on.
                                let mut headers = axum::http::HeaderMap::new();
                                podkit::telemetry::otel::inject(&mut headers);
                                headers
                                    .get("traceparent")
                                    .map(|v| v.to_str().unwrap().to_owned())
                                    .unwrap_or_default()
                            }),
                        )
                        .route(
                            "/fail",
                            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "no") }),
                        ),
                )
            })
        });
        // Test clients use reqwest's own TLS setup, which needs a process-wide
        // provider (reqwest is built without one); the App installs it too, but
        // on its own thread, maybe after this.
        podkit::tls::install_default_provider();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let pod = Self {
            api,
            admin,
            log,
            server,
            rt,
            http: reqwest::Client::new(),
        };
        let ready = eventually(Duration::from_secs(10), || {
            (pod.get_admin("/readyz") == 200).then_some(())
        });
        assert!(ready.is_some(), "the app never became ready");
        pod
    }

    pub fn get_admin(&self, path: &str) -> u16 {
        let url = format!("http://127.0.0.1:{}{path}", self.admin);
        self.rt.block_on(async {
            match self.http.get(url).send().await {
                Ok(r) => r.status().as_u16(),
                Err(_) => 0,
            }
        })
    }

    pub fn get(&self, path: &str, traceparent: Option<&str>) -> u16 {
        self.get_text(path, traceparent).0
    }

    pub fn get_text(&self, path: &str, traceparent: Option<&str>) -> (u16, String) {
        let mut req = self
            .http
            .get(format!("http://127.0.0.1:{}{path}", self.api));
        if let Some(tp) = traceparent {
            req = req.header("traceparent", tp);
        }
        self.rt.block_on(async {
            let res = req.send().await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        })
    }

    /// SIGTERM this (child) process and wait for the App to finish; how long it took.
    pub fn stop(self) -> Duration {
        let signalled = Instant::now();
        let kill = Command::new("kill")
            .args(["-TERM", &std::process::id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let code = self.server.join().unwrap();
        assert_eq!(format!("{code:?}"), format!("{:?}", ExitCode::SUCCESS));
        signalled.elapsed()
    }
}

pub fn otel_env(endpoint: String, protocol: &str) -> Vec<(&'static str, String)> {
    vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.to_string()),
        ("OTEL_SERVICE_NAME", "otel-test-svc".to_string()),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment.name=test,team=geo%2Cmaps".to_string(),
        ),
    ]
}

/// Poll `f` until it returns `Some`, for at most `within`.
pub fn eventually<T>(within: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
