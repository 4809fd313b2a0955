//! RFC 9457 problem details: the one error body every endpoint returns.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};

/// The media type of a problem body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An `application/problem+json` body.
///
/// `type` is `about:blank` unless set; `title` defaults to the status's reason phrase.
/// `instance` (the request path) and `request_id` are filled in by the kit's
/// middleware when the handler left them empty.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// A URI naming the problem kind.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short, human-readable summary of the kind.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong this time, for the caller.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The request path this is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The request id, to quote when reporting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Extension members (e.g. `errors` for per-field validation).
    #[serde(flatten)]
    pub extensions: Map<String, Value>,
    /// Headers to send along (e.g. `Retry-After`).
    #[serde(skip)]
    pub headers: Vec<(header::HeaderName, HeaderValue)>,
}

impl Problem {
    /// A problem for `status` with the standard title.
    pub fn new(status: StatusCode) -> Self {
        Self {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("Error").into(),
            status: status.as_u16(),
            detail: None,
            instance: None,
            request_id: None,
            extensions: Map::new(),
            headers: Vec::new(),
        }
    }

    /// Set `detail`.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Set `type` (a URI) and `title`.
    pub fn kind(mut self, kind: impl Into<String>, title: impl Into<String>) -> Self {
        self.kind = kind.into();
        self.title = title.into();
        self
    }

    /// Add an extension member.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extensions.insert(key.into(), value.into());
        self
    }

    /// Add a response header.
    pub fn header(mut self, name: header::HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The status as a [`StatusCode`].
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// The cause of a 5xx, carried in the response's extensions so the kit's middleware
/// logs it (with the request's span) while the body stays opaque.
#[derive(Debug, Clone)]
pub struct Cause {
    /// The top-level message.
    pub message: String,
    /// Every source, outermost first.
    pub chain: Vec<String>,
}

impl Cause {
    /// Capture an error and its source chain.
    pub fn new(err: &(dyn std::error::Error + 'static)) -> Self {
        let mut chain = Vec::new();
        let mut source = err.source();
        while let Some(s) = source {
            chain.push(s.to_string());
            source = s.source();
        }
        Self {
            message: err.to_string(),
            chain,
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut res = (status, body).into_response();
        res.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        for (k, v) in self.headers {
            res.headers_mut().append(k, v);
        }
        res
    }
}
