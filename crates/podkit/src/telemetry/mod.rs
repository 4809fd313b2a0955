//! Logs (and, with the `otel` feature, traces).
//!
//! One global filter in `RUST_LOG` syntax, changeable at run time ([`LogControl`]),
//! in front of any number of sinks. Each sink has its own writer, format and level
//! range, so "debug..info to `app.debug.log`, error to `app.error.log` and stderr,
//! everything to stdout" is four lines of config. Writers are non-blocking and
//! batched (one writer thread per sink takes every pending line each 50 ms): a slow
//! disk or log collector drops lines (and a line says how many) rather than stalling
//! requests. [`Telemetry::flush`] drains them at shutdown.

use std::sync::Mutex;

use tracing_subscriber::filter::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, Layer, Registry};

use crate::build::BuildInfo;
use crate::config::{KitConfig, Level, SinkConfig, SinkKind};

mod batch;
pub mod log_control;
mod logs;
pub mod metrics;
pub mod otel;

pub use log_control::{LogControl, LogLevelState};
pub use logs::json_layer;
use logs::{open_sink, parse_filter, sink_layer};

/// Why telemetry could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TelemetryError {
    /// `log.level` is not a valid filter.
    #[error("config error: key `log.level`: invalid filter {filter:?}: {reason}")]
    Filter {
        /// The filter given.
        filter: String,
        /// Why it is invalid.
        reason: String,
    },
    /// A file sink is misconfigured or its file cannot be opened.
    #[error("config error: key `log.sinks[{index}]`: {reason}")]
    Sink {
        /// Index of the sink in `log.sinks`.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// A global subscriber was already installed.
    #[error("a global tracing subscriber is already installed")]
    AlreadyInstalled,
    /// The OTLP exporter could not be built.
    #[error("config error: key `otel`: {0}")]
    Otel(#[from] otel::OtelError),
}

pub(crate) type Base =
    tracing_subscriber::layer::Layered<reload::Layer<EnvFilter, Registry>, Registry>;
pub(crate) type BoxedLayer = Box<dyn Layer<Base> + Send + Sync>;

/// Running telemetry: keeps log writers alive and owns the run-time filter.
pub struct Telemetry {
    guards: Mutex<Vec<batch::BatchGuard>>,
    control: LogControl,
    #[cfg(feature = "otel")]
    otel: Option<otel::OtelGuard>,
}

impl Telemetry {
    /// The run-time log level switch.
    pub fn control(&self) -> &LogControl {
        &self.control
    }

    /// Export pending spans and write out buffered log lines.
    pub fn flush(&self) {
        #[cfg(feature = "otel")]
        if let Some(o) = &self.otel {
            o.shutdown();
        }
        // Dropping a guard joins its writer thread after it has written everything.
        let guards = std::mem::take(&mut *self.guards.lock().unwrap_or_else(|e| e.into_inner()));
        drop(guards);
    }
}

/// Install the global subscriber from `log` (and `otel`, with the feature).
///
/// The filter is `log.level` (`LOG_LEVEL`, or `RUST_LOG` which the config loader maps
/// onto the same key and lets win). [`App`](crate::App) calls it; a service calls it
/// itself only without `App` (a one-off tool, say).
///
/// ```
/// use podkit::{config::NoSettings, BuildInfo, Loader};
///
/// let build = BuildInfo { name: "demo", release: "0.1.0", commit: "unset", build_time: "unset" };
/// let config = Loader::new("DEMO")
///     .with_env([("LOG_LEVEL", "info,demo=debug"), ("LOG_FORMAT", "json")])
///     .load::<NoSettings>()?;
/// let telemetry = podkit::telemetry::init(&config.kit, &build)?;
/// // One JSON object a line on stdout: timestamp, level, target, message, fields.
/// tracing::info!(phase = "starting", "a line with a `phase` field");
/// assert_eq!(telemetry.control().state().filter, "info,demo=debug");
/// // A second subscriber is refused: init once, in `main`.
/// assert!(podkit::telemetry::init(&config.kit, &build).is_err());
/// telemetry.flush(); // at exit: write out what is buffered
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// A bad filter, an unopenable log file, or a subscriber already installed.
pub fn init(kit: &KitConfig, build: &BuildInfo) -> Result<Telemetry, TelemetryError> {
    let log = &kit.log;
    let filter = parse_filter(&log.level)?;
    let (filter_layer, handle) = reload::Layer::new(filter);
    let mut guards = Vec::new();
    let mut layers: Vec<BoxedLayer> = Vec::new();

    let sinks = if log.sinks.is_empty() {
        vec![SinkConfig {
            kind: SinkKind::Stdout,
            format: log.format,
            min_level: Level::Trace,
            max_level: Level::Error,
            path: None,
            max_size: 1,
            max_backups: 0,
            compress: false,
        }]
    } else {
        log.sinks.clone()
    };
    for (index, sink) in sinks.iter().enumerate() {
        let (writer, guard) =
            open_sink(sink).map_err(|reason| TelemetryError::Sink { index, reason })?;
        guards.push(guard);
        layers.push(sink_layer(sink, writer));
    }

    #[cfg(feature = "otel")]
    let otel_guard = {
        let (guard, layer) = otel::layer::<Base>(&kit.otel, build)?;
        if let Some(layer) = layer {
            layers.push(layer);
        }
        guard
    };
    #[cfg(not(feature = "otel"))]
    let _ = build;

    tracing_subscriber::registry()
        .with(filter_layer)
        .with(layers)
        .try_init()
        .map_err(|_| TelemetryError::AlreadyInstalled)?;

    Ok(Telemetry {
        guards: Mutex::new(guards),
        control: LogControl::new(handle, log.level.clone()),
        #[cfg(feature = "otel")]
        otel: otel_guard,
    })
}
