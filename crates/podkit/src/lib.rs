//! podkit: everything a Rust HTTP service needs to live in a Kubernetes pod.
//!
//! # Layout
//! Each folder is one concern; the arrows only point down this list.
//! - [`lifecycle`] — [`Pod`] binds the API and admin listeners and runs the start
//!   and shutdown phases until a future resolves; [`App`] wraps it for a binary
//!   (subcommands, signals, exit codes); [`Context`] is what a service's start
//!   function gets.
//! - [`cli`] — the shared command line: config flags, `serve`, `config`, `probe`.
//! - [`admin`] — the admin port: probes, `/metrics`, log level, config, info.
//! - [`client`] — an instrumented outgoing HTTP client: timeouts, retries with
//!   jittered backoff under a retry budget, trace propagation, metrics per client.
//! - [`workers`] — a bounded worker pool: backpressure when full, drain at shutdown,
//!   metrics per pool.
//! - [`http`] — the request path as tower layers: request id, observe (span,
//!   metrics, access log), RFC 9457 [`Problem`] bodies, timeout, body limit, panic
//!   catcher.
//! - [`health`] — liveness, readiness with dependency checks, start-up, and the
//!   exec probe.
//! - [`telemetry`] — JSON logs to several sinks with a run-time filter, the
//!   Prometheus [`Metrics`] registry, and (feature `otel`) OTLP traces.
//! - [`tls`] — rustls client configs for every outgoing connection (ring, the OS
//!   roots plus an optional CA file, client certificates) and TLS failures in words.
//! - [`config`] — layered, validated configuration (defaults < YAML < env < flags),
//!   secrets redacted.
//!
//! A service's `main` loads its config with [`cli::CommonArgs::loader`], then hands a
//! start function to [`App::run`]; the start function registers checks and hooks on
//! the [`Context`] and returns its `axum::Router`. Tests run the same start function
//! in-process with [`Pod::bind`] on port 0 and [`Pod::run_until`].

pub mod admin;
mod build;
pub mod cli;
pub mod client;
pub mod config;
pub mod health;
pub mod http;
pub mod lifecycle;
pub mod telemetry;
pub mod tls;
pub mod workers;

// The README's example compiles (it serves until SIGTERM, so it is not run; the
// same service runs in `tests/examples.rs`).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub use build::BuildInfo;
pub use client::{ClientConfig, ClientError, HttpClient};
pub use config::{Config, ConfigError, KitConfig, Loader, Secret, SecretUrl};
pub use health::Health;
pub use http::Problem;
pub use lifecycle::{exit_config_error, App, Context, Pod, PodError};
pub use telemetry::metrics::Metrics;
pub use workers::{Rejected, WorkerPool, WorkerPoolConfig};
