//! Rollouts without a failed request: the real binary, restarted into a new
//! release while clients keep their keep-alive connections busy.
//!
//! - `rolling`: two replicas behind HAProxy health-checking `/readyz`, 100
//!   connections, one replica restarted after the other into the next release.
//! - `drain`: 200 connections straight at one replica, SIGTERM: what the clients
//!   see while it drains and when its listener closes.
//! - `migration`: a Helm upgrade with a migration: the next release's `atlas
//!   migrate up` runs as the pre-upgrade Job while two old replicas serve, then
//!   they roll to the next release.
//!
//! The next release is atlas built once more with another `BUILD_RELEASE` and one
//! more migration, an expand one (`scripts/next-release-bin`, run by `make test`
//! and `make reliability`, adds `next-release-migrations/`), passed in
//! `ATLAS_ROLLOUT_NEXT_BIN`. `ATLAS_ROLLOUT_SECS` is each steady phase: 3 s in
//! CI, 60 s in `make reliability`.
//!
//! A new release scenario is a step run by [`load::under_load`]: the clients run
//! until the step's future ends (see `rolling.rs` for restarts as a step).

mod drain;
mod haproxy;
mod load;
mod migration;
mod rolling;
mod wire;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::helpers::BinApp;

/// Length of each steady phase of load.
fn steady() -> Duration {
    let secs = std::env::var("ATLAS_ROLLOUT_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    Duration::from_secs(secs)
}

/// The next release's binary, from `ATLAS_ROLLOUT_NEXT_BIN`.
fn next_bin() -> PathBuf {
    match std::env::var_os("ATLAS_ROLLOUT_NEXT_BIN") {
        Some(p) if Path::new(&p).is_file() => PathBuf::from(p),
        _ => panic!(
            "ATLAS_ROLLOUT_NEXT_BIN does not name a binary: run `make test` / `make reliability`, \
             or `eval \"$(scripts/next-release-bin -p atlas)\"` first"
        ),
    }
}

/// The `release` a binary was built with, from `--version`.
fn release_of(bin: &Path) -> String {
    let out = std::process::Command::new(bin)
        .arg("--version")
        .output()
        .expect("atlas --version runs");
    let line = String::from_utf8_lossy(&out.stdout).to_string();
    line.split("release: ")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .unwrap_or_else(|| panic!("a release in {line:?}"))
        .to_string()
}

/// `host:port` of an `http://host:port` endpoint.
fn addr(url: &str) -> SocketAddr {
    url.trim_start_matches("http://").parse().unwrap()
}

/// A replica of `bin` on its own ports (`None`: port 0), serving `database`
/// with `env` on top, ready (its `/readyz` answers 200). The access log is off:
/// the harness keeps every stdout line in memory.
async fn replica(
    bin: &Path,
    database: Option<&str>,
    ports: Option<(u16, u16)>,
    extra: &[(&str, &str)],
) -> BinApp {
    let (api, admin) = ports.unwrap_or((0, 0));
    let (api, admin) = (api.to_string(), admin.to_string());
    let mut env = vec![
        ("LOG_LEVEL", "info,access=warn"),
        ("PORT", api.as_str()),
        ("ADMIN_PORT", admin.as_str()),
    ];
    if let Some(url) = database {
        env.push(("DATABASE_URL", url));
    }
    env.extend_from_slice(extra);
    let app = BinApp::spawn_bin(bin, &env).await;
    app.wait_for_admin("/readyz", 200, Duration::from_secs(60))
        .await;
    app
}

/// The time of the replica's log line with `phase`, on the run's time line.
fn phase_at(app: &BinApp, phase: &str, clock: &load::Clock) -> Option<Duration> {
    let line = app.log_lines().into_iter().find(|l| l["phase"] == phase)?;
    let ts = chrono::DateTime::parse_from_rfc3339(line["timestamp"].as_str()?).ok()?;
    Some(clock.at_wall(ts.into()))
}
