//! atlas: countries, currencies and time zones, served the podkit way.
//!
//! Run with: `cargo run -p atlas` (embedded SQLite, API on :8080, admin on :8081),
//! or `atlas --help` for the subcommands.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use podkit::cli::{CommonArgs, KitCommand};

#[derive(Parser)]
#[command(name = "atlas", version = env!("ATLAS_VERSION_LINE"), about)]
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
    /// Database migrations (PostgreSQL: under an advisory lock).
    Migrate {
        #[command(subcommand)]
        action: atlas::migrate::Action,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match atlas::config::loader(&cli.common).load() {
        Ok(config) => config,
        Err(e) => return podkit::exit_config_error(e),
    };
    let app = podkit::App::new(podkit::build_info!(), config);
    match cli.command.unwrap_or(Command::Kit(KitCommand::Serve)) {
        Command::Kit(cmd) => app.run(cmd, atlas::startup::start),
        Command::Migrate { action } => app.run_task(|config| atlas::migrate::run(config, action)),
    }
}
