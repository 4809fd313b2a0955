//! podkit: everything a Rust HTTP service needs to live in a Kubernetes pod.
//!
//! # Layout
//! - [`config`] — layered, validated configuration (defaults < YAML < env < flags),
//!   secrets redacted.
//! - [`cli`] — the shared command line: config flags, `serve`, `config`, `probe`.
//! - [`telemetry`] — JSON logs to several sinks with level ranges and rotation, a
//!   run-time log filter, and (feature `otel`) OTLP traces.
//! - [`http`] — the API middleware: request id, access log, RED metrics, timeout,
//!   body limit, panic catcher, RFC 9457 [`problem`] bodies.
//! - [`otel`] — (feature `otel`) OTLP trace export and W3C trace-context propagation;
//!   [`otel::inject`] for outgoing calls is there (a no-op) without the feature.
//! - [`metrics`] — the Prometheus registry and the kit's metric families.
//! - [`health`] — liveness, readiness with dependency checks, start-up.
//! - [`admin`] — the admin port: probes, `/metrics`, log level, config, info.
//! - [`lifecycle`] — [`App`]: start, serve, and on SIGTERM turn readiness off, drain,
//!   finish in-flight work, run shutdown hooks.
//! - [`probe`] — `probe live|ready|startup` for exec probes in shell-less images.
//! - [`workers`] — a bounded worker pool: backpressure when full, drain at shutdown,
//!   metrics per pool.
//! - [`client`] — an instrumented outgoing HTTP client: timeouts, retries with
//!   jittered backoff under a retry budget, trace propagation, metrics per client.
//!
//! A service's `main` loads its config with [`cli::CommonArgs::loader`], then hands a
//! start function to [`App::run`]; the start function registers checks and hooks on
//! the [`Context`] and returns its `axum::Router`.

pub mod admin;
mod build;
pub mod cli;
pub mod client;
pub mod config;
pub mod health;
pub mod http;
pub mod lifecycle;
pub mod metrics;
pub mod otel;
pub mod probe;
pub mod problem;
pub mod telemetry;
pub mod workers;

pub use build::BuildInfo;
pub use client::{ClientConfig, ClientError, HttpClient};
pub use config::{Config, ConfigError, KitConfig, Loader, Secret, SecretUrl};
pub use health::Health;
pub use lifecycle::{exit_config_error, App, Context};
pub use metrics::Metrics;
pub use problem::Problem;
pub use workers::{Rejected, WorkerPool, WorkerPoolConfig};

/// The W3C trace-context extractor for request spans, when spans are exported.
pub(crate) fn propagator() -> Option<http::TraceHooks> {
    otel::propagator()
}
