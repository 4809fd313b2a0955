//! @@name@@: a service on podkit.
//!
//! Run with: `cargo run` (API on :8080, admin on :8081), or `@@name@@ --help`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use podkit::cli::{CommonArgs, KitCommand};

#[derive(Parser)]
#[command(name = "@@name@@", version = env!("VERSION_LINE"), about)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    #[command(flatten)]
    Kit(KitCommand),
@@if db@@
    /// Apply pending migrations and exit (the Kubernetes Job before a rollout).
    Migrate,
@@end@@
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match @@crate@@::config::loader(&cli.common).load() {
        Ok(config) => config,
        Err(e) => return podkit::exit_config_error(e),
    };
    let app = podkit::App::new(podkit::build_info!(), config);
    match cli.command.unwrap_or(Command::Kit(KitCommand::Serve)) {
        Command::Kit(cmd) => app.run(cmd, @@crate@@::start),
@@if db@@
        Command::Migrate => app.run_task(@@crate@@::db::migrate_task),
@@end@@
    }
}
