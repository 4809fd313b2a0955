//! [`Pod`]: a service's two listeners and the phases that start and stop it,
//! driven by any future (SIGTERM in the binary, a channel in a test).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use super::context::Context;
use super::phases;
use super::serve::{serve_until, ServeOptions};
use crate::admin::{self, AdminState};
use crate::build::BuildInfo;
use crate::config::{Config, ConfigError};
use crate::health::Health;
use crate::http::{self, HttpLayerConfig, Observe, RateLimiter};
use crate::telemetry::metrics::{HttpServerMetrics, Metrics, MetricsError};
use crate::telemetry::{otel, Telemetry};

/// Why a pod could not start or stopped early.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PodError {
    /// A listener could not bind (port taken, no permission, bad address).
    #[error("cannot listen on {addr} (`{key}`): {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The config key it came from.
        key: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// The kit's metric families could not be registered.
    #[error("cannot set up metrics: {0}")]
    Metrics(#[from] MetricsError),
    /// The service's start function failed.
    #[error("start-up failed: {0}")]
    Start(String),
    /// Configuration that only start-up can check is wrong (a
    /// `health.checks.<name>` naming no registered check).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The API server ended without being asked to.
    #[error("the API server stopped unexpectedly: {0}")]
    Server(String),
}

/// A bound pod: both listeners open, nothing served yet.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use podkit::{BuildInfo, Loader, Pod};
///
/// let build = BuildInfo { name: "demo", release: "0.1.0", commit: "unset", build_time: "unset" };
/// let config = Loader::new("DEMO")
///     .with_env([("PORT", "0".to_string()), ("ADMIN_PORT", "0".to_string()),
///                ("HOST", "127.0.0.1".to_string()), ("DEMO_SHUTDOWN__DRAIN_DELAY", "0s".to_string())])
///     .load::<podkit::config::NoSettings>()?;
/// let pod = Pod::bind(build, config).await?;
/// assert_ne!(pod.api_addr().port(), 0);
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// stop.send(()).ok(); // a test would send this when it is done
/// pod.run_until(
///     |_ctx| async { Ok::<_, std::convert::Infallible>(axum::Router::new()) },
///     async { stopped.await.ok(); },
/// )
/// .await?;
/// # Ok(())
/// # }
/// ```
pub struct Pod<S> {
    api: TcpListener,
    admin: TcpListener,
    parts: Parts<S>,
}

/// Everything of a pod but its listeners.
struct Parts<S> {
    build: BuildInfo,
    config: Arc<Config<S>>,
    api_addr: SocketAddr,
    admin_addr: SocketAddr,
    metrics: Metrics,
    http: Option<HttpServerMetrics>,
    rate_limit: Option<RateLimiter>,
    health: Health,
    telemetry: Option<Arc<Telemetry>>,
    started: Instant,
}

impl<S> Pod<S>
where
    S: Serialize + Send + Sync + 'static,
{
    /// Register the kit's metrics and bind both listeners (`server.port`,
    /// `admin.port`; port 0 picks a free one). Binding comes before any start-up
    /// work: a taken port fails in milliseconds, and the admin port answers
    /// `/startupz` while migrations run.
    ///
    /// # Errors
    /// A port that cannot be bound, or metric families that cannot be registered.
    pub async fn bind(build: BuildInfo, config: Config<S>) -> Result<Self, PodError> {
        let started = Instant::now();
        // The same TLS provider whether the pod runs under `App` or in a test.
        crate::tls::install_default_provider();
        info!(
            phase = "starting",
            release = build.release,
            commit = build.commit,
            build_time = build.build_time,
            "starting {}",
            build.name
        );
        let kit = &config.kit;
        let metrics = Metrics::build(&kit.metrics, &build)?;
        let http = match kit.metrics.families.http_server {
            true => Some(HttpServerMetrics::register(&metrics)?),
            false => None,
        };
        let health = Health::build(&kit.health, Some(&metrics))?;
        let rate_limit = match kit.server.rate_limit.enabled {
            true => Some(RateLimiter::build(&kit.server.rate_limit, Some(&metrics))?),
            false => None,
        };
        let api = bind(
            SocketAddr::new(kit.server.host, kit.server.port),
            "server.port",
        )
        .await?;
        let admin = bind(
            SocketAddr::new(kit.server.host, kit.admin.port),
            "admin.port",
        )
        .await?;
        let parts = Parts {
            build,
            api_addr: local(&api),
            admin_addr: local(&admin),
            config: Arc::new(config),
            metrics,
            http,
            rate_limit,
            health,
            telemetry: None,
            started,
        };
        Ok(Self { api, admin, parts })
    }

    /// Let the admin port change the log level, and flush logs and spans as the
    /// last phase of shutdown.
    pub fn with_telemetry(mut self, telemetry: Arc<Telemetry>) -> Self {
        self.parts.telemetry = Some(telemetry);
        self
    }

    /// Where the API listens.
    pub fn api_addr(&self) -> SocketAddr {
        self.parts.api_addr
    }

    /// Where the admin port (probes, metrics) listens.
    pub fn admin_addr(&self) -> SocketAddr {
        self.parts.admin_addr
    }

    /// The pod's health state.
    pub fn health(&self) -> &Health {
        &self.parts.health
    }

    /// The pod's metrics registry.
    pub fn metrics(&self) -> &Metrics {
        &self.parts.metrics
    }

    /// Serve until `shutdown` resolves, then stop as on SIGTERM: readiness off,
    /// drain delay, stop accepting, wait for in-flight work, hooks, telemetry flush.
    ///
    /// `start` builds the service's router; the admin port answers `/startupz`
    /// (503) while it runs. When `shutdown` resolves during start-up, the pod stops
    /// without serving.
    ///
    /// # Errors
    /// The start function failed, a `health.checks.<name>` names no check it
    /// registered, or the API server ended by itself; the hooks have run either way.
    pub async fn run_until<F, Fut, E>(
        self,
        start: F,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), PodError>
    where
        F: FnOnce(Context<S>) -> Fut,
        Fut: Future<Output = Result<Router, E>>,
        E: std::fmt::Display,
    {
        let Pod { api, admin, parts } = self;
        let admin_stop = CancellationToken::new();
        // Dropping this future (a test that is done, say) stops both servers too.
        let _admin_guard = admin_stop.clone().drop_guard();
        let admin_task = parts.serve_admin(admin, &admin_stop);
        let ctx = Context::new(
            parts.config.clone(),
            parts.health.clone(),
            parts.metrics.clone(),
        );
        tokio::pin!(shutdown);
        let outcome = tokio::select! {
            r = start(ctx.clone()) => match r {
                Ok(router) => match parts.health.check_overrides() {
                    Ok(()) => parts.serve_api(api, router, &ctx, shutdown).await,
                    Err(e) => {
                        error!(phase = "failed", error.message = %e, "start-up failed");
                        parts.health.mark_shutting_down();
                        ctx.stop_background();
                        Err(PodError::Config(e))
                    }
                },
                Err(e) => {
                    error!(phase = "failed", error.message = %format!("{e:#}"), "start-up failed");
                    Err(PodError::Start(format!("{e:#}")))
                }
            },
            () = &mut shutdown => {
                warn!(phase = "stopping", "shutdown requested during start-up; stopping");
                parts.health.mark_shutting_down();
                Ok(())
            }
        };
        phases::run_hooks(&ctx, parts.config.kit.shutdown.hook_timeout).await;
        phases::stop_admin(&admin_stop, admin_task).await;
        info!(phase = "stopped", "stopped");
        phases::flush_telemetry(parts.telemetry.as_deref());
        outcome
    }
}

impl<S> Parts<S>
where
    S: Serialize + Send + Sync + 'static,
{
    fn serve_admin(
        &self,
        listener: TcpListener,
        stop: &CancellationToken,
    ) -> JoinHandle<std::io::Result<()>> {
        let kit = &self.config.kit;
        let state = AdminState {
            health: self.health.clone(),
            metrics: kit.metrics.enabled.then(|| self.metrics.clone()),
            log: self.telemetry.as_ref().map(|t| t.control().clone()),
            token: kit.admin.token.clone(),
            config_yaml: self.config.to_redacted_yaml().into(),
            build: self.build,
            started: self.started,
        };
        let router = http::wrap(
            admin::router(state),
            HttpLayerConfig {
                request_timeout: kit.server.request_timeout,
                body_limit: 64 * 1024,
                observe: Observe::default(),
                // Probes and scrapes are never limited.
                rate_limit: None,
            },
        );
        info!(phase = "listening", api = %self.api_addr, admin = %self.admin_addr, "listening");
        let opts = ServeOptions::admin(&kit.server, kit.admin.max_connections);
        tokio::spawn(serve_until(listener, router, opts, stop.clone()))
    }

    /// Serve the API until `shutdown`, then run the drain phases up to the hooks.
    async fn serve_api<S2>(
        &self,
        listener: TcpListener,
        router: Router,
        ctx: &Context<S>,
        shutdown: std::pin::Pin<&mut S2>,
    ) -> Result<(), PodError>
    where
        S2: Future<Output = ()>,
    {
        let kit = &self.config.kit;
        let router = http::wrap(
            router,
            HttpLayerConfig {
                request_timeout: kit.server.request_timeout,
                body_limit: kit.server.body_limit,
                observe: Observe {
                    metrics: self.http.clone(),
                    trace: otel::propagator(),
                    access_log: true,
                },
                rate_limit: self.rate_limit.clone(),
            },
        );
        let accept_stop = CancellationToken::new();
        let _accept_guard = accept_stop.clone().drop_guard();
        let opts = ServeOptions::api(&kit.server, self.health.clone());
        let mut server = tokio::spawn(serve_until(listener, router, opts, accept_stop.clone()));
        self.health.mark_started();
        info!(
            phase = "started",
            startup_ms = self.started.elapsed().as_secs_f64() * 1000.0,
            "started; readiness now follows the checks"
        );
        tokio::select! {
            () = shutdown => {}
            res = &mut server => {
                error!(phase = "failed", error.message = ?res, "API server stopped unexpectedly");
                self.health.mark_shutting_down();
                return Err(PodError::Server(format!("{res:?}")));
            }
        }
        let sd = &kit.shutdown;
        phases::readiness_off(&self.health, sd.drain_delay);
        phases::drain_delay(sd.drain_delay).await;
        phases::stop_accepting(&accept_stop, ctx, sd.timeout);
        phases::wait_in_flight(server, ctx, sd.timeout, self.http.as_ref()).await;
        Ok(())
    }
}

async fn bind(addr: SocketAddr, key: &'static str) -> Result<TcpListener, PodError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| PodError::Bind { addr, key, source })
}

fn local(listener: &TcpListener) -> SocketAddr {
    // Invariant: a bound TCP listener has a local address.
    listener
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
}
