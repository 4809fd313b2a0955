//! Render the embedded template tree for a set of [`Options`] and write it out.

use std::path::{Path, PathBuf};

use crate::name::ServiceName;
use crate::render::{self, RenderError, Vars};
use crate::template;

/// What the generated service is made of.
#[derive(Debug, Clone)]
pub struct Options {
    /// The service's name.
    pub name: ServiceName,
    /// Its database.
    pub db: Db,
    /// A worker pool with an example job endpoint.
    pub workers: bool,
    /// Where podkit comes from.
    pub podkit: PodkitSource,
}

/// The database a generated service uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Db {
    /// PostgreSQL when `DATABASE_URL` is set, else an embedded SQLite file (sqlx).
    Postgres,
    /// No database.
    None,
}

/// How the generated `Cargo.toml` depends on podkit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodkitSource {
    /// A published version from crates.io.
    Version(String),
    /// A checkout's `crates/podkit` (absolute path).
    Path(PathBuf),
}

/// Why nothing (or not everything) was generated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GenerateError {
    /// The target directory exists and holds files.
    #[error("{0} exists and is not empty; pick another directory or remove it")]
    NotEmpty(PathBuf),
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A template is broken (a bug in podkit-cli).
    #[error("template error (a bug in podkit-cli): {0}")]
    Template(#[from] RenderError),
}

/// One rendered file.
#[derive(Debug, Clone)]
pub struct File {
    /// Relative, `/`-separated.
    pub path: String,
    /// Its contents.
    pub text: String,
    /// Written with the executable bit (as the template file has it).
    pub executable: bool,
}

impl Options {
    /// The placeholder values and flags of these options.
    pub fn vars(&self) -> Vars {
        let n = &self.name;
        let mut v = Vars::default();
        let dep = match &self.podkit {
            PodkitSource::Version(version) => format!("{version:?}"),
            // `{:?}` escapes `\` and `"` the way a TOML basic string wants them.
            PodkitSource::Path(path) => format!("{{ path = {:?} }}", path.display().to_string()),
        };
        v.values.extend([
            ("name", n.as_str().to_string()),
            ("crate", n.snake()),
            ("ENV", n.env_prefix()),
            ("Camel", n.camel()),
            ("camel_lower", n.camel().to_ascii_lowercase()),
            ("podkit_dep", dep),
        ]);
        let db = self.db == Db::Postgres;
        // Shutdown hooks the service registers (the pool, the worker pool): the
        // grace period must cover each one's `hook_timeout` (5 s) on top of the
        // drain delay (5 s), the shutdown timeout (25 s), the OTLP flush (3 s) and
        // a 5 s margin, as the generated deploy/tools/check_policy.py recomputes.
        let hooks = usize::from(db) + usize::from(self.workers);
        let grace = 5 + 25 + 5 * hooks.max(1) + 3 + 5;
        let when_db = |text: &str| if db { text.to_string() } else { String::new() };
        v.values.extend([
            ("hooks", hooks.to_string()),
            ("grace", (grace + 2).to_string()),
            ("secrets_db", when_db(", DATABASE_URL")),
            (
                "dev_db",
                when_db(" against a throwaway in-namespace PostgreSQL"),
            ),
            (
                "quick_db",
                when_db(&format!(", data in ./{}.db (SQLite)", n.as_str())),
            ),
            ("contract_db", when_db(", `db_*`")),
        ]);
        let mut sections = String::from("`greeting`");
        if db {
            sections.push_str(", `database`, `migrate`");
        }
        if self.workers {
            sections.push_str(", `jobs`");
        }
        v.values.insert("config_sections", sections);
        v.flags.extend([("db", db), ("workers", self.workers)]);
        v
    }
}

/// Render every template file for `opts`, in path order; files that render empty
/// are left out. Adds `Cargo.lock` when the kit was built from a checkout.
///
/// # Errors
/// A broken template.
pub fn render_tree(opts: &Options) -> Result<Vec<File>, RenderError> {
    let vars = opts.vars();
    let mut files = Vec::new();
    for (path, text, executable) in template::FILES {
        let text = render::render(path, text, &vars)?;
        if text.trim().is_empty() {
            continue;
        }
        let path = render::substitute(path, &vars).map_err(|reason| RenderError {
            file: path.to_string(),
            line: 0,
            reason,
        })?;
        let path = path.strip_suffix(".tmpl").unwrap_or(&path).to_string();
        files.push(File {
            path,
            text,
            executable: *executable,
        });
    }
    if let Some(lock) = template::LOCK {
        files.push(File {
            path: "Cargo.lock".into(),
            text: lock.to_string(),
            executable: false,
        });
    }
    Ok(files)
}

/// Write the service into `dir`, which must be missing or empty.
///
/// # Errors
/// `dir` holds files, a write failed, or a template is broken.
pub fn generate(dir: &Path, opts: &Options) -> Result<Vec<File>, GenerateError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| GenerateError::Io { path, source }
    };
    match std::fs::read_dir(dir).map(|mut entries| entries.next().is_some()) {
        Ok(true) => return Err(GenerateError::NotEmpty(dir.to_path_buf())),
        Ok(false) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(dir)(e)),
    }
    let files = render_tree(opts)?;
    for file in &files {
        let path = dir.join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::write(&path, &file.text).map_err(io(&path))?;
        if file.executable {
            make_executable(&path).map_err(io(&path))?;
        }
    }
    Ok(files)
}

#[cfg(unix)]
fn make_executable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
}

#[cfg(not(unix))]
fn make_executable(_: &Path) -> std::io::Result<()> {
    Ok(())
}
