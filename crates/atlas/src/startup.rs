//! Assembles atlas: the router, readiness checks and shutdown hooks.

use axum::routing::get;
use axum::Router;
use podkit::Context;

use crate::config::Settings;
use crate::routes;

/// podkit's start function for atlas: everything that must be ready before traffic.
///
/// # Errors
/// Start-up work that failed; the pod exits 1.
pub async fn start(ctx: Context<Settings>) -> anyhow::Result<Router> {
    let _ = &ctx;
    Ok(router(podkit::build_info!()))
}

/// The API router, without binding a socket (tests call it with `oneshot`).
pub fn router(build: podkit::BuildInfo) -> Router {
    Router::new()
        .route("/home", get(routes::home::home))
        .with_state(build)
}
