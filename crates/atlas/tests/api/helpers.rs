//! `TestApp`: the real `atlas` binary on loopback with port 0, its logs captured.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_atlas");

/// A running atlas process.
pub struct TestApp {
    child: Child,
    pub api: String,
    pub admin: String,
    logs: Arc<Mutex<Vec<String>>>,
    pub http: reqwest::Client,
    _dir: TempDir,
}

/// A scratch directory removed on drop (the working directory of the process).
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new() -> Self {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("atlas-test-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The environment every test process starts from: loopback, port 0, JSON logs,
/// and nothing inherited that could change the result.
pub fn base_env() -> HashMap<String, String> {
    [
        ("HOST", "127.0.0.1"),
        ("PORT", "0"),
        ("ADMIN_PORT", "0"),
        ("LOG_FORMAT", "json"),
        ("LOG_LEVEL", "info"),
        ("PATH", &std::env::var("PATH").unwrap_or_default()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
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

impl TestApp {
    /// Start with `extra` on top of [`base_env`] and wait until it listens.
    pub async fn spawn(extra: &[(&str, &str)]) -> TestApp {
        let mut env = base_env();
        for (k, v) in extra {
            env.insert(k.to_string(), v.to_string());
        }
        let dir = TempDir::new();
        let mut child = Command::new(BIN)
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
        let app = TestApp {
            api: format!("http://{}", listening["api"].as_str().unwrap()),
            admin: format!("http://{}", listening["admin"].as_str().unwrap()),
            child,
            logs,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
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

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.api))
            .send()
            .await
            .unwrap()
    }

    pub async fn admin_get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.admin))
            .send()
            .await
            .unwrap()
    }

    /// Status of an admin path, 0 when the connection fails.
    pub async fn admin_status(&self, path: &str) -> u16 {
        match self.http.get(format!("{}{path}", self.admin)).send().await {
            Ok(r) => r.status().as_u16(),
            Err(_) => 0,
        }
    }

    pub async fn wait_for_admin(&self, path: &str, want: u16, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let got = self.admin_status(path).await;
            if got == want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{path} stayed {got}, wanted {want}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
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

impl Drop for TestApp {
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

impl TestApp {
    /// Captured stdout lines, raw.
    pub fn raw_log_lines(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    /// `GET /metrics` on the admin port: the content type and the exposition text.
    pub async fn scrape(&self) -> (String, String) {
        let res = self.admin_get("/metrics").await;
        assert_eq!(res.status(), 200, "GET /metrics");
        let ct = res.headers()["content-type"].to_str().unwrap().to_string();
        (ct, res.text().await.unwrap())
    }

    /// Send `n` requests to an API path, asserting each status.
    pub async fn hit(&self, path: &str, n: usize, status: u16) {
        for i in 0..n {
            let got = self.get(path).await.status().as_u16();
            assert_eq!(got, status, "request {i} to {path}");
        }
    }

    /// Stop gracefully (SIGTERM, then a bounded wait) so every log writer is flushed.
    /// Spawn with `ATLAS_SHUTDOWN__DRAIN_DELAY=0s` to make this quick.
    pub async fn stop(&mut self) -> ExitStatus {
        self.signal("TERM");
        self.wait_exit(Duration::from_secs(10)).await
    }
}

/// A loopback port that was free a moment ago (for processes that cannot take port 0).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An external tool from `PATH`, or a panic that says how to install it.
pub fn require_tool(name: &str, package: &str) -> std::path::PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{name}` is not on PATH; these tests need it: apt-get install -y {package} \
                 (scripts/test installs it)"
            )
        })
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
