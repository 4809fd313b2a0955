//! [`Target`]: a parsed URL and what spans and metrics may say about it.

use axum::http::Method;
use url::Url;

use super::error::ClientError;

/// A parsed URL and what spans and metrics say about it.
pub(super) struct Target {
    pub(super) url: Url,
    pub(super) host: String,
    pub(super) port: u16,
    /// `url.full`: no credentials, secret-looking query values replaced.
    pub(super) redacted: String,
    /// The metric label: a standard method, else `_OTHER` (bounded cardinality).
    pub(super) method: &'static str,
}

impl Target {
    pub(super) fn parse(method: &Method, raw: &str) -> Result<Self, ClientError> {
        let url = Url::parse(raw).map_err(|e| {
            ClientError::InvalidRequest(format!("{:?} is not a URL: {e}", redact_url_str(raw)))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ClientError::InvalidRequest(format!(
                "scheme {:?} is not http or https",
                url.scheme()
            )));
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| ClientError::InvalidRequest("the URL has no host".into()))?
            .to_owned();
        Ok(Self {
            port: url.port_or_known_default().unwrap_or(80),
            redacted: redact_url(&url),
            method: method_label(method),
            host,
            url,
        })
    }
}

impl Target {
    /// `host:port`, for messages: which server, on which port.
    pub(super) fn authority(&self) -> String {
        match self.url.host() {
            Some(url::Host::Ipv6(ip)) => format!("[{ip}]:{}", self.port),
            _ => format!("{}:{}", self.host, self.port),
        }
    }
}

fn method_label(method: &Method) -> &'static str {
    crate::telemetry::metrics::method_label(method.as_str())
}

/// Query keys whose values are replaced in `url.full` (case-insensitive substrings).
const SECRET_QUERY_KEYS: [&str; 8] = [
    "pass",
    "token",
    "secret",
    "key",
    "sig",
    "auth",
    "credential",
    "session",
];

/// `url.full` as the semantic conventions ask: no user or password, and the values of
/// secret-looking query parameters replaced by `REDACTED`.
fn redact_url(url: &Url) -> String {
    let mut url = url.clone();
    // Fails only for URLs that cannot have credentials, which then have none.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_fragment(None);
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let lower = k.to_ascii_lowercase();
                let secret = SECRET_QUERY_KEYS.iter().any(|s| lower.contains(s));
                let v = if secret {
                    "REDACTED".into()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

/// For error messages about a string that did not parse: keep only what precedes
/// the query and any credentials.
fn redact_url_str(raw: &str) -> String {
    let base = raw.split(['?', '#']).next().unwrap_or_default();
    match base.split_once("://") {
        Some((scheme, rest)) if rest.contains('@') => {
            let host = rest.rsplit_once('@').map(|(_, h)| h).unwrap_or_default();
            format!("{scheme}://{host}")
        }
        _ => base.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_full_hides_credentials_and_secret_query_values() {
        let cases = [
            (
                "http://u:p@svc:8080/a?x=1&api_key=s3&Signature=zz#frag",
                "http://svc:8080/a?x=1&api_key=REDACTED&Signature=REDACTED",
            ),
            ("http://svc/a", "http://svc/a"),
            (
                "http://svc/a?access_token=t",
                "http://svc/a?access_token=REDACTED",
            ),
        ];
        for (raw, want) in cases {
            assert_eq!(redact_url(&Url::parse(raw).unwrap()), want, "case {raw}");
        }
        assert_eq!(redact_url_str("http://u:p@h x/?t=1"), "http://h x/");
    }

    #[test]
    fn unknown_methods_share_one_metric_label() {
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        assert_eq!(
            method_label(&Method::from_bytes(b"PURGE").unwrap()),
            "_OTHER"
        );
    }
}
