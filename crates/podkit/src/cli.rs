//! The command line every podkit service shares: config flags and kit subcommands.
//!
//! A service flattens [`CommonArgs`] into its own `clap` parser and adds
//! [`KitCommand`] to its subcommands, then hands both to [`crate::lifecycle::App`].

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::config::Loader;
use crate::health::probe::ProbeKind;

/// Flags that feed the last (highest) configuration layer.
#[derive(Debug, Clone, Default, Args)]
pub struct CommonArgs {
    /// YAML config file (env CONFIG_FILE).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Bind address for both listeners.
    #[arg(long, global = true)]
    pub host: Option<IpAddr>,
    /// API port.
    #[arg(long, global = true)]
    pub port: Option<String>,
    /// Admin port (probes, metrics, admin endpoints).
    #[arg(long, global = true)]
    pub admin_port: Option<String>,
    /// Log filter, e.g. `info,sqlx=warn`.
    #[arg(long, global = true)]
    pub log_level: Option<String>,
    /// Log format: json or pretty.
    #[arg(long, global = true)]
    pub log_format: Option<String>,
    /// Any config key: `--set shutdown.drain_delay=2s` (repeatable).
    #[arg(long = "set", global = true, value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

impl CommonArgs {
    /// A [`Loader`] for `prefix` with these flags as its top layer.
    pub fn loader(&self, prefix: &str) -> Loader {
        let mut l = Loader::new(prefix).file(self.config.clone());
        if let Some(h) = self.host {
            l = l.flag("--host", "server.host", h.to_string());
        }
        let pairs = [
            ("--port", "server.port", &self.port),
            ("--admin-port", "admin.port", &self.admin_port),
            ("--log-level", "log.level", &self.log_level),
            ("--log-format", "log.format", &self.log_format),
        ];
        for (flag, key, value) in pairs {
            if let Some(v) = value {
                l = l.flag(flag, key, v.clone());
            }
        }
        for kv in &self.set {
            // clap has no KEY=VALUE parser; a missing `=` sets the key to "" so the
            // error still names the key.
            let (k, v) = kv.split_once('=').unwrap_or((kv.as_str(), ""));
            l = l.flag("--set", k.trim(), v);
        }
        l
    }
}

/// Subcommands the kit implements for every service.
#[derive(Debug, Clone, Subcommand, Default)]
pub enum KitCommand {
    /// Run the service (the default).
    #[default]
    Serve,
    /// Print the effective configuration as YAML, secrets as `***`.
    Config,
    /// Ask the local admin port for a probe; exit 0 when it answers 200.
    /// For exec probes and Docker HEALTHCHECK in images without a shell.
    Probe {
        /// Which probe.
        #[arg(value_enum)]
        kind: ProbeKind,
    },
}
