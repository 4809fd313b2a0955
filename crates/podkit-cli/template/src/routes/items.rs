@@if db@@
//! `POST /api/v1/items` and `GET /api/v1/items/{id}`: a resource in the database.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::AppState;
use crate::error::ApiError;

/// Longest item name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// The body of `POST /api/v1/items`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewItem {
    /// 1 to 100 characters.
    pub name: String,
}

/// An item.
#[derive(Debug, Serialize, Deserialize, sqlx::FromRow)]
pub struct Item {
    /// A UUID, assigned on creation.
    pub id: String,
    /// What it is called.
    pub name: String,
}

/// Create an item: 201 with its `Location`; 400 for a malformed body, 422 for a bad name.
#[tracing::instrument(skip_all)]
pub async fn create(
    State(state): State<AppState>,
    body: Result<Json<NewItem>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Json(new) = body.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let name = new.name.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err(ApiError::Validation(format!(
            "name: 1 to {MAX_NAME_CHARS} characters, got {chars}"
        )));
    }
    let item = Item {
        id: uuid::Uuid::new_v4().to_string(),
        name: name.to_string(),
    };
    sqlx::query("INSERT INTO items (id, name) VALUES ($1, $2)")
        .bind(&item.id)
        .bind(&item.name)
        .execute(&state.db)
        .await
        .map_err(db_error)?;
    let location = format!("/api/v1/items/{}", item.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(item),
    ))
}

/// One item by id, or 404.
#[tracing::instrument(skip_all, fields(item.id = %id))]
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Item>, ApiError> {
    let item = sqlx::query_as::<_, Item>("SELECT id, name FROM items WHERE id = $1")
        .bind(&id)
        .fetch_optional(&state.db)
        .await
        .map_err(db_error)?;
    item.map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("no item {id}")))
}

/// A pool that cannot hand out a connection is an outage to wait out (503); any
/// other database error is unexpected (500).
fn db_error(e: sqlx::Error) -> ApiError {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) => {
            ApiError::Unavailable("the database is not reachable".into())
        }
        other => ApiError::Unexpected(anyhow::Error::new(other).context("database query")),
    }
}
@@end@@
