//! `TestApp`: atlas's own start function on podkit's `Pod`, in this process.

use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use atlas::config::Config;
use podkit::cli::CommonArgs;
use podkit::{Pod, PodError};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::{base_env, run, Endpoints, TempDir};

/// atlas serving on loopback port 0 inside the test process, its SQLite file (when
/// no `DATABASE_URL` is given) in a scratch directory of its own.
pub struct TestApp {
    endpoints: Endpoints,
    stop: Option<oneshot::Sender<()>>,
    running: Option<JoinHandle<Result<(), PodError>>>,
    _dir: TempDir,
}

impl std::ops::Deref for TestApp {
    type Target = Endpoints;
    fn deref(&self) -> &Endpoints {
        &self.endpoints
    }
}

/// A SQLite file migrated once per test process by the real `atlas migrate up`;
/// each test starts from a copy (migrating 34k places per test is most of a
/// test's time).
fn sqlite_template() -> &'static Path {
    static TEMPLATE: OnceLock<TempDir> = OnceLock::new();
    &TEMPLATE
        .get_or_init(|| {
            let dir = TempDir::new();
            let mut env = base_env();
            let file = dir.0.join("template.db");
            env.insert(
                "ATLAS_DATABASE__SQLITE_PATH".into(),
                file.display().to_string(),
            );
            let (status, _, stderr, _) = run(&["migrate", "up"], &env);
            assert!(
                status.success(),
                "migrating the SQLite template failed: {stderr}"
            );
            dir
        })
        .0
}

/// The configuration a binary would load from [`base_env`] plus `extra`. Without a
/// `DATABASE_URL`, the SQLite file is a copy of the migrated template.
pub async fn config(dir: &TempDir, extra: &[(&str, &str)]) -> Config {
    let mut env = base_env();
    let sqlite = dir.0.join("atlas.db");
    env.insert(
        "ATLAS_DATABASE__SQLITE_PATH".into(),
        sqlite.display().to_string(),
    );
    for (k, v) in extra {
        env.insert(k.to_string(), v.to_string());
    }
    if !env.contains_key("DATABASE_URL") {
        let template = tokio::task::spawn_blocking(sqlite_template).await.unwrap();
        std::fs::copy(template.join("template.db"), &sqlite).expect("copy the SQLite template");
    }
    atlas::config::loader(&CommonArgs::default())
        .with_env(env)
        .load()
        .unwrap_or_else(|e| panic!("test config: {e}"))
}

impl TestApp {
    /// Start with `extra` on top of [`base_env`] and wait until start-up is done.
    pub async fn spawn(extra: &[(&str, &str)]) -> TestApp {
        let dir = TempDir::new();
        let pod = Pod::bind(podkit::build_info!(), config(&dir, extra).await)
            .await
            .expect("bind loopback port 0");
        let endpoints = Endpoints::new(&pod.api_addr().to_string(), &pod.admin_addr().to_string());
        let (stop, stopped) = oneshot::channel::<()>();
        let running = tokio::spawn(pod.run_until(atlas::startup::start, async {
            let _ = stopped.await;
        }));
        let app = TestApp {
            endpoints,
            stop: Some(stop),
            running: Some(running),
            _dir: dir,
        };
        app.wait_for_admin("/startupz", 200, Duration::from_secs(60))
            .await;
        app
    }

    /// The scratch directory (the SQLite file lives here).
    pub fn dir(&self) -> &Path {
        &self._dir.0
    }

    /// Run the shutdown phases and wait for them (bounded).
    pub async fn shut_down(mut self) -> Result<(), PodError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let running = self.running.take().expect("running until shut down");
        tokio::time::timeout(Duration::from_secs(30), running)
            .await
            .expect("the pod stops within 30 s")
            .expect("the pod task does not panic")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // The test is over: stop serving now rather than draining.
        if let Some(running) = self.running.take() {
            running.abort();
        }
    }
}
