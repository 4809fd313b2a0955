//! Log sinks: where lines go, in which format, for which levels.

use std::io;

use file_rotate::compression::Compression;
use file_rotate::suffix::AppendCount;
use file_rotate::{ContentLimit, FileRotate};
use json_subscriber::JsonLayer;
use tracing::Subscriber;
use tracing_subscriber::filter::{filter_fn, EnvFilter};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use super::batch::{batch, BatchGuard, BatchWriter, Delivery, DropNotice};
use super::{BoxedLayer, TelemetryError};
use crate::config::{Level, LogFormat, SinkConfig, SinkKind};

pub(super) fn parse_filter(s: &str) -> Result<EnvFilter, TelemetryError> {
    EnvFilter::builder()
        .parse(s)
        .map_err(|e| TelemetryError::Filter {
            filter: s.into(),
            reason: e.to_string(),
        })
}

pub(super) fn open_sink(sink: &SinkConfig) -> Result<(BatchWriter, BatchGuard), String> {
    if sink.min_level > sink.max_level {
        return Err(format!(
            "min_level {:?} is above max_level {:?}",
            sink.min_level, sink.max_level
        ));
    }
    let notice = match sink.format {
        LogFormat::Json => DropNotice::Json,
        LogFormat::Pretty => DropNotice::Text,
    };
    let (out, delivery): (Box<dyn io::Write + Send>, _) = match sink.kind {
        SinkKind::Stdout => (Box::new(io::stdout()), Delivery::Whole),
        SinkKind::Stderr => (Box::new(io::stderr()), Delivery::Whole),
        // Line by line: rotation counts bytes per write, and a whole batch in one
        // write would let a file overshoot `max_size` by the batch.
        SinkKind::File => (Box::new(open_file(sink)?), Delivery::Lines),
    };
    batch(out, delivery, notice).map_err(|e| format!("cannot start the log writer: {e}"))
}

fn open_file(sink: &SinkConfig) -> Result<FileRotate<AppendCount>, String> {
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
    Ok(FileRotate::new(
        path,
        AppendCount::new(sink.max_backups),
        ContentLimit::BytesSurpassed(sink.max_size),
        compression,
        None,
    ))
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

pub(super) fn sink_layer(sink: &SinkConfig, writer: BatchWriter) -> BoxedLayer {
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
            .with_ansi(colour(&sink.kind, std::env::var_os("NO_COLOR").is_some()))
            .with_filter(range)
            .boxed(),
    }
}

/// Colour only for a terminal: not for file sinks, and not for stdout or stderr
/// redirected into a file or a pipe (issue #16: escape codes in log files), nor
/// when `NO_COLOR` is set (no-color.org).
fn colour(kind: &SinkKind, no_color: bool) -> bool {
    use std::io::IsTerminal;
    !no_color
        && match kind {
            SinkKind::Stdout => std::io::stdout().is_terminal(),
            SinkKind::Stderr => std::io::stderr().is_terminal(),
            SinkKind::File => false,
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
    super::otel::add_ids(&mut layer);
    layer
}
