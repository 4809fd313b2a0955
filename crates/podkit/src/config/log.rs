//! `log:`: the filter, the default format and the sinks.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::units::byte_size;

/// Output format of a log sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object a line (the default: what log collectors want).
    Json,
    /// Human-readable, for a terminal.
    Pretty,
}

/// `log:` — logging.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// Filter in `RUST_LOG` syntax. `level: info,sqlx=warn` (env `LOG_LEVEL`;
    /// `RUST_LOG`, when set, wins).
    pub level: String,
    /// `format: json` or `pretty` (env `LOG_FORMAT`) for the default stdout sink.
    pub format: LogFormat,
    /// Sinks; empty → one stdout sink in `format`.
    pub sinks: Vec<SinkConfig>,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: LogFormat::Json,
            sinks: Vec::new(),
        }
    }
}

/// Where a sink writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SinkKind {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
    /// A file, rotated by size.
    File,
}

/// A level name as used in sink ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// TRACE
    Trace,
    /// DEBUG
    Debug,
    /// INFO
    Info,
    /// WARN
    Warn,
    /// ERROR
    Error,
}

/// One log sink: `{kind: file, path: app.error.log, min_level: error}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinkConfig {
    /// `stdout`, `stderr` or `file`.
    pub kind: SinkKind,
    /// `json` (default) or `pretty`.
    #[serde(default = "default_sink_format")]
    pub format: LogFormat,
    /// Lowest level written (inclusive). Default `trace`.
    #[serde(default = "default_min_level")]
    pub min_level: Level,
    /// Highest level written (inclusive). Default `error`.
    #[serde(default = "default_max_level")]
    pub max_level: Level,
    /// File path (`kind: file` only).
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// Rotate when the file reaches this size. `max_size: 10MiB`
    #[serde(default = "default_max_size", with = "byte_size")]
    pub max_size: usize,
    /// Rotated files kept. `max_backups: 5`
    #[serde(default = "default_max_backups")]
    pub max_backups: usize,
    /// Gzip rotated files. `compress: false`
    #[serde(default)]
    pub compress: bool,
}

impl SinkConfig {
    /// Everything to standard error in `format`.
    pub fn stderr(format: LogFormat) -> Self {
        Self {
            kind: SinkKind::Stderr,
            format,
            min_level: Level::Trace,
            max_level: Level::Error,
            path: None,
            max_size: default_max_size(),
            max_backups: default_max_backups(),
            compress: false,
        }
    }
}

fn default_sink_format() -> LogFormat {
    LogFormat::Json
}
fn default_min_level() -> Level {
    Level::Trace
}
fn default_max_level() -> Level {
    Level::Error
}
fn default_max_size() -> usize {
    10 * 1024 * 1024
}
fn default_max_backups() -> usize {
    5
}
