//! Metrics as Prometheus sees them: the exposition on the admin port, `promtool`'s
//! lint, the config switches, and a real Prometheus scraping a real pod.
//!
//! Needs `prometheus` and `promtool` on PATH (Debian package `prometheus`).

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::helpers::{free_port, require_tool, TempDir, TestApp};

const PROMETHEUS_PACKAGE: &str = "prometheus";

/// One sample line of the text exposition format.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// The text format, parsed: `# TYPE` per family and every sample.
#[derive(Debug)]
struct Exposition {
    types: BTreeMap<String, String>,
    helps: BTreeSet<String>,
    samples: Vec<Sample>,
}

impl Exposition {
    fn parse(text: &str) -> Self {
        let mut types = BTreeMap::new();
        let mut helps = BTreeSet::new();
        let mut samples = Vec::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect(line);
                types.insert(name.to_string(), kind.to_string());
            } else if let Some(rest) = line.strip_prefix("# HELP ") {
                helps.insert(rest.split(' ').next().unwrap().to_string());
            } else if !line.starts_with('#') {
                samples.push(parse_sample(line));
            }
        }
        Self {
            types,
            helps,
            samples,
        }
    }

    /// Samples of `name` whose labels include every pair in `with`.
    fn find(&self, name: &str, with: &[(&str, &str)]) -> Vec<&Sample> {
        self.samples
            .iter()
            .filter(|s| s.name == name)
            .filter(|s| {
                with.iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(v))
            })
            .collect()
    }

    /// The value of the one sample of `name` with exactly these labels.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let want: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let hits: Vec<&Sample> = self
            .samples
            .iter()
            .filter(|s| s.name == name && s.labels == want)
            .collect();
        assert_eq!(hits.len(), 1, "one sample {name}{labels:?}, got {hits:?}");
        hits[0].value
    }
}

/// `name{k="v",…} value`; label values may hold `{`, `}`, `,` and escapes.
fn parse_sample(line: &str) -> Sample {
    let name_end = line.find(['{', ' ']).expect(line);
    let name = line[..name_end].to_string();
    let mut labels = BTreeMap::new();
    let mut rest = &line[name_end..];
    if let Some(body) = rest.strip_prefix('{') {
        let mut chars = body.char_indices();
        let mut key = String::new();
        loop {
            let (i, c) = chars.next().expect(line);
            match c {
                '}' => {
                    rest = &body[i + 1..];
                    break;
                }
                ',' => {}
                '=' => {
                    assert_eq!(chars.next().map(|(_, c)| c), Some('"'), "{line}");
                    let mut value = String::new();
                    loop {
                        match chars.next().expect(line).1 {
                            '\\' => match chars.next().expect(line).1 {
                                'n' => value.push('\n'),
                                other => value.push(other),
                            },
                            '"' => break,
                            other => value.push(other),
                        }
                    }
                    labels.insert(std::mem::take(&mut key), value);
                }
                other => key.push(other),
            }
        }
    }
    let value = rest.trim().split(' ').next().expect(line);
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().unwrap_or_else(|e| panic!("{line}: {e}")),
    };
    Sample {
        name,
        labels,
        value,
    }
}

/// Run `cmd` with `stdin` as its input, at most 10 s (then kill it, by its PID, and
/// panic): status and stdout + stderr.
fn output_within(cmd: &mut Command, stdin: &[u8]) -> (std::process::ExitStatus, String) {
    use std::io::Read;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let input_bytes = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&input_bytes);
    });
    let readers = [
        Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ]
    .map(|mut r| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within 10s");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let _ = writer.join();
    let out: String = readers.into_iter().map(|r| r.join().unwrap()).collect();
    (status, out)
}

/// `promtool check metrics` on `text`: must exit 0 and report nothing.
fn assert_promtool_clean(text: &str) {
    let promtool = require_tool("promtool", PROMETHEUS_PACKAGE);
    let (status, report) = output_within(
        Command::new(promtool).args(["check", "metrics"]),
        text.as_bytes(),
    );
    assert!(
        status.success() && report.trim().is_empty(),
        "promtool check metrics: {status} {report}\n--- exposition ---\n{text}"
    );
}

/// A path no route matches, different on every call.
fn random_path() -> String {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    format!("/scan/{:016x}", h.finish())
}

#[tokio::test]
async fn metrics_expose_red_process_build_and_health_families_and_pass_promtool() {
    let app = TestApp::spawn(&[]).await;
    app.hit("/home", 3, 200).await;
    app.hit(&random_path(), 1, 404).await;
    let res = app
        .http
        .delete(format!("{}/home", app.api))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    let home: Value = app.get("/home").await.json().await.unwrap();

    let (content_type, text) = app.scrape().await;
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    let m = Exposition::parse(&text);

    let total = "http_server_requests_total";
    assert_eq!(m.types[total], "counter");
    let get = |route, status| [("method", "GET"), ("route", route), ("status", status)];
    assert_eq!(m.value(total, &get("/home", "200")), 4.0, "{text}");
    assert_eq!(m.value(total, &get("unmatched", "404")), 1.0, "{text}");
    assert_eq!(
        m.value(
            total,
            &[("method", "DELETE"), ("route", "/home"), ("status", "405")]
        ),
        1.0,
        "a wrong method on a known path keeps its route: {text}"
    );
    assert!(!text.contains("/scan/"), "raw paths never become labels");

    let hist = "http_server_request_duration_seconds";
    assert_eq!(m.types[hist], "histogram");
    let buckets = m.find(&format!("{hist}_bucket"), &get("/home", "200"));
    let les: Vec<f64> = buckets
        .iter()
        .map(|s| parse_sample(&format!("x {}", s.labels["le"])).value)
        .collect();
    assert!(les.len() > 2, "buckets: {les:?}");
    assert!(les.windows(2).all(|w| w[0] < w[1]), "sorted: {les:?}");
    assert_eq!(*les.last().unwrap(), f64::INFINITY);
    let counts: Vec<f64> = buckets.iter().map(|s| s.value).collect();
    assert!(
        counts.windows(2).all(|w| w[0] <= w[1]),
        "cumulative: {counts:?}"
    );
    assert_eq!(*counts.last().unwrap(), 4.0);
    assert_eq!(m.value(&format!("{hist}_count"), &get("/home", "200")), 4.0);
    assert!(m.value(&format!("{hist}_sum"), &get("/home", "200")) > 0.0);

    assert_eq!(m.types["http_server_requests_in_flight"], "gauge");
    assert_eq!(
        m.value("http_server_requests_in_flight", &[]),
        0.0,
        "every request finished"
    );

    for family in [
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "process_open_fds",
        "process_start_time_seconds",
    ] {
        assert!(m.types.contains_key(family), "{family} missing: {text}");
    }
    assert!(m.value("process_resident_memory_bytes", &[]) > 0.0);
    assert!(m.value("process_open_fds", &[]) > 0.0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let started = m.value("process_start_time_seconds", &[]);
    assert!(
        started <= now + 1.0 && started > now - 600.0,
        "start time {started} vs now {now}"
    );

    let release = home["release"].as_str().unwrap();
    let commit = home["commit"].as_str().unwrap();
    assert_eq!(
        m.value(
            "atlas_build_info",
            &[("commit", commit), ("version", release)]
        ),
        1.0
    );
    assert_eq!(m.types["health_ready"], "gauge");
    // Nothing here calls /readyz: the gauge must follow readiness on its own (once
    // start-up data has loaded), not wait for a probe to set it.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, text) = app.scrape().await;
        if Exposition::parse(&text).value("health_ready", &[]) == 1.0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "health_ready stayed 0 without a probe: {text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.admin_status("/readyz").await, 200, "and /readyz agrees");

    for family in m.types.keys() {
        assert!(m.helps.contains(family), "{family} has no HELP");
    }
    assert_promtool_clean(&text);
}

#[tokio::test]
async fn fifty_random_paths_share_one_unmatched_series_per_status() {
    let app = TestApp::spawn(&[]).await;
    for _ in 0..50 {
        app.hit(&random_path(), 1, 404).await;
    }
    let res = app
        .http
        .post(format!("{}{}", app.api, random_path()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);

    let (_, text) = app.scrape().await;
    let m = Exposition::parse(&text);
    let unmatched = m.find("http_server_requests_total", &[("route", "unmatched")]);
    let keys: Vec<(&str, &str)> = unmatched
        .iter()
        .map(|s| (s.labels["method"].as_str(), s.labels["status"].as_str()))
        .collect();
    assert_eq!(
        keys,
        [("GET", "404"), ("POST", "404")],
        "one series per method and status: {text}"
    );
    let get_404 = [("method", "GET"), ("route", "unmatched"), ("status", "404")];
    assert_eq!(m.value("http_server_requests_total", &get_404), 50.0);
    assert_eq!(
        m.find(
            "http_server_request_duration_seconds_count",
            &[("route", "unmatched")]
        )
        .len(),
        2
    );
    let routes: BTreeSet<&str> = m
        .samples
        .iter()
        .filter_map(|s| s.labels.get("route").map(String::as_str))
        .collect();
    assert_eq!(routes, BTreeSet::from(["unmatched"]), "{text}");
}

#[tokio::test]
async fn metrics_prefix_applies_to_every_family() {
    let app = TestApp::spawn(&[("ATLAS_METRICS__PREFIX", "acme")]).await;
    app.hit("/home", 1, 200).await;
    let (_, text) = app.scrape().await;
    let m = Exposition::parse(&text);
    for family in m.types.keys() {
        assert!(family.starts_with("acme_"), "{family} is not prefixed");
    }
    assert_eq!(
        m.value(
            "acme_http_server_requests_total",
            &[("method", "GET"), ("route", "/home"), ("status", "200")]
        ),
        1.0
    );
    for family in [
        "acme_process_resident_memory_bytes",
        "acme_atlas_build_info",
        "acme_health_ready",
        "acme_http_server_request_duration_seconds",
    ] {
        assert!(m.types.contains_key(family), "{family} missing: {text}");
    }
    assert_promtool_clean(&text);
}

#[tokio::test]
async fn process_family_switch_drops_process_metrics_only() {
    let app = TestApp::spawn(&[("ATLAS_METRICS__FAMILIES__PROCESS", "false")]).await;
    app.hit("/home", 1, 200).await;
    let (_, text) = app.scrape().await;
    let m = Exposition::parse(&text);
    assert!(m.types.keys().all(|f| !f.starts_with("process_")), "{text}");
    assert!(m.types.contains_key("http_server_requests_total"), "{text}");
    assert!(m.types.contains_key("atlas_build_info"), "{text}");
}

#[tokio::test]
async fn buckets_from_the_config_file_are_exactly_the_le_values() {
    let dir = TempDir::new();
    let file = dir.0.join("atlas.yaml");
    std::fs::write(&file, "metrics:\n  buckets: [0.1, 1]\n").unwrap();
    let app = TestApp::spawn(&[("CONFIG_FILE", file.to_str().unwrap())]).await;
    app.hit("/home", 2, 200).await;
    let (_, text) = app.scrape().await;
    let m = Exposition::parse(&text);
    let buckets = m.find("http_server_request_duration_seconds_bucket", &[]);
    assert!(!buckets.is_empty(), "{text}");
    let les: BTreeSet<&str> = buckets.iter().map(|s| s.labels["le"].as_str()).collect();
    assert_eq!(les, BTreeSet::from(["0.1", "1", "+Inf"]), "{text}");
    assert_promtool_clean(&text);
}

/// A Prometheus server we started; killed by PID and its directory removed on drop.
struct PrometheusServer {
    child: Child,
    url: String,
    http: reqwest::Client,
    dir: TempDir,
}

impl PrometheusServer {
    /// Start Prometheus scraping `target` (host:port) every second as job `atlas`.
    async fn start(target: &str) -> Self {
        let prometheus = require_tool("prometheus", PROMETHEUS_PACKAGE);
        let dir = TempDir::new();
        let template = include_str!("../../../../tests/prometheus/prometheus.yml");
        let config = dir.0.join("prometheus.yml");
        std::fs::write(&config, template.replace("127.0.0.1:8081", target)).unwrap();
        let promtool = require_tool("promtool", PROMETHEUS_PACKAGE);
        let (status, report) = output_within(
            Command::new(promtool)
                .args(["check", "config"])
                .arg(&config),
            b"",
        );
        assert!(status.success(), "promtool check config: {report}");

        let port = free_port();
        let log = std::fs::File::create(dir.0.join("prometheus.log")).unwrap();
        let child = Command::new(prometheus)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.0.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .current_dir(&dir.0)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        podkit::tls::install_default_provider();
        let mut server = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap(),
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = server
                .http
                .get(format!("{}/-/ready", server.url))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            if ready {
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("prometheus exited with {status}:\n{}", server.log());
            }
            assert!(
                Instant::now() < deadline,
                "prometheus not ready in 30s:\n{}",
                server.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.0.join("prometheus.log")).unwrap_or_default()
    }

    /// An instant query; the value of its only result, or `None` while it has none.
    async fn query_one(&self, promql: &str) -> Option<f64> {
        let url = reqwest::Url::parse_with_params(
            &format!("{}/api/v1/query", self.url),
            [("query", promql)],
        )
        .unwrap();
        let body: Value = self.http.get(url).send().await.ok()?.json().await.ok()?;
        assert_eq!(body["status"], "success", "{promql}: {body}");
        let result = body["data"]["result"].as_array()?;
        assert!(result.len() <= 1, "{promql}: one series expected: {body}");
        result.first()?["value"][1].as_str()?.parse().ok()
    }

    /// Poll `promql` (bounded) until its value satisfies `ok`; return that value.
    async fn wait_for(&self, promql: &str, within: Duration, ok: impl Fn(f64) -> bool) -> f64 {
        let deadline = Instant::now() + within;
        let mut last = None;
        loop {
            last = self.query_one(promql).await.or(last);
            if let Some(v) = last.filter(|v| ok(*v)) {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "{promql} stayed {last:?} for {within:?}\n--- prometheus log ---\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

impl Drop for PrometheusServer {
    fn drop(&mut self) {
        // Only the process we started, by its PID; then the directory goes (TempDir).
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[tokio::test]
async fn a_real_prometheus_scrapes_the_admin_port_and_counts_every_request() {
    let app = TestApp::spawn(&[]).await;
    // One request before the first scrape, so the series exists from the start and
    // the traffic below is all increase (a series born mid-window is not extrapolated).
    app.hit("/home", 1, 200).await;
    let target = app.admin.trim_start_matches("http://");
    let prom = PrometheusServer::start(target).await;

    let within = Duration::from_secs(20);
    prom.wait_for(r#"up{job="atlas"}"#, within, |v| v == 1.0)
        .await;
    let counter = r#"sum(http_server_requests_total{job="atlas",route="/home",status="200"})"#;
    prom.wait_for(counter, within, |v| v == 1.0).await;

    const SENT: usize = 200;
    let spacing = Duration::from_millis(30);
    for _ in 0..SENT {
        app.hit("/home", 1, 200).await;
        tokio::time::sleep(spacing).await;
    }
    // Scraped counters are exact: the last scrape must see every request.
    prom.wait_for(counter, within, |v| v == (SENT + 1) as f64)
        .await;

    // increase() extrapolates to the edges of the window. Here the window (1m) holds
    // the whole life of the series, which starts at 1 and has no reset, so the result
    // is at least the true 200; extrapolation adds at most ~one scrape interval over
    // the ≥ 6 s sampled span (≈ +20 %) plus 1/200 for the start edge. [200, 260] is
    // the robust band.
    let increase = prom
        .wait_for(
            r#"sum(increase(http_server_requests_total{job="atlas",route="/home",status="200"}[1m]))"#,
            within,
            |v| v > 0.0,
        )
        .await;
    let sent = SENT as f64;
    eprintln!("prometheus: increase[1m] = {increase} for {SENT} requests");
    assert!(
        (sent - 0.5..=sent * 1.3).contains(&increase),
        "increase {increase} for {SENT} requests"
    );
    let rate = prom
        .wait_for(
            r#"sum(rate(http_server_requests_total{job="atlas",route="/home"}[1m]))"#,
            within,
            |v| v > 0.0,
        )
        .await;
    assert!(rate > 0.0);
    drop(prom);
}
