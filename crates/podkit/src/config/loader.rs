//! [`Loader`]: the layers, merged in the order the `config` module docs give.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use figment::providers::{Format, Serialized, Yaml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use serde::de::DeserializeOwned;
use serde::{Deserializer, Serialize};

use super::error::{self, ConfigError};
use super::{Config, KitConfig, KIT_SECTIONS};

/// A flag given on the command line, fed into the last layer.
#[derive(Debug, Clone)]
struct Layer {
    key: String,
    value: String,
    source: String,
}

/// Builds a [`Config`] from the layers. See the [`config`](super) module docs for
/// the precedence.
///
/// ```
/// use podkit::Loader;
/// use serde::{Deserialize, Serialize};
///
/// /// The service's own sections, beside podkit's (`server`, `shutdown`, …).
/// #[derive(Debug, Default, Serialize, Deserialize)]
/// #[serde(default)]
/// struct Settings {
///     greeting: Greeting,
/// }
///
/// #[derive(Debug, Serialize, Deserialize)]
/// #[serde(default, deny_unknown_fields)]
/// struct Greeting {
///     text: String,
/// }
///
/// impl Default for Greeting {
///     fn default() -> Self {
///         Self { text: "hello".into() }
///     }
/// }
///
/// // `with_env` stands in for the process environment; a service calls `Loader::new`
/// // alone (or `CommonArgs::loader`, which adds the command-line flags).
/// let config = Loader::new("DEMO")
///     .with_env([
///         ("PORT", "9000"),
///         ("DEMO_GREETING__TEXT", "hi"),
///         ("DEMO_SHUTDOWN__DRAIN_DELAY", "2s"),
///         ("DEMO_PORT", "tcp://10.0.0.1:80"), // a Kubernetes service link: ignored
///     ])
///     .flag("--port", "server.port", "9100") // flags win over the environment
///     .load::<Settings>()?;
/// assert_eq!(config.kit.server.port, 9100);
/// assert_eq!(config.kit.shutdown.drain_delay, std::time::Duration::from_secs(2));
/// assert_eq!(config.service.greeting.text, "hi");
///
/// // A bad value names the key, where it came from, and why.
/// let err = Loader::new("DEMO").with_env([("PORT", "70000")]).load::<Settings>().unwrap_err();
/// assert!(err.to_string().contains("key `server.port` from environment variable `PORT`"), "{err}");
/// # Ok::<(), podkit::ConfigError>(())
/// ```
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
    ("OTEL_EXPORTER_OTLP_CERTIFICATE", "otel.certificate"),
    (
        "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
        "otel.client_certificate",
    ),
    ("OTEL_EXPORTER_OTLP_CLIENT_KEY", "otel.client_key"),
    // After the general ones: the signal's own variable wins, as the spec says.
    ("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "otel.certificate"),
    (
        "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
        "otel.client_certificate",
    ),
    ("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "otel.client_key"),
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
        let kit: KitConfig = figment.extract().map_err(|e| error::convert(&figment, e))?;
        let service: S = figment.extract().map_err(|e| {
            if let figment::error::Kind::UnknownField(f, _) = &e.kind {
                if e.path.is_empty() && KIT_SECTIONS.contains(&f.as_str()) {
                    panic!("the service's top-level config struct must not use deny_unknown_fields (podkit checks top-level keys itself)");
                }
            }
            error::convert(&figment, e)
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
                source_name: error::source_of(fig, key),
                reason: format!("unknown section, expected one of: {}", known.join(", ")),
            });
        }
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde::Deserialize;

    use super::*;
    use crate::config::SecretUrl;

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
        assert_eq!(c.server.header_read_timeout, Duration::from_secs(10));
        assert_eq!(c.server.max_connections, 1024);
        assert_eq!(c.admin.max_connections, 64);
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
            (
                "ATLAS_HEALTH__CHECKS__DATABASE__GATES",
                "true",
                "health.checks.database.gates",
                "environment variable `ATLAS_HEALTH__CHECKS__DATABASE__GATES`",
            ),
            (
                "ATLAS_HEALTH__CHECKS__DATABASE__GATES_READINESS",
                "maybe",
                "health.checks.database.gates_readiness",
                "environment variable `ATLAS_HEALTH__CHECKS__DATABASE__GATES_READINESS`",
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
    fn health_check_roles_come_from_the_file_and_the_environment_wins() {
        let f = yaml_file(
            "health:\n  checks:\n    database: {gates_readiness: true}\n    places: {gates_readiness: true}\n",
        );
        let env = [("ATLAS_HEALTH__CHECKS__PLACES__GATES_READINESS", "false")];
        let cfg = loader(&env).file(Some(f.0.clone())).load::<Svc>().unwrap();
        let gates = |name: &str| cfg.kit.health.checks[name].gates_readiness;
        assert_eq!(gates("database"), Some(true));
        assert_eq!(gates("places"), Some(false), "the environment wins");
    }

    #[test]
    fn unknown_keys_in_file_are_rejected_with_the_file_named() {
        let f = yaml_file("server:\n  prot: 1\n");
        let msg = err(loader(&[]).file(Some(f.0.clone())));
        assert!(msg.contains("key `server.prot`"), "{msg}");
        assert!(msg.contains(&f.0.display().to_string()), "{msg}");
        assert!(msg.contains("unknown field; expected one of: "), "{msg}");
        let reason = msg.split_once(": ").map_or("", |(_, r)| r);
        let reason = reason.split_once(": ").map_or("", |(_, r)| r);
        assert!(
            !reason.contains('`'),
            "one level of quoting (issue #16): {msg}"
        );

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
}
