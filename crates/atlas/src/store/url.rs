//! [`DatabaseUrl`]: `database.url`, checked when the config loads, so a URL that
//! cannot work stops `atlas config`, `serve` and `migrate` with exit 2 before
//! anything binds, instead of failing later behind a pool timeout.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use podkit::SecretUrl;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::sqlite::SqliteConnectOptions;

use super::Backend;

/// The `sslmode` values PostgreSQL (and sqlx) understand.
const SSL_MODES: &str = "disable, allow, prefer, require, verify-ca, verify-full";

/// A database URL that parses, names a supported engine, and whose TLS files can be
/// read. Shown (Debug, Display, effective config) with its password as `***`.
///
/// Messages never quote the URL: the config loader would hide quoted text anyway,
/// and what is wrong is said with the parameter's name.
#[derive(Clone)]
pub struct DatabaseUrl {
    url: SecretUrl,
    backend: Backend,
}

impl DatabaseUrl {
    /// Check `raw`.
    ///
    /// # Errors
    /// What is wrong, without the password: an unsupported scheme, a malformed URL,
    /// an unknown `sslmode`, a TLS file that cannot be read, `sslcert` without
    /// `sslkey` (or the reverse).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let scheme = raw.split_once("://").map(|(s, _)| s).unwrap_or("");
        let backend = match scheme {
            "postgres" | "postgresql" => Backend::Postgres,
            "sqlite" => Backend::Sqlite,
            "" => return Err("not a URL: expected postgres://… or sqlite://…".into()),
            other => {
                return Err(format!(
                    "unsupported scheme `{}`: expected postgres:// or sqlite://",
                    other.chars().take(20).collect::<String>()
                ))
            }
        };
        match backend {
            Backend::Postgres => check_postgres(raw)?,
            Backend::Sqlite => {
                SqliteConnectOptions::from_str(raw)
                    .map_err(|e| format!("not a valid SQLite URL: {e}"))?;
            }
        }
        Ok(Self {
            url: SecretUrl::new(raw),
            backend,
        })
    }

    /// The full URL with its password; call only where it is used.
    pub fn expose(&self) -> &str {
        self.url.expose()
    }

    /// Which engine it names.
    pub fn backend(&self) -> Backend {
        self.backend
    }
}

fn check_postgres(raw: &str) -> Result<(), String> {
    let url = url::Url::parse(raw).map_err(|e| format!("not a valid URL ({e})"))?;
    let mut cert = false;
    let mut key = false;
    for (name, value) in url.query_pairs() {
        match &*name {
            "sslmode" | "ssl-mode" => {
                PgSslMode::from_str(&value).map_err(|_| {
                    format!("unknown `sslmode` value `{value}`: expected one of {SSL_MODES}")
                })?;
            }
            "sslrootcert" | "ssl-root-cert" | "ssl-ca" => readable("sslrootcert", &value)?,
            "sslcert" | "ssl-cert" => {
                readable("sslcert", &value)?;
                cert = true;
            }
            "sslkey" | "ssl-key" => {
                readable("sslkey", &value)?;
                key = true;
            }
            _ => {}
        }
    }
    match (cert, key) {
        (true, false) => {
            return Err("`sslcert` is set without `sslkey`: give both or neither".into())
        }
        (false, true) => {
            return Err("`sslkey` is set without `sslcert`: give both or neither".into())
        }
        _ => {}
    }
    // Whatever else sqlx refuses (its messages do not repeat the URL).
    PgConnectOptions::from_str(raw).map_err(|e| format!("not a valid PostgreSQL URL: {e}"))?;
    Ok(())
}

/// A TLS file parameter: inline PEM (as sqlx accepts it) or a file that opens.
fn readable(param: &str, value: &str) -> Result<(), String> {
    if value.trim().starts_with("-----BEGIN") {
        return Ok(());
    }
    let path = Path::new(value);
    if path.is_dir() {
        return Err(format!(
            "`{param}` {}: is a directory, not a file",
            path.display()
        ));
    }
    std::fs::File::open(path)
        .map(drop)
        .map_err(|e| format!("`{param}` {}: cannot read the file ({e})", path.display()))
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.url, f)
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.url, f)
    }
}

impl Serialize for DatabaseUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.url.serialize(s)
    }
}

impl<'de> Deserialize<'de> for DatabaseUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = SecretUrl::deserialize(d)?;
        DatabaseUrl::parse(raw.expose()).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Any file that exists and can be read (contents are checked at connect time).
    const FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");

    #[test]
    fn good_urls_parse_and_name_their_engine() {
        let ca = FILE;
        let cases = [
            (
                "postgres://app:pw@db:5432/atlas".to_string(),
                Backend::Postgres,
            ),
            (
                "postgresql://db/atlas?sslmode=verify-full".into(),
                Backend::Postgres,
            ),
            (
                format!("postgres://db/atlas?sslmode=verify-ca&sslrootcert={ca}"),
                Backend::Postgres,
            ),
            (
                format!("postgres://db/atlas?sslcert={ca}&sslkey={ca}"),
                Backend::Postgres,
            ),
            ("sqlite://atlas.db?mode=rwc".into(), Backend::Sqlite),
        ];
        for (raw, backend) in cases {
            let url = DatabaseUrl::parse(&raw).unwrap_or_else(|e| panic!("case {raw}: {e}"));
            assert_eq!(url.backend(), backend, "case {raw}");
        }
    }

    #[test]
    fn bad_urls_say_why_without_the_password() {
        let ca = FILE;
        let cases = [
            (
                "mysql://app:hunter2@db/atlas".to_string(),
                "unsupported scheme `mysql`",
            ),
            ("app:hunter2@db".into(), "not a URL"),
            (
                "postgres://app:hunter2@db/atlas?sslmode=strict".into(),
                "unknown `sslmode` value `strict`",
            ),
            (
                "postgres://app:hunter2@db/atlas?sslrootcert=/nonexistent/ca.pem".into(),
                "`sslrootcert` /nonexistent/ca.pem: cannot read the file",
            ),
            (
                "postgres://app:hunter2@db/atlas?sslkey=/nonexistent/k.pem".into(),
                "`sslkey` /nonexistent/k.pem",
            ),
            (
                format!("postgres://app:hunter2@db/atlas?sslcert={ca}"),
                "`sslcert` is set without `sslkey`",
            ),
            (
                format!("postgres://app:hunter2@db/atlas?sslkey={ca}"),
                "`sslkey` is set without `sslcert`",
            ),
            (
                "postgres://app:hunter2@db:99999/atlas".into(),
                "not a valid URL",
            ),
        ];
        for (raw, want) in cases {
            let err = DatabaseUrl::parse(&raw)
                .err()
                .unwrap_or_else(|| panic!("case {raw}: accepted"));
            assert!(err.contains(want), "case {raw}: {err}");
            assert!(!err.contains("hunter2"), "case {raw}: {err}");
        }
    }

    #[test]
    fn shown_with_the_password_hidden() {
        let url = DatabaseUrl::parse("postgres://app:hunter2@db/atlas").unwrap();
        let json = serde_json::to_string(&url).unwrap();
        for shown in [format!("{url:?}"), url.to_string(), json] {
            assert!(
                !shown.contains("hunter2") && shown.contains("***"),
                "{shown}"
            );
        }
    }
}
