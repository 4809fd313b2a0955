@@if workers@@
//! `POST /api/v1/jobs`: hand work to the worker pool and answer at once.

use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use podkit::Rejected;
use serde::{Deserialize, Serialize};

use super::AppState;
use crate::error::ApiError;

/// Longest job, so a request cannot hold a worker for long.
pub const MAX_WORK: Duration = Duration::from_secs(10);

/// The body of `POST /api/v1/jobs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewJob {
    /// How long the job works, in milliseconds (0 to 10000).
    pub work_ms: u64,
}

/// The answer: the task id on the pool.
#[derive(Debug, Serialize, Deserialize)]
pub struct Accepted {
    /// The pool's task id.
    pub id: u64,
}

/// Queue a job: 202; 429 + `Retry-After` when the queue is full, 503 when the pod
/// is stopping.
#[tracing::instrument(skip_all)]
pub async fn submit(
    State(state): State<AppState>,
    body: Result<Json<NewJob>, JsonRejection>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let Json(job) = body.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let work = Duration::from_millis(job.work_ms);
    if work > MAX_WORK {
        return Err(ApiError::Validation(format!(
            "work_ms: 0 to {}, got {}",
            MAX_WORK.as_millis(),
            job.work_ms
        )));
    }
    let submitted = state.jobs.try_submit(move |task| async move {
        tokio::select! {
            () = task.cancelled() => Err("cancelled at shutdown"),
            () = tokio::time::sleep(work) => Ok(()),
        }
    });
    match submitted {
        Ok(id) => Ok((StatusCode::ACCEPTED, Json(Accepted { id: id.get() }))),
        Err(Rejected::QueueFull) => Err(ApiError::Busy("the job queue is full".into())),
        Err(_) => Err(ApiError::Unavailable("the pod is stopping".into())),
    }
}
@@end@@
