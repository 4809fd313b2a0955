//! Prometheus metrics: one registry per pod, families grouped by concern and switched
//! on or off from config (`metrics.families`). Names follow Prometheus conventions:
//! base units (seconds, bytes), counters end in `_total`, every family has HELP.
//! docs/contract.md lists every family the kit exports.

use std::time::Duration;

use axum::http::StatusCode;

use prometheus::core::{Collector, Desc};
use prometheus::proto::{self, LabelPair, Metric, MetricFamily, MetricType};
use prometheus::{
    Encoder, Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry, TextEncoder,
};

use crate::build::BuildInfo;
use crate::config::MetricsConfig;

/// The pod's metric registry and the settings new families follow.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    config: MetricsConfig,
}

/// Why a metric family could not be registered (a duplicate name, a bad label).
#[derive(Debug, thiserror::Error)]
#[error("metric registration failed: {0}")]
pub struct MetricsError(#[from] prometheus::Error);

impl Metrics {
    /// A registry with process metrics and `{service}_build_info` when enabled.
    ///
    /// # Errors
    /// When the config's prefix is not a valid metric name prefix.
    pub fn build(config: &MetricsConfig, build: &BuildInfo) -> Result<Self, MetricsError> {
        let prefix = (!config.prefix.is_empty()).then(|| config.prefix.clone());
        let registry = Registry::new_custom(prefix, None)?;
        let m = Self {
            registry,
            config: config.clone(),
        };
        if config.families.process {
            #[cfg(target_os = "linux")]
            m.registry.register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ))?;
        }
        let info = IntGaugeVec::new(
            Opts::new(
                format!("{}_build_info", build.name.replace('-', "_")),
                "Build identity of the running binary; the value is always 1.",
            ),
            &["version", "commit"],
        )?;
        info.with_label_values(&[build.release, build.commit])
            .set(1);
        m.registry.register(Box::new(info))?;
        Ok(m)
    }

    /// The registry, to register a service's own families.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The configured latency buckets, in seconds.
    pub fn buckets(&self) -> Vec<f64> {
        self.config.buckets.clone()
    }

    /// Whether a family group is switched on.
    pub fn config(&self) -> &MetricsConfig {
        &self.config
    }

    /// Render the text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        // Invariant: encoding to a Vec cannot fail for well-formed families.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }

    /// Register a counter vector.
    ///
    /// # Errors
    /// A duplicate name or invalid label.
    pub fn counter_vec(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
    ) -> Result<IntCounterVec, MetricsError> {
        let c = IntCounterVec::new(Opts::new(name, help), labels)?;
        self.registry.register(Box::new(c.clone()))?;
        Ok(c)
    }

    /// Register a histogram vector with the configured buckets.
    ///
    /// # Errors
    /// A duplicate name or invalid label.
    pub fn histogram_vec(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
    ) -> Result<HistogramVec, MetricsError> {
        let h = HistogramVec::new(
            HistogramOpts::new(name, help).buckets(self.buckets()),
            labels,
        )?;
        self.registry.register(Box::new(h.clone()))?;
        Ok(h)
    }

    /// Register a gauge vector.
    ///
    /// # Errors
    /// A duplicate name or invalid label.
    pub fn gauge_vec(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
    ) -> Result<IntGaugeVec, MetricsError> {
        let g = IntGaugeVec::new(Opts::new(name, help), labels)?;
        self.registry.register(Box::new(g.clone()))?;
        Ok(g)
    }

    /// Register a float gauge vector.
    ///
    /// # Errors
    /// A duplicate name or invalid label.
    pub fn float_gauge_vec(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
    ) -> Result<GaugeVec, MetricsError> {
        let g = GaugeVec::new(Opts::new(name, help), labels)?;
        self.registry.register(Box::new(g.clone()))?;
        Ok(g)
    }

    /// Register a gauge.
    ///
    /// # Errors
    /// A duplicate name.
    pub fn gauge(&self, name: &str, help: &str) -> Result<IntGauge, MetricsError> {
        let g = IntGauge::new(name, help)?;
        self.registry.register(Box::new(g.clone()))?;
        Ok(g)
    }

    /// Register a gauge whose value is read at scrape time (a pool's size, a queue's
    /// length): nothing to keep in sync.
    ///
    /// # Errors
    /// A duplicate name.
    pub fn gauge_fn(
        &self,
        name: &str,
        help: &str,
        read: impl Fn() -> f64 + Send + Sync + 'static,
    ) -> Result<(), MetricsError> {
        let desc = Desc::new(name.into(), help.into(), vec![], Default::default())?;
        self.registry.register(Box::new(FnCollector {
            desc,
            label: None,
            read: Box::new(move || vec![(String::new(), read())]),
        }))?;
        Ok(())
    }

    /// Like [`Metrics::gauge_fn`], one series per value of `label`.
    ///
    /// # Errors
    /// A duplicate name or invalid label.
    pub fn gauge_fn_vec(
        &self,
        name: &str,
        help: &str,
        label: &str,
        read: impl Fn() -> Vec<(String, f64)> + Send + Sync + 'static,
    ) -> Result<(), MetricsError> {
        let desc = Desc::new(
            name.into(),
            help.into(),
            vec![label.into()],
            Default::default(),
        )?;
        self.registry.register(Box::new(FnCollector {
            desc,
            label: Some(label.into()),
            read: Box::new(read),
        }))?;
        Ok(())
    }

    /// Register a float gauge.
    ///
    /// # Errors
    /// A duplicate name.
    pub fn float_gauge(&self, name: &str, help: &str) -> Result<Gauge, MetricsError> {
        let g = Gauge::new(name, help)?;
        self.registry.register(Box::new(g.clone()))?;
        Ok(g)
    }
}

type ReadFn = Box<dyn Fn() -> Vec<(String, f64)> + Send + Sync>;

/// A gauge family computed when scraped.
struct FnCollector {
    desc: Desc,
    label: Option<String>,
    read: ReadFn,
}

impl Collector for FnCollector {
    fn desc(&self) -> Vec<&Desc> {
        vec![&self.desc]
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let mut family = MetricFamily::default();
        family.set_name(self.desc.fq_name.clone());
        family.set_help(self.desc.help.clone());
        family.set_field_type(MetricType::GAUGE);
        for (value, v) in (self.read)() {
            let mut m = Metric::default();
            if let Some(name) = &self.label {
                let mut l = LabelPair::default();
                l.set_name(name.clone());
                l.set_value(value);
                m.set_label(vec![l]);
            }
            let mut g = proto::Gauge::default();
            g.set_value(v);
            m.set_gauge(g);
            family.mut_metric().push(m);
        }
        vec![family]
    }
}

/// The methods HTTP defines (OpenTelemetry's semantic conventions: RFC 9110 plus
/// PATCH); any other is recorded as [`OTHER_METHOD`].
pub const KNOWN_METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/// The `method` label of a method outside [`KNOWN_METHODS`].
pub const OTHER_METHOD: &str = "_OTHER";

/// A request method as a metric label: one of [`KNOWN_METHODS`] or
/// [`OTHER_METHOD`], so a client inventing methods cannot add series.
pub fn method_label(method: &str) -> &'static str {
    KNOWN_METHODS
        .into_iter()
        .find(|m| *m == method)
        .unwrap_or(OTHER_METHOD)
}

/// RED metrics of the HTTP server.
#[derive(Clone)]
pub struct HttpServerMetrics {
    requests: IntCounterVec,
    duration: HistogramVec,
    /// Requests being served now.
    pub in_flight: IntGauge,
}

impl HttpServerMetrics {
    /// Register the `http_server_*` families.
    ///
    /// # Errors
    /// A duplicate registration.
    pub fn register(m: &Metrics) -> Result<Self, MetricsError> {
        Ok(Self {
            requests: m.counter_vec(
                "http_server_requests_total",
                "HTTP requests served, by method, route template and status code.",
                &["method", "route", "status"],
            )?,
            duration: m.histogram_vec(
                "http_server_request_duration_seconds",
                "Time to serve an HTTP request, in seconds.",
                &["method", "route", "status"],
            )?,
            in_flight: m.gauge(
                "http_server_requests_in_flight",
                "HTTP requests being served now.",
            )?,
        })
    }

    /// Count one finished request; `method` is recorded through [`method_label`].
    pub fn observe(&self, method: &str, route: &str, status: StatusCode, elapsed: Duration) {
        let labels = [method_label(method), route, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.duration
            .with_label_values(&labels)
            .observe(elapsed.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build() -> BuildInfo {
        BuildInfo {
            name: "svc",
            release: "1.2.3",
            commit: "abc",
            build_time: "unset",
        }
    }

    #[test]
    fn exposition_has_red_families_build_info_and_process() {
        let m = Metrics::build(&MetricsConfig::default(), &build()).unwrap();
        let http = HttpServerMetrics::register(&m).unwrap();
        http.observe(
            "GET",
            "/items/{id}",
            StatusCode::OK,
            Duration::from_millis(3),
        );
        let text = m.render();
        assert!(
            text.contains(
                r#"http_server_requests_total{method="GET",route="/items/{id}",status="200"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains("# HELP http_server_request_duration_seconds"),
            "{text}"
        );
        assert!(
            text.contains(r#"svc_build_info{commit="abc",version="1.2.3"} 1"#),
            "{text}"
        );
        assert!(text.contains("process_resident_memory_bytes"), "{text}");
    }

    #[test]
    fn unknown_methods_share_one_label_so_clients_cannot_add_series() {
        let m = Metrics::build(&MetricsConfig::default(), &build()).unwrap();
        let http = HttpServerMetrics::register(&m).unwrap();
        for method in KNOWN_METHODS {
            assert_eq!(method_label(method), method, "{method} is kept");
        }
        for i in 0..300 {
            let method = format!("X{i:04}");
            http.observe(&method, "/", StatusCode::OK, Duration::ZERO);
        }
        let text = m.render();
        let series: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("http_server_requests_total{"))
            .collect();
        assert_eq!(series.len(), 1, "{series:?}");
        assert!(series[0].contains(r#"method="_OTHER""#), "{series:?}");
        assert!(series[0].ends_with(" 300"), "{series:?}");
    }

    #[test]
    fn prefix_and_family_switches_apply() {
        let cfg = MetricsConfig {
            prefix: "acme".into(),
            families: crate::config::MetricFamilies {
                process: false,
                ..Default::default()
            },
            ..Default::default()
        };
        let m = Metrics::build(&cfg, &build()).unwrap();
        HttpServerMetrics::register(&m).unwrap().observe(
            "GET",
            "/",
            StatusCode::NOT_FOUND,
            Duration::ZERO,
        );
        let text = m.render();
        assert!(text.contains("acme_http_server_requests_total"), "{text}");
        assert!(!text.contains("process_resident_memory_bytes"), "{text}");
    }
}
