//! `metrics:`: Prometheus exposition.

use serde::{Deserialize, Serialize};

/// `metrics:` — Prometheus exposition.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Serve `/metrics` at all. `enabled: true`
    pub enabled: bool,
    /// Prepended to every family name (with `_`). `prefix: ""`
    pub prefix: String,
    /// Per-family switches. `families: {http_server: true, process: true, …}`
    pub families: MetricFamilies,
    /// Upper bounds of latency histograms, in seconds.
    pub buckets: Vec<f64>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            prefix: String::new(),
            families: MetricFamilies::default(),
            buckets: vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ],
        }
    }
}

/// On/off switch per metric family group.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricFamilies {
    /// `http_server_*`
    pub http_server: bool,
    /// `http_client_*`
    pub http_client: bool,
    /// `db_*`
    pub db: bool,
    /// `worker_pool_*`
    pub worker_pool: bool,
    /// `process_*`
    pub process: bool,
    /// `health_*`
    pub health: bool,
}

impl Default for MetricFamilies {
    fn default() -> Self {
        Self {
            http_server: true,
            http_client: true,
            db: true,
            worker_pool: true,
            process: true,
            health: true,
        }
    }
}
