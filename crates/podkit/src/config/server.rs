//! `server:`, `admin:`, `shutdown:` and `health:`: how the pod listens, stops and
//! answers its probes.

use std::collections::BTreeMap;
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
    /// A client must send a request's line and headers within this, else its
    /// connection is closed without an answer (slow-header attacks). The clock
    /// also runs while a keep-alive connection waits for its next request, so it
    /// is the idle timeout of keep-alive connections too.
    /// `header_read_timeout: 10s`
    #[serde(with = "duration")]
    pub header_read_timeout: Duration,
    /// Keep connections open between requests (HTTP/1.1 keep-alive); `false`
    /// closes each after one response. `keep_alive: true`
    pub keep_alive: bool,
    /// Open API connections at most. Beyond it the pod stops accepting: new
    /// connections wait in the kernel's listen backlog until one closes (the
    /// client sees a slow connect, not an error). The admin port has its own
    /// budget, so probes answer whatever the API holds. `max_connections: 1024`
    pub max_connections: usize,
    /// Largest request line plus headers; larger get 431 (written by hyper, see
    /// the README), and at least 8KiB is used. `max_header_bytes: 64KiB`
    #[serde(with = "byte_size")]
    pub max_header_bytes: usize,
    /// Per-client rate limiting of the API port (off by default).
    pub rate_limit: super::RateLimitConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            host: IpAddr::from([0, 0, 0, 0]),
            port: 8080,
            request_timeout: Duration::from_secs(30),
            body_limit: 1024 * 1024,
            header_read_timeout: Duration::from_secs(10),
            keep_alive: true,
            max_connections: 1024,
            max_header_bytes: 64 * 1024,
            rate_limit: super::RateLimitConfig::default(),
        }
    }
}

impl ServerConfig {
    /// The smallest header buffer hyper accepts (it panics below it).
    pub const MIN_HEADER_BYTES: usize = 8 * 1024;

    /// `max_header_bytes`, raised to [`Self::MIN_HEADER_BYTES`].
    pub fn header_bytes(&self) -> usize {
        self.max_header_bytes.max(Self::MIN_HEADER_BYTES)
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
    /// Open admin connections at most, apart from the API's
    /// (`server.max_connections`): probes and scrapes need only a few.
    /// `max_connections: 64`
    pub max_connections: usize,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            port: 8081,
            token: None,
            max_connections: 64,
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
    /// Per-check overrides of what the service registered, by check name. A name no
    /// check registers fails start-up, so a typo cannot silently do nothing.
    /// `checks: {database: {gates_readiness: true}}`
    /// (env `ATLAS_HEALTH__CHECKS__DATABASE__GATES_READINESS=true`)
    pub checks: BTreeMap<String, CheckConfig>,
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            check_timeout: Duration::from_secs(2),
            cache_ttl: Duration::from_secs(1),
            checks: BTreeMap::new(),
        }
    }
}

/// `health.checks.<name>:` — one readiness check's settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CheckConfig {
    /// `true`: a failure turns `/readyz` 503. `false`: a failure is only reported
    /// (in `/readyz` under `degraded`, and in metrics). Unset: the role the service
    /// registered the check with. `gates_readiness: false`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gates_readiness: Option<bool>,
}
