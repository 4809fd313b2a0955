//! Logs and the admin port: sinks with level ranges, size rotation, the run-time log
//! filter, and who may touch `/admin/*`.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{base_env, run_bounded, BinApp, TempDir};

const LEVELS: [&str; 5] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"];

fn rank(level: &str) -> usize {
    LEVELS
        .iter()
        .position(|l| *l == level)
        .unwrap_or_else(|| panic!("unknown level {level:?}"))
}

fn level_of(line: &Value) -> &str {
    line["level"]
        .as_str()
        .unwrap_or_else(|| panic!("no level: {line}"))
}

/// A log line without its timestamp (each sink stamps the event itself), as a
/// string that sorts and compares.
fn comparable(line: &Value) -> String {
    let mut line = line.clone();
    line.as_object_mut().unwrap().remove("timestamp");
    line.to_string()
}

/// The lines of `all` within `min..=max`, comparable and sorted.
fn in_range(all: &[Value], min: &str, max: &str) -> Vec<String> {
    let (lo, hi) = (rank(min), rank(max));
    let mut v: Vec<String> = all
        .iter()
        .filter(|l| (lo..=hi).contains(&rank(level_of(l))))
        .map(comparable)
        .collect();
    v.sort();
    v
}

/// Every line of a log file, each of which must be JSON.
fn json_lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {l}", path.display()))
        })
        .collect()
}

fn sorted_comparable(lines: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = lines.iter().map(comparable).collect();
    v.sort();
    v
}

fn yaml_config(dir: &Path, text: &str) -> String {
    let file = dir.join("atlas.yaml");
    std::fs::write(&file, text).unwrap();
    file.to_str().unwrap().to_string()
}

async fn put_log_level(app: &BinApp, token: Option<&str>, body: &Value) -> reqwest::Response {
    let mut req = app
        .http
        .put(format!("{}/admin/log-level", app.admin))
        .json(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

async fn admin_get_with(app: &BinApp, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut req = app.http.get(format!("{}{path}", app.admin));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

/// A GET to the API carrying our own request id, on a fresh connection.
async fn get_with_id(app: &BinApp, path: &str, id: &str) -> u16 {
    podkit::tls::install_default_provider();
    reqwest::Client::new()
        .get(format!("{}{path}", app.api))
        .header("x-request-id", id)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn each_log_sink_gets_exactly_the_lines_in_its_level_range() {
    let dir = TempDir::new();
    let debug_log = dir.0.join("logs/app.debug.log");
    let error_log = dir.0.join("logs/app.error.log");
    let config = yaml_config(
        &dir.0,
        &format!(
            "log:\n  sinks:\n\
             \x20   - {{kind: file, path: {}, min_level: debug, max_level: info}}\n\
             \x20   - {{kind: file, path: {}, min_level: error}}\n\
             \x20   - {{kind: stdout}}\n\
             \x20   - {{kind: stderr, min_level: error}}\n",
            debug_log.display(),
            error_log.display()
        ),
    );
    // `trace`, so the lower edge of the debug..info range is exercised too.
    let env = [
        ("CONFIG_FILE", config.as_str()),
        ("LOG_LEVEL", "trace"),
        ("ADMIN_TOKEN", "t"),
        ("ATLAS_SHUTDOWN__DRAIN_DELAY", "0s"),
    ];

    // Run 1: a serving pod. Requests give INFO access lines (and TRACE lines from
    // the server), a log-level change gives a WARN line.
    let mut app = BinApp::spawn(&env).await;
    app.hit("/home", 3, 200).await;
    // Database reads log their statements at DEBUG.
    app.hit("/api/v1/countries/FR", 1, 200).await;
    app.hit("/no/such/path", 1, 404).await;
    let res = put_log_level(&app, Some("t"), &json!({"filter": "trace"})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.stop().await.code(), Some(0));
    let mut everything = app.log_lines();
    assert_eq!(
        everything.len(),
        app.raw_log_lines().len(),
        "stdout is all JSON"
    );

    // Run 2: the same config with the API port taken. Failing to bind is the one
    // ERROR atlas logs on demand today; it exits 1 after flushing its sinks.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut env2: HashMap<String, String> = base_env();
    for (k, v) in env {
        env2.insert(k.into(), v.into());
    }
    env2.insert(
        "PORT".into(),
        taken.local_addr().unwrap().port().to_string(),
    );
    let (status, stdout, stderr) = run_bounded(&dir.0, &[], &env2, Duration::from_secs(10)).await;
    assert_eq!(status.code(), Some(1), "{stdout}{stderr}");
    let run2: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    everything.extend(run2.iter().cloned());

    let seen: std::collections::BTreeSet<&str> = everything.iter().map(level_of).collect();
    for level in LEVELS {
        assert!(seen.contains(level), "stdout has no {level} line: {seen:?}");
    }

    let debug_lines = json_lines(&debug_log);
    for level in ["DEBUG", "INFO"] {
        assert!(
            debug_lines.iter().any(|l| l["level"] == level),
            "{level} lines reach the debug..info file"
        );
    }
    assert_eq!(
        sorted_comparable(&debug_lines),
        in_range(&everything, "DEBUG", "INFO"),
        "app.debug.log holds exactly the DEBUG..INFO lines"
    );
    let error_lines = json_lines(&error_log);
    assert!(
        !error_lines.is_empty(),
        "the bind failure reaches app.error.log"
    );
    assert_eq!(
        sorted_comparable(&error_lines),
        in_range(&everything, "ERROR", "ERROR"),
        "app.error.log holds exactly the ERROR lines"
    );

    // stderr: the ERROR lines of run 2 as JSON, plus the plain one-line bind message
    // the binary prints for operators who do not read JSON.
    let (json_err, plain_err): (Vec<&str>, Vec<&str>) =
        stderr.lines().partition(|l| l.starts_with('{'));
    let json_err: Vec<Value> = json_err
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        sorted_comparable(&json_err),
        in_range(&run2, "ERROR", "ERROR"),
        "stderr holds exactly the ERROR lines: {stderr}"
    );
    assert!(!json_err.is_empty(), "{stderr}");
    assert!(
        plain_err.iter().all(|l| l.contains("cannot listen on")),
        "{stderr}"
    );
}

#[tokio::test]
async fn file_sinks_rotate_by_size_keep_max_backups_and_gzip_older_ones() {
    let dir = TempDir::new();
    let log_dir = dir.0.join("rot");
    let config = yaml_config(
        &dir.0,
        &format!(
            "log:\n  sinks:\n\
             \x20   - {{kind: stdout}}\n\
             \x20   - {{kind: file, path: {}, max_size: 2KiB, max_backups: 2, compress: true}}\n",
            log_dir.join("app.log").display()
        ),
    );
    let mut app = BinApp::spawn(&[
        ("CONFIG_FILE", config.as_str()),
        ("ATLAS_SHUTDOWN__DRAIN_DELAY", "0s"),
    ])
    .await;
    // ~300 bytes an access line: 150 lines are over 20 rotations of 2 KiB.
    app.hit("/home", 150, 200).await;
    assert_eq!(app.stop().await.code(), Some(0));
    let longest_line = app
        .raw_log_lines()
        .iter()
        .map(|l| l.len() + 1)
        .max()
        .unwrap();

    let mut names: Vec<String> = std::fs::read_dir(&log_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let backups: Vec<&String> = names.iter().filter(|n| *n != "app.log").collect();
    assert!(names.contains(&"app.log".to_string()), "{names:?}");
    assert_eq!(
        backups.len(),
        2,
        "rotated many times, max_backups 2 kept: {names:?}"
    );

    let active = std::fs::metadata(log_dir.join("app.log")).unwrap().len() as usize;
    assert!(
        active <= 2048 + longest_line,
        "active file {active} B is over max_size by more than a line"
    );
    json_lines(&log_dir.join("app.log"));

    let mut gzipped = 0;
    for name in &backups {
        let bytes = std::fs::read(log_dir.join(name)).unwrap();
        let is_gzip = bytes.starts_with(&[0x1f, 0x8b]);
        assert_eq!(
            is_gzip,
            name.ends_with(".gz"),
            "{name}: the suffix matches the content"
        );
        if is_gzip {
            gzipped += 1;
        } else {
            // Compression::OnRotate(1): only the newest backup stays plain, for `tail`.
            assert_eq!(
                name.as_str(),
                "app.log.1",
                "only the newest is plain: {names:?}"
            );
            json_lines(&log_dir.join(name));
        }
        assert!(
            bytes.len() <= 2048 + longest_line,
            "{name}: {} B",
            bytes.len()
        );
    }
    assert!(gzipped >= 1, "older backups are gzipped: {names:?}");
}

#[tokio::test]
async fn admin_endpoints_answer_403_without_a_token_while_probes_and_metrics_stay_open() {
    let app = BinApp::spawn(&[]).await;
    let res = put_log_level(&app, None, &json!({"filter": "debug"})).await;
    assert_eq!(res.status(), 403);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    for path in ["/admin/config", "/admin/log-level", "/admin/info"] {
        let res = admin_get_with(&app, path, Some("anything")).await;
        assert_eq!(res.status(), 403, "{path} fails closed without ADMIN_TOKEN");
    }
    for path in ["/healthz", "/livez", "/startupz", "/metrics"] {
        assert_eq!(app.admin_status(path).await, 200, "{path} needs no token");
    }
    // Readiness may take a moment (data loading); it never asks for a token.
    app.wait_for_admin("/readyz", 200, Duration::from_secs(30))
        .await;
}

#[tokio::test]
async fn admin_endpoints_need_the_right_bearer_token() {
    let token = "t0k3n-for-admin";
    let app = BinApp::spawn(&[("ADMIN_TOKEN", token)]).await;
    let cases: [(&str, Option<&str>, u16); 4] = [
        ("missing", None, 401),
        ("wrong", Some("nope"), 401),
        ("prefix of the right one", Some("t0k3n"), 401),
        ("right", Some(token), 200),
    ];
    for (case, given, want) in cases {
        let res = admin_get_with(&app, "/admin/log-level", given).await;
        assert_eq!(res.status(), want, "case {case}");
        if want == 401 {
            assert_eq!(res.headers()["www-authenticate"], "Bearer", "case {case}");
            assert_eq!(
                res.headers()["content-type"],
                "application/problem+json",
                "case {case}"
            );
        } else {
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["filter"], "info", "case {case}: {body}");
            assert_eq!(body["default"], "info", "case {case}: {body}");
        }
    }
    let basic = app
        .http
        .get(format!("{}/admin/info", app.admin))
        .header("authorization", format!("Basic {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401, "only the Bearer scheme");
    let res = put_log_level(&app, Some("nope"), &json!({"filter": "debug"})).await;
    assert_eq!(res.status(), 401);
    for path in ["/healthz", "/metrics"] {
        assert_eq!(app.admin_status(path).await, 200, "{path} needs no token");
    }
    app.wait_for_admin("/readyz", 200, Duration::from_secs(30))
        .await;
}

#[tokio::test]
async fn admin_config_is_redacted_yaml_and_info_names_the_build() {
    let token = "s3cret-admin-token-xyzzy";
    let app = BinApp::spawn(&[("ADMIN_TOKEN", token), ("ATLAS_SHUTDOWN__TIMEOUT", "7s")]).await;
    let res = admin_get_with(&app, "/admin/config", Some(token)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/yaml");
    let text = res.text().await.unwrap();
    assert!(!text.contains(token), "the token leaked: {text}");
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    assert_eq!(doc["admin"]["token"], "***", "{text}");
    assert_eq!(
        doc["shutdown"]["timeout"], "7s",
        "the effective config: {text}"
    );

    let home: Value = app.get("/home").await.json().await.unwrap();
    let info: Value = admin_get_with(&app, "/admin/info", Some(token))
        .await
        .json()
        .await
        .unwrap();
    for key in ["release", "commit", "buildTime"] {
        assert_eq!(info[key], home[key], "{key}: {info}");
    }
    assert!(info["uptime_seconds"].as_f64().unwrap() >= 0.0, "{info}");
    assert_eq!(info["started"], true, "{info}");
    assert_eq!(info["shutting_down"], false, "{info}");
}

#[tokio::test]
async fn log_filter_changes_take_effect_at_once_and_revert_after_their_ttl() {
    let token = "t";
    // Cache off: a database read logs its statements at DEBUG, inside the
    // request's span (from memory, a read logs nothing below INFO).
    let app = BinApp::spawn(&[("ADMIN_TOKEN", token), ("ATLAS_API__CACHE", "false")]).await;
    let country = "/api/v1/countries/FR";
    assert_eq!(get_with_id(&app, country, "before-change").await, 200);
    app.wait_for_log(|l| l["request_id"] == "before-change" && l["target"] == "access")
        .await;
    assert!(
        app.log_lines()
            .iter()
            .all(|l| rank(level_of(l)) >= rank("INFO")),
        "nothing below INFO under the default filter"
    );

    let res = put_log_level(&app, Some(token), &json!({"filter": "debug"})).await;
    assert_eq!(res.status(), 200);
    let state: Value = res.json().await.unwrap();
    assert_eq!(state["filter"], "debug", "{state}");
    assert_eq!(state["default"], "info", "{state}");
    assert!(state.get("reverts_at").is_none(), "no TTL given: {state}");
    let got: Value = admin_get_with(&app, "/admin/log-level", Some(token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got["filter"], "debug");
    app.wait_for_log(|l| l["message"] == "log filter changed" && l["filter"] == "debug")
        .await;
    // The very next request logs at DEBUG, with its request id.
    assert_eq!(get_with_id(&app, country, "under-debug").await, 200);
    app.wait_for_log(|l| l["level"] == "DEBUG" && l["request_id"] == "under-debug")
        .await;

    let res = put_log_level(&app, Some(token), &json!({"filter": "warn", "ttl": "1s"})).await;
    assert_eq!(res.status(), 200);
    let state: Value = res.json().await.unwrap();
    assert_eq!(state["filter"], "warn", "{state}");
    assert!(state["reverts_at"].is_string(), "{state}");
    assert_eq!(get_with_id(&app, "/home", "muted").await, 200);
    let during: Value = admin_get_with(&app, "/admin/log-level", Some(token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        during["filter"], "warn",
        "the `muted` request ran under `warn` (it took under the 1 s TTL)"
    );

    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let now: Value = admin_get_with(&app, "/admin/log-level", Some(token))
            .await
            .json()
            .await
            .unwrap();
        if now["filter"] == "info" {
            assert!(now.get("reverts_at").is_none(), "{now}");
            break;
        }
        assert!(Instant::now() < deadline, "never reverted: {now}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let revert = app
        .wait_for_log(|l| l["message"] == "log filter TTL ended; reverted to the configured filter")
        .await;
    assert_eq!(revert["level"], "WARN");
    assert_eq!(revert["filter"], "info");
    assert_eq!(revert["previous"], "warn");

    assert_eq!(get_with_id(&app, "/home", "after-revert").await, 200);
    app.wait_for_log(|l| l["request_id"] == "after-revert" && l["target"] == "access")
        .await;
    // One writer keeps stdout in order: had `muted` been logged, it would be in by now.
    assert!(
        !app.log_lines()
            .iter()
            .any(|l| l["request_id"] == "muted" && l["target"] == "access"),
        "no INFO access line under `warn`"
    );

    let bad: [(&str, Value); 4] = [
        ("unknown level", json!({"filter": "info,atlas=loud"})),
        ("bad ttl", json!({"filter": "debug", "ttl": "soon"})),
        ("ttl over 24h", json!({"filter": "debug", "ttl": "25h"})),
        ("unknown field", json!({"level": "debug"})),
    ];
    for (case, body) in bad {
        let res = put_log_level(&app, Some(token), &body).await;
        assert_eq!(res.status(), 400, "case {case}");
        assert_eq!(
            res.headers()["content-type"],
            "application/problem+json",
            "case {case}"
        );
        let problem: Value = res.json().await.unwrap();
        assert_eq!(problem["status"], 400, "case {case}: {problem}");
        assert!(problem["detail"].is_string(), "case {case}: {problem}");
    }
    let now: Value = admin_get_with(&app, "/admin/log-level", Some(token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(now["filter"], "info", "rejected changes change nothing");
}
