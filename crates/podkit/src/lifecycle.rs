//! The pod lifecycle: start, serve, and stop without dropping a request.
//!
//! On the first SIGTERM or SIGINT:
//! 1. readiness turns 503 at once, so the endpoints controller removes the pod;
//! 2. the API keeps serving normally for `shutdown.drain_delay`, because load balancers
//!    and kube-proxy learn of the removal seconds later;
//! 3. the listener closes and in-flight requests (and tracked background tasks) get
//!    `shutdown.timeout` to finish; whatever is left is cancelled;
//! 4. shutdown hooks run in reverse registration order (close pools, flush telemetry);
//! 5. the process exits 0.
//!
//! A second signal at any point exits at once with code 130. Every phase is logged
//! with a `phase` field.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{error, info, warn};

use crate::admin::{self, AdminState};
use crate::cli::KitCommand;
use crate::config::{Config, ConfigError};
use crate::health::Health;
use crate::http::{self, HttpLayerConfig};
use crate::metrics::{HttpServerMetrics, Metrics};
use crate::telemetry::{self, Telemetry};
use crate::BuildInfo;

type Hook = Pin<Box<dyn Future<Output = ()> + Send>>;
type HookFn = Box<dyn FnOnce() -> Hook + Send>;

/// Exit code for a second signal during shutdown.
pub const EXIT_SECOND_SIGNAL: u8 = 130;

/// What a service's start function gets: config, health, metrics, and ways to hook
/// into shutdown.
pub struct Context<S> {
    /// The effective configuration.
    pub config: Arc<Config<S>>,
    /// Register readiness checks here.
    pub health: Health,
    /// Register the service's own metric families here.
    pub metrics: Metrics,
    hooks: Arc<Mutex<Vec<(String, HookFn)>>>,
    stopping: CancellationToken,
    tracker: TaskTracker,
}

impl<S> Clone for Context<S> {
    fn clone(&self) -> Self {
        Self {
            config: self.config.clone(),
            health: self.health.clone(),
            metrics: self.metrics.clone(),
            hooks: self.hooks.clone(),
            stopping: self.stopping.clone(),
            tracker: self.tracker.clone(),
        }
    }
}

impl<S> Context<S> {
    /// Run `hook` at shutdown, after in-flight work ends; hooks run in reverse
    /// registration order, each within `shutdown.hook_timeout`.
    pub fn on_shutdown<F, Fut>(&self, name: &str, hook: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let f: HookFn = Box::new(move || Box::pin(hook()));
        self.hooks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((name.into(), f));
    }

    /// Cancelled when the pod stops taking new work (after the drain delay). Background
    /// loops should finish their current item and return when it fires.
    pub fn stopping(&self) -> CancellationToken {
        self.stopping.clone()
    }

    /// Spawn a background task the shutdown waits for (within `shutdown.timeout`),
    /// so no task outlives the pod's own accounting.
    pub fn spawn<F>(&self, task: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.tracker.spawn(task)
    }
}

/// A podkit service: build identity plus effective configuration.
pub struct App<S> {
    build: BuildInfo,
    config: Config<S>,
}

/// Print a configuration error as one line on stderr and return exit code 2.
pub fn exit_config_error(err: impl std::fmt::Display) -> ExitCode {
    eprintln!("{err}");
    ExitCode::from(ConfigError::EXIT_CODE)
}

impl<S> App<S>
where
    S: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// A service with its build identity and loaded configuration.
    pub fn new(build: BuildInfo, config: Config<S>) -> Self {
        Self { build, config }
    }

    /// Run a kit subcommand: `serve` with `start` building the service's router,
    /// `config`, or `probe`.
    pub fn run<F, Fut, E>(self, command: KitCommand, start: F) -> ExitCode
    where
        F: FnOnce(Context<S>) -> Fut,
        Fut: Future<Output = Result<Router, E>>,
        E: std::fmt::Display,
    {
        match command {
            KitCommand::Config => {
                print!("{}", self.config.to_redacted_yaml());
                ExitCode::SUCCESS
            }
            KitCommand::Probe { kind } => {
                match crate::probe::check(&self.config.kit, kind, Duration::from_secs(3)) {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => {
                        eprintln!("probe {}: {e}", kind.path());
                        ExitCode::FAILURE
                    }
                }
            }
            KitCommand::Serve => self.serve(start),
        }
    }

    /// Run a one-off task (a migration, say) with telemetry but no listeners.
    pub fn run_task<F, Fut, E>(self, task: F) -> ExitCode
    where
        F: FnOnce(Arc<Config<S>>) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: std::fmt::Display,
    {
        // A command's stdout is its output (a status table, say): logs go to stderr.
        let mut config = self.config;
        if config.kit.log.sinks.is_empty() {
            config
                .kit
                .log
                .sinks
                .push(crate::config::SinkConfig::stderr(config.kit.log.format));
        }
        let this = Self {
            build: self.build,
            config,
        };
        let (rt, telemetry) = match this.prepare() {
            Ok(v) => v,
            Err(code) => return code,
        };
        let result = rt.block_on(task(Arc::new(this.config)));
        let code = match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                error!(error.message = %format!("{e:#}"), "task failed");
                ExitCode::FAILURE
            }
        };
        telemetry.flush();
        code
    }

    fn prepare(&self) -> Result<(tokio::runtime::Runtime, Arc<Telemetry>), ExitCode> {
        let telemetry = match telemetry::init(&self.config.kit, &self.build) {
            Ok(t) => Arc::new(t),
            Err(e) => return Err(exit_config_error(e)),
        };
        let rt = match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                eprintln!("cannot start the async runtime: {e}");
                return Err(ExitCode::FAILURE);
            }
        };
        Ok((rt, telemetry))
    }

    fn serve<F, Fut, E>(self, start: F) -> ExitCode
    where
        F: FnOnce(Context<S>) -> Fut,
        Fut: Future<Output = Result<Router, E>>,
        E: std::fmt::Display,
    {
        let (rt, telemetry) = match self.prepare() {
            Ok(v) => v,
            Err(code) => return code,
        };
        let code = rt.block_on(run_pod(
            self.build,
            Arc::new(self.config),
            telemetry.clone(),
            start,
        ));
        telemetry.flush();
        // Tasks still running past the shutdown deadline are cancelled here.
        rt.shutdown_timeout(Duration::from_millis(500));
        code
    }
}

async fn run_pod<S, F, Fut, E>(
    build: BuildInfo,
    config: Arc<Config<S>>,
    telemetry: Arc<Telemetry>,
    start: F,
) -> ExitCode
where
    S: Serialize + Send + Sync + 'static,
    F: FnOnce(Context<S>) -> Fut,
    Fut: Future<Output = Result<Router, E>>,
    E: std::fmt::Display,
{
    let started = Instant::now();
    let kit = &config.kit;
    info!(
        phase = "starting",
        release = build.release,
        commit = build.commit,
        build_time = build.build_time,
        "starting {}",
        build.name
    );

    let parts = match Parts::build(&config, &build) {
        Ok(p) => p,
        Err(e) => {
            error!(phase = "failed", error.message = %e, "cannot set up metrics");
            return ExitCode::FAILURE;
        }
    };
    let api_addr = SocketAddr::new(kit.server.host, kit.server.port);
    let admin_addr = SocketAddr::new(kit.server.host, kit.admin.port);
    // Bind both before any start-up work: a taken port fails in milliseconds, and
    // the admin port answers /startupz while migrations run.
    let (api, admin_listener) = match (
        bind(api_addr, "server.port").await,
        bind(admin_addr, "admin.port").await,
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            error!(phase = "failed", error.message = %e, "cannot bind");
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let api_addr = api.local_addr().unwrap_or(api_addr);
    let admin_addr = admin_listener.local_addr().unwrap_or(admin_addr);

    let signals = Signals::install(telemetry.clone());
    let admin_stop = CancellationToken::new();
    let admin_state = AdminState {
        health: parts.health.clone(),
        metrics: kit.metrics.enabled.then(|| parts.metrics.clone()),
        log: Some(telemetry.control().clone()),
        token: kit.admin.token.clone(),
        config_yaml: config.to_redacted_yaml().into(),
        build,
        started,
    };
    let admin_router = http::wrap(
        admin::router(admin_state),
        HttpLayerConfig {
            request_timeout: kit.server.request_timeout,
            body_limit: 64 * 1024,
            metrics: None,
            propagate: None,
            access_log: false,
        },
    );
    let admin_task = tokio::spawn(serve_until(
        admin_listener,
        admin_router,
        admin_stop.clone(),
    ));
    info!(phase = "listening", api = %api_addr, admin = %admin_addr, "listening");

    let ctx = Context {
        config: config.clone(),
        health: parts.health.clone(),
        metrics: parts.metrics.clone(),
        hooks: Arc::new(Mutex::new(Vec::new())),
        stopping: CancellationToken::new(),
        tracker: TaskTracker::new(),
    };

    let router = tokio::select! {
        r = start(ctx.clone()) => match r {
            Ok(router) => router,
            Err(e) => {
                error!(phase = "failed", error.message = %format!("{e:#}"), "start-up failed");
                run_hooks(&ctx, kit.shutdown.hook_timeout).await;
                admin_stop.cancel();
                return ExitCode::FAILURE;
            }
        },
        _ = signals.first() => {
            warn!(phase = "stopping", "signal received during start-up; stopping");
            parts.health.mark_shutting_down();
            run_hooks(&ctx, kit.shutdown.hook_timeout).await;
            admin_stop.cancel();
            return ExitCode::SUCCESS;
        }
    };
    let router = http::wrap(
        router,
        HttpLayerConfig {
            request_timeout: kit.server.request_timeout,
            body_limit: kit.server.body_limit,
            metrics: parts.http.clone(),
            propagate: crate::propagator(),
            access_log: true,
        },
    );
    let accept_stop = CancellationToken::new();
    let mut api_task = tokio::spawn(serve_until(api, router, accept_stop.clone()));
    parts.health.mark_started();
    info!(
        phase = "started",
        startup_ms = started.elapsed().as_secs_f64() * 1000.0,
        "started; readiness now follows the checks"
    );

    tokio::select! {
        _ = signals.first() => {}
        res = &mut api_task => {
            error!(phase = "failed", error.message = ?res, "API server stopped unexpectedly");
            parts.health.mark_shutting_down();
            run_hooks(&ctx, kit.shutdown.hook_timeout).await;
            admin_stop.cancel();
            return ExitCode::FAILURE;
        }
    }

    let shutdown = &kit.shutdown;
    parts.health.mark_shutting_down();
    info!(
        phase = "draining",
        drain_delay_ms = shutdown.drain_delay.as_millis() as u64,
        "shutdown signal received; readiness is off, still serving while endpoints drain"
    );
    tokio::time::sleep(shutdown.drain_delay).await;

    info!(
        phase = "stopping",
        timeout_ms = shutdown.timeout.as_millis() as u64,
        "no longer accepting; waiting for in-flight requests and tasks"
    );
    accept_stop.cancel();
    ctx.stopping.cancel();
    ctx.tracker.close();
    let deadline = tokio::time::Instant::now() + shutdown.timeout;
    let drained = tokio::time::timeout_at(deadline, async {
        let _ = (&mut api_task).await;
        ctx.tracker.wait().await;
    })
    .await;
    match drained {
        Ok(()) => info!(phase = "drained", "in-flight work finished"),
        Err(_) => {
            let left = parts.http.as_ref().map(|m| m.in_flight.get()).unwrap_or(-1);
            warn!(
                phase = "forced",
                requests_in_flight = left,
                background_tasks = ctx.tracker.len(),
                "shutdown timeout reached; cancelling what is left"
            );
            api_task.abort();
        }
    }

    run_hooks(&ctx, shutdown.hook_timeout).await;
    admin_stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(1), admin_task).await;
    info!(phase = "stopped", "stopped");
    ExitCode::SUCCESS
}

struct Parts {
    metrics: Metrics,
    http: Option<HttpServerMetrics>,
    health: Health,
}

impl Parts {
    fn build<S>(
        config: &Config<S>,
        build: &BuildInfo,
    ) -> Result<Self, crate::metrics::MetricsError> {
        let kit = &config.kit;
        let metrics = Metrics::build(&kit.metrics, build)?;
        let http = if kit.metrics.families.http_server {
            Some(HttpServerMetrics::register(&metrics)?)
        } else {
            None
        };
        let health = Health::build(&kit.health, Some(&metrics))?;
        Ok(Self {
            metrics,
            http,
            health,
        })
    }
}

async fn bind(addr: SocketAddr, key: &str) -> Result<TcpListener, String> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr} (`{key}`): {e}"))
}

/// Serve `router` on `listener` until `stop` fires, then finish open requests.
pub async fn serve_until(
    listener: TcpListener,
    router: Router,
    stop: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await
}

async fn run_hooks<S>(ctx: &Context<S>, each: Duration) {
    let hooks = std::mem::take(&mut *ctx.hooks.lock().unwrap_or_else(|e| e.into_inner()));
    for (name, hook) in hooks.into_iter().rev() {
        let t = Instant::now();
        match tokio::time::timeout(each, hook()).await {
            Ok(()) => {
                info!(phase = "shutdown_hook", hook = %name, duration_ms = t.elapsed().as_secs_f64() * 1000.0, "shutdown hook finished")
            }
            Err(_) => warn!(phase = "shutdown_hook", hook = %name, "shutdown hook timed out"),
        }
    }
}

/// SIGTERM/SIGINT handling: the first is observable, the second exits at once.
struct Signals {
    first: tokio::sync::watch::Receiver<bool>,
}

impl Signals {
    fn install(telemetry: Arc<Telemetry>) -> Self {
        let (tx, rx) = tokio::sync::watch::channel(false);
        let mut listener = SignalListener::new();
        tokio::spawn(async move {
            let mut count = 0u32;
            loop {
                let name = listener.next().await;
                count += 1;
                if count == 1 {
                    info!(phase = "signal", signal = name, "shutdown requested");
                    let _ = tx.send(true);
                } else {
                    warn!(
                        phase = "signal",
                        signal = name,
                        "second signal; exiting now"
                    );
                    telemetry.flush();
                    std::process::exit(i32::from(EXIT_SECOND_SIGNAL));
                }
            }
        });
        Self { first: rx }
    }

    async fn first(&self) {
        let mut rx = self.first.clone();
        // Invariant: the sender lives in a task that loops forever.
        let _ = rx.wait_for(|v| *v).await;
    }
}

#[cfg(unix)]
struct SignalListener {
    term: Option<tokio::signal::unix::Signal>,
    int: Option<tokio::signal::unix::Signal>,
}

#[cfg(unix)]
impl SignalListener {
    fn new() -> Self {
        use tokio::signal::unix::{signal, SignalKind};
        Self {
            term: signal(SignalKind::terminate()).ok(),
            int: signal(SignalKind::interrupt()).ok(),
        }
    }

    async fn next(&mut self) -> &'static str {
        match (&mut self.term, &mut self.int) {
            (Some(term), Some(int)) => tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            },
            // No signal support: only Ctrl-C can stop us.
            _ => {
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
}

#[cfg(not(unix))]
struct SignalListener;

#[cfg(not(unix))]
impl SignalListener {
    fn new() -> Self {
        Self
    }
    async fn next(&mut self) -> &'static str {
        let _ = tokio::signal::ctrl_c().await;
        "CTRL_C"
    }
}
