//! Per-client rate limiting ([`RateLimiter`], `server.rate_limit`): GCRA, the
//! algorithm of the `governor` crate, over a bounded key store.
//!
//! Not `governor` itself: its keyed store is a `DashMap` that grows with every new
//! key until someone calls `retain_recent`, so a client rotating addresses (an
//! IPv6 /64 holds 2^64) grows memory without bound (boinkor-net/governor#171).
//! Here each client's state is one `u64` (its theoretical arrival time) in a
//! `quick_cache` holding at most `max_clients`; beyond, the least recently useful
//! entries are evicted and those clients start afresh.
//!
//! Clients are keyed by address; IPv6 by its /64, the block a single host gets.
//!
//! Headers follow draft-ietf-httpapi-ratelimit-headers-11 (May 2026): every
//! answer carries `RateLimit-Policy: "default";q=<requests>;w=<period s>` (the
//! quota policy) and `RateLimit: "default";r=<remaining>;t=<seconds until the
//! quota is whole again>`; a refused request gets 429, a problem body and
//! `Retry-After: <seconds>` (RFC 9110 §10.2.3).

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;
use prometheus::IntCounter;
use quick_cache::sync::Cache;

use super::Problem;
use crate::config::{ClientKey, RateLimitConfig};
use crate::telemetry::metrics::{Metrics, MetricsError};

/// `RateLimit-Policy` (draft-ietf-httpapi-ratelimit-headers).
pub static RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
/// `RateLimit` (draft-ietf-httpapi-ratelimit-headers).
pub static RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");

const NANOS: u64 = 1_000_000_000;

/// A keyed GCRA limiter; cheap to clone (shared state).
#[derive(Clone)]
pub struct RateLimiter(Arc<Inner>);

struct Inner {
    /// Nanoseconds between two requests at the sustained rate.
    interval: u64,
    /// How far a client's arrival time may run ahead of now: burst × interval.
    tolerance: u64,
    key: ClientKey,
    trusted: Vec<IpNet>,
    /// Theoretical arrival time per client, in nanoseconds since `epoch`.
    clients: Cache<IpAddr, Arc<AtomicU64>>,
    epoch: Instant,
    policy: HeaderValue,
    limited: Option<IntCounter>,
}

/// What the limiter decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Let it through.
    Allowed {
        /// Requests the client may still send at once.
        remaining: u32,
        /// Seconds until its whole burst is available again.
        reset: u64,
    },
    /// Refuse it.
    Limited {
        /// Seconds until one more request will be allowed (at least 1).
        retry_after: u64,
    },
}

impl RateLimiter {
    /// A limiter for `cfg` (whether or not it is `enabled`); `metrics`, when given,
    /// gets `http_server_rate_limited_total`.
    ///
    /// # Errors
    /// The counter cannot be registered (a duplicate name).
    pub fn build(cfg: &RateLimitConfig, metrics: Option<&Metrics>) -> Result<Self, MetricsError> {
        let limited = match metrics {
            Some(m) => {
                let c = IntCounter::new(
                    "http_server_rate_limited_total",
                    "API requests refused with 429 by the per-client rate limit.",
                )
                .map_err(MetricsError::from)?;
                m.registry()
                    .register(Box::new(c.clone()))
                    .map_err(MetricsError::from)?;
                Some(c)
            }
            None => None,
        };
        let requests = u64::from(cfg.requests.get());
        let interval = (cfg.period.as_nanos() as u64 / requests).max(1);
        let period = cfg.period.as_secs().max(1);
        let policy = format!("\"default\";q={requests};w={period}");
        Ok(Self(Arc::new(Inner {
            interval,
            tolerance: interval.saturating_mul(u64::from(cfg.burst().get())),
            key: cfg.key,
            trusted: cfg.trusted_proxies.clone(),
            clients: Cache::new(cfg.max_clients.get()),
            epoch: Instant::now(),
            // Invariant: digits and ASCII punctuation only.
            policy: HeaderValue::from_str(&policy).expect("a valid header value"),
            limited,
        })))
    }

    /// Decide for `client` at `now` (nanoseconds since the limiter was built), and
    /// count the request when allowed.
    pub fn check_at(&self, client: IpAddr, now: u64) -> Decision {
        let inner = &self.0;
        let key = bucket(client);
        // Invariant: the closure cannot fail.
        let tat = inner
            .clients
            .get_or_insert_with(&key, || {
                Ok::<_, std::convert::Infallible>(Arc::new(AtomicU64::new(0)))
            })
            .unwrap_or_else(|never| match never {});
        let mut current = tat.load(Ordering::Acquire);
        loop {
            let next = current.max(now) + inner.interval;
            let ahead = next - now;
            if ahead > inner.tolerance {
                let wait = ahead - inner.tolerance;
                return Decision::Limited {
                    retry_after: wait.div_ceil(NANOS).max(1),
                };
            }
            match tat.compare_exchange_weak(current, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    return Decision::Allowed {
                        remaining: ((inner.tolerance - ahead) / inner.interval) as u32,
                        reset: ahead.div_ceil(NANOS),
                    }
                }
                Err(seen) => current = seen,
            }
        }
    }

    /// Clients remembered now (at most `max_clients`).
    pub fn clients(&self) -> usize {
        self.0.clients.len()
    }

    /// The client a request comes from: see [`ClientKey`]. `None` without a peer
    /// address (a router called in-process, not through the kit's server).
    pub fn client_of(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = peer?.to_canonical();
        let from_header = match self.0.key {
            ClientKey::Peer => return Some(peer),
            _ if !self.trusts(peer) => return Some(peer),
            ClientKey::XForwardedFor => hops(
                headers,
                &header::HeaderName::from_static("x-forwarded-for"),
                xff_hop,
            ),
            ClientKey::Forwarded => hops(headers, &header::FORWARDED, forwarded_hop),
        };
        Some(self.rightmost_untrusted(peer, from_header))
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.trusted.iter().any(|net| net.contains(&ip))
    }

    /// Walk the hops right to left from the peer: the first one not trusted is
    /// the client. A hop that does not parse ends the walk at the last good one
    /// (what is left of it was written by someone not trusted).
    fn rightmost_untrusted(&self, peer: IpAddr, hops: Vec<Option<IpAddr>>) -> IpAddr {
        let mut client = peer;
        for hop in hops.into_iter().rev() {
            let Some(ip) = hop else { break };
            client = ip.to_canonical();
            if !self.trusts(client) {
                break;
            }
        }
        client
    }

    fn headers(&self, res: &mut Response, rate: HeaderValue) {
        let h = res.headers_mut();
        h.insert(RATELIMIT_POLICY.clone(), self.0.policy.clone());
        h.insert(RATELIMIT.clone(), rate);
    }
}

/// The key of an address: IPv6 by its /64, IPv4 whole.
fn bucket(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
        v4 => v4,
    }
}

/// Every hop of every line of `name`, in order; `None` for one that does not parse.
fn hops(
    headers: &HeaderMap,
    name: &HeaderName,
    parse: fn(&str) -> Option<IpAddr>,
) -> Vec<Option<IpAddr>> {
    headers
        .get_all(name)
        .iter()
        .flat_map(|v| match v.to_str() {
            Ok(s) => s.split(',').map(parse).collect(),
            Err(_) => vec![None],
        })
        .collect()
}

/// An `X-Forwarded-For` element: `192.0.2.1`, `2001:db8::1`, or with a port.
fn xff_hop(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    s.parse()
        .ok()
        .or_else(|| s.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

/// The `for=` of an RFC 7239 `Forwarded` element: `for=192.0.2.60`,
/// `for="[2001:db8::1]:4711"`; `unknown` and obfuscated names do not parse.
fn forwarded_hop(element: &str) -> Option<IpAddr> {
    let value = element.split(';').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        k.trim().eq_ignore_ascii_case("for").then_some(v.trim())
    })?;
    let value = value.trim_matches('"');
    let value = value
        .strip_prefix('[')
        .map(|v| v.split(']').next().unwrap_or(v))
        .unwrap_or(value);
    xff_hop(value)
}

/// Middleware (`axum::middleware::from_fn_with_state`): let a request through or
/// answer 429; both carry the rate-limit headers.
pub async fn limit_layer(State(limiter): State<RateLimiter>, req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let Some(client) = limiter.client_of(peer, req.headers()) else {
        return next.run(req).await;
    };
    let now = limiter.0.epoch.elapsed().as_nanos() as u64;
    match limiter.check_at(client, now) {
        Decision::Allowed { remaining, reset } => {
            let mut res = next.run(req).await;
            limiter.headers(&mut res, rate_value(remaining, reset));
            res
        }
        Decision::Limited { retry_after } => {
            if let Some(c) = &limiter.0.limited {
                c.inc();
            }
            tracing::debug!(retry_after, "request refused by the rate limit");
            let mut res = Problem::new(StatusCode::TOO_MANY_REQUESTS)
                .detail(format!(
                    "too many requests from this client; retry in {retry_after} s"
                ))
                .header(header::RETRY_AFTER, HeaderValue::from(retry_after))
                .into_response();
            limiter.headers(&mut res, rate_value(0, retry_after));
            res
        }
    }
}

fn rate_value(remaining: u32, reset: u64) -> HeaderValue {
    // Invariant: digits and ASCII punctuation only.
    HeaderValue::from_str(&format!("\"default\";r={remaining};t={reset}"))
        .expect("a valid header value")
}

#[cfg(test)]
mod tests;
