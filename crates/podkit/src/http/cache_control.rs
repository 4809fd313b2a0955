//! [`CacheControl`]: a `Cache-Control` value checked when the config loads, and
//! [`apply`], the middleware that puts it on a route group's cacheable answers.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};

/// A `Cache-Control` field value: comma-separated directives, each a token with an
/// optional `=token` or `="quoted string"` argument (RFC 9111 §5.2), at most
/// [`Self::MAX_LEN`] bytes. Config keys of this type fail at load, naming the key,
/// for anything else (control characters, a missing `=` value, stray spaces
/// inside a directive) rather than send a header caches would misread.
///
/// `countries: "public, max-age=300"`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CacheControl(HeaderValue);

impl CacheControl {
    /// Longest accepted value in bytes.
    pub const MAX_LEN: usize = 256;

    /// A value known to be valid at compile time.
    ///
    /// # Panics
    /// When `value` has bytes a header value cannot hold (as
    /// [`HeaderValue::from_static`]); it is not otherwise checked.
    pub const fn from_static(value: &'static str) -> Self {
        Self(HeaderValue::from_static(value))
    }

    /// Check a configured value.
    ///
    /// # Errors
    /// What is wrong with it, for the config error line.
    pub fn parse(value: &str) -> Result<Self, String> {
        if value.len() > Self::MAX_LEN {
            return Err(format!("longer than {} bytes", Self::MAX_LEN));
        }
        if value.trim().is_empty() {
            return Err(
                "empty; expected directives such as `no-cache` or `public, max-age=300`".into(),
            );
        }
        for directive in directives(value) {
            check_directive(directive.trim())
                .map_err(|e| format!("directive {:?}: {e}", directive.trim()))?;
        }
        // Invariant: only visible ASCII and spaces remain, which a header holds.
        HeaderValue::from_str(value)
            .map(Self)
            .map_err(|e| e.to_string())
    }

    /// The header value.
    pub fn header_value(&self) -> &HeaderValue {
        &self.0
    }
}

/// The comma-separated parts of `value`, commas inside quotes kept.
fn directives(value: &str) -> Vec<&str> {
    let (mut parts, mut start, mut quoted) = (Vec::new(), 0, false);
    for (i, c) in value.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&value[start..]);
    parts
}

/// RFC 9110 `tchar`.
fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

fn check_directive(d: &str) -> Result<(), String> {
    let (name, arg) = match d.split_once('=') {
        Some((n, a)) => (n, Some(a)),
        None => (d, None),
    };
    if name.is_empty() || !name.chars().all(is_tchar) {
        return Err("expected a name of letters, digits and `-`".into());
    }
    let Some(arg) = arg else { return Ok(()) };
    let quoted = arg.len() >= 2 && arg.starts_with('"') && arg.ends_with('"');
    let ok = if quoted {
        arg[1..arg.len() - 1]
            .chars()
            .all(|c| c == ' ' || (c.is_ascii_graphic() && c != '"' && c != '\\'))
    } else {
        !arg.is_empty() && arg.chars().all(is_tchar)
    };
    match ok {
        true => Ok(()),
        false => Err("expected `name=value` or `name=\"value\"`".into()),
    }
}

impl TryFrom<String> for CacheControl {
    type Error = String;

    fn try_from(value: String) -> Result<Self, String> {
        Self::parse(&value)
    }
}

impl From<CacheControl> for String {
    fn from(c: CacheControl) -> String {
        // Invariant: `parse` admitted visible ASCII only.
        c.0.to_str().unwrap_or_default().to_string()
    }
}

/// Middleware (`axum::middleware::map_response_with_state`): set `Cache-Control`
/// on 200 and 304 answers, replacing a handler's. Errors keep theirs (none, or
/// what the handler chose), so a `max-age` never makes a 404 cacheable.
pub async fn apply(State(value): State<CacheControl>, mut res: Response) -> Response {
    if matches!(res.status(), StatusCode::OK | StatusCode::NOT_MODIFIED) {
        res.headers_mut()
            .insert(header::CACHE_CONTROL, value.header_value().clone());
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_accepted_or_refused_with_a_reason() {
        let cases = [
            ("no-cache", true),
            ("public, max-age=300", true),
            ("public,max-age=31536000,immutable", true),
            ("private, no-cache=\"Set-Cookie, ETag\"", true),
            ("public, max-age=604800, stale-while-revalidate=86400", true),
            ("", false),
            ("   ", false),
            ("max-age 300", false),
            ("max-age=", false),
            ("public,, max-age=1", false),
            ("no-cache\r\nSet-Cookie: a=b", false),
            ("no-cache\u{7}", false),
            ("público", false),
            ("no-cache=\"unterminated", false),
            (&*format!("max-age={}", "9".repeat(300)), false),
        ];
        for (value, ok) in cases {
            let got = CacheControl::parse(value);
            assert_eq!(got.is_ok(), ok, "case {value:?}: {got:?}");
            if let Err(e) = got {
                assert!(!e.is_empty(), "case {value:?} gives a reason");
            }
        }
    }

    #[test]
    fn a_value_round_trips_through_serde() {
        let c: CacheControl = serde_json::from_str("\"public, max-age=300\"").unwrap();
        assert_eq!(c.header_value(), "public, max-age=300");
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            "\"public, max-age=300\""
        );
        let bad = serde_json::from_str::<CacheControl>("\"max-age 1\"").unwrap_err();
        assert!(bad.to_string().contains("max-age 1"), "{bad}");
    }

    #[tokio::test]
    async fn only_200_and_304_answers_get_the_header() {
        let cc = CacheControl::from_static("public, max-age=60");
        for (status, expected) in [
            (StatusCode::OK, Some("public, max-age=60")),
            (StatusCode::NOT_MODIFIED, Some("public, max-age=60")),
            (StatusCode::NOT_FOUND, None),
            (StatusCode::CREATED, None),
            (StatusCode::SERVICE_UNAVAILABLE, None),
        ] {
            let mut res = Response::new(axum::body::Body::empty());
            *res.status_mut() = status;
            let res = apply(State(cc.clone()), res).await;
            let got = res.headers().get(header::CACHE_CONTROL);
            assert_eq!(got.map(|v| v.to_str().unwrap()), expected, "{status}");
        }
    }
}
