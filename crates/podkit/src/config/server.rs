//! `server:`, `admin:`, `shutdown:` and `health:`: how the pod listens, stops and
//! answers its probes.

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::secret::Secret;
use super::units::{byte_size, duration};

/// `server:` — the API listener and per-request limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Bind address. `host: 0.0.0.0` (env `HOST`).
    pub host: IpAddr,
    /// API port. `port: 8080` (env `PORT`).
    pub port: u16,
    /// Requests still running after this get a 503 problem. `request_timeout: 30s`
    #[serde(with = "duration")]
    pub request_timeout: Duration,
    /// Largest accepted request body. `body_limit: 1MiB` (bytes, or with KiB/MiB).
    #[serde(with = "byte_size")]
    pub body_limit: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            host: IpAddr::from([0, 0, 0, 0]),
            port: 8080,
            request_timeout: Duration::from_secs(30),
            body_limit: 1024 * 1024,
        }
    }
}

/// `admin:` — the admin listener.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    /// Admin port. `port: 8081` (env `ADMIN_PORT`); shares `server.host`.
    pub port: u16,
    /// Bearer token for the mutating admin endpoints (env `ADMIN_TOKEN`).
    /// Unset → those endpoints answer 403.
    pub token: Option<Secret>,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            port: 8081,
            token: None,
        }
    }
}

/// `shutdown:` — what happens after SIGTERM.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShutdownConfig {
    /// Keep serving this long after readiness turns off, so endpoints drain.
    /// `drain_delay: 5s`
    #[serde(with = "duration")]
    pub drain_delay: Duration,
    /// Then wait at most this long for in-flight requests. `timeout: 25s`
    #[serde(with = "duration")]
    pub timeout: Duration,
    /// Budget for each shutdown hook (close pools, flush telemetry). `hook_timeout: 5s`
    #[serde(with = "duration")]
    pub hook_timeout: Duration,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        Self {
            drain_delay: Duration::from_secs(5),
            timeout: Duration::from_secs(25),
            hook_timeout: Duration::from_secs(5),
        }
    }
}

/// `health:` — readiness checks.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthConfig {
    /// A check that takes longer fails. `check_timeout: 2s`
    #[serde(with = "duration")]
    pub check_timeout: Duration,
    /// Reuse a result this long, so probe storms stay cheap. `cache_ttl: 1s`
    #[serde(with = "duration")]
    pub cache_ttl: Duration,
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            check_timeout: Duration::from_secs(2),
            cache_ttl: Duration::from_secs(1),
        }
    }
}
