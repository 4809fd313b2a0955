//! The admin port: probes and metrics (open, because kubelet and Prometheus do not
//! authenticate) and admin endpoints (behind `Authorization: Bearer <ADMIN_TOKEN>`;
//! without a configured token they answer 403, so a forgotten secret fails closed).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::build::BuildInfo;
use crate::config::Secret;
use crate::health::Health;
use crate::http::problem::Problem;
use crate::telemetry::log_control::LogControl;
use crate::telemetry::metrics::Metrics;

/// What the admin router serves from.
#[derive(Clone)]
pub struct AdminState {
    /// Probe state.
    pub health: Health,
    /// Metrics to expose; `None` → `/metrics` is 404.
    pub metrics: Option<Metrics>,
    /// Run-time log filter; `None` → log-level endpoints are 404.
    pub log: Option<LogControl>,
    /// Token for `/admin/*`.
    pub token: Option<Secret>,
    /// The effective config, already redacted.
    pub config_yaml: Arc<str>,
    /// Build identity.
    pub build: BuildInfo,
    /// When the process started.
    pub started: Instant,
}

/// The admin router. Probes: `/healthz`, `/livez`, `/readyz`, `/startupz`; `/metrics`;
/// `/admin/log-level` (GET, PUT), `/admin/config`, `/admin/info`.
pub fn router(state: AdminState) -> Router {
    let protected = Router::new()
        .route("/admin/log-level", get(get_log_level).put(put_log_level))
        .route("/admin/config", get(get_config))
        .route("/admin/info", get(get_info))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .route("/healthz", get(live))
        .route("/livez", get(live))
        .route("/readyz", get(ready))
        .route("/startupz", get(startup))
        .route("/metrics", get(metrics))
        .merge(protected)
        .with_state(state)
}

async fn live(State(s): State<AdminState>) -> Response {
    // Reaching this handler proves the runtime schedules work; dependencies are
    // readiness's business.
    Json(json!({"status": "ok", "uptime_seconds": s.started.elapsed().as_secs()})).into_response()
}

async fn ready(State(s): State<AdminState>) -> Response {
    let report = s.health.readiness().await;
    let status = if report.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, no_store(), Json(report)).into_response()
}

async fn startup(State(s): State<AdminState>) -> Response {
    if s.health.is_started() {
        (StatusCode::OK, Json(json!({"status": "started"}))).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "starting"})),
        )
            .into_response()
    }
}

fn no_store() -> [(header::HeaderName, HeaderValue); 1] {
    [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))]
}

async fn metrics(State(s): State<AdminState>) -> Response {
    match &s.metrics {
        Some(m) => {
            // `health_*` gauges move only when readiness is evaluated. Evaluate it (or
            // reuse the cached report) so a scrape never shows a ready pod as 0 just
            // because no probe has asked yet.
            s.health.readiness().await;
            (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
                )],
                m.render(),
            )
                .into_response()
        }
        None => Problem::new(StatusCode::NOT_FOUND)
            .detail("metrics are disabled (metrics.enabled)")
            .into_response(),
    }
}

async fn require_token(State(s): State<AdminState>, req: Request, next: Next) -> Response {
    let Some(expected) = &s.token else {
        return Problem::new(StatusCode::FORBIDDEN)
            .detail("admin endpoints are disabled: set ADMIN_TOKEN to enable them")
            .into_response();
    };
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(t) if constant_time_eq(t.as_bytes(), expected.expose().as_bytes()) => {
            next.run(req).await
        }
        _ => Problem::new(StatusCode::UNAUTHORIZED)
            .detail("a valid `Authorization: Bearer <ADMIN_TOKEN>` header is required")
            .header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))
            .into_response(),
    }
}

/// Equal in time independent of where the bytes differ (`subtle`); a length
/// mismatch returns early, which reveals only the token's length.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

async fn get_log_level(State(s): State<AdminState>) -> Response {
    match &s.log {
        Some(l) => Json(l.state()).into_response(),
        None => Problem::new(StatusCode::NOT_FOUND)
            .detail("no run-time log control")
            .into_response(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetLevel {
    filter: String,
    #[serde(default)]
    ttl: Option<String>,
}

async fn put_log_level(State(s): State<AdminState>, body: axum::body::Bytes) -> Response {
    let Some(l) = &s.log else {
        return Problem::new(StatusCode::NOT_FOUND)
            .detail("no run-time log control")
            .into_response();
    };
    let req: SetLevel = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return Problem::new(StatusCode::BAD_REQUEST)
                .detail(format!(
                    "expected {{\"filter\": \"debug,sqlx=warn\", \"ttl\": \"10m\"}}: {e}"
                ))
                .into_response()
        }
    };
    let ttl = match req
        .ttl
        .as_deref()
        .map(crate::config::duration::parse)
        .transpose()
    {
        Ok(t) => t.filter(|d| !d.is_zero()),
        Err(e) => {
            return Problem::new(StatusCode::BAD_REQUEST)
                .detail(format!("ttl: {e}"))
                .into_response()
        }
    };
    if ttl.is_some_and(|t| t > Duration::from_secs(24 * 3600)) {
        return Problem::new(StatusCode::BAD_REQUEST)
            .detail("ttl: at most 24h")
            .into_response();
    }
    match l.set(&req.filter, ttl) {
        Ok(state) => Json(state).into_response(),
        Err(e) => Problem::new(StatusCode::BAD_REQUEST)
            .detail(e.to_string())
            .into_response(),
    }
}

async fn get_config(State(s): State<AdminState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/yaml"),
        )],
        s.config_yaml.to_string(),
    )
        .into_response()
}

async fn get_info(State(s): State<AdminState>) -> Response {
    Json(json!({
        "name": s.build.name,
        "release": s.build.release,
        "commit": s.build.commit,
        "buildTime": s.build.build_time,
        "uptime_seconds": s.started.elapsed().as_secs_f64(),
        "shutting_down": s.health.is_shutting_down(),
        "started": s.health.is_started(),
    }))
    .into_response()
}
