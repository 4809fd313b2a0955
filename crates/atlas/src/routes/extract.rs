//! Extractors that apply the 400 vs 422 rule to every body and query string.
//!
//! - [`ApiJson`]: the body must be JSON of the request type; anything serde
//!   refuses (syntax, a wrong type, an unknown field) is 400, pointing at the spot.
//! - [`ApiQuery`]: the query string decoded into a raw struct of plain types (the
//!   documented shape); a parameter that does not parse as its type is 400.
//! - [`Checked`]: an [`ApiQuery`] whose raw values then pass the domain newtypes
//!   ([`FromQuery`]); missing or out-of-range values are 422, all reported at once.
//! - [`IfMatch`]: the `If-Match` precondition of a write; a field that does not
//!   parse is 400 naming the header.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use serde::de::DeserializeOwned;

use super::AppState;
use crate::config::ApiConfig;
use crate::domain::FieldError;
use crate::error::ApiError;

/// `Json<T>` whose rejections are problem documents with JSON pointers.
pub struct ApiJson<T>(pub T);

/// The request's media type, lower-cased (empty when absent).
pub fn media_type(req: &Request) -> String {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase()
}

fn is_json(req: &Request) -> bool {
    let m = media_type(req);
    m.starts_with("application/json") || m.contains("+json")
}

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(&req) {
            return Err(ApiError::Malformed(vec![FieldError::header(
                "content-type",
                "expected application/json",
            )]));
        }
        decode_json(&body_bytes(req, state).await?).map(ApiJson)
    }
}

/// The whole body, within the server's body limit.
///
/// # Errors
/// [`ApiError::TooLarge`] over the limit, [`ApiError::Malformed`] when the body
/// cannot be read.
pub async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state)
        .await
        .map_err(|e| match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge(e.body_text()),
            _ => ApiError::Malformed(vec![FieldError::pointer("", e.body_text())]),
        })
}

/// Decode a JSON body: one document, then nothing but whitespace. The error
/// points at where decoding stopped.
///
/// # Errors
/// [`ApiError::Malformed`] for anything serde refuses, and for data after the
/// document (`{…}xx`, `{…}{…}`): a body that is not exactly one JSON value is not
/// read as its first part.
pub fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        ApiError::Malformed(vec![FieldError::pointer(
            json_pointer(e.path()),
            e.inner().to_string(),
        )])
    })?;
    de.end().map_err(|e| {
        ApiError::Malformed(vec![FieldError::pointer(
            "",
            format!("data after the JSON document: {e}"),
        )])
    })?;
    Ok(value)
}

/// serde's `currencies[1].code` as the RFC 6901 pointer `/currencies/1/code`
/// (`~` and `/` in keys escaped; `""` is the whole document).
pub fn json_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut pointer = String::new();
    for segment in path.iter() {
        let part = match segment {
            Segment::Seq { index } => index.to_string(),
            Segment::Map { key } => key.replace('~', "~0").replace('/', "~1"),
            Segment::Enum { variant } => variant.replace('~', "~0").replace('/', "~1"),
            Segment::Unknown => continue,
        };
        pointer.push('/');
        pointer.push_str(&part);
    }
    pointer
}

/// The query string decoded into `T`, a struct of plain types; rejections are 400
/// naming the parameter.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        decode_query(parts.uri.query().unwrap_or_default()).map(ApiQuery)
    }
}

/// Decode a query string.
///
/// # Errors
/// [`ApiError::Malformed`] naming the parameter that does not parse.
pub fn decode_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let de = serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        // An error about no one parameter (a repeated one) names the query string.
        let name = if path == "." { String::new() } else { path };
        ApiError::Malformed(vec![FieldError::parameter(name, e.inner().to_string())])
    })
}

/// Query parameters that are checked against the domain's rules after decoding.
pub trait FromQuery: Sized {
    /// The documented shape: plain types, every field optional so that a missing
    /// one is reported by name.
    type Raw: DeserializeOwned;

    /// Check the raw values (page bounds come from the `api` config).
    ///
    /// # Errors
    /// Every missing or invalid parameter.
    fn check(raw: Self::Raw, api: &ApiConfig) -> Result<Self, Vec<FieldError>>;
}

/// Query parameters decoded (400) and checked (422).
pub struct Checked<T>(pub T);

impl<T: FromQuery> FromRequestParts<AppState> for Checked<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, ApiError> {
        let ApiQuery(raw) = ApiQuery::<T::Raw>::from_request_parts(parts, s).await?;
        T::check(raw, &s.config.service.api)
            .map(Checked)
            .map_err(ApiError::Invalid)
    }
}

/// A path parameter through its domain parser: 422 naming it when it fails.
///
/// # Errors
/// [`ApiError::Invalid`] with the parser's message.
pub fn path_param<T>(name: &str, parsed: Result<T, String>) -> Result<T, ApiError> {
    parsed.map_err(|e| ApiError::Invalid(vec![FieldError::parameter(name, e)]))
}

/// The `If-Match` precondition of a write (RFC 9110 §13.1.1).
///
/// Matching is strong comparison (§8.8.3.2): a weak tag `W/"…"` never matches, so a
/// write that names only weak tags is refused (412). Parsed strictly: a field that
/// is neither `*` nor a list of entity tags is a 400, never an unconditional write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    /// No `If-Match`: the write is unconditional.
    Absent,
    /// `*`: any current representation matches.
    Any,
    /// The strong tags listed, quotes included (`"abc"`); weak ones are dropped, as
    /// they can never match.
    Tags(Vec<String>),
}

impl IfMatch {
    /// Parse every `If-Match` field line (several lines form one list).
    ///
    /// # Errors
    /// What is wrong with the field, for a 400.
    pub fn parse<'a>(lines: impl IntoIterator<Item = &'a [u8]>) -> Result<Self, String> {
        let mut lines = lines.into_iter().peekable();
        if lines.peek().is_none() {
            return Ok(Self::Absent);
        }
        let mut any = false;
        let mut tags = Vec::new();
        let mut elements = 0;
        for line in lines {
            for element in list_elements(line)? {
                elements += 1;
                match element {
                    Element::Any => any = true,
                    Element::Tag { weak: true, .. } => {}
                    Element::Tag {
                        weak: false,
                        opaque,
                    } => tags.push(opaque),
                }
            }
        }
        match (any, elements) {
            (_, 0) => Err("expected `*` or entity tags such as \"abc\"; got an empty value".into()),
            (true, 1) => Ok(Self::Any),
            (true, _) => Err("`*` cannot be combined with entity tags".into()),
            (false, _) => Ok(Self::Tags(tags)),
        }
    }

    /// Whether the current representation, with ETag `current`, satisfies the
    /// precondition.
    pub fn matches(&self, current: &str) -> bool {
        match self {
            Self::Absent | Self::Any => true,
            Self::Tags(tags) => tags.iter().any(|t| t == current),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let lines = parts.headers.get_all(header::IF_MATCH);
        Self::parse(lines.iter().map(HeaderValue::as_bytes))
            .map_err(|d| ApiError::Malformed(vec![FieldError::header("if-match", d)]))
    }
}

/// One member of an `If-Match` list.
enum Element {
    Any,
    Tag { weak: bool, opaque: String },
}

/// The members of one field line: `#( "*" / [ "W/" ] DQUOTE *etagc DQUOTE )`,
/// separated by commas with optional whitespace; empty members are skipped
/// (RFC 9110 §5.6.1). Commas inside quotes belong to the tag.
fn list_elements(line: &[u8]) -> Result<Vec<Element>, String> {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let is_etagc = |b: u8| b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80;
    let mut out = Vec::new();
    let mut rest = line;
    loop {
        while let [b, tail @ ..] = rest {
            if !(is_ows(b) || *b == b',') {
                break;
            }
            rest = tail;
        }
        let element;
        (element, rest) = match rest {
            [] => return Ok(out),
            [b'*', tail @ ..] => (Element::Any, tail),
            [b'W', b'/', b'"', tail @ ..] | [b'"', tail @ ..] => {
                let weak = rest[0] == b'W';
                let end = tail.iter().position(|b| !is_etagc(*b));
                let Some(end) = end.filter(|e| tail[*e] == b'"') else {
                    return Err("an entity tag must be quoted: \"abc\" or W/\"abc\"".into());
                };
                let opaque = format!("\"{}\"", String::from_utf8_lossy(&tail[..end]));
                (Element::Tag { weak, opaque }, &tail[end + 1..])
            }
            _ => return Err("expected `*` or entity tags such as \"abc\" or W/\"abc\"".into()),
        };
        out.push(element);
        let after = rest.iter().position(|b| !is_ows(b)).unwrap_or(rest.len());
        rest = &rest[after..];
        if !matches!(rest, [] | [b',', ..]) {
            return Err("entity tags must be separated by commas".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Location;

    fn malformed(r: Result<impl std::fmt::Debug, ApiError>) -> Location {
        match r {
            Err(ApiError::Malformed(mut e)) if e.len() == 1 => e.remove(0).at,
            other => panic!("not one Malformed error: {other:?}"),
        }
    }

    #[test]
    fn body_errors_point_into_the_body_per_rfc_6901() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Body {
            name: String,
            tags: Vec<String>,
        }
        let cases = [
            (r#"{"name": 1, "tags": []}"#, "/name"),
            (r#"{"name": "n", "tags": ["a", 5]}"#, "/tags/1"),
            (r#"{"tags": []}"#, ""),
            (r#"{"name": "n", "tags": [], "x/y": 1}"#, "/x~1y"),
            (r#"{"name": "n", "#, ""),
        ];
        for (body, want) in cases {
            let got = malformed(decode_json::<Body>(body.as_bytes()));
            assert_eq!(got, Location::Pointer(want.into()), "case {body}");
        }
    }

    #[test]
    fn data_after_the_json_document_is_malformed() {
        let cases = [
            (r#"{"a": 1}xx"#, false),
            (r#"{"a": 1}{"a": 2}"#, false),
            (r#"{"a": 1} 5"#, false),
            (r#"{"a": 1}]"#, false),
            ("{\"a\": 1} \n\t\r ", true),
            (r#"{"a": 1}"#, true),
        ];
        for (body, ok) in cases {
            let got = decode_json::<serde_json::Value>(body.as_bytes());
            if ok {
                assert!(got.is_ok(), "case {body:?}: {got:?}");
            } else {
                assert_eq!(
                    malformed(got),
                    Location::Pointer("".into()),
                    "case {body:?}"
                );
            }
        }
    }

    #[test]
    fn if_match_parses_star_and_tag_lists_and_drops_weak_tags() {
        let tags = |t: &[&str]| Ok(IfMatch::Tags(t.iter().map(|s| s.to_string()).collect()));
        let cases: Vec<(&str, Vec<&str>, Result<IfMatch, ()>)> = vec![
            ("absent", vec![], Ok(IfMatch::Absent)),
            ("star", vec!["*"], Ok(IfMatch::Any)),
            ("star with spaces", vec![" * "], Ok(IfMatch::Any)),
            ("one tag", vec![r#""abc""#], tags(&[r#""abc""#])),
            ("list", vec![r#""a", "b""#], tags(&[r#""a""#, r#""b""#])),
            (
                "lines",
                vec![r#""a""#, r#""b""#],
                tags(&[r#""a""#, r#""b""#]),
            ),
            ("comma inside", vec![r#""a,b""#], tags(&[r#""a,b""#])),
            (
                "empty members",
                vec![r#", "a" ,, "b","#],
                tags(&[r#""a""#, r#""b""#]),
            ),
            ("empty tag", vec![r#""""#], tags(&[r#""""#])),
            ("weak only", vec![r#"W/"abc""#], tags(&[])),
            ("weak and strong", vec![r#"W/"a", "b""#], tags(&[r#""b""#])),
            ("unquoted", vec!["abc"], Err(())),
            ("unterminated", vec![r#""abc"#], Err(())),
            ("lower-case weak", vec![r#"w/"abc""#], Err(())),
            ("no comma", vec![r#""a" "b""#], Err(())),
            ("junk after", vec![r#""a"x"#], Err(())),
            ("quote inside", vec![r#""a"b""#], Err(())),
            ("space inside", vec![r#""a b""#], Err(())),
            ("star and tag", vec![r#"*, "a""#], Err(())),
            ("star twice", vec!["*", "*"], Err(())),
            ("blank", vec![""], Err(())),
            ("only commas", vec![" , "], Err(())),
        ];
        for (case, lines, want) in cases {
            let got = IfMatch::parse(lines.iter().map(|l| l.as_bytes()));
            assert_eq!(got.map_err(|_| ()), want, "case {case}");
        }
    }

    #[test]
    fn if_match_uses_strong_comparison() {
        let parse = |v: &str| IfMatch::parse([v.as_bytes()]).unwrap();
        let current = r#""abc""#;
        let cases = [
            (IfMatch::Absent, true, "no precondition"),
            (parse("*"), true, "any representation"),
            (parse(r#""abc""#), true, "same strong tag"),
            (parse(r#""x", "abc""#), true, "one of a list"),
            (parse(r#"W/"abc""#), false, "weak tag never matches"),
            (parse(r#""abd""#), false, "other tag"),
            (parse(r#""ABC""#), false, "case-sensitive"),
        ];
        for (precondition, want, case) in cases {
            assert_eq!(precondition.matches(current), want, "case {case}");
        }
    }

    #[test]
    fn query_errors_name_the_parameter() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Q {
            limit: Option<u32>,
            lat: Option<f64>,
        }
        let cases = [
            ("limit=abc", "limit"),
            ("lat=north", "lat"),
            ("limit=-1", "limit"),
        ];
        for (query, want) in cases {
            let got = malformed(decode_query::<Q>(query));
            assert_eq!(got, Location::Parameter(want.into()), "case {query}");
        }
        assert!(
            decode_query::<Q>("limit=5&lat=1.5&other=x").is_ok(),
            "unknown parameters are ignored"
        );
    }
}
