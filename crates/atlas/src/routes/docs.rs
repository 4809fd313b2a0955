//! `/openapi.json` and `/docs/`: the OpenAPI document and an offline Swagger UI
//! (npm `swagger-ui-dist`, Apache-2.0, vendored gzip-compressed by
//! scripts/vendor_swagger_ui.sh). Nothing is fetched from a CDN.

use std::io::Read;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

static BUNDLE_GZ: &[u8] = include_bytes!("../../data/swagger/swagger-ui-bundle.js.gz");
static CSS_GZ: &[u8] = include_bytes!("../../data/swagger/swagger-ui.css.gz");

const INDEX: &str = r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>atlas API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
"##;

const INIT: &str = r##"window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
"##;

/// The docs routes, serving `openapi` (already serialized) at `/openapi.json`.
pub fn router(openapi: String) -> Router {
    Router::new()
        .route("/openapi.json", get(spec))
        .route("/docs", get(|| async { Redirect::permanent("/docs/") }))
        .route("/docs/", get(|| async { ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], INDEX) }))
        .route("/docs/init.js", get(|| async { ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], INIT) }))
        .route("/docs/swagger-ui-bundle.js", get(|h: HeaderMap| async move { asset(&h, BUNDLE_GZ, "text/javascript; charset=utf-8") }))
        .route("/docs/swagger-ui.css", get(|h: HeaderMap| async move { asset(&h, CSS_GZ, "text/css; charset=utf-8") }))
        .with_state(Arc::<str>::from(openapi))
}

async fn spec(State(doc): State<Arc<str>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        doc.to_string(),
    )
        .into_response()
}

/// Send gzip bytes as they are when the client accepts gzip, inflated otherwise.
pub fn gzip_asset(
    headers: &HeaderMap,
    gz: &'static [u8],
    content_type: &'static str,
    cache: &'static str,
) -> Response {
    let accepts_gzip = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .any(|e| e.trim().split(';').next() == Some("gzip"))
        });
    let common = [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        (header::VARY, HeaderValue::from_static("accept-encoding")),
    ];
    if accepts_gzip {
        return (
            common,
            [(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"))],
            gz,
        )
            .into_response();
    }
    let mut plain = Vec::new();
    match flate2::read::GzDecoder::new(gz).read_to_end(&mut plain) {
        Ok(_) => (common, plain).into_response(),
        // Invariant: the embedded files were written by gzip; this is a build defect.
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn asset(headers: &HeaderMap, gz: &'static [u8], content_type: &'static str) -> Response {
    gzip_asset(headers, gz, content_type, "public, max-age=86400")
}
