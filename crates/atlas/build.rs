//! Embeds the flag SVGs (see `embed_flags`), the migrations (`embed_migrations`)
//! and the place index (`embed_places`), and bakes the build identity into the binary: `BUILD_RELEASE` (default: the crate
//! version), `BUILD_COMMIT` (default: `git rev-parse --short HEAD`) and `BUILD_TIME`
//! (default: now, RFC 3339). Set them explicitly for reproducible builds; `unset` when
//! unknown.

use std::process::Command;

#[path = "src/places/layout.rs"]
#[allow(dead_code)]
mod layout;

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
    embed_migrations();
    embed_places();
}

/// Lay out the place index from `data/places.tsv` (see `src/places/layout.rs`) and
/// record the data's fingerprint, which start-up compares with the database's.
fn embed_places() {
    println!("cargo:rerun-if-changed=data/places.tsv");
    println!("cargo:rerun-if-changed=src/places/layout.rs");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut b = layout::Builder::default();
    read_places_tsv(&mut b);
    let f = b.fingerprint();
    let t = b.finish();
    let mut code = String::from(
        "/// The place index laid out from data/places.tsv at build time.\n\
         static EMBEDDED: Tables<&[u8], &str> = Tables {\n",
    );
    for (name, bytes) in [
        ("rows", &t.rows[..]),
        ("keys", &t.keys[..]),
        ("zones", &t.zones[..]),
        ("text", t.text.as_bytes()),
    ] {
        let path = out.join(format!("places.{name}"));
        std::fs::write(&path, bytes).expect("write a place table");
        let include = if name == "text" {
            "include_str"
        } else {
            "include_bytes"
        };
        code.push_str(&format!(
            "    {name}: {include}!({:?}),\n",
            path.display().to_string()
        ));
    }
    code.push_str(&format!(
        "}};\n/// The fingerprint of data/places.tsv.\n\
         const EMBEDDED_FINGERPRINT: Fingerprint = Fingerprint {{ count: {}, ids: {}, populations: {}, coordinates: {}, lengths: {} }};\n",
        f.count, f.ids, f.populations, f.coordinates, f.lengths
    ));
    std::fs::write(out.join("places.rs"), code).expect("write places.rs");
}

/// Embed every migration gzip-compressed (the places seed alone is 5 MB of SQL) as
/// a sorted `(file name, kind, gzip bytes)` table; `schema::Catalog` inflates them
/// on use.
///
/// Each `.up.sql` opens with `-- kind: expand` or `-- kind: contract` (see
/// docs/schema-changes.md); a missing or unknown kind fails the build. The line is
/// stripped before embedding, so checksums are those of the SQL below it and did
/// not change for databases migrated before kinds existed.
///
/// `ATLAS_EXTRA_MIGRATIONS` (a directory) adds its migrations to the set: only for
/// a rehearsal build of "the next release" (`scripts/next-release-bin`).
fn embed_migrations() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-env-changed=ATLAS_EXTRA_MIGRATIONS");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut dirs = vec![std::path::PathBuf::from("migrations")];
    if let Some(extra) = std::env::var_os("ATLAS_EXTRA_MIGRATIONS").filter(|d| !d.is_empty()) {
        println!("cargo:rerun-if-changed={}", extra.to_string_lossy());
        dirs.push(extra.into());
    }
    let mut files: Vec<(String, std::path::PathBuf)> = Vec::new();
    for dir in &dirs {
        for entry in std::fs::read_dir(dir)
            .expect("a migrations directory")
            .flatten()
        {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if name.ends_with(".sql") {
                assert!(
                    files.iter().all(|(n, _)| *n != name),
                    "migration {name} is in two directories"
                );
                files.push((name, entry.path()));
            }
        }
    }
    files.sort();
    let mut code = String::from(
        "/// Migrations by file name, with the kind of each `up`, gzip-compressed, sorted.\n\
         pub static MIGRATIONS_GZ: &[(&str, Option<Kind>, &[u8])] = &[\n",
    );
    for (name, path) in &files {
        let sql = std::fs::read_to_string(path).expect("read a migration");
        let (kind, body) = split_kind(name, &sql);
        let gz_path = out.join(format!("{name}.gz"));
        std::fs::write(&gz_path, gzip(body.as_bytes())).expect("write a compressed migration");
        code.push_str(&format!(
            "    ({name:?}, {kind}, include_bytes!({:?})),\n",
            gz_path.display().to_string()
        ));
    }
    code.push_str("];\n");
    std::fs::write(out.join("migrations.rs"), code).expect("write migrations.rs");
}

/// Push every place of `data/places.tsv` (columns found by their header names).
fn read_places_tsv(b: &mut layout::Builder) {
    let tsv = std::fs::read_to_string("data/places.tsv").expect("read data/places.tsv");
    let mut lines = tsv.lines();
    let header: Vec<&str> = lines.next().expect("a header row").split('\t').collect();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("data/places.tsv has no column {name}"))
    };
    let cols = [
        "id",
        "name",
        "ascii_name",
        "search_name",
        "alternate_names",
        "country",
        "admin1",
        "population",
        "latitude",
        "longitude",
        "timezone",
    ]
    .map(column);
    for (n, line) in lines.enumerate().filter(|(_, l)| !l.is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        let get = |i: usize| {
            *f.get(cols[i])
                .unwrap_or_else(|| panic!("data/places.tsv line {}: too few fields", n + 2))
        };
        let num = |i: usize| -> f64 {
            get(i)
                .parse()
                .unwrap_or_else(|e| panic!("data/places.tsv line {}: {e}", n + 2))
        };
        let int = |i: usize| -> i64 {
            get(i)
                .parse()
                .unwrap_or_else(|e| panic!("data/places.tsv line {}: {e}", n + 2))
        };
        b.push(&layout::Input {
            id: int(0),
            name: get(1),
            ascii_name: get(2),
            search_name: get(3),
            alternate_names: get(4),
            country: get(5),
            admin1: get(6),
            population: int(7),
            latitude: num(8),
            longitude: num(9),
            timezone: get(10),
        });
    }
}

/// The kind declared on an up migration's first line (as Rust code) and the SQL
/// after it; down migrations have no kind.
fn split_kind<'s>(name: &str, sql: &'s str) -> (&'static str, &'s str) {
    if !name.ends_with(".up.sql") {
        return ("None", sql);
    }
    let (first, body) = sql.split_once('\n').unwrap_or((sql, ""));
    let kind = match first.trim_end().strip_prefix("-- kind: ") {
        Some("expand") => "Some(Kind::Expand)",
        Some("contract") => "Some(Kind::Contract)",
        _ => panic!(
            "migration {name}: the first line must be `-- kind: expand` or `-- kind: contract`, \
             found {first:?} (see docs/schema-changes.md)"
        ),
    };
    (kind, body)
}

fn env_or(var: &str, fallback: impl FnOnce() -> Option<String>) -> String {
    std::env::var(var)
        .ok()
        .filter(|v| !v.is_empty())
        .or_else(fallback)
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "unset".into())
}

/// Embed the flag SVGs, gzip-compressed, as sorted tables: the 4:3 ones of
/// data/flags as `FLAGS_GZ`, the 1:1 ones of data/flags/1x1 as `FLAGS_1X1_GZ`.
fn embed_flags() {
    println!("cargo:rerun-if-changed=data/flags");
    let mut code = embed_flag_dir("data/flags", "FLAGS_GZ", "4:3");
    code.push_str(&embed_flag_dir("data/flags/1x1", "FLAGS_1X1_GZ", "1:1"));
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("flags.rs"), code).expect("write flags.rs");
}

/// The code of one flag table: every `*.svg` directly in `dir`.
fn embed_flag_dir(dir: &str, name: &str, ratio: &str) -> String {
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
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let gz_dir = out.join(name.to_ascii_lowercase());
    std::fs::create_dir_all(&gz_dir).expect("create a flag directory in OUT_DIR");
    let mut code = format!(
        "/// {ratio} flag SVGs by alpha-2 code, gzip-compressed, sorted.\npub static {name}: &[(&str, &[u8])] = &[\n",
    );
    for (c, p) in &entries {
        let gz_path = gz_dir.join(format!("{c}.svg.gz"));
        std::fs::write(&gz_path, gzip(&std::fs::read(p).expect("read a flag")))
            .expect("write a compressed flag");
        code.push_str(&format!(
            "    ({c:?}, include_bytes!({:?})),\n",
            gz_path.display().to_string()
        ));
    }
    code.push_str("];\n");
    code
}

/// Deterministic gzip (no file name or time in the header).
fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::best());
    gz.write_all(bytes).expect("compress");
    gz.finish().expect("compress")
}
