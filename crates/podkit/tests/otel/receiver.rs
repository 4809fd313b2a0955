//! The OTLP receiver process (`tests/otlp/receiver.py`) and what it wrote.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

/// The receiver's python, from `tests/otlp/venv.sh` (creates the venv on first use).
pub fn receiver_python() -> String {
    let script = repo_root().join("tests/otlp/venv.sh");
    let out = Command::new("bash")
        .arg(&script)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "the OTLP receiver's venv could not be created by {} (needs python3 with venv \
         and PyPI access); these tests need it and are not skipped.\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The receiver process; killed when dropped.
pub struct Receiver {
    child: Child,
    pub grpc_port: u16,
    pub http_port: u16,
    spans: PathBuf,
}

impl Receiver {
    /// A plain receiver.
    pub fn start(python: &str, dir: &Path) -> Self {
        Self::start_with(python, dir, &[])
    }

    /// A receiver started with extra arguments (`--tls CERT KEY`, `--client-ca CA`).
    pub fn start_with(python: &str, dir: &Path, args: &[&OsStr]) -> Self {
        let spans = dir.join("spans.jsonl");
        let script = repo_root().join("tests/otlp/receiver.py");
        let mut child = Command::new(python)
            .arg(&script)
            .arg(&spans)
            .args(args)
            // gRPC core logs each failed handshake at INFO; the tests count their own.
            .env("GRPC_VERBOSITY", "ERROR")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", script.display()));
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let ports: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("receiver said {line:?}, not its ports: {e}"));
        let port = |k: &str| ports[k].as_u64().unwrap() as u16;
        Self {
            grpc_port: port("grpc_port"),
            http_port: port("http_port"),
            child,
            spans,
        }
    }

    pub fn spans(&self) -> Vec<Value> {
        read_json_lines(&self.spans)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn read_json_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}
