//! Embeds the flag SVGs (see `embed_flags`) and bakes the build identity into the binary: `BUILD_RELEASE` (default: the crate
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
    embed_flags();
}

fn env_or(var: &str, fallback: impl FnOnce() -> Option<String>) -> String {
    std::env::var(var)
        .ok()
        .filter(|v| !v.is_empty())
        .or_else(fallback)
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "unset".into())
}

/// Embed every flag SVG under data/flags as a sorted `(code, bytes)` table.
fn embed_flags() {
    let dir = std::path::Path::new("data/flags");
    println!("cargo:rerun-if-changed=data/flags");
    let mut entries: Vec<(String, std::path::PathBuf)> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "svg"))
                .filter_map(|p| {
                    Some((
                        p.file_stem()?.to_str()?.to_ascii_uppercase(),
                        p.canonicalize().ok()?,
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    entries.sort();
    let mut code = String::from(
        "/// Flag SVGs by alpha-2 code, sorted.\npub static FLAGS: &[(&str, &[u8])] = &[\n",
    );
    for (c, p) in &entries {
        code.push_str(&format!(
            "    ({c:?}, include_bytes!({:?})),\n",
            p.display().to_string()
        ));
    }
    code.push_str("];\n");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("flags.rs");
    std::fs::write(out, code).expect("write flags.rs");
}
