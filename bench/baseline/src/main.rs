//! A bare axum 0.8 server with atlas's `/home` body: the yardstick the benchmark
//! harness (`bench/bench.py`) compares atlas against. No podkit, no middleware.
//!
//! Run with:
//!
//! ```sh
//! HOST=127.0.0.1 PORT=3000 cargo run --release -p baseline
//! curl localhost:3000/home
//! ```

use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

/// Atlas's `BuildInfo` as `/home` serialises it; fixed values of the same shape.
#[derive(Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
struct Home {
    release: &'static str,
    commit: &'static str,
    build_time: &'static str,
}

const HOME: Home = Home {
    release: "0.1.0",
    commit: "0123456789ab",
    build_time: "2026-01-01T00:00:00Z",
};

/// Serialised per request, as atlas does.
async fn home() -> Json<Home> {
    Json(HOME)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("{host}:{port}")).await?;
    axum::serve(listener, Router::new().route("/home", get(home))).await
}
