//! [`Response`]: a status, headers and a body read within `max_body_bytes`.

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use super::error::{transport_error, ClientError};

/// A response whose body was read in full (within `max_body_bytes`).
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl Response {
    /// The response itself when its status is 2xx.
    ///
    /// # Errors
    /// [`ClientError::Status`] for any other status.
    pub fn error_for_status(self) -> Result<Self, ClientError> {
        if self.status.is_success() {
            Ok(self)
        } else {
            Err(ClientError::Status {
                status: self.status,
            })
        }
    }

    /// The body as JSON.
    ///
    /// # Errors
    /// [`ClientError::Decode`] when the body is not a `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ClientError> {
        serde_json::from_slice(&self.body).map_err(ClientError::Decode)
    }
}

/// Read the body, refusing a declared length above `limit` before reading and
/// abandoning a stream (and its connection) once it passes `limit`.
pub(super) async fn read_body(
    mut res: reqwest::Response,
    limit: usize,
    host: &str,
) -> Result<Response, ClientError> {
    let too_large = || ClientError::TooLarge {
        host: host.to_owned(),
        limit,
    };
    let declared = res.content_length();
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let status = res.status();
    let headers = std::mem::take(res.headers_mut());
    let capacity = declared.map_or(0, |n| n as usize);
    let mut body = Vec::with_capacity(capacity);
    while let Some(chunk) = res.chunk().await.map_err(|e| transport_error(e, host))? {
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Response {
        status,
        headers,
        body: body.into(),
    })
}
