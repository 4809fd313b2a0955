//! A PostgreSQL cluster of a test's own (`scripts/pg-test-cluster`), stopped and
//! removed on drop, so stopping or breaking it harms no other test. Fails the test
//! loudly when PostgreSQL is not installed.

use std::process::{Command, Output};

/// A running cluster and the variables its start printed.
pub struct PgCluster {
    dir: String,
    exports: String,
}

impl PgCluster {
    /// `scripts/pg-test-cluster ARGS…` (`start`, or `start-tls CERT KEY [CA]`).
    pub fn start(args: &[&str]) -> Self {
        let out = script(args);
        assert!(
            out.status.success(),
            "pg-test-cluster {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let exports = String::from_utf8_lossy(&out.stdout).to_string();
        let mut cluster = Self {
            dir: String::new(),
            exports,
        };
        cluster.dir = cluster.export("PG_TEST_DIR");
        cluster
    }

    /// A variable the start printed (`export KEY=value`).
    pub fn export(&self, key: &str) -> String {
        self.exports
            .lines()
            .find_map(|l| l.strip_prefix(&format!("export {key}=")))
            .unwrap_or_else(|| panic!("{key} in {}", self.exports))
            .to_string()
    }

    /// `pause` (stop the server only) or `resume` it.
    #[allow(dead_code)] // the reliability suite's outage scenario
    pub fn control(&self, verb: &str) {
        let out = script(&[verb, &self.dir]);
        assert!(out.status.success(), "pg-test-cluster {verb}");
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = script(&["stop", &self.dir]);
    }
}

fn script(args: &[&str]) -> Output {
    Command::new("scripts/pg-test-cluster")
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .args(args)
        .output()
        .expect("scripts/pg-test-cluster runs")
}
