//! Why a connection to PostgreSQL failed, as one line an operator can act on:
//! `database db:5432: authentication failed for user "app"`.
//!
//! Sorted by error type and SQLSTATE first. Two causes have no code of their own
//! and are read from text: a failed DNS lookup (tokio reports it as an untyped I/O
//! error) and a `pg_hba.conf` rejection of a plaintext connection (SQLSTATE 28000,
//! like every other rejection, with the reason `no encryption` at the end).

use std::fmt;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgDatabaseError, PgSslMode};

/// A connection attempt that failed: where to, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("database {host}:{port}: {cause}")]
pub struct ConnectFailure {
    /// Host name, address or socket directory, as configured.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// What went wrong, in words.
    pub cause: String,
}

/// What a connection was meant to be, for the words of a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Host, as configured.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Role.
    pub user: String,
    /// Database name (defaults to the user's name, as in libpq).
    pub database: String,
    /// `sslmode`, as written in a URL.
    pub ssl_mode: &'static str,
}

impl Target {
    /// The target of `opts`.
    pub fn of(opts: &PgConnectOptions) -> Self {
        Self {
            host: opts.get_host().to_string(),
            port: opts.get_port(),
            user: opts.get_username().to_string(),
            database: opts
                .get_database()
                .unwrap_or(opts.get_username())
                .to_string(),
            ssl_mode: ssl_mode_name(opts.get_ssl_mode()),
        }
    }

    /// A failure at this target.
    pub fn failure(&self, cause: impl Into<String>) -> ConnectFailure {
        ConnectFailure {
            host: self.host.clone(),
            port: self.port,
            cause: cause.into(),
        }
    }

    /// The failure `err` means.
    pub fn classify(&self, err: &sqlx::Error) -> ConnectFailure {
        self.failure(self.cause(err))
    }

    /// No answer within `limit` (a black-holed address, a stuck server).
    pub fn timed_out(&self, limit: Duration) -> ConnectFailure {
        self.failure(format!(
            "no answer within {} (a firewall dropping packets, or the server is stuck)",
            humantime_like(limit)
        ))
    }

    fn cause(&self, err: &sqlx::Error) -> String {
        // A TLS failure can hide in an I/O error as well as in `Error::Tls`.
        if let Some(tls) = podkit::tls::describe(err) {
            return tls;
        }
        match err {
            sqlx::Error::Io(io) => io_cause(io),
            sqlx::Error::Tls(e) if e.to_string().contains("server does not support TLS") => {
                format!(
                    "the server does not support TLS (sslmode={})",
                    self.ssl_mode
                )
            }
            sqlx::Error::Tls(e) => format!("TLS: {e}"),
            sqlx::Error::Database(d) => match d.try_downcast_ref::<PgDatabaseError>() {
                Some(pg) => self.refusal(pg.code(), pg.message()),
                None => d.message().to_string(),
            },
            sqlx::Error::Protocol(m) if super::error::closed_before_tls(m) => {
                "the server closed the connection before TLS negotiation".into()
            }
            other => other.to_string(),
        }
    }

    /// The server answered and refused: by SQLSTATE.
    pub fn refusal(&self, code: &str, message: &str) -> String {
        match code {
            "28000" if message.ends_with("no encryption") => {
                format!("the server requires TLS (sslmode={})", self.ssl_mode)
            }
            "28P01" => format!("authentication failed for user \"{}\"", self.user),
            "28000" => format!(
                "authentication failed for user \"{}\" ({message})",
                self.user
            ),
            "3D000" => format!("database \"{}\" does not exist", self.database),
            "53300" => "the server has no connection slots left (too many connections)".into(),
            "57P03" => "the server is starting up or shutting down".into(),
            _ => format!("{message} (SQLSTATE {code})"),
        }
    }
}

fn io_cause(io: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match io.kind() {
        ErrorKind::ConnectionRefused => "connection refused".into(),
        ErrorKind::TimedOut => "connection timed out".into(),
        ErrorKind::ConnectionReset | ErrorKind::UnexpectedEof => {
            format!("the server closed the connection ({io})")
        }
        _ if is_dns(io) => format!("DNS lookup failed ({io})"),
        _ => io.to_string(),
    }
}

/// tokio's `lookup_host` failure: `failed to lookup address information: …`.
fn is_dns(io: &std::io::Error) -> bool {
    io.to_string().contains("lookup address")
}

fn ssl_mode_name(mode: PgSslMode) -> &'static str {
    match mode {
        PgSslMode::Disable => "disable",
        PgSslMode::Allow => "allow",
        PgSslMode::Prefer => "prefer",
        PgSslMode::Require => "require",
        PgSslMode::VerifyCa => "verify-ca",
        PgSslMode::VerifyFull => "verify-full",
    }
}

/// `3s`, `1.5s`.
fn humantime_like(d: Duration) -> String {
    let ms = d.as_millis();
    if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{}s", d.as_secs_f64())
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Error as IoError, ErrorKind};
    use std::str::FromStr;

    use super::*;

    fn target(url: &str) -> Target {
        Target::of(&PgConnectOptions::from_str(url).unwrap())
    }

    #[test]
    fn target_reads_host_port_user_database_and_sslmode() {
        let t = target("postgres://app:pw@db.example:6543/atlas?sslmode=verify-full");
        assert_eq!(t.to_string(), "db.example:6543");
        assert_eq!(
            (t.user.as_str(), t.database.as_str(), t.ssl_mode),
            ("app", "atlas", "verify-full")
        );
        let t = target("postgres://app@db");
        assert_eq!(
            (t.port, t.database.as_str()),
            (5432, "app"),
            "libpq defaults"
        );
    }

    #[test]
    fn io_failures_in_words() {
        let t = target("postgres://app@localhost:5432/atlas?sslmode=require");
        let cases = [
            (IoError::from(ErrorKind::ConnectionRefused), "database localhost:5432: connection refused"),
            (
                IoError::other("failed to lookup address information: Name or service not known"),
                "database localhost:5432: DNS lookup failed (failed to lookup address information: Name or service not known)",
            ),
            (IoError::from(ErrorKind::UnexpectedEof), "database localhost:5432: the server closed the connection"),
        ];
        for (io, want) in cases {
            let line = t.classify(&sqlx::Error::Io(io)).to_string();
            assert!(line.starts_with(want), "case {want}: {line}");
        }
        let closed = sqlx::Error::Protocol("unexpected response from SSLRequest: 0x00".into());
        assert_eq!(
            t.classify(&closed).cause,
            "the server closed the connection before TLS negotiation"
        );
        let no_tls = sqlx::Error::Tls("server does not support TLS".into());
        assert_eq!(
            t.classify(&no_tls).to_string(),
            "database localhost:5432: the server does not support TLS (sslmode=require)"
        );
        assert_eq!(
            t.timed_out(Duration::from_secs(3)).cause,
            "no answer within 3s (a firewall dropping packets, or the server is stuck)"
        );
    }

    #[test]
    fn server_refusals_by_sqlstate() {
        let t = target("postgres://app@localhost/nope?sslmode=disable");
        let cases = [
            ("28P01", "password authentication failed for user \"app\"", "authentication failed for user \"app\""),
            (
                "28000",
                "pg_hba.conf rejects connection for host \"127.0.0.1\", user \"app\", database \"nope\", no encryption",
                "the server requires TLS (sslmode=disable)",
            ),
            (
                "28000",
                "connection requires a valid client certificate",
                "authentication failed for user \"app\" (connection requires a valid client certificate)",
            ),
            ("3D000", "database \"nope\" does not exist", "database \"nope\" does not exist"),
            ("XX000", "boom", "boom (SQLSTATE XX000)"),
        ];
        for (code, message, want) in cases {
            assert_eq!(t.refusal(code, message), want, "case {code} {message}");
        }
    }
}
