//! The `http_client_*` families of one client.

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts};

use crate::telemetry::metrics::{Metrics, MetricsError};

/// The `http_client_*` families of one client, its name as the constant `client`
/// label: the registry refuses the same family twice without a distinguishing
/// constant label.
pub(super) struct ClientMetrics {
    pub(super) requests: IntCounterVec,
    pub(super) duration: HistogramVec,
    pub(super) retries: IntCounterVec,
}

impl ClientMetrics {
    pub(super) fn register(m: &Metrics, client: &str) -> Result<Self, MetricsError> {
        let requests = IntCounterVec::new(
            Opts::new(
                "http_client_requests_total",
                "Outgoing HTTP requests (each attempt), by method, host and status code \
                 (`error` when no usable response came).",
            )
            .const_label("client", client),
            &["method", "host", "status"],
        )?;
        m.registry().register(Box::new(requests.clone()))?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "http_client_request_duration_seconds",
                "Time of an outgoing HTTP request (each attempt, body included), in seconds.",
            )
            .const_label("client", client)
            .buckets(m.buckets()),
            &["method", "host", "status"],
        )?;
        m.registry().register(Box::new(duration.clone()))?;
        let retries = IntCounterVec::new(
            Opts::new(
                "http_client_retries_total",
                "Outgoing HTTP requests sent again after a failure, by method and host.",
            )
            .const_label("client", client),
            &["method", "host"],
        )?;
        m.registry().register(Box::new(retries.clone()))?;
        Ok(Self {
            requests,
            duration,
            retries,
        })
    }
}
