//! One direct connection to PostgreSQL, outside the pool: the pool retries a
//! refused connection until its acquire timeout and then reports only
//! `PoolTimedOut`, which hides the cause an operator needs.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::Connection;

use super::diagnosis::{ConnectFailure, Target};
use super::DatabaseUrl;

/// A connection that worked, and how it is protected.
#[derive(Debug, Clone)]
pub struct Connected {
    /// Where to.
    pub target: Target,
    /// TLS version and cipher from `pg_stat_ssl`; `None` when not encrypted.
    pub tls: Option<(String, String)>,
}

impl Connected {
    /// Log it once, at info: `database connected`, with the TLS version and cipher.
    pub fn log(&self) {
        let addr = self.target.to_string();
        match &self.tls {
            Some((version, cipher)) => {
                tracing::info!(db.address = %addr, tls.version = %version, tls.cipher = %cipher, "database connected")
            }
            None => {
                tracing::info!(db.address = %addr, tls.version = "none", "database connected (not encrypted)")
            }
        }
    }
}

/// Connect once to `url` (PostgreSQL), within `limit`, and ask the server how the
/// connection is encrypted.
///
/// # Errors
/// [`ConnectFailure`]: host, port and the cause in words.
pub async fn probe(url: &DatabaseUrl, limit: Duration) -> Result<Connected, ConnectFailure> {
    let opts = PgConnectOptions::from_str(url.expose()).map_err(|e| ConnectFailure {
        // Unreachable in practice: `DatabaseUrl` checked the same parse at load.
        host: "?".into(),
        port: 0,
        cause: e.to_string(),
    })?;
    let target = Target::of(&opts);
    let mut conn = match tokio::time::timeout(limit, PgConnection::connect_with(&opts)).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => return Err(target.classify(&e)),
        Err(_) => return Err(target.timed_out(limit)),
    };
    let row: Result<(bool, Option<String>, Option<String>), _> =
        sqlx::query_as("SELECT ssl, version, cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(&mut conn)
            .await;
    let _ = conn.close().await;
    let tls = match row {
        Ok((true, Some(version), Some(cipher))) => Some((version, cipher)),
        Ok(_) => None,
        Err(e) => return Err(target.classify(&e)),
    };
    Ok(Connected { target, tls })
}
