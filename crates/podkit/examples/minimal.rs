//! The smallest podkit service: one endpoint on the API port; probes, metrics and
//! the admin endpoints on the admin port; graceful shutdown on SIGTERM or Ctrl-C.
//!
//! Run with:
//!
//! ```text
//! cargo run -p podkit --example minimal
//! curl localhost:8080/hello          # the API port (PORT)
//! curl localhost:8081/readyz         # the admin port (ADMIN_PORT)
//! cargo run -p podkit --example minimal -- config   # the effective config
//! ```

use std::convert::Infallible;
use std::process::ExitCode;

use axum::routing::get;
use axum::Router;
use clap::Parser;
use podkit::cli::{CommonArgs, KitCommand};
use podkit::config::NoSettings;
use podkit::{App, BuildInfo, Context};

/// A real service writes `podkit::build_info!()` and a build script that sets
/// `BUILD_RELEASE`, `BUILD_COMMIT` and `BUILD_TIME`; an example has no build script.
const BUILD: BuildInfo = BuildInfo {
    name: "minimal",
    release: env!("CARGO_PKG_VERSION"),
    commit: "unset",
    build_time: "unset",
};

#[derive(Parser)]
#[command(name = "minimal", about = "The smallest podkit service")]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(subcommand)]
    command: Option<KitCommand>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Env names: `PORT`, `ADMIN_PORT`, `LOG_LEVEL`, … and `MINIMAL_SECTION__KEY`.
    let config = match cli.common.loader("MINIMAL").load::<NoSettings>() {
        Ok(config) => config,
        Err(e) => return podkit::exit_config_error(e),
    };
    App::new(BUILD, config).run(cli.command.unwrap_or_default(), start)
}

/// The start function: register checks and hooks on `ctx`, return the router.
pub async fn start(_ctx: Context<NoSettings>) -> Result<Router, Infallible> {
    Ok(Router::new().route("/hello", get(|| async { "hello\n" })))
}
