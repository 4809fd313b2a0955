//! `GET /home`: what is running.

use axum::extract::State;
use axum::Json;
use podkit::BuildInfo;

/// The build identity (`release`, `commit`, `buildTime`), as the seed service served it.
pub async fn home(State(build): State<BuildInfo>) -> Json<BuildInfo> {
    Json(build)
}
