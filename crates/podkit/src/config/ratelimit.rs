//! `server.rate_limit:` — optional per-client rate limiting of the API port.

use std::num::{NonZeroU32, NonZeroUsize};
use std::time::Duration;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::units::duration;

/// `server.rate_limit:` — off by default. When on, each client may send
/// `requests` per `period` on the API port (the admin port and its probes are never
/// limited), with up to `burst` at once; beyond, 429 with `Retry-After`.
///
/// ```yaml
/// server:
///   rate_limit: {enabled: true, requests: 100, period: 60s, key: x_forwarded_for, trusted_proxies: [10.0.0.0/8]}
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Limit at all. `enabled: false` (env `ATLAS_SERVER__RATE_LIMIT__ENABLED=true`)
    pub enabled: bool,
    /// Requests a client may send per `period`, on average. `requests: 100`
    pub requests: NonZeroU32,
    /// The window `requests` are counted over (above 0). `period: 60s`
    #[serde(
        serialize_with = "duration::serialize",
        deserialize_with = "positive_duration"
    )]
    pub period: Duration,
    /// Requests a client may send at once after a quiet spell. Unset: `requests`.
    /// `burst: 20`
    pub burst: Option<NonZeroU32>,
    /// What identifies a client. `key: peer`
    pub key: ClientKey,
    /// Proxies whose `X-Forwarded-For` / `Forwarded` are believed (CIDRs); a
    /// header from any other peer is ignored and the peer itself is the client.
    /// `trusted_proxies: [10.0.0.0/8, "fd00::/8"]`
    pub trusted_proxies: Vec<IpNet>,
    /// Clients remembered at most (about 100 bytes each); beyond, the least
    /// recently active are forgotten (and start afresh), so a flood of addresses
    /// cannot grow memory without bound. `max_clients: 100000`
    pub max_clients: NonZeroUsize,
}

/// `server.rate_limit.key:` — where the client address comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientKey {
    /// The TCP peer (the default; behind a proxy, every client is the proxy).
    #[default]
    Peer,
    /// The rightmost address of `X-Forwarded-For` that is not a trusted proxy,
    /// when the peer is one of `trusted_proxies`.
    XForwardedFor,
    /// The same from the RFC 7239 `Forwarded` header's `for=` parameters.
    Forwarded,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            requests: NonZeroU32::new(100).expect("100 is not zero"),
            period: Duration::from_secs(60),
            burst: None,
            key: ClientKey::Peer,
            trusted_proxies: Vec::new(),
            max_clients: NonZeroUsize::new(100_000).expect("100000 is not zero"),
        }
    }
}

impl RateLimitConfig {
    /// `burst`, or `requests` when unset.
    pub fn burst(&self) -> NonZeroU32 {
        self.burst.unwrap_or(self.requests)
    }
}

/// A duration above zero.
fn positive_duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let v = duration::deserialize(d)?;
    if v.is_zero() {
        return Err(serde::de::Error::custom("must be above 0"));
    }
    Ok(v)
}
