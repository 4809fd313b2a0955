//! [`App`]: the binary's entry point: subcommands, telemetry, signals, exit codes.

use std::future::Future;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tracing::error;

use super::context::Context;
use super::pod::{Pod, PodError};
use super::signals::Signals;
use crate::build::BuildInfo;
use crate::cli::KitCommand;
use crate::config::{Config, ConfigError};
use crate::telemetry::{self, Telemetry};

/// A podkit service: build identity plus effective configuration.
///
/// `main` parses the command line, loads the config and hands a [`KitCommand`] and
/// the start function to [`App::run`]. `serve` (the default) runs until SIGTERM,
/// so this example runs `config`, which prints the effective configuration:
///
/// ```
/// use std::convert::Infallible;
/// use podkit::cli::KitCommand;
/// use podkit::config::NoSettings;
/// use podkit::{App, BuildInfo, Context, Loader};
///
/// async fn start(ctx: Context<NoSettings>) -> Result<axum::Router, Infallible> {
///     ctx.health.add_check("always", || async { Ok(()) });
///     Ok(axum::Router::new().route("/", axum::routing::get(|| async { "hello" })))
/// }
///
/// let build = BuildInfo { name: "demo", release: "0.1.0", commit: "unset", build_time: "unset" };
/// let config = Loader::new("DEMO")
///     .with_env([("ADMIN_TOKEN", "s3cret")])
///     .load::<NoSettings>()
///     .unwrap_or_else(|e| panic!("{e}")); // a binary: `return podkit::exit_config_error(e)`
/// let code = App::new(build, config).run(KitCommand::Config, start);
/// assert_eq!(code, std::process::ExitCode::SUCCESS); // printed the YAML, the token as ***
/// ```
pub struct App<S> {
    build: BuildInfo,
    config: Config<S>,
}

/// Print a configuration error as one line on stderr and return exit code 2.
pub fn exit_config_error(err: impl std::fmt::Display) -> ExitCode {
    eprintln!("{err}");
    ExitCode::from(ConfigError::EXIT_CODE)
}

impl<S> App<S>
where
    S: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// A service with its build identity and loaded configuration.
    pub fn new(build: BuildInfo, mut config: Config<S>) -> Self {
        // One crypto provider for every TLS connection, whichever library opens it.
        crate::tls::install_default_provider();
        // `config` and the admin port show the name traces are exported under,
        // not `null` for "derived".
        let otel = &mut config.kit.otel;
        otel.service_name = Some(otel.service_name_or(build.name));
        Self { build, config }
    }

    /// Run a kit subcommand: `serve` with `start` building the service's router,
    /// `config`, or `probe`.
    pub fn run<F, Fut, E>(self, command: KitCommand, start: F) -> ExitCode
    where
        F: FnOnce(Context<S>) -> Fut,
        Fut: Future<Output = Result<Router, E>>,
        E: std::fmt::Display,
    {
        match command {
            KitCommand::Config => {
                print!("{}", self.config.to_redacted_yaml());
                ExitCode::SUCCESS
            }
            KitCommand::Probe { kind } => {
                match crate::health::probe::check(&self.config.kit, kind, Duration::from_secs(3)) {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => {
                        eprintln!("probe {}: {e}", kind.path());
                        ExitCode::FAILURE
                    }
                }
            }
            KitCommand::Serve => self.serve(start),
        }
    }

    /// Run a one-off task (a migration, say) with telemetry but no listeners.
    pub fn run_task<F, Fut, E>(self, task: F) -> ExitCode
    where
        F: FnOnce(Arc<Config<S>>) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: std::fmt::Display,
    {
        // A command's stdout is its output (a status table, say): logs go to stderr.
        let mut config = self.config;
        if config.kit.log.sinks.is_empty() {
            config
                .kit
                .log
                .sinks
                .push(crate::config::SinkConfig::stderr(config.kit.log.format));
        }
        let this = Self {
            build: self.build,
            config,
        };
        let (rt, telemetry) = match this.prepare() {
            Ok(v) => v,
            Err(code) => return code,
        };
        let result = rt.block_on(task(Arc::new(this.config)));
        let failure = result.err().map(|e| format!("{e:#}"));
        if let Some(message) = &failure {
            error!(error.message = %message, "task failed");
        }
        telemetry.flush();
        match failure {
            None => ExitCode::SUCCESS,
            Some(message) => {
                // After the flush, so the reason is the last line on stderr.
                eprintln!("{}", one_line(&message));
                ExitCode::FAILURE
            }
        }
    }

    fn prepare(&self) -> Result<(tokio::runtime::Runtime, Arc<Telemetry>), ExitCode> {
        let telemetry = match telemetry::init(&self.config.kit, &self.build) {
            Ok(t) => Arc::new(t),
            Err(e) => return Err(exit_config_error(e)),
        };
        let rt = match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                eprintln!("cannot start the async runtime: {e}");
                return Err(ExitCode::FAILURE);
            }
        };
        Ok((rt, telemetry))
    }

    fn serve<F, Fut, E>(self, start: F) -> ExitCode
    where
        F: FnOnce(Context<S>) -> Fut,
        Fut: Future<Output = Result<Router, E>>,
        E: std::fmt::Display,
    {
        let (rt, telemetry) = match self.prepare() {
            Ok(v) => v,
            Err(code) => return code,
        };
        let (build, config, t) = (self.build, self.config, telemetry.clone());
        let code = rt.block_on(async move {
            let telemetry = t;
            let signals = Signals::install(telemetry.clone());
            let pod = match Pod::bind(build, config).await {
                Ok(pod) => pod.with_telemetry(telemetry.clone()),
                Err(e) => {
                    error!(phase = "failed", error.message = %e, "cannot start");
                    eprintln!("{e}");
                    return ExitCode::FAILURE;
                }
            };
            match pod.run_until(start, signals.first()).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(PodError::Config(e)) => exit_config_error(e),
                Err(e) => {
                    // The JSON log has it too; stderr is where a person (or
                    // `kubectl logs --previous`) looks first for why a pod died.
                    let message = match e {
                        PodError::Start(m) => m,
                        other => other.to_string(),
                    };
                    eprintln!("{}", one_line(&message));
                    ExitCode::FAILURE
                }
            }
        });
        telemetry.flush();
        // Tasks still running past the shutdown deadline are cancelled here.
        rt.shutdown_timeout(Duration::from_millis(500));
        code
    }
}

/// A message as one line: line breaks inside (a multi-line driver error) become
/// spaces, so the last line of stderr is the whole reason.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}
