//! OTLP over TLS: the receiver presents a certificate for `localhost` from a test
//! CA, trusted through `OTEL_EXPORTER_OTLP_CERTIFICATE`; with `--client-ca` it also
//! wants the exporter's certificate (`…_CLIENT_CERTIFICATE` / `…_CLIENT_KEY`).

use std::convert::Infallible;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use podkit::cli::KitCommand;
use podkit::config::NoSettings;
use podkit::{App, Loader};

use super::certs::{Ca, Validity};
use super::{
    eventually, otel_env, read_json_lines, run_child, run_scenario, scratch_dir, Pod, Receiver,
    BUILD, PARENT_ID, TRACE_ID,
};

#[test]
fn grpc_over_tls_delivers_spans_to_a_collector_trusted_by_otel_certificate() {
    run_scenario("tls-grpc");
}

#[test]
fn http_protobuf_over_tls_delivers_spans_to_a_collector_trusted_by_otel_certificate() {
    run_scenario("tls-http");
}

#[test]
fn a_grpc_collector_from_another_ca_gets_nothing_and_costs_requests_nothing() {
    run_scenario("tls-wrong-ca-grpc");
}

#[test]
fn an_http_collector_from_another_ca_gets_nothing_and_costs_requests_nothing() {
    run_scenario("tls-wrong-ca-http");
}

#[test]
fn a_grpc_collector_dialled_by_another_name_gets_nothing() {
    run_scenario("tls-wrong-host-grpc");
}

#[test]
fn an_http_collector_dialled_by_another_name_gets_nothing() {
    run_scenario("tls-wrong-host-http");
}

#[test]
fn an_mtls_grpc_collector_gets_spans_from_the_otel_client_certificate() {
    run_scenario("mtls-grpc");
}

#[test]
fn an_mtls_http_collector_gets_spans_from_the_otel_client_certificate() {
    run_scenario("mtls-http");
}

#[test]
fn a_missing_otel_certificate_stops_start_up_with_exit_2_and_one_line_naming_the_key() {
    let out = run_child("tls-missing-certificate");
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("exit {:?}, stderr: {stderr}", out.status.code());
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    assert!(lines[0].contains("otel.certificate"), "{stderr}");
    assert!(lines[0].contains("no-such-ca.pem"), "{stderr}");
}

/// The child-process side of the scenarios above.
pub fn scenario(name: &str, python: &str) {
    match name {
        "tls-grpc" => delivers("grpc", python, false),
        "tls-http" => delivers("http/protobuf", python, false),
        "mtls-grpc" => delivers("grpc", python, true),
        "mtls-http" => delivers("http/protobuf", python, true),
        "tls-wrong-ca-grpc" => refuses("grpc", python, Refusal::UnknownCa),
        "tls-wrong-ca-http" => refuses("http/protobuf", python, Refusal::UnknownCa),
        "tls-wrong-host-grpc" => refuses("grpc", python, Refusal::WrongHost),
        "tls-wrong-host-http" => refuses("http/protobuf", python, Refusal::WrongHost),
        "tls-missing-certificate" => missing_certificate(),
        other => panic!("unknown scenario {other}"),
    }
}

/// A TLS receiver, its CA written to `dir/ca.pem`.
struct TlsReceiver {
    receiver: Receiver,
    ca: Ca,
    ca_file: PathBuf,
}

impl TlsReceiver {
    fn start(python: &str, dir: &Path, mtls: bool) -> Self {
        let ca = Ca::new("collector CA");
        let ca_file = ca.write(dir, "ca.pem");
        let (cert, key) = ca
            .server(&["localhost"], Validity::Current)
            .write(dir, "collector");
        let mut args = vec![OsStr::new("--tls"), cert.as_os_str(), key.as_os_str()];
        if mtls {
            args.extend([OsStr::new("--client-ca"), ca_file.as_os_str()]);
        }
        let receiver = Receiver::start_with(python, dir, &args);
        Self {
            receiver,
            ca,
            ca_file,
        }
    }

    /// `OTEL_*` for an https endpoint of this receiver, trusting `ca_file`.
    fn env(&self, protocol: &str, ca_file: &Path) -> Vec<(&'static str, String)> {
        self.env_at("localhost", protocol, ca_file)
    }

    /// The same, dialling the receiver as `host`.
    fn env_at(&self, host: &str, protocol: &str, ca_file: &Path) -> Vec<(&'static str, String)> {
        let port = match protocol {
            "grpc" => self.receiver.grpc_port,
            _ => self.receiver.http_port,
        };
        let mut env = otel_env(format!("https://{host}:{port}"), protocol);
        env.push((
            "OTEL_EXPORTER_OTLP_CERTIFICATE",
            ca_file.display().to_string(),
        ));
        env
    }
}

fn delivers(protocol: &str, python: &str, mtls: bool) {
    let dir = scratch_dir();
    let tls = TlsReceiver::start(python, &dir, mtls);
    let mut env = tls.env(protocol, &tls.ca_file);
    if mtls {
        let (cert, key) = tls.ca.client("kit-otel-test").write(&dir, "client");
        env.push((
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
            cert.display().to_string(),
        ));
        env.push(("OTEL_EXPORTER_OTLP_CLIENT_KEY", key.display().to_string()));
    }
    let pod = Pod::start(&dir, &env);
    let traceparent = format!("00-{TRACE_ID}-{PARENT_ID}-01");
    assert_eq!(pod.get("/items/7", Some(&traceparent)), 200);
    let stopped_in = pod.stop();
    assert!(
        stopped_in < Duration::from_secs(5),
        "stop took {stopped_in:?}"
    );
    let span = eventually(Duration::from_secs(5), || {
        let spans = tls.receiver.spans();
        spans.into_iter().find(|s| s["trace_id"] == TRACE_ID)
    })
    .unwrap_or_else(|| panic!("no span over TLS; got {:#?}", tls.receiver.spans()));
    assert_eq!(span["name"], "GET /items/{id}", "{span:#}");
    assert_eq!(span["parent_span_id"], PARENT_ID, "{span:#}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Why the exporter must refuse the collector.
#[derive(Clone, Copy, Debug)]
enum Refusal {
    /// Its certificate comes from a CA the exporter does not trust.
    UnknownCa,
    /// It is dialled as 127.0.0.1; its certificate names only `localhost`.
    WrongHost,
}

fn refuses(protocol: &str, python: &str, why: Refusal) {
    let dir = scratch_dir();
    let tls = TlsReceiver::start(python, &dir, false);
    let env = match why {
        Refusal::UnknownCa => {
            let other = Ca::new("some other CA").write(&dir, "other-ca.pem");
            tls.env(protocol, &other)
        }
        Refusal::WrongHost => tls.env_at("127.0.0.1", protocol, &tls.ca_file),
    };
    let pod = Pod::start(&dir, &env);

    let mut slowest = Duration::ZERO;
    for i in 0..20 {
        let t = Instant::now();
        assert_eq!(pod.get(&format!("/items/{i}"), None), 200);
        slowest = slowest.max(t.elapsed());
        // Spread over a few batch intervals, so exports fail while requests run.
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("{protocol} collector refused ({why:?}): slowest request {slowest:?}");
    assert!(slowest < Duration::from_millis(500), "{slowest:?}");

    let log = pod.log.clone();
    let stopped_in = pod.stop();
    eprintln!("{protocol} collector refused ({why:?}): stopped in {stopped_in:?}");
    assert!(
        stopped_in < podkit::telemetry::otel::SHUTDOWN_BUDGET + Duration::from_secs(2),
        "stop took {stopped_in:?}"
    );
    assert!(
        tls.receiver.spans().is_empty(),
        "an untrusted collector gets no span"
    );
    let failures: Vec<String> = read_json_lines(&log)
        .into_iter()
        .filter(|l| {
            let message = l["message"].as_str().unwrap_or("");
            message.starts_with("span export failed")
        })
        .map(|l| l.to_string())
        .collect();
    eprintln!("{protocol} export failures logged: {failures:#?}");
    assert_eq!(failures.len(), 1, "logged once: {failures:#?}");
    // tonic names the refusal itself; the HTTP exporter says "network error", so
    // podkit adds the certificate's refusal in words.
    let (field, want) = match (protocol, why) {
        ("grpc", Refusal::UnknownCa) => {
            ("error.message", "invalid peer certificate: UnknownIssuer")
        }
        ("grpc", Refusal::WrongHost) => ("error.message", "not valid for name"),
        (_, Refusal::UnknownCa) => (
            "error.cause",
            "TLS: the server's certificate is signed by an unknown CA",
        ),
        (_, Refusal::WrongHost) => (
            "error.cause",
            "TLS: the server's certificate is not valid for host name 127.0.0.1",
        ),
    };
    let line: serde_json::Value = serde_json::from_str(&failures[0]).unwrap();
    let said = line[field].as_str().unwrap_or_default();
    assert!(said.contains(want), "{field} says why: {line:#}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Start-up with `otel.certificate` naming no file: exits this process with the
/// App's exit code, its one stderr line left for the parent to read.
fn missing_certificate() {
    let dir = scratch_dir();
    let mut env = otel_env("https://localhost:4317".into(), "grpc");
    env.push((
        "OTEL_EXPORTER_OTLP_CERTIFICATE",
        dir.join("no-such-ca.pem").display().to_string(),
    ));
    env.extend([
        ("HOST", "127.0.0.1".to_string()),
        ("PORT", "0".to_string()),
        ("ADMIN_PORT", "0".to_string()),
    ]);
    let config = Loader::new("KITTEST")
        .with_env(env)
        .load::<NoSettings>()
        .unwrap();
    let code = App::new(BUILD, config).run(KitCommand::Serve, |_ctx| async {
        Ok::<_, Infallible>(axum::Router::new())
    });
    let _ = std::fs::remove_dir_all(&dir);
    let two = format!("{code:?}") == format!("{:?}", ExitCode::from(2));
    std::process::exit(if two { 2 } else { 1 });
}
