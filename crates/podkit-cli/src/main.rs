//! `podkit`: the podkit command line.
//!
//! Run with: `cargo run -p podkit-cli -- new my-svc --db postgres --workers`
//! (or `cargo install --path crates/podkit-cli`, then `podkit new my-svc`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use podkit_cli::{Db, Options, PodkitSource, ServiceName};

#[derive(Parser)]
#[command(name = "podkit", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a new service repository in ./NAME (or --dir).
    New(NewArgs),
}

#[derive(clap::Args)]
struct NewArgs {
    /// The service's name: crate, binary, image, chart, namespace, metric and env
    /// prefix. Lowercase letters, digits and `-`; starts with a letter.
    #[arg(value_parser = parse_name)]
    name: ServiceName,
    /// Where to write it; must be missing or empty. Default: ./NAME.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// `postgres`: sqlx with PostgreSQL when DATABASE_URL is set and an embedded
    /// SQLite file otherwise, a migration and an items resource. `none`: no database.
    #[arg(long, value_enum, default_value = "none")]
    db: Db,
    /// Add a worker pool and an endpoint that hands work to it.
    #[arg(long)]
    workers: bool,
    /// Depend on podkit from this checkout's `crates/podkit` (or the podkit crate
    /// directory itself) instead of crates.io.
    #[arg(long, value_name = "DIR", value_parser = parse_podkit_path)]
    podkit_path: Option<PathBuf>,
}

fn parse_name(s: &str) -> Result<ServiceName, String> {
    ServiceName::parse(s).map_err(|e| e.reason)
}

/// A checkout's root or its `crates/podkit`, as the absolute path of the crate.
fn parse_podkit_path(s: &str) -> Result<PathBuf, String> {
    let dir = PathBuf::from(s);
    let candidates = [dir.join("crates/podkit"), dir.clone()];
    for c in candidates {
        let manifest = c.join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        if text.lines().any(|l| l.trim() == "name = \"podkit\"") {
            return c
                .canonicalize()
                .map_err(|e| format!("{}: {e}", c.display()));
        }
    }
    Err(format!("no podkit crate in {s} or {s}/crates/podkit"))
}

fn main() -> ExitCode {
    let Command::New(args) = Cli::parse().command;
    let dir = args
        .dir
        .unwrap_or_else(|| PathBuf::from(args.name.as_str()));
    let opts = Options {
        podkit: match args.podkit_path {
            Some(path) => PodkitSource::Path(path),
            None => PodkitSource::Version(env!("CARGO_PKG_VERSION").to_string()),
        },
        name: args.name,
        db: args.db,
        workers: args.workers,
    };
    match podkit_cli::generate(&dir, &opts) {
        Ok(files) => {
            println!("created {} ({} files)", dir.display(), files.len());
            println!(
                "next:\n  cd {}\n  make run     # the service on :8080, admin on :8081",
                dir.display()
            );
            println!("  make test    # every test");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("podkit new: {e}");
            ExitCode::FAILURE
        }
    }
}
