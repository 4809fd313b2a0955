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

/// A response whose body is read chunk by chunk by the caller, still within
/// `max_body_bytes` and `request_timeout`: memory is one chunk, not the body.
#[derive(Debug)]
pub struct StreamingResponse {
    /// The status code.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    inner: reqwest::Response,
    limit: usize,
    read: usize,
    host: String,
    deadline: tokio::time::Instant,
    timeout: std::time::Duration,
}

impl StreamingResponse {
    pub(super) fn new(
        mut inner: reqwest::Response,
        limit: usize,
        host: &str,
        deadline: tokio::time::Instant,
        timeout: std::time::Duration,
    ) -> Result<Self, ClientError> {
        if inner.content_length().is_some_and(|n| n > limit as u64) {
            return Err(ClientError::TooLarge {
                host: host.to_owned(),
                limit,
            });
        }
        Ok(Self {
            status: inner.status(),
            headers: std::mem::take(inner.headers_mut()),
            inner,
            limit,
            read: 0,
            host: host.to_owned(),
            deadline,
            timeout,
        })
    }

    /// The next chunk of the body; `None` at its end.
    ///
    /// # Errors
    /// [`ClientError::TooLarge`] once the body passes `max_body_bytes`,
    /// [`ClientError::Timeout`] past `request_timeout` (counted from sending), or a
    /// transport failure.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, ClientError> {
        let next = tokio::time::timeout_at(self.deadline, self.inner.chunk())
            .await
            .map_err(|_| ClientError::Timeout {
                host: self.host.clone(),
                after: self.timeout,
            })?
            .map_err(|e| transport_error(e, &self.host))?;
        if let Some(c) = &next {
            self.read += c.len();
            if self.read > self.limit {
                return Err(ClientError::TooLarge {
                    host: self.host.clone(),
                    limit: self.limit,
                });
            }
        }
        Ok(next)
    }
}
