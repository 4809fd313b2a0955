//! `GET /api/v1/hello?name=Ada`: the example endpoint.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::AppState;
use crate::error::ApiError;

/// The query string.
#[derive(Debug, Deserialize)]
pub struct HelloQuery {
    /// Who to greet; default `world`.
    pub name: Option<String>,
}

/// The answer.
#[derive(Debug, Serialize, Deserialize)]
pub struct Greeting {
    /// `Hello, Ada!`
    pub message: String,
}

/// Greet `name`: 422 when it is empty or longer than `greeting.max_name_chars`.
#[tracing::instrument(skip_all)]
pub async fn hello(
    State(state): State<AppState>,
    query: Result<Query<HelloQuery>, QueryRejection>,
) -> Result<Json<Greeting>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let cfg = &state.config.service.greeting;
    let name = query.name.unwrap_or_else(|| "world".into());
    let chars = name.chars().count();
    if chars == 0 || chars > cfg.max_name_chars {
        state
            .metrics
            .greetings
            .with_label_values(&["invalid"])
            .inc();
        return Err(ApiError::Validation(format!(
            "name: 1 to {} characters, got {chars}",
            cfg.max_name_chars
        )));
    }
    state.metrics.greetings.with_label_values(&["ok"]).inc();
    Ok(Json(Greeting {
        message: format!("{}, {name}!", cfg.salutation),
    }))
}
