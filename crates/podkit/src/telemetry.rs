//! Logs (and, with the `otel` feature, traces).
//!
//! One global filter in `RUST_LOG` syntax, changeable at run time ([`LogControl`]),
//! in front of any number of sinks. Each sink has its own writer, format and level
//! range, so "debug..info to `app.debug.log`, error to `app.error.log` and stderr,
//! everything to stdout" is four lines of config. Writers are non-blocking: a slow
//! disk or log collector drops lines (counted by the appender) rather than stalling
//! requests. [`Telemetry::flush`] drains them at shutdown.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use file_rotate::compression::Compression;
use file_rotate::suffix::AppendCount;
use file_rotate::{ContentLimit, FileRotate};
use json_subscriber::JsonLayer;
use tracing::Subscriber;
use tracing_appender::non_blocking::{NonBlocking, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::filter::{filter_fn, EnvFilter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, Layer, Registry};

use crate::config::{Level, LogFormat, SinkConfig, SinkKind};

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
    Otel(String),
}

type Base = tracing_subscriber::layer::Layered<reload::Layer<EnvFilter, Registry>, Registry>;
type BoxedLayer = Box<dyn Layer<Base> + Send + Sync>;

/// Running telemetry: keeps log writers alive and owns the run-time filter.
pub struct Telemetry {
    guards: Mutex<Vec<WorkerGuard>>,
    control: LogControl,
    #[cfg(feature = "otel")]
    otel: Option<crate::otel::OtelGuard>,
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
/// onto the same key and lets win).
///
/// # Errors
/// A bad filter, an unopenable log file, or a subscriber already installed.
pub fn init(
    kit: &crate::config::KitConfig,
    build: &crate::BuildInfo,
) -> Result<Telemetry, TelemetryError> {
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
        let (guard, layer) = crate::otel::layer::<Base>(&kit.otel, build)?;
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

fn parse_filter(s: &str) -> Result<EnvFilter, TelemetryError> {
    EnvFilter::builder()
        .parse(s)
        .map_err(|e| TelemetryError::Filter {
            filter: s.into(),
            reason: e.to_string(),
        })
}

fn open_sink(sink: &SinkConfig) -> Result<(NonBlocking, WorkerGuard), String> {
    if sink.min_level > sink.max_level {
        return Err(format!(
            "min_level {:?} is above max_level {:?}",
            sink.min_level, sink.max_level
        ));
    }
    // Lossy: under a log flood, dropping lines beats blocking request threads.
    let builder = NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(64_000);
    // The writer thread drains every queued line, then flushes: a BufWriter turns a
    // burst of lines into one write(2) instead of one per line (stdout is
    // line-buffered), which at tens of thousands of requests a second is the bulk
    // of the logging cost.
    let buffered = |w| io::BufWriter::with_capacity(64 * 1024, w);
    Ok(match sink.kind {
        SinkKind::Stdout => {
            builder.finish(buffered(Box::new(io::stdout()) as Box<dyn io::Write + Send>))
        }
        SinkKind::Stderr => builder.finish(buffered(Box::new(io::stderr()))),
        SinkKind::File => {
            let path = sink.path.as_ref().ok_or("a file sink needs `path`")?;
            if sink.max_size == 0 {
                return Err("max_size must be above 0".into());
            }
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
            // Fail now, not on the first line, when the file cannot be written.
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
            let compression = if sink.compress {
                // Keep the newest rotated file plain so `tail` still works on it.
                Compression::OnRotate(1)
            } else {
                Compression::None
            };
            let file = FileRotate::new(
                path,
                AppendCount::new(sink.max_backups),
                ContentLimit::BytesSurpassed(sink.max_size),
                compression,
                None,
            );
            // Unbuffered: rotation counts bytes per write, and a batched write would
            // let a file overshoot `max_size` by a whole batch.
            builder.finish(Box::new(file) as Box<dyn io::Write + Send>)
        }
    })
}

fn rank(l: &tracing::Level) -> Level {
    match *l {
        tracing::Level::TRACE => Level::Trace,
        tracing::Level::DEBUG => Level::Debug,
        tracing::Level::INFO => Level::Info,
        tracing::Level::WARN => Level::Warn,
        tracing::Level::ERROR => Level::Error,
    }
}

fn sink_layer(sink: &SinkConfig, writer: NonBlocking) -> BoxedLayer {
    let (min, max) = (sink.min_level, sink.max_level);
    let range = filter_fn(move |meta| {
        let l = rank(meta.level());
        // Span metadata must pass too, or spans are never recorded for this layer.
        meta.is_span() || (min <= l && l <= max)
    });
    match sink.format {
        LogFormat::Json => json_layer(writer).with_filter(range).boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .with_ansi(matches!(sink.kind, SinkKind::Stdout | SinkKind::Stderr))
            .with_filter(range)
            .boxed(),
    }
}

/// The JSON line format: `timestamp`, `level`, `target`, `message`, the event's fields,
/// every enclosing span's fields (so `request_id` is on each line of a request) and,
/// with tracing on, `trace_id` and `span_id`.
pub fn json_layer<S, W>(writer: W) -> JsonLayer<S, W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + 'static,
{
    let mut layer = JsonLayer::new(writer);
    layer
        .with_timer("timestamp", tracing_subscriber::fmt::time::SystemTime)
        .with_level("level")
        .with_target("target")
        .with_flattened_event()
        .with_top_level_flattened_span_list();
    #[cfg(feature = "otel")]
    crate::otel::add_ids(&mut layer);
    layer
}

/// Changes the log filter at run time, optionally reverting after a TTL.
#[derive(Clone)]
pub struct LogControl {
    inner: Arc<ControlInner>,
}

struct ControlInner {
    handle: reload::Handle<EnvFilter, Registry>,
    state: Mutex<ControlState>,
}

struct ControlState {
    current: String,
    default: String,
    generation: u64,
    reverts_at: Option<std::time::SystemTime>,
}

/// The state reported by `GET /admin/log-level`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LogLevelState {
    /// The filter in force.
    pub filter: String,
    /// The filter from config, restored when a TTL ends.
    pub default: String,
    /// When the current filter reverts, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reverts_at: Option<String>,
}

impl LogControl {
    fn new(handle: reload::Handle<EnvFilter, Registry>, default: String) -> Self {
        Self {
            inner: Arc::new(ControlInner {
                handle,
                state: Mutex::new(ControlState {
                    current: default.clone(),
                    default,
                    generation: 0,
                    reverts_at: None,
                }),
            }),
        }
    }

    /// The filter in force and when it reverts.
    pub fn state(&self) -> LogLevelState {
        let s = self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
        LogLevelState {
            filter: s.current.clone(),
            default: s.default.clone(),
            reverts_at: s
                .reverts_at
                .map(|t| humantime::format_rfc3339_seconds(t).to_string()),
        }
    }

    /// Replace the filter now; with `ttl`, restore the configured one afterwards.
    /// Must be called inside a tokio runtime when `ttl` is set.
    ///
    /// # Errors
    /// The filter does not parse (nothing changes then).
    pub fn set(
        &self,
        filter: &str,
        ttl: Option<Duration>,
    ) -> Result<LogLevelState, TelemetryError> {
        let parsed = parse_filter(filter)?;
        let generation = {
            let mut s = self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
            self.inner
                .handle
                .reload(parsed)
                .map_err(|e| TelemetryError::Filter {
                    filter: filter.into(),
                    reason: e.to_string(),
                })?;
            s.current = filter.into();
            s.generation += 1;
            s.reverts_at = ttl.map(|t| std::time::SystemTime::now() + t);
            s.generation
        };
        tracing::warn!(filter, ttl = ?ttl.map(humantime::format_duration).map(|d| d.to_string()), "log filter changed");
        if let Some(ttl) = ttl {
            let this = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(ttl).await;
                this.revert_if(generation);
            });
        }
        Ok(self.state())
    }

    fn revert_if(&self, generation: u64) {
        let mut s = self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
        // A later change supersedes this TTL.
        if s.generation != generation {
            return;
        }
        let default = s.default.clone();
        if let Ok(f) = parse_filter(&default) {
            if self.inner.handle.reload(f).is_ok() {
                let previous = std::mem::replace(&mut s.current, default.clone());
                s.reverts_at = None;
                drop(s);
                tracing::warn!(filter = %default, previous = %previous, "log filter TTL ended; reverted to the configured filter");
            }
        }
    }
}
