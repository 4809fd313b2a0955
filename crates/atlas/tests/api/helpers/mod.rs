//! Test harness: atlas in-process on podkit's `Pod` seam ([`TestApp`], the
//! default: port 0, a per-test database, no process to spawn), and the real binary
//! ([`BinApp`]) for what only a process shows: signals, exit codes, log lines.

use std::collections::HashMap;
use std::time::{Duration, Instant};

mod binary;
mod inproc;
pub mod pg_cluster;
pub mod pg_tls;
mod tls;

pub use binary::{run, run_bounded, BinApp, BIN};
pub use inproc::TestApp;
pub use tls::HttpsSource;

/// The two ports of a running atlas and a client for them.
pub struct Endpoints {
    pub api: String,
    pub admin: String,
    pub http: reqwest::Client,
}

impl Endpoints {
    pub fn new(api: &str, admin: &str) -> Self {
        // reqwest is built without a rustls provider of its own (podkit picks
        // `ring`); a test client must not depend on atlas having started first.
        podkit::tls::install_default_provider();
        Self {
            api: format!("http://{api}"),
            admin: format!("http://{admin}"),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.api))
            .send()
            .await
            .unwrap()
    }

    /// GET `path` until it answers `status` (bounded by `within`), for reads that
    /// change only once the service notices something: with the catalog cache on,
    /// a country is served from memory until the listener sees the database go and
    /// the refresh that follows fails and drops the snapshot.
    pub async fn get_until(&self, path: &str, status: u16, within: Duration) -> reqwest::Response {
        let deadline = std::time::Instant::now() + within;
        loop {
            let res = self.get(path).await;
            if res.status().as_u16() == status || std::time::Instant::now() >= deadline {
                return res;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
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
