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

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::providers::{Format, Serialized, Yaml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

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

const KIT_SECTIONS: &[&str] = &[
    "server", "admin", "shutdown", "log", "metrics", "otel", "health",
];

/// `server:` — the API listener and per-request limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Bind address. `host: 0.0.0.0` (env `HOST`).
    pub host: IpAddr,
    /// API port. `port: 8080` (env `PORT`).
    pub port: u16,
    /// Requests still running after this get a 503 problem. `request_timeout: 30s`
    #[serde(with = "duration")]
    pub request_timeout: Duration,
    /// Largest accepted request body. `body_limit: 1MiB` (bytes, or with KiB/MiB).
    #[serde(with = "byte_size")]
    pub body_limit: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            host: IpAddr::from([0, 0, 0, 0]),
            port: 8080,
            request_timeout: Duration::from_secs(30),
            body_limit: 1024 * 1024,
        }
    }
}

/// `admin:` — the admin listener.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    /// Admin port. `port: 8081` (env `ADMIN_PORT`); shares `server.host`.
    pub port: u16,
    /// Bearer token for the mutating admin endpoints (env `ADMIN_TOKEN`).
    /// Unset → those endpoints answer 403.
    pub token: Option<Secret>,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            port: 8081,
            token: None,
        }
    }
}

/// `shutdown:` — what happens after SIGTERM.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShutdownConfig {
    /// Keep serving this long after readiness turns off, so endpoints drain.
    /// `drain_delay: 5s`
    #[serde(with = "duration")]
    pub drain_delay: Duration,
    /// Then wait at most this long for in-flight requests. `timeout: 25s`
    #[serde(with = "duration")]
    pub timeout: Duration,
    /// Budget for each shutdown hook (close pools, flush telemetry). `hook_timeout: 5s`
    #[serde(with = "duration")]
    pub hook_timeout: Duration,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        Self {
            drain_delay: Duration::from_secs(5),
            timeout: Duration::from_secs(25),
            hook_timeout: Duration::from_secs(5),
        }
    }
}

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

/// OTLP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OtlpProtocol {
    /// OTLP/gRPC (port 4317).
    #[serde(rename = "grpc")]
    Grpc,
    /// OTLP/HTTP with protobuf bodies (port 4318).
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
}

/// `otel:` — traces. Filled from the standard `OTEL_*` variables.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OtelConfig {
    /// `OTEL_SDK_DISABLED`.
    pub disabled: bool,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`; unset → no exporter, no cost.
    pub endpoint: Option<String>,
    /// `OTEL_EXPORTER_OTLP_PROTOCOL`: `grpc` (default) or `http/protobuf`.
    pub protocol: OtlpProtocol,
    /// `OTEL_SERVICE_NAME`; default the service's name.
    pub service_name: Option<String>,
    /// `OTEL_RESOURCE_ATTRIBUTES`: `key=value,key=value`.
    pub resource_attributes: Option<String>,
    /// `OTEL_TRACES_SAMPLER`: `always_on`, `always_off`, `traceidratio`,
    /// `parentbased_always_on` (default), `parentbased_always_off`,
    /// `parentbased_traceidratio`.
    pub sampler: String,
    /// `OTEL_TRACES_SAMPLER_ARG`: the ratio for the ratio samplers.
    pub sampler_arg: Option<f64>,
}

impl Default for OtelConfig {
    fn default() -> Self {
        Self {
            disabled: false,
            endpoint: None,
            protocol: OtlpProtocol::Grpc,
            service_name: None,
            resource_attributes: None,
            sampler: "parentbased_always_on".into(),
            sampler_arg: None,
        }
    }
}

/// `health:` — readiness checks.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthConfig {
    /// A check that takes longer fails. `check_timeout: 2s`
    #[serde(with = "duration")]
    pub check_timeout: Duration,
    /// Reuse a result this long, so probe storms stay cheap. `cache_ttl: 1s`
    #[serde(with = "duration")]
    pub cache_ttl: Duration,
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            check_timeout: Duration::from_secs(2),
            cache_ttl: Duration::from_secs(1),
        }
    }
}

/// A secret string: never shown by `Debug`, `Display` or the effective config.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The value itself; call only where it is used.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for Secret {
    fn serialize<Se: Serializer>(&self, s: Se) -> Result<Se::Ok, Se::Error> {
        s.serialize_str("***")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Environment values are parsed as numbers when they look like one; a token
        // of digits is still a token.
        scalar_string(d).map(Secret)
    }
}

/// A URL whose password is a secret: `postgres://app:***@db:5432/atlas` when shown.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl(String);

impl SecretUrl {
    /// Wrap a URL.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The full URL with its password; call only where it is used.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// The URL with the password (and any `password=` query value) replaced by `***`.
    pub fn redacted(&self) -> String {
        redact_url(&self.0)
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Serialize for SecretUrl {
    fn serialize<Se: Serializer>(&self, s: Se) -> Result<Se::Ok, Se::Error> {
        s.serialize_str(&self.redacted())
    }
}

impl<'de> Deserialize<'de> for SecretUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        scalar_string(d).map(SecretUrl)
    }
}

/// Replace the password of a URL, and `password`/`token`-like query values, by `***`.
pub fn redact_url(raw: &str) -> String {
    let Ok(mut url) = url::Url::parse(raw) else {
        // Not a URL we understand: do not guess which part is secret.
        return if raw.contains('@') {
            "***".into()
        } else {
            raw.into()
        };
    };
    if url.password().is_some() {
        let _ = url.set_password(Some("***"));
    }
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let secret = ["password", "pass", "token", "secret", "key"]
                .iter()
                .any(|s| k.to_ascii_lowercase().contains(s));
            (
                k.into_owned(),
                if secret { "***".into() } else { v.into_owned() },
            )
        })
        .collect();
    if !pairs.is_empty() {
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string().replace("%2A%2A%2A", "***")
}

fn scalar_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    struct V;
    impl serde::de::Visitor<'_> for V {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_owned())
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<String, E> {
            Ok(v.to_string())
        }
    }
    d.deserialize_any(V)
}

/// `#[serde(with = "podkit::config::duration")]`: `500ms`, `5s`, `1m`, `1h30m`.
pub mod duration {
    use super::*;

    /// Parse a duration such as `500ms`, `5s`, `1m`.
    ///
    /// # Errors
    /// Names the value and the expected form.
    pub fn parse(s: &str) -> Result<Duration, String> {
        let s = s.trim();
        if s.is_empty() || !s.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(format!(
                "invalid duration {s:?}: expected a number with a unit, e.g. 500ms, 5s, 1m"
            ));
        }
        humantime::parse_duration(s).map_err(|e| {
            format!(
                "invalid duration {s:?} ({e}): expected a number with a unit, e.g. 500ms, 5s, 1m"
            )
        })
    }

    /// Deserialize from a duration string (a bare number means seconds).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = scalar_string(d)?;
        if let Ok(secs) = s.parse::<u64>() {
            return Ok(Duration::from_secs(secs));
        }
        parse(&s).map_err(serde::de::Error::custom)
    }

    /// Serialize as `5s`, `500ms`.
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }
}

/// `#[serde(with = "podkit::config::byte_size")]`: `1048576`, `512KiB`, `1MiB`, `1MB`.
pub mod byte_size {
    use super::*;

    /// Parse a size in bytes with an optional unit (KiB, MiB, GiB, KB, MB, GB, B).
    ///
    /// # Errors
    /// Names the value and the expected form.
    pub fn parse(s: &str) -> Result<usize, String> {
        let t = s.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let n: usize = num.parse().map_err(|_| {
            format!("invalid size {s:?}: expected bytes, e.g. 1048576, 512KiB, 1MiB")
        })?;
        let mult: usize = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "kib" | "k" => 1 << 10,
            "mib" | "m" => 1 << 20,
            "gib" | "g" => 1 << 30,
            "kb" => 1_000,
            "mb" => 1_000_000,
            "gb" => 1_000_000_000,
            _ => {
                return Err(format!(
                    "invalid size {s:?}: unknown unit, expected B, KiB, MiB, GiB, KB, MB or GB"
                ))
            }
        };
        n.checked_mul(mult)
            .ok_or_else(|| format!("invalid size {s:?}: too large"))
    }

    /// Deserialize from a number of bytes or a string with a unit.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
        parse(&scalar_string(d)?).map_err(serde::de::Error::custom)
    }

    /// Serialize as a plain number of bytes.
    pub fn serialize<S: Serializer>(v: &usize, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(*v as u64)
    }
}

/// Why configuration could not be loaded. Displayed as the one line printed at exit.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The config file named by `--config`/`CONFIG_FILE` cannot be read.
    #[error("config error: cannot read config file {path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        reason: String,
    },
    /// A key is unknown, or its value is invalid.
    #[error("config error: key `{key}` from {source_name}: {reason}")]
    Invalid {
        /// Dotted key path, e.g. `server.port`.
        key: String,
        /// Where the value came from, e.g. "environment variable `PORT`".
        source_name: String,
        /// What is wrong.
        reason: String,
    },
}

impl ConfigError {
    /// The exit code for a configuration failure (2, as for a usage error).
    pub const EXIT_CODE: u8 = 2;
}

/// A flag given on the command line, fed into the last layer.
#[derive(Debug, Clone)]
struct Layer {
    key: String,
    value: String,
    source: String,
}

/// Builds a [`Config`] from the layers. See the module docs for the precedence.
#[derive(Debug, Clone)]
pub struct Loader {
    prefix: String,
    aliases: Vec<(String, String)>,
    file: Option<PathBuf>,
    flags: Vec<Layer>,
    env: Vec<(String, String)>,
}

/// The well-known environment names every podkit service understands.
pub const KIT_ALIASES: &[(&str, &str)] = &[
    ("HOST", "server.host"),
    ("PORT", "server.port"),
    ("ADMIN_PORT", "admin.port"),
    ("ADMIN_TOKEN", "admin.token"),
    ("LOG_LEVEL", "log.level"),
    // After LOG_LEVEL so the Rust convention wins when both are set.
    ("RUST_LOG", "log.level"),
    ("LOG_FORMAT", "log.format"),
    ("OTEL_SDK_DISABLED", "otel.disabled"),
    ("OTEL_EXPORTER_OTLP_ENDPOINT", "otel.endpoint"),
    ("OTEL_EXPORTER_OTLP_PROTOCOL", "otel.protocol"),
    ("OTEL_SERVICE_NAME", "otel.service_name"),
    ("OTEL_RESOURCE_ATTRIBUTES", "otel.resource_attributes"),
    ("OTEL_TRACES_SAMPLER", "otel.sampler"),
    ("OTEL_TRACES_SAMPLER_ARG", "otel.sampler_arg"),
];

impl Loader {
    /// A loader for services whose variables start with `{prefix}_` (e.g. `ATLAS`),
    /// reading the process environment.
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_ascii_uppercase(),
            aliases: KIT_ALIASES
                .iter()
                .map(|(v, k)| (v.to_string(), k.to_string()))
                .collect(),
            file: None,
            flags: Vec::new(),
            env: std::env::vars().collect(),
        }
    }

    /// Use these variables instead of the process environment (for tests).
    pub fn with_env<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.env = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self
    }

    /// Map a well-known variable to a key: `.alias("DATABASE_URL", "database.url")`.
    pub fn alias(mut self, var: &str, key: &str) -> Self {
        self.aliases.push((var.into(), key.into()));
        self
    }

    /// The YAML file layer. `None` → `CONFIG_FILE` from the environment, if set.
    pub fn file(mut self, path: Option<PathBuf>) -> Self {
        self.file = path;
        self
    }

    /// A command-line flag: `flag` is how it was spelled (`--port`), for error messages.
    pub fn flag(mut self, flag: &str, key: &str, value: impl Into<String>) -> Self {
        self.flags.push(Layer {
            key: key.into(),
            value: value.into(),
            source: format!("command-line flag `{flag}`"),
        });
        self
    }

    /// Load, merge and validate every layer.
    ///
    /// # Errors
    /// [`ConfigError`] naming the key, the source and the reason; the caller exits 2.
    pub fn load<S>(self) -> Result<Config<S>, ConfigError>
    where
        S: Serialize + DeserializeOwned + Default,
    {
        let figment = self.figment::<S>()?;
        let service_sections = field_names::<S>();
        check_top_level(&figment, &service_sections)?;
        let kit: KitConfig = figment.extract().map_err(|e| convert(&figment, e))?;
        let service: S = figment.extract().map_err(|e| {
            if let figment::error::Kind::UnknownField(f, _) = &e.kind {
                if e.path.is_empty() && KIT_SECTIONS.contains(&f.as_str()) {
                    panic!("the service's top-level config struct must not use deny_unknown_fields (podkit checks top-level keys itself)");
                }
            }
            convert(&figment, e)
        })?;
        Ok(Config { kit, service })
    }

    fn figment<S: Serialize + Default>(&self) -> Result<Figment, ConfigError> {
        let mut fig = Figment::new()
            .merge(Serialized::defaults(KitConfig::default()))
            .merge(Serialized::defaults(S::default()));

        let file = self.file.clone().or_else(|| {
            self.env
                .iter()
                .find(|(k, _)| k == "CONFIG_FILE")
                .filter(|(_, v)| !v.is_empty())
                .map(|(_, v)| PathBuf::from(v))
        });
        if let Some(path) = file {
            check_readable(&path)?;
            fig = fig.merge(Yaml::file_exact(&path));
        }

        let prefix = format!("{}_", self.prefix);
        let mut prefixed: Vec<&(String, String)> = self
            .env
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix) && k[prefix.len()..].contains("__"))
            .collect();
        prefixed.sort();
        for (var, value) in prefixed {
            let key = var[prefix.len()..].to_ascii_lowercase().replace("__", ".");
            fig = fig.merge(OneValue::new(
                key,
                value,
                format!("environment variable `{var}`"),
            ));
        }
        for (var, key) in &self.aliases {
            if let Some((_, value)) = self.env.iter().find(|(k, _)| k == var) {
                fig = fig.merge(OneValue::new(
                    key.clone(),
                    value,
                    format!("environment variable `{var}`"),
                ));
            }
        }
        for flag in &self.flags {
            fig = fig.merge(OneValue::new(
                flag.key.clone(),
                &flag.value,
                flag.source.clone(),
            ));
        }
        Ok(fig)
    }
}

fn check_readable(path: &Path) -> Result<(), ConfigError> {
    let err = |reason: String| ConfigError::File {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    // An empty file is a valid "no overrides"; YAML syntax errors surface at extract
    // with the line and column.
    let _ = text;
    Ok(())
}

/// One value from one named source (an environment variable or a flag), so an error
/// can say exactly where the bad value came from.
struct OneValue {
    key: String,
    value: Value,
    name: String,
}

impl OneValue {
    fn new(key: String, raw: &str, name: String) -> Self {
        // Numbers and booleans are recognised as such; everything else stays a string.
        let value: Value = raw.parse().unwrap_or_else(|_| Value::from(raw.to_string()));
        Self { key, value, name }
    }
}

impl Provider for OneValue {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.name.clone())
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut value = self.value.clone();
        let parts: Vec<&str> = self.key.split('.').collect();
        for part in parts[1..].iter().rev() {
            let mut dict = Dict::new();
            dict.insert((*part).to_string(), value);
            value = Value::from(dict);
        }
        let mut top = Dict::new();
        top.insert(parts[0].to_string(), value);
        Ok(Profile::Default.collect(top))
    }
}

/// Top-level keys must be a kit section or one of the service's sections.
fn check_top_level(fig: &Figment, service: &BTreeSet<&'static str>) -> Result<(), ConfigError> {
    let value = fig.find_value("").ok();
    let Some(dict) = value.as_ref().and_then(Value::as_dict) else {
        return Ok(());
    };
    for key in dict.keys() {
        if !KIT_SECTIONS.contains(&key.as_str()) && !service.contains(key.as_str()) {
            let mut known: Vec<&str> = KIT_SECTIONS.to_vec();
            known.extend(service.iter().copied());
            known.sort_unstable();
            return Err(ConfigError::Invalid {
                key: key.clone(),
                source_name: source_of(fig, key),
                reason: format!("unknown section, expected one of: {}", known.join(", ")),
            });
        }
    }
    Ok(())
}

fn source_of(fig: &Figment, key: &str) -> String {
    fig.find_metadata(key)
        .map(describe)
        .unwrap_or_else(|| "configuration".into())
}

fn describe(meta: &Metadata) -> String {
    match &meta.source {
        Some(figment::Source::File(path)) => format!("config file {}", path.display()),
        _ => meta.name.to_string(),
    }
}

fn convert(fig: &Figment, err: figment::Error) -> ConfigError {
    let err = err
        .into_iter()
        .next()
        .expect("a figment error holds at least one error");
    // For an unknown field the path already ends with the field's name.
    let key = err.path.join(".");
    let source_name = fig
        .find_metadata(&key)
        .or(err.metadata.as_ref())
        .map(describe)
        .unwrap_or_else(|| "configuration".into());
    let mut reason = err.kind.to_string();
    if key.contains("token") || key.contains("password") || key.contains("url") {
        reason = redact_values(&reason);
    }
    ConfigError::Invalid {
        key: if key.is_empty() { "(root)".into() } else { key },
        source_name,
        reason,
    }
}

/// Hide quoted values in an error message about a secret-bearing key.
fn redact_values(reason: &str) -> String {
    let mut out = String::new();
    let mut in_quote = false;
    for c in reason.chars() {
        if c == '"' {
            in_quote = !in_quote;
            out.push(c);
            if in_quote {
                out.push_str("***");
            }
        } else if !in_quote {
            out.push(c);
        }
    }
    out
}

/// Field names of a struct, learnt by asking it to deserialize.
fn field_names<T: DeserializeOwned>() -> BTreeSet<&'static str> {
    struct Probe<'a>(&'a mut Vec<&'static str>);
    #[derive(Debug)]
    struct Stop;
    impl fmt::Display for Stop {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("stop")
        }
    }
    impl std::error::Error for Stop {}
    impl serde::de::Error for Stop {
        fn custom<M: fmt::Display>(_: M) -> Self {
            Stop
        }
    }
    impl<'de> Deserializer<'de> for Probe<'_> {
        type Error = Stop;
        fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
            Err(Stop)
        }
        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Stop> {
            self.0.extend_from_slice(fields);
            Err(Stop)
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map
            enum identifier ignored_any
        }
    }
    let mut fields = Vec::new();
    let _ = T::deserialize(Probe(&mut fields));
    fields.into_iter().collect()
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, Serialize, Deserialize)]
    #[serde(default)]
    struct Svc {
        database: Db,
    }

    #[derive(Debug, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    struct Db {
        url: Option<SecretUrl>,
        max_connections: u32,
    }

    impl Default for Db {
        fn default() -> Self {
            Self {
                url: None,
                max_connections: 10,
            }
        }
    }

    fn loader(env: &[(&str, &str)]) -> Loader {
        Loader::new("ATLAS")
            .with_env(env.iter().map(|(k, v)| (k.to_string(), v.to_string())))
            .alias("DATABASE_URL", "database.url")
    }

    fn err(l: Loader) -> String {
        l.load::<Svc>().unwrap_err().to_string()
    }

    fn yaml_file(text: &str) -> tempfile_lite::TempFile {
        tempfile_lite::TempFile::new(text)
    }

    /// A minimal temp file so the tests need no extra crate.
    mod tempfile_lite {
        pub struct TempFile(pub std::path::PathBuf);
        impl TempFile {
            pub fn new(text: &str) -> Self {
                use std::sync::atomic::{AtomicUsize, Ordering};
                static N: AtomicUsize = AtomicUsize::new(0);
                let path = std::env::temp_dir().join(format!(
                    "podkit-config-{}-{}.yaml",
                    std::process::id(),
                    N.fetch_add(1, Ordering::Relaxed)
                ));
                std::fs::write(&path, text).unwrap();
                Self(path)
            }
        }
        impl Drop for TempFile {
            fn drop(&mut self) {
                let _ = std::fs::remove_file(&self.0);
            }
        }
    }

    #[test]
    fn defaults_apply_when_no_layer_sets_anything() {
        let c = loader(&[]).load::<Svc>().unwrap();
        assert_eq!(c.server.port, 8080);
        assert_eq!(c.admin.port, 8081);
        assert_eq!(c.server.host.to_string(), "0.0.0.0");
        assert_eq!(c.shutdown.drain_delay, Duration::from_secs(5));
        assert_eq!(c.shutdown.timeout, Duration::from_secs(25));
        assert_eq!(c.server.body_limit, 1 << 20);
        assert_eq!(c.service.database.max_connections, 10);
    }

    #[test]
    fn later_layers_win_file_then_env_then_flag() {
        let f = yaml_file(
            "server:\n  port: 1000\nadmin:\n  port: 2000\nshutdown:\n  drain_delay: 1s\n",
        );
        let c = loader(&[("PORT", "3000"), ("ATLAS_SHUTDOWN__DRAIN_DELAY", "500ms")])
            .file(Some(f.0.clone()))
            .flag("--port", "server.port", "4000")
            .load::<Svc>()
            .unwrap();
        assert_eq!(c.server.port, 4000, "flag beats env beats file");
        assert_eq!(c.admin.port, 2000, "file beats default");
        assert_eq!(
            c.shutdown.drain_delay,
            Duration::from_millis(500),
            "env beats file"
        );
    }

    #[test]
    fn config_file_comes_from_config_file_env_when_no_flag() {
        let f = yaml_file("server:\n  port: 1234\n");
        let path = f.0.display().to_string();
        let c = loader(&[("CONFIG_FILE", path.as_str())])
            .load::<Svc>()
            .unwrap();
        assert_eq!(c.server.port, 1234);
    }

    #[test]
    fn bad_values_name_key_source_and_reason() {
        let cases: &[(&str, &str, &str, &str)] = &[
            ("PORT", "abc", "server.port", "environment variable `PORT`"),
            (
                "PORT",
                "70000",
                "server.port",
                "environment variable `PORT`",
            ),
            (
                "ATLAS_SHUTDOWN__DRAIN_DELAY",
                "soon",
                "shutdown.drain_delay",
                "environment variable `ATLAS_SHUTDOWN__DRAIN_DELAY`",
            ),
            (
                "LOG_FORMAT",
                "xml",
                "log.format",
                "environment variable `LOG_FORMAT`",
            ),
            (
                "ATLAS_SERVER__BOGUS",
                "1",
                "server.bogus",
                "environment variable `ATLAS_SERVER__BOGUS`",
            ),
        ];
        for (var, value, key, source) in cases {
            let msg = err(loader(&[(var, value)]));
            assert!(
                msg.contains(&format!("key `{key}`")),
                "case {var}={value}: {msg}"
            );
            assert!(msg.contains(source), "case {var}={value}: {msg}");
            assert!(!msg.contains('\n'), "case {var}={value}: one line: {msg}");
        }
    }

    #[test]
    fn unknown_keys_in_file_are_rejected_with_the_file_named() {
        let f = yaml_file("server:\n  prot: 1\n");
        let msg = err(loader(&[]).file(Some(f.0.clone())));
        assert!(msg.contains("key `server.prot`"), "{msg}");
        assert!(msg.contains(&f.0.display().to_string()), "{msg}");
        assert!(msg.contains("unknown field"), "{msg}");

        let f = yaml_file("serverr:\n  port: 1\n");
        let msg = err(loader(&[]).file(Some(f.0.clone())));
        assert!(msg.contains("key `serverr`"), "{msg}");
        assert!(msg.contains("unknown section"), "{msg}");
    }

    #[test]
    fn unreadable_file_is_an_error() {
        let msg = err(loader(&[]).file(Some("/nonexistent/podkit.yaml".into())));
        assert!(
            msg.contains("cannot read config file /nonexistent/podkit.yaml"),
            "{msg}"
        );
    }

    #[test]
    fn flag_errors_name_the_flag() {
        let msg = err(loader(&[]).flag("--admin-port", "admin.port", "x"));
        assert!(msg.contains("command-line flag `--admin-port`"), "{msg}");
    }

    #[test]
    fn kubernetes_service_links_do_not_break_start_up() {
        let c = loader(&[
            ("ATLAS_PORT", "tcp://10.0.0.1:8080"),
            ("ATLAS_SERVICE_HOST", "10.0.0.1"),
            ("ATLAS_PORT_8080_TCP_ADDR", "10.0.0.1"),
        ])
        .load::<Svc>()
        .unwrap();
        assert_eq!(c.server.port, 8080);
    }

    #[test]
    fn secrets_are_redacted_in_effective_config_and_debug() {
        let c = loader(&[
            (
                "DATABASE_URL",
                "postgres://app:hunter2@db:5432/atlas?sslmode=require&password=p2",
            ),
            ("ADMIN_TOKEN", "12345"),
        ])
        .load::<Svc>()
        .unwrap();
        let yaml = c.to_redacted_yaml();
        assert!(
            !yaml.contains("hunter2") && !yaml.contains("p2&") && !yaml.contains("12345"),
            "{yaml}"
        );
        assert!(yaml.contains("postgres://app:***@db:5432/atlas"), "{yaml}");
        assert!(yaml.contains("token: '***'"), "{yaml}");
        assert_eq!(c.admin.token.as_ref().unwrap().expose(), "12345");
        let debug = format!("{c:?}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("12345"),
            "{debug}"
        );
    }

    #[test]
    fn durations_and_sizes_parse_common_forms() {
        for (s, d) in [
            ("500ms", 500),
            ("5s", 5000),
            ("1m", 60_000),
            ("1m30s", 90_000),
        ] {
            assert_eq!(duration::parse(s).unwrap(), Duration::from_millis(d), "{s}");
        }
        for bad in ["soon", "", "-1s", "5 parsecs"] {
            assert!(duration::parse(bad).is_err(), "{bad:?} must be rejected");
        }
        for (s, n) in [
            ("1024", 1024),
            ("1KiB", 1024),
            ("1MiB", 1 << 20),
            ("2MB", 2_000_000),
        ] {
            assert_eq!(byte_size::parse(s).unwrap(), n, "{s}");
        }
        assert!(byte_size::parse("1XB").is_err());
    }
}
