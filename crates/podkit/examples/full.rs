//! A podkit service with its own config sections, a readiness check on the service
//! it calls, the instrumented HTTP client, and a worker pool that answers 429 when
//! full and drains at shutdown.
//!
//! Run with:
//!
//! ```text
//! cargo run -p podkit --example full -- --set upstream.url=http://127.0.0.1:8081/livez
//! curl localhost:8080/upstream                 # calls the upstream with the client
//! curl -X POST localhost:8080/jobs             # 202, or 429 when the queue is full
//! curl localhost:8081/readyz                   # includes the `upstream` check
//! curl -s localhost:8081/metrics | grep -E 'worker_pool|http_client'
//! ```
//!
//! (Pointing `upstream.url` at the service's own liveness probe keeps the example
//! self-contained.) The config file equivalent:
//!
//! ```yaml
//! upstream:
//!   url: http://rates.fx.svc:8080/healthz
//!   client: {request_timeout: 2s, max_retries: 2}
//! jobs: {workers: 2, queue_size: 16}
//! ```

use std::process::ExitCode;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use clap::Parser;
use podkit::cli::{CommonArgs, KitCommand};
use podkit::client::{ClientConfig, HttpClient};
use podkit::workers::{Rejected, WorkerPool, WorkerPoolConfig};
use podkit::{App, BuildInfo, Context, Problem};
use serde::{Deserialize, Serialize};

const BUILD: BuildInfo = BuildInfo {
    name: "full",
    release: env!("CARGO_PKG_VERSION"),
    commit: "unset",
    build_time: "unset",
};

/// The service's own sections, next to podkit's in the same file and env scheme
/// (`FULL_UPSTREAM__URL`, `FULL_JOBS__WORKERS`). No `deny_unknown_fields` here:
/// podkit checks the top-level keys itself; each section carries it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The service this one calls.
    pub upstream: UpstreamConfig,
    /// The worker pool behind `POST /jobs`.
    pub jobs: WorkerPoolConfig,
}

/// `upstream:` — where the upstream lives and how to call it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UpstreamConfig {
    /// A URL that answers 2xx while the upstream is healthy.
    /// `url: http://rates.fx.svc:8080/healthz`
    pub url: String,
    /// Timeouts, retries, body limit. `client: {request_timeout: 2s}`
    pub client: ClientConfig,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:8081/livez".into(),
            client: ClientConfig::default(),
        }
    }
}

#[derive(Parser)]
#[command(
    name = "full",
    about = "A podkit service with a check, a client and a pool"
)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(subcommand)]
    command: Option<KitCommand>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match cli.common.loader("FULL").load::<Settings>() {
        Ok(config) => config,
        Err(e) => return podkit::exit_config_error(e),
    };
    App::new(BUILD, config).run(cli.command.unwrap_or_default(), start)
}

#[derive(Clone)]
struct AppState {
    upstream: HttpClient,
    url: String,
    jobs: WorkerPool,
}

/// Build the client and the pool, register the readiness check and the pool's
/// shutdown hook, and return the router.
///
/// # Errors
/// An invalid client config, or metric families registered twice.
pub async fn start(ctx: Context<Settings>) -> Result<Router, String> {
    let cfg = &ctx.config.service;
    let upstream = HttpClient::build("upstream", cfg.upstream.client.clone(), Some(&ctx.metrics))
        .map_err(|e| format!("client `upstream`: {e}"))?;
    let jobs = WorkerPool::build("jobs", cfg.jobs.clone(), Some(&ctx.metrics))
        .map_err(|e| format!("worker pool `jobs`: {e}"))?;
    // Hooks run after in-flight requests end: nothing submits while the pool drains.
    ctx.on_shutdown(
        "jobs pool",
        jobs.shutdown_hook(ctx.config.shutdown.hook_timeout),
    );

    let (check_client, check_url) = (upstream.clone(), cfg.upstream.url.clone());
    ctx.health.add_check("upstream", move || {
        let (client, url) = (check_client.clone(), check_url.clone());
        async move {
            match client.get(&url).await {
                Ok(res) if res.status.is_success() => Ok(()),
                Ok(res) => Err(format!("{url} answered {}", res.status)),
                Err(e) => Err(format!("{url}: {e}")),
            }
        }
    });

    let state = AppState {
        upstream,
        url: cfg.upstream.url.clone(),
        jobs,
    };
    Ok(Router::new()
        .route("/upstream", get(call_upstream))
        .route("/jobs", post(submit_job))
        .with_state(state))
}

/// Relay the upstream's status; a failed call is a 502 problem, not a 500.
async fn call_upstream(State(s): State<AppState>) -> Result<String, Problem> {
    match s.upstream.get(&s.url).await {
        Ok(res) => Ok(format!("upstream answered {}\n", res.status)),
        Err(e) => {
            // The cause goes to the log; the caller learns only whose fault it is.
            tracing::warn!(error.message = %e, "upstream call failed");
            Err(Problem::new(StatusCode::BAD_GATEWAY).detail("the upstream did not answer"))
        }
    }
}

/// Queue a job: 202 when queued, 429 with `Retry-After` when the queue is full,
/// 503 once the pod is stopping.
async fn submit_job(State(s): State<AppState>) -> Result<impl IntoResponse, Problem> {
    let queued = s.jobs.try_submit(|task| async move {
        tokio::select! {
            () = task.cancelled() => Err("cancelled at shutdown"),
            () = tokio::time::sleep(Duration::from_millis(200)) => Ok(()),
        }
    });
    match queued {
        Ok(id) => Ok((StatusCode::ACCEPTED, format!("job {} queued\n", id.get()))),
        Err(Rejected::QueueFull) => Err(Problem::new(StatusCode::TOO_MANY_REQUESTS)
            .detail("the job queue is full")
            .header(
                axum::http::header::RETRY_AFTER,
                HeaderValue::from_static("1"),
            )),
        Err(e) => Err(Problem::new(StatusCode::SERVICE_UNAVAILABLE).detail(e.to_string())),
    }
}
