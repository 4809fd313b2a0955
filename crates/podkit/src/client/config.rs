//! [`ClientConfig`]: a client's section in the service's config.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::BuildError;
use crate::config::{byte_size, duration};
use crate::tls::TlsFiles;

/// A client's section in the service's config, e.g. `rates_client:`.
///
/// ```yaml
/// rates_client:
///   connect_timeout: 2s
///   request_timeout: 10s
///   max_retries: 3
///   backoff_base: 100ms
///   backoff_max: 2s
///   retry_budget: {ratio: 0.2, min_per_second: 1, window: 10s}
///   max_body_bytes: 10MiB
///   tls: {ca_file: /etc/ssl/private-ca/ca.pem}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClientConfig {
    /// Time to open a TCP connection. `connect_timeout: 2s`
    #[serde(with = "duration")]
    pub connect_timeout: Duration,
    /// Time for one attempt, from sending to the last body byte. `request_timeout: 10s`
    #[serde(with = "duration")]
    pub request_timeout: Duration,
    /// Retries after the first attempt, for idempotent methods. `max_retries: 3`
    pub max_retries: u32,
    /// The first retry waits up to this long; each one after waits up to twice as
    /// long as the one before. `backoff_base: 100ms`
    #[serde(with = "duration")]
    pub backoff_base: Duration,
    /// The longest wait before a retry, also the longest `Retry-After` honoured.
    /// `backoff_max: 2s`
    #[serde(with = "duration")]
    pub backoff_max: Duration,
    /// How many retries the client may spend. `retry_budget: {ratio: 0.2}`
    pub retry_budget: RetryBudgetConfig,
    /// Largest response body accepted; a larger one is an error.
    /// `max_body_bytes: 10MiB` (bytes, or with KiB/MiB)
    #[serde(with = "byte_size")]
    pub max_body_bytes: usize,
    /// `https` trust and identity: the OS roots plus `ca_file`; `cert_file` and
    /// `key_file` for mTLS. `tls: {ca_file: /etc/ssl/private-ca/ca.pem}`
    pub tls: TlsFiles,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(10),
            max_retries: 3,
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_secs(2),
            retry_budget: RetryBudgetConfig::default(),
            max_body_bytes: 10 * 1024 * 1024,
            tls: TlsFiles::default(),
        }
    }
}

/// `retry_budget:` — a token bucket shared by all calls of one client. Each request
/// adds `ratio` tokens and each retry takes one. Tokens expire after `window`.
/// A reserve of `min_per_second × window` tokens lets a quiet client still retry.
/// Over any window, retries stay within `ratio × requests + min_per_second × window`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryBudgetConfig {
    /// Retries allowed per request made. `ratio: 0.2` (20% extra load at most)
    pub ratio: f64,
    /// Retries allowed per second whatever the traffic. `min_per_second: 1`
    pub min_per_second: u32,
    /// How long a request's deposit counts. `window: 10s`
    #[serde(with = "duration")]
    pub window: Duration,
}

impl Default for RetryBudgetConfig {
    fn default() -> Self {
        Self {
            ratio: 0.2,
            min_per_second: 1,
            window: Duration::from_secs(10),
        }
    }
}

impl ClientConfig {
    /// Check the values serde cannot: ranges and relations between keys.
    pub(super) fn validate(&self) -> Result<(), BuildError> {
        let bad = |key: &'static str, reason: &str| {
            Err(BuildError::Config {
                key,
                reason: reason.into(),
            })
        };
        if self.request_timeout.is_zero() {
            return bad("request_timeout", "must be above zero");
        }
        if self.backoff_base > self.backoff_max {
            return bad("backoff_base", "must not exceed `backoff_max`");
        }
        let ratio = self.retry_budget.ratio;
        if !ratio.is_finite() || ratio < 0.0 {
            return bad("retry_budget.ratio", "must be a number of 0 or more");
        }
        if self.retry_budget.window < Duration::from_millis(10) {
            return bad("retry_budget.window", "must be at least 10ms");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_yaml_and_validation() {
        let c: ClientConfig = serde_yaml::from_str(
            "request_timeout: 1s\nmax_body_bytes: 1KiB\nretry_budget: {ratio: 0.5}\n",
        )
        .unwrap();
        assert_eq!(c.request_timeout, Duration::from_secs(1));
        assert_eq!(c.max_body_bytes, 1024);
        assert_eq!(c.retry_budget.ratio, 0.5);
        assert_eq!(c.retry_budget.min_per_second, 1, "default kept");
        assert_eq!(c.connect_timeout, Duration::from_secs(2), "default kept");
        assert!(serde_yaml::from_str::<ClientConfig>("retries: 1\n").is_err());

        let bad = ClientConfig {
            backoff_base: Duration::from_secs(5),
            ..ClientConfig::default()
        };
        let err = bad.validate().unwrap_err().to_string();
        assert!(err.contains("key `backoff_base`"), "{err}");
    }
}
