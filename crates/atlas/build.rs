//! Bakes the build identity into the binary: `BUILD_RELEASE` (default: the crate
//! version), `BUILD_COMMIT` (default: `git rev-parse --short HEAD`) and `BUILD_TIME`
//! (default: now, RFC 3339). Set them explicitly for reproducible builds; `unset` when
//! unknown.

use std::process::Command;

fn main() {
    for var in ["BUILD_RELEASE", "BUILD_COMMIT", "BUILD_TIME"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    println!("cargo:rerun-if-changed=../../.git/HEAD");
    println!("cargo:rerun-if-changed=../../.git/refs/heads");

    let release = env_or("BUILD_RELEASE", || std::env::var("CARGO_PKG_VERSION").ok());
    let commit = env_or("BUILD_COMMIT", || {
        let out = Command::new("git")
            .args(["rev-parse", "--short=12", "HEAD"])
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    });
    let time = env_or("BUILD_TIME", || {
        Some(humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string())
    });
    println!("cargo:rustc-env=BUILD_RELEASE={release}");
    println!("cargo:rustc-env=BUILD_COMMIT={commit}");
    println!("cargo:rustc-env=BUILD_TIME={time}");
    println!("cargo:rustc-env=ATLAS_VERSION_LINE=release: {release}, commit: {commit}, buildTime: {time}");
}

fn env_or(var: &str, fallback: impl FnOnce() -> Option<String>) -> String {
    std::env::var(var)
        .ok()
        .filter(|v| !v.is_empty())
        .or_else(fallback)
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "unset".into())
}
