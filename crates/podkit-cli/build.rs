//! Embeds the template tree (`template/`) as `(path, text)` pairs, and this
//! workspace's `Cargo.lock` when there is one, so a generated service resolves the
//! same dependency versions the kit was tested with.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let template = root.join("template");
    println!("cargo:rerun-if-changed={}", template.display());
    let mut files = Vec::new();
    walk(&template, &mut files);
    files.sort();
    let mut code = String::from(
        "/// The template tree: path (relative, `/`-separated), text, executable bit.\n",
    );
    code.push_str("pub static FILES: &[(&str, &str, bool)] = &[\n");
    for path in &files {
        let rel = path.strip_prefix(&template).expect("walked from template");
        let rel = rel
            .to_str()
            .expect("template paths are UTF-8")
            .replace('\\', "/");
        let exec = executable(path);
        let abs = path.display().to_string();
        writeln!(code, "    ({rel:?}, include_str!({abs:?}), {exec}),").unwrap();
    }
    code.push_str("];\n");
    let lock = root.join("../../Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    code.push_str("/// The workspace's `Cargo.lock`, when built from a checkout.\n");
    if lock.is_file() {
        let lock = lock.canonicalize().expect("the lock file exists");
        writeln!(
            code,
            "pub static LOCK: Option<&str> = Some(include_str!({:?}));",
            lock.display().to_string()
        )
        .unwrap();
    } else {
        code.push_str("pub static LOCK: Option<&str> = None;\n");
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it"));
    std::fs::write(out.join("template_files.rs"), code).expect("OUT_DIR is writable");
}

#[cfg(unix)]
fn executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .expect("template file")
        .permissions()
        .mode();
    mode & 0o111 != 0
}

#[cfg(not(unix))]
fn executable(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "sh")
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("template/ is readable") {
        let path = entry.expect("template/ is readable").path();
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}
