//! `BinApp`: the real `atlas` binary on loopback with port 0, its logs captured.
//! For what only a process shows: signals, exit codes, log lines, `atlas probe`.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{base_env, Endpoints, TempDir};

pub const BIN: &str = env!("CARGO_BIN_EXE_atlas");

/// A running atlas process.
pub struct BinApp {
    child: Child,
    endpoints: Endpoints,
    logs: Arc<Mutex<Vec<String>>>,
    _dir: TempDir,
}

impl std::ops::Deref for BinApp {
    type Target = Endpoints;
    fn deref(&self) -> &Endpoints {
        &self.endpoints
    }
}

/// Run the binary to completion (for config errors, `config`, `--version`, `probe`).
pub fn run(args: &[&str], env: &HashMap<String, String>) -> (ExitStatus, String, String, Duration) {
    let dir = TempDir::new();
    let start = Instant::now();
    let out = Command::new(BIN)
        .args(args)
        .env_clear()
        .envs(env)
        .current_dir(&dir.0)
        .output()
        .unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
        start.elapsed(),
    )
}

impl BinApp {
    /// Start with `extra` on top of [`base_env`] and wait until it listens.
    pub async fn spawn(extra: &[(&str, &str)]) -> BinApp {
        Self::spawn_bin(std::path::Path::new(BIN), extra).await
    }

    /// [`BinApp::spawn`] with another build of atlas (another release, for rollouts).
    pub async fn spawn_bin(bin: &std::path::Path, extra: &[(&str, &str)]) -> BinApp {
        let mut env = base_env();
        for (k, v) in extra {
            env.insert(k.to_string(), v.to_string());
        }
        let dir = TempDir::new();
        let mut child = Command::new(bin)
            .env_clear()
            .envs(&env)
            .current_dir(&dir.0)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().unwrap();
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if std::env::var("TEST_LOG").is_ok() {
                    eprintln!("{line}");
                }
                sink.lock().unwrap().push(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let listening = loop {
            if let Some(l) = logs
                .lock()
                .unwrap()
                .iter()
                .find(|l| l.contains(r#""phase":"listening""#))
            {
                break serde_json::from_str::<Value>(l).unwrap();
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "atlas exited before listening: {status}; logs: {:?}",
                    logs.lock().unwrap()
                );
            }
            assert!(
                Instant::now() < deadline,
                "atlas did not start listening in time"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        let app = BinApp {
            endpoints: Endpoints::new(
                listening["api"].as_str().unwrap(),
                listening["admin"].as_str().unwrap(),
            ),
            child,
            logs,
            _dir: dir,
        };
        app.wait_for_admin("/startupz", 200, Duration::from_secs(60))
            .await;
        app
    }

    /// The process's working directory (its SQLite file lives here).
    pub fn dir(&self) -> &std::path::Path {
        &self._dir.0
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// Wait (bounded) for the process to exit.
    pub async fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                // Give the reader thread a moment to collect the last lines.
                tokio::time::sleep(Duration::from_millis(50)).await;
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "atlas did not exit within {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Captured stdout lines, parsed as JSON.
    pub fn log_lines(&self) -> Vec<Value> {
        self.logs
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Wait (bounded) for a log line matching `pred`.
    pub async fn wait_for_log(&self, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(v) = self.log_lines().into_iter().find(|v| pred(v)) {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "log line not found in {:?}",
                self.logs.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for BinApp {
    fn drop(&mut self) {
        // Only our own child, by its PID.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

// ---------------------------------------------------------------------------
// Observability helpers (metrics, log sinks, admin endpoints, external tools).
// ---------------------------------------------------------------------------

impl BinApp {
    /// Captured stdout lines, raw.
    pub fn raw_log_lines(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    /// Stop gracefully (SIGTERM, then a bounded wait) so every log writer is flushed.
    /// Spawn with `ATLAS_SHUTDOWN__DRAIN_DELAY=0s` to make this quick.
    pub async fn stop(&mut self) -> ExitStatus {
        self.signal("TERM");
        self.wait_exit(Duration::from_secs(10)).await
    }
}

/// Run the binary in `dir` until it exits, at most `within` (then kill it and panic):
/// exit status, stdout, stderr.
pub async fn run_bounded(
    dir: &std::path::Path,
    args: &[&str],
    env: &HashMap<String, String>,
    within: Duration,
) -> (ExitStatus, String, String) {
    use std::io::Read;
    let mut child = Command::new(BIN)
        .args(args)
        .env_clear()
        .envs(env)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + within;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            // Only our own child, by its handle (PID).
            let _ = child.kill();
            let _ = child.wait();
            panic!("atlas {args:?} did not exit within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    (status, out.join().unwrap(), err.join().unwrap())
}
