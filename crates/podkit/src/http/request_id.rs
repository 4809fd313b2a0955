//! `x-request-id`: a caller's id is kept when it is short and printable, anything
//! else is replaced by a fresh one, and the id is echoed on the response.
//!
//! Built on tower-http's request-id layers; the one addition is the check that
//! keeps ids from smuggling newlines into logs or bloating every line.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use tower_http::request_id::{MakeRequestId, RequestId};

/// The request id header, honoured when valid and always echoed.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest request id accepted from a caller; longer ones are replaced.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// A caller's id, when it is one the kit keeps.
pub fn valid_request_id(v: &HeaderValue) -> Option<&str> {
    let s = v.to_str().ok()?;
    let ok =
        !s.is_empty() && s.len() <= MAX_REQUEST_ID_LEN && s.bytes().all(|b| b.is_ascii_graphic());
    ok.then_some(s)
}

/// Drop a caller's id the kit does not keep, so the id layer makes a new one.
pub(crate) fn drop_invalid_id(mut req: Request) -> Request {
    let invalid = req
        .headers()
        .get(&REQUEST_ID)
        .is_some_and(|v| valid_request_id(v).is_none());
    if invalid {
        req.headers_mut().remove(&REQUEST_ID);
    }
    req
}

/// New ids: a v4 UUID without hyphens (32 hex digits).
///
/// The random bits come from rand's per-thread generator (ChaCha, seeded and
/// reseeded from the OS), not one `getrandom(2)` call per request.
#[derive(Debug, Clone, Copy, Default)]
pub struct MakeUuid;

impl MakeRequestId for MakeUuid {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let bits: [u8; 16] = rand::random();
        let mut buf = [0u8; uuid::fmt::Simple::LENGTH];
        let id = uuid::Builder::from_random_bytes(bits)
            .into_uuid()
            .simple()
            .encode_lower(&mut buf);
        // Invariant: 32 hex digits are a valid header value.
        HeaderValue::from_str(id).ok().map(RequestId::new)
    }
}

/// The request's id as text ("-" before the id layer ran, which the kit's
/// layer order rules out).
pub fn request_id_of(extensions: &axum::http::Extensions) -> &str {
    extensions
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("-")
}
