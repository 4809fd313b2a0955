//! Bakes the build identity into the binary (`--version`, the admin `/info`):
//! `BUILD_RELEASE` (default: the crate version), `BUILD_COMMIT` (default: `git
//! rev-parse`) and `BUILD_TIME` (default: now). Set them for reproducible builds.

use std::process::Command;

fn main() {
    for var in ["BUILD_RELEASE", "BUILD_COMMIT", "BUILD_TIME"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
@@if db@@
    println!("cargo:rerun-if-changed=migrations");
@@end@@
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
    println!(
        "cargo:rustc-env=VERSION_LINE=release: {release}, commit: {commit}, buildTime: {time}"
    );
}

fn env_or(var: &str, default: impl FnOnce() -> Option<String>) -> String {
    std::env::var(var)
        .ok()
        .filter(|v| !v.is_empty())
        .or_else(default)
        .unwrap_or_else(|| "unset".into())
}
