//! @@name@@'s configuration: podkit's sections (`server`, `admin`, `log`, …) plus
//! the service's own, in one YAML file.
//!
//! Layers, later wins: built-in defaults; the YAML file (`--config FILE` or
//! `CONFIG_FILE`); `@@ENV@@_SECTION__KEY` variables (`@@ENV@@_GREETING__MAX_NAME_CHARS=32`)
//! and the well-known names (`PORT`, `ADMIN_PORT`, `LOG_LEVEL`, `OTEL_*`, …);
//! command-line flags (`--port`, `--set key=value`).
@@if db@@
//! `DATABASE_URL` is the well-known name of `database.url`.
@@end@@
//! `@@name@@ config` prints the effective result, secrets as `***`.

@@if db@@
use std::path::PathBuf;
use std::time::Duration;

@@end@@
use podkit::cli::CommonArgs;
@@if db@@
use podkit::config::duration;
@@end@@
@@if workers@@
use podkit::workers::WorkerPoolConfig;
@@end@@
use podkit::Loader;
@@if db@@
use podkit::SecretUrl;
@@end@@
use serde::{Deserialize, Serialize};

/// Environment prefix: `@@ENV@@_SECTION__KEY`.
pub const ENV_PREFIX: &str = "@@ENV@@";

/// The service's own sections (podkit's sit beside them in the same file).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The example endpoint.
    pub greeting: GreetingConfig,
@@if db@@
    /// Where the data lives.
    pub database: DatabaseConfig,
    /// When migrations run.
    pub migrate: MigrateConfig,
@@end@@
@@if workers@@
    /// The example worker pool.
    pub jobs: JobsConfig,
@@end@@
}

/// The loaded configuration.
pub type Config = podkit::Config<Settings>;

/// A loader with @@name@@'s prefix and well-known names, topped by the command line.
pub fn loader(args: &CommonArgs) -> Loader {
    args.loader(ENV_PREFIX)
@@if db@@
        .alias("DATABASE_URL", "database.url")
@@end@@
}

/// `greeting:`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GreetingConfig {
    /// The word before the name. `salutation: Hello`
    pub salutation: String,
    /// Longest name accepted, in characters; longer is a 422. `max_name_chars: 64`
    pub max_name_chars: usize,
}

impl Default for GreetingConfig {
    fn default() -> Self {
        Self {
            salutation: "Hello".into(),
            max_name_chars: 64,
        }
    }
}
@@if db@@

/// `database:`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `postgres://user:pass@host:5432/db` (env `DATABASE_URL`). Unset: the embedded
    /// SQLite file at `sqlite_path`.
    pub url: Option<SecretUrl>,
    /// The SQLite file used when `url` is unset, created on first run.
    /// `sqlite_path: @@name@@.db`
    pub sqlite_path: PathBuf,
    /// Pool size. `max_connections: 10`
    pub max_connections: u32,
    /// Give up waiting for a connection after this; the request gets a 503.
    /// `acquire_timeout: 3s`
    #[serde(with = "duration")]
    pub acquire_timeout: Duration,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: None,
            sqlite_path: PathBuf::from("@@name@@.db"),
            max_connections: 10,
            acquire_timeout: Duration::from_secs(3),
        }
    }
}

/// `migrate:`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MigrateConfig {
    /// Apply pending migrations at start-up. `on_start: true`; the cluster sets it
    /// `false` and runs `@@name@@ migrate` as a Job before each rollout.
    pub on_start: bool,
}

impl Default for MigrateConfig {
    fn default() -> Self {
        Self { on_start: true }
    }
}

impl DatabaseConfig {
    /// The URL to connect to: `url`, or the SQLite file (created when missing).
    pub fn connect_url(&self) -> String {
        match &self.url {
            Some(url) => url.expose().to_string(),
            None => format!("sqlite://{}?mode=rwc", self.sqlite_path.display()),
        }
    }
}
@@end@@
@@if workers@@

/// `jobs:`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobsConfig {
    /// The pool: `pool: {workers: 4, queue_size: 64, cancel_grace: 1s}`.
    pub pool: WorkerPoolConfig,
}
@@end@@
