//! Layered, validated configuration.
//!
//! Precedence, later wins — this is the one place it is spelled out:
//!
//! 1. built-in defaults (`Default` of every section);
//! 2. a YAML file, from `--config FILE` or `CONFIG_FILE` (optional: no file, no layer);
//! 3. the environment: every key as `{PREFIX}_SECTION__KEY` (only names holding a
//!    double underscore, so the `ATLAS_PORT=tcp://…` service links Kubernetes injects
//!    cannot break start-up), then the well-known names (`PORT`, `ADMIN_PORT`, `HOST`,
//!    `LOG_LEVEL`, `LOG_FORMAT`, `ADMIN_TOKEN`, `OTEL_*`, plus the service's own aliases
//!    such as `DATABASE_URL`);
//! 4. command-line flags (`--port`, `--set key=value`, …).
//!
//! Every value remembers where it came from, so a bad one fails start-up with one
//! line naming the key, the source and the reason:
//!
//! ```text
//! config error: key `server.port` from environment variable `PORT`: invalid value: integer `70000`, expected u16
//! ```
//!
//! The kit's sections (`server`, `admin`, `shutdown`, `log`, `metrics`, `otel`,
//! `health`) sit beside the service's own sections in one file; the service's
//! config type `S` is extracted from the same layers. `S` is a struct of sections
//! with `#[serde(default)]` but *without* `deny_unknown_fields` (it would see the
//! kit's sections); the loader rejects unknown top-level keys itself, and each
//! section struct should carry `deny_unknown_fields`.
//!
//! # Layout
//!
//! - this file: [`Config`], [`KitConfig`] and the effective-config printout;
//! - `loader`: [`Loader`], the layers, the environment aliases ([`KIT_ALIASES`]) and
//!   the top-level key check;
//! - `error`: [`ConfigError`], one line naming the key, the source and the reason;
//! - `server`, `ratelimit`, `log`, `metrics`, `otel`: the kit's sections;
//! - `secret`: [`Secret`] and [`SecretUrl`] (backed by `secrecy`), [`redact_url`];
//! - `units`: the [`duration`] and [`byte_size`] serde helpers.

mod error;
mod loader;
mod log;
mod metrics;
pub(crate) mod otel;
mod ratelimit;
mod secret;
mod server;
mod units;

pub use error::ConfigError;
pub use loader::{Loader, KIT_ALIASES};
pub use log::{Level, LogConfig, LogFormat, SinkConfig, SinkKind};
pub use metrics::{MetricFamilies, MetricsConfig};
pub use otel::{OtelConfig, OtlpProtocol};
pub use ratelimit::{ClientKey, RateLimitConfig};
pub use secret::{redact_url, Secret, SecretUrl};
pub use server::{AdminConfig, CheckConfig, HealthConfig, ServerConfig, ShutdownConfig};
pub use units::{byte_size, duration};

use serde::{Deserialize, Serialize};

/// The effective configuration of a pod: the kit's sections plus the service's `S`.
#[derive(Debug, Clone)]
pub struct Config<S> {
    /// The kit's sections.
    pub kit: KitConfig,
    /// The service's own sections.
    pub service: S,
}

/// The service config of a service with no sections of its own.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NoSettings {}

/// The sections podkit owns.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct KitConfig {
    /// The API listener.
    pub server: ServerConfig,
    /// The admin listener (probes, metrics, admin endpoints).
    pub admin: AdminConfig,
    /// Graceful shutdown timings.
    pub shutdown: ShutdownConfig,
    /// Logging.
    pub log: LogConfig,
    /// Prometheus metrics.
    pub metrics: MetricsConfig,
    /// OpenTelemetry traces (the standard `OTEL_*` variables land here).
    pub otel: OtelConfig,
    /// Readiness checks.
    pub health: HealthConfig,
}

/// The top-level keys the kit owns; the loader checks the rest against `S`.
const KIT_SECTIONS: &[&str] = &[
    "server", "admin", "shutdown", "log", "metrics", "otel", "health",
];

impl<S: Serialize> Config<S> {
    /// The effective configuration as YAML, secrets shown as `***`.
    pub fn to_redacted_yaml(&self) -> String {
        let mut root = serde_yaml::Mapping::new();
        for part in [
            serde_yaml::to_value(&self.kit),
            serde_yaml::to_value(&self.service),
        ] {
            // Invariant: both are plain structs of serializable fields.
            if let Ok(serde_yaml::Value::Mapping(m)) = part {
                root.extend(m);
            }
        }
        serde_yaml::to_string(&root).unwrap_or_default()
    }
}

impl<S> std::ops::Deref for Config<S> {
    type Target = KitConfig;
    fn deref(&self) -> &KitConfig {
        &self.kit
    }
}
