//! RFC 9457 problem details: the one error body every endpoint returns.
//!
//! A [`Problem`] travels as a typed value in the response's extensions; the kit's
//! problem layer, the one place error bodies are written, adds `instance` and
//! `request_id` and serialises it once. Error responses made by the framework (405,
//! 413, an empty 4xx) get a problem for their status; their plain-text body is
//! dropped unread, and their headers (`Allow`, `Retry-After`) are kept.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};
use tower_http::request_id::RequestId;

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
    /// The status and headers now; the body is written by the kit's problem layer
    /// (every router served by a pod has it), which also fills `instance` and
    /// `request_id`.
    fn into_response(self) -> Response {
        let mut res = Response::new(Body::empty());
        *res.status_mut() = self.status_code();
        for (k, v) in &self.headers {
            res.headers_mut().append(k, v.clone());
        }
        res.extensions_mut().insert(self);
        res
    }
}

impl Problem {
    /// The problem for an error response that carries none of its own: the
    /// status's title and, where the status alone says what to do, a detail.
    fn for_status(status: StatusCode) -> Self {
        let p = Problem::new(status);
        match status {
            StatusCode::METHOD_NOT_ALLOWED => {
                p.detail("method not allowed on this path; see the Allow header")
            }
            StatusCode::PAYLOAD_TOO_LARGE => {
                p.detail("the request body is larger than this endpoint accepts")
            }
            StatusCode::REQUEST_TIMEOUT => {
                p.detail("the request was not received in time; send it again")
            }
            StatusCode::URI_TOO_LONG => p.detail("the request target is longer than accepted"),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => {
                p.detail("the request's headers are larger than accepted")
            }
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                p.detail("the request's Content-Type is not one this endpoint accepts")
            }
            _ => p,
        }
    }

    /// This problem as the response body, with `instance` and `request_id` filled
    /// where the handler left them empty.
    fn write(mut self, mut res: Response, uri: &Uri, request_id: Option<&RequestId>) -> Response {
        self.instance.get_or_insert_with(|| uri.path().to_owned());
        if self.request_id.is_none() {
            self.request_id = request_id
                .and_then(|id| id.header_value().to_str().ok())
                .map(str::to_owned);
        }
        // Serialising a map of strings and numbers cannot fail.
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let headers = res.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        headers.remove(header::CONTENT_LENGTH);
        *res.body_mut() = Body::from(body);
        res
    }
}

/// The problem layer: every 4xx and 5xx leaves as a problem document. A body a
/// handler chose (JSON such as a readiness report, or a problem it wrote itself)
/// is kept; nothing is ever read back from a body.
pub(crate) async fn problem_layer(req: Request, next: Next) -> Response {
    let uri = req.uri().clone();
    let id = req.extensions().get::<RequestId>().cloned();
    let mut res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let problem = match res.extensions_mut().remove::<Problem>() {
        Some(p) => p,
        None if has_json_body(&res) => return res,
        None => Problem::for_status(status),
    };
    problem.write(res, &uri, id.as_ref())
}

fn has_json_body(res: &Response) -> bool {
    res.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
        let v = v.as_bytes();
        v.starts_with(b"application/json") || v.starts_with(PROBLEM_JSON.as_bytes())
    })
}
