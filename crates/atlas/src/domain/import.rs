//! Bulk imports: the request body and the job a caller polls.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::country::CountryInput;
use super::currency::CurrencyInput;
use super::RowError;

/// What a URL or CSV import holds.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ImportKind {
    /// Country rows.
    Countries,
    /// Currency rows.
    Currencies,
}

impl ImportKind {
    /// `countries` or `currencies`.
    pub fn as_str(self) -> &'static str {
        match self {
            ImportKind::Countries => "countries",
            ImportKind::Currencies => "currencies",
        }
    }
}

/// The JSON body of `POST /imports`: rows inline, or a URL to fetch them from.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    /// Currencies to create or replace (applied before countries).
    #[serde(default)]
    pub currencies: Option<Vec<CurrencyInput>>,
    /// Countries to create or replace.
    #[serde(default)]
    pub countries: Option<Vec<CountryInput>>,
    /// Fetch the rows from this URL instead (host must be in `imports.allowed_hosts`):
    /// JSON in this same shape, or CSV with `kind`.
    #[serde(default)]
    pub url: Option<String>,
    /// What a CSV at `url` holds.
    #[serde(default)]
    pub kind: Option<ImportKind>,
}

/// An import job, as `GET /imports/{id}` shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportJob {
    /// Job id.
    pub id: String,
    /// `countries`, `currencies` or `mixed`.
    pub kind: String,
    /// `body`, `csv`, or the URL.
    pub source: String,
    /// `queued`, `running`, `succeeded`, `failed`, `cancelled` or `interrupted`.
    pub status: String,
    /// Rows in the import (known once parsed).
    pub total_rows: i64,
    /// Rows validated or written so far.
    pub processed_rows: i64,
    /// Every failed row; empty unless `failed`.
    pub errors: Vec<RowError>,
    /// A summary, or why the job failed as a whole.
    pub message: Option<String>,
    /// When it was accepted, RFC 3339.
    pub created_at: String,
    /// Last change, RFC 3339.
    pub updated_at: String,
}

/// An entry of `imports.allowed_hosts`: `host` (its scheme's default port only) or
/// `host:port`. IPv6 literals go in brackets: `[::1]:8080`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AllowedHost {
    /// Lower-case host name or IP literal (IPv6 without brackets).
    pub host: String,
    /// The one port allowed; `None`: 80 for http, 443 for https.
    pub port: Option<u16>,
}

impl AllowedHost {
    /// Parse `host` or `host:port`.
    ///
    /// # Errors
    /// A scheme, path, user, empty host, or a port that is not 1–65535.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim();
        if s.is_empty() {
            return Err("an empty entry; expected host or host:port".into());
        }
        if s.contains("://") || s.contains(['/', '@', '?', '#']) || s.contains(char::is_whitespace)
        {
            return Err(format!(
                "{raw:?}: expected host or host:port, without scheme, user or path"
            ));
        }
        // `url` drops a port equal to the scheme default: read it from the text.
        let port = match s.rsplit_once(':') {
            Some((_, p)) if !s.ends_with(']') => Some(
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| format!("{raw:?}: port {p:?} is not 1-65535"))?,
            ),
            _ => None,
        };
        // `http://` + entry parses the host the way the URLs to check will be.
        let url = url::Url::parse(&format!("http://{s}"))
            .map_err(|e| format!("{raw:?}: expected host or host:port ({e})"))?;
        let host = match url.host() {
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            Some(h) => h.to_string().to_ascii_lowercase(),
            None => return Err(format!("{raw:?}: no host")),
        };
        Ok(Self { host, port })
    }

    /// Whether a URL with this host and explicit-or-default port may be fetched.
    pub fn allows(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        let default = match scheme {
            "https" => 443,
            _ => 80,
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        self.host.eq_ignore_ascii_case(host)
            && port.unwrap_or(default) == self.port.unwrap_or(default)
    }
}

impl TryFrom<String> for AllowedHost {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl From<AllowedHost> for String {
    fn from(h: AllowedHost) -> String {
        let host = if h.host.contains(':') {
            format!("[{}]", h.host)
        } else {
            h.host
        };
        match h.port {
            Some(p) => format!("{host}:{p}"),
            None => host,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_hosts_parse_as_host_or_host_and_port() {
        type Want = Result<(&'static str, Option<u16>), &'static str>;
        let cases: [(&str, Want); 9] = [
            ("data.example.org", Ok(("data.example.org", None))),
            (
                "Data.Example.org:8443",
                Ok(("data.example.org", Some(8443))),
            ),
            ("127.0.0.1:80", Ok(("127.0.0.1", Some(80)))),
            ("[::1]:9000", Ok(("::1", Some(9000)))),
            ("[::1]", Ok(("::1", None))),
            ("http://x.org", Err("without scheme")),
            ("x.org:0", Err("not 1-65535")),
            ("x.org:99999", Err("not 1-65535")),
            ("", Err("empty")),
        ];
        for (raw, want) in cases {
            match (AllowedHost::parse(raw), want) {
                (Ok(h), Ok((host, port))) => {
                    assert_eq!((h.host.as_str(), h.port), (host, port), "case {raw:?}")
                }
                (Err(e), Err(part)) => assert!(e.contains(part), "case {raw:?}: {e}"),
                (got, _) => panic!("case {raw:?}: {got:?}"),
            }
        }
    }

    #[test]
    fn a_bare_host_allows_only_its_schemes_default_port() {
        let bare = AllowedHost::parse("data.example.org").unwrap();
        assert!(bare.allows("http", "data.example.org", None));
        assert!(bare.allows("https", "DATA.example.org", None));
        assert!(
            !bare.allows("http", "data.example.org", Some(8081)),
            "any other port"
        );
        let with_port = AllowedHost::parse("127.0.0.1:8000").unwrap();
        assert!(with_port.allows("http", "127.0.0.1", Some(8000)));
        assert!(!with_port.allows("http", "127.0.0.1", None));
        assert!(!with_port.allows("http", "127.0.0.2", Some(8000)));
        assert_eq!(String::from(with_port), "127.0.0.1:8000");
    }
}
