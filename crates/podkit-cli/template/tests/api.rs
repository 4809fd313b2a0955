//! The service in-process on podkit's `Pod` seam: the same start function as the
//! binary, both ports on 0, a channel instead of SIGTERM.
@@if db@@
//!
//! The database is a fresh SQLite file per test, or the PostgreSQL database in
//! `@@ENV@@_TEST_DATABASE_URL` when set (`make test-pg` starts one).
@@end@@

use std::net::SocketAddr;
use std::time::Duration;

use @@crate@@::config::ENV_PREFIX;
use podkit::{BuildInfo, Loader, Pod};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const BUILD: BuildInfo = BuildInfo {
    name: "@@name@@",
    release: "0.0.0-test",
    commit: "test",
    build_time: "unset",
};

@@if db@@
/// Where a test's SQLite file goes.
const SQLITE_PATH_VAR: &str = "@@ENV@@_DATABASE__SQLITE_PATH";

@@end@@
struct TestApp {
    api: SocketAddr,
    admin: SocketAddr,
    client: reqwest::Client,
    stop: oneshot::Sender<()>,
    running: JoinHandle<Result<(), podkit::PodError>>,
@@if db@@
    sqlite: Option<std::path::PathBuf>,
@@end@@
}

/// Start the service with test settings plus `env`: `SECTION__KEY` names, to which
/// the service's prefix is added (`GREETING__SALUTATION` is `@@ENV@@_GREETING__SALUTATION`).
async fn spawn_app(env: &[(&str, &str)]) -> TestApp {
@@if db@@
    let mut vars: Vec<(String, String)> = [
@@else@@
    let vars: Vec<(String, String)> = [
@@end@@
        ("HOST", "127.0.0.1"),
        ("PORT", "0"),
        ("ADMIN_PORT", "0"),
        ("LOG_LEVEL", "warn"),
        ("@@ENV@@_SHUTDOWN__DRAIN_DELAY", "0s"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .chain(
        env.iter()
            .map(|(k, v)| (format!("{ENV_PREFIX}_{k}"), v.to_string())),
    )
    .collect();
@@if db@@
    let sqlite = match std::env::var("@@ENV@@_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            vars.push(("DATABASE_URL".into(), url));
            None
        }
        _ => {
            let file = std::env::temp_dir().join(format!("test-{}.db", uuid::Uuid::new_v4()));
            vars.push((SQLITE_PATH_VAR.into(), file.display().to_string()));
            Some(file)
        }
    };
@@end@@
    let config = Loader::new(ENV_PREFIX)
        .with_env(vars)
        .load()
        .expect("test config loads");
    let pod = Pod::bind(BUILD, config).await.expect("ports bind");
    let (api, admin) = (pod.api_addr(), pod.admin_addr());
    let (stop, stopped) = oneshot::channel::<()>();
    let running = tokio::spawn(pod.run_until(@@crate@@::start, async {
        stopped.await.ok();
    }));
    let app = TestApp {
        api,
        admin,
        client: reqwest::Client::new(),
        stop,
        running,
@@if db@@
        sqlite,
@@end@@
    };
    app.wait_until_started().await;
    app
}

impl TestApp {
    fn api_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.api)
    }

    fn admin_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.admin)
    }

    async fn get(&self, url: String) -> reqwest::Response {
        self.client.get(url).send().await.expect("request sent")
    }

    /// `/startupz` turns 200 once the start function has returned (bounded wait:
    /// 30 s, for migrations on a busy CI machine).
    async fn wait_until_started(&self) {
        for _ in 0..1200 {
            if let Ok(r) = self.client.get(self.admin_url("/startupz")).send().await {
                if r.status() == 200 {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the service did not start within 30 s");
    }

    /// Stop as on SIGTERM and require a clean exit within a bound.
    async fn stop(self) {
        self.stop.send(()).ok();
        let outcome = tokio::time::timeout(Duration::from_secs(10), self.running)
            .await
            .expect("stopped within 10 s")
            .expect("pod task did not panic");
        assert!(outcome.is_ok(), "clean stop: {outcome:?}");
@@if db@@
        if let Some(file) = self.sqlite {
            for suffix in ["", "-wal", "-shm"] {
                std::fs::remove_file(format!("{}{suffix}", file.display())).ok();
            }
        }
@@end@@
    }
}

#[tokio::test]
async fn probes_answer_200_once_started_and_the_pod_stops_cleanly() {
    let app = spawn_app(&[]).await;
    for path in ["/livez", "/readyz", "/startupz"] {
        let r = app.get(app.admin_url(path)).await;
        assert_eq!(r.status(), 200, "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn hello_greets_by_name_and_by_default_the_world() {
    let app = spawn_app(&[("GREETING__SALUTATION", "Hi")]).await;
    let body: serde_json::Value = app
        .get(app.api_url("/api/v1/hello?name=Ada"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["message"], "Hi, Ada!");
    let body: serde_json::Value = app
        .get(app.api_url("/api/v1/hello"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["message"], "Hi, world!");
    app.stop().await;
}

#[tokio::test]
async fn hello_answers_422_problem_for_an_empty_or_overlong_name() {
    let app = spawn_app(&[("GREETING__MAX_NAME_CHARS", "5")]).await;
    let ok = app
        .get(app.api_url("/api/v1/hello?name=%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9"))
        .await;
    assert_eq!(
        ok.status(),
        200,
        "5 characters (10 bytes) is within the bound"
    );
    for name in ["", "abcdef", &"x".repeat(1_000)] {
        let r = app
            .get(app.api_url(&format!("/api/v1/hello?name={name}")))
            .await;
        assert_eq!(r.status(), 422, "name of {} bytes", name.len());
        let ct = r.headers()["content-type"].to_str().unwrap().to_string();
        assert_eq!(ct, "application/problem+json");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["status"], 422);
    }
    let huge = app
        .get(app.api_url(&format!("/api/v1/hello?name={}", "x".repeat(20_000))))
        .await;
    assert_eq!(
        huge.status(),
        414,
        "the kit bounds the URI before the handler sees it"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_service_metrics_carry_its_name() {
    let app = spawn_app(&[]).await;
    app.get(app.api_url("/api/v1/hello?name=Ada")).await;
    let text = app
        .get(app.admin_url("/metrics"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("@@crate@@_greetings_total{outcome=\"ok\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("http_server_requests_total"),
        "kit families too"
    );
    app.stop().await;
}

#[tokio::test]
async fn an_unknown_path_is_a_404_problem() {
    let app = spawn_app(&[]).await;
    let r = app.get(app.api_url("/api/v1/nope")).await;
    assert_eq!(r.status(), 404);
    app.stop().await;
}
@@if db@@

#[tokio::test]
async fn an_item_created_can_be_read_back_at_its_location() {
    let app = spawn_app(&[]).await;
    let r = app
        .client
        .post(app.api_url("/api/v1/items"))
        .json(&serde_json::json!({"name": "  first  "}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let created: serde_json::Value = r.json().await.unwrap();
    assert_eq!(created["name"], "first", "trimmed");
    let read: serde_json::Value = app.get(app.api_url(&location)).await.json().await.unwrap();
    assert_eq!(read, created);
    let r = app.get(app.admin_url("/readyz")).await;
    assert_eq!(r.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn items_refuse_bad_bodies_and_unknown_ids_with_problems() {
    let app = spawn_app(&[]).await;
    let post = |body: String| {
        app.client
            .post(app.api_url("/api/v1/items"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let cases = [
        ("{not json".to_string(), 400),
        (r#"{"name": 5}"#.to_string(), 400),
        (r#"{"name": "x", "extra": 1}"#.to_string(), 400),
        (r#"{"name": "   "}"#.to_string(), 422),
        (format!(r#"{{"name": "{}"}}"#, "y".repeat(101)), 422),
    ];
    for (body, status) in cases {
        let r = post(body.clone()).await.unwrap();
        assert_eq!(r.status(), status, "{}", &body[..body.len().min(40)]);
    }
    let r = app
        .get(app.api_url("/api/v1/items/00000000-0000-0000-0000-000000000000"))
        .await;
    assert_eq!(r.status(), 404);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["status"], 404);
    app.stop().await;
}
@@end@@
@@if workers@@

#[tokio::test]
async fn jobs_are_accepted_until_the_queue_is_full_then_429() {
    let app = spawn_app(&[
        ("JOBS__POOL__WORKERS", "1"),
        ("JOBS__POOL__QUEUE_SIZE", "1"),
        ("JOBS__POOL__CANCEL_GRACE", "100ms"),
        ("SHUTDOWN__HOOK_TIMEOUT", "300ms"),
    ])
    .await;
    let submit = |ms: u64| {
        app.client
            .post(app.api_url("/api/v1/jobs"))
            .json(&serde_json::json!({ "work_ms": ms }))
            .send()
    };
    // One running, one queued, then the queue is full (bounded by a 5 s job each).
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(submit(5_000).await.unwrap().status().as_u16());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        statuses,
        [202, 202, 429, 429],
        "one running, one queued, then full"
    );
    let r = submit(10_001).await.unwrap();
    assert_eq!(r.status(), 422, "work_ms above the bound");
    // The running job is cancelled by the shutdown hook within its budget.
    app.stop().await;
}
@@end@@
