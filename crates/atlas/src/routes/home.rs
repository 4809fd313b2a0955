//! `GET /home`: what is running.

use axum::extract::State;
use axum::Json;
use podkit::BuildInfo;
use serde::Serialize;

/// The build identity plus the data compiled in.
#[derive(Debug, Serialize)]
pub struct Home {
    /// `release`, `commit`, `buildTime`, as the seed service served them.
    #[serde(flatten)]
    pub build: BuildInfo,
    /// The IANA tzdata release every zone answer comes from (`2025b`).
    pub tzdata: &'static str,
}

/// The build identity (`release`, `commit`, `buildTime`) and the tzdata version.
pub async fn home(State(build): State<BuildInfo>) -> Json<Home> {
    Json(Home {
        build,
        tzdata: crate::zones::TZDATA_VERSION,
    })
}
