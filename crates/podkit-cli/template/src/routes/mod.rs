//! The API: one module per resource under `/api/v1`, and the state they share.

pub mod hello;
@@if db@@
pub mod items;
@@end@@
@@if workers@@
pub mod jobs;
@@end@@

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use prometheus::IntCounterVec;

use crate::config::Config;

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The effective configuration.
    pub config: Arc<Config>,
    /// The service's own metrics.
    pub metrics: ServiceMetrics,
@@if db@@
    /// The database pool.
    pub db: sqlx::AnyPool,
@@end@@
@@if workers@@
    /// The example worker pool.
    pub jobs: podkit::WorkerPool,
@@end@@
}

/// The service's own metric families, prefixed with its name.
#[derive(Clone)]
pub struct ServiceMetrics {
    /// `@@crate@@_greetings_total{outcome}`: greetings answered and refused.
    pub greetings: IntCounterVec,
}

impl ServiceMetrics {
    /// Register the families on the pod's registry.
    ///
    /// # Errors
    /// A family is already registered.
    pub fn register(metrics: &podkit::Metrics) -> anyhow::Result<Self> {
        Ok(Self {
            greetings: metrics.counter_vec(
                "@@crate@@_greetings_total",
                "Greetings answered (ok) and refused (invalid).",
                &["outcome"],
            )?,
        })
    }
}

/// The API router for `state`, without binding a socket.
pub fn router(state: AppState) -> Router {
    let v1 = Router::new()
        .route("/hello", get(hello::hello))
@@if db@@
        .route("/items", axum::routing::post(items::create))
        .route("/items/{id}", get(items::get))
@@end@@
@@if workers@@
        .route("/jobs", axum::routing::post(jobs::submit))
@@end@@
        .with_state(state);
    Router::new().nest("/api/v1", v1)
}
