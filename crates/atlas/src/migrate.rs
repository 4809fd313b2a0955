//! `atlas migrate up | down [N] | status`.
//!
//! On PostgreSQL the migrator holds an advisory lock while it works, so replicas (or
//! a Job and a pod) starting at once apply each migration exactly once. Every
//! migration runs in its own transaction: it lands whole or not at all.

use std::sync::Arc;

use anyhow::Context as _;
use clap::Subcommand;
use sqlx::migrate::Migrate;
use sqlx::Connection as _;

use crate::config::{Config, DatabaseConfig};
use crate::store::schema::{record_kinds, Window};
use crate::store::{expected_version, Catalog, Db, Kind};

/// What to do.
#[derive(Debug, Clone, Subcommand)]
pub enum Action {
    /// Apply every pending migration.
    Up,
    /// Revert the last N applied migrations (default 1).
    Down {
        /// How many.
        #[arg(default_value_t = 1)]
        n: usize,
    },
    /// List migrations, whether each is applied and its kind, and the window of
    /// binaries that can serve the database.
    Status,
}

/// Run a migration command against the configured database.
///
/// # Errors
/// The database is unreachable (one line: `database host:port: cause`) or a
/// migration failed (it is rolled back).
pub async fn run(config: Arc<Config>, action: Action) -> anyhow::Result<()> {
    let (database, _scratch) = status_source(&config.service.database, &action)?;
    let db = Db::connect_lazy(&database, None)?;
    if let Err(failure) = db.connect_once().await {
        db.close().await;
        return Err(failure.into());
    }
    let result = match action {
        Action::Up => up(&db).await,
        Action::Down { n } => down_with(&db, n, &Catalog::embedded()).await,
        Action::Status => status(&db).await,
    };
    db.close().await;
    result
}

/// Where `action` reads: the configured database, except that `status` on an
/// SQLite file that does not exist reads an empty scratch database instead (every
/// migration pending), removed afterwards: a read-only command must not create the
/// file.
fn status_source(
    cfg: &DatabaseConfig,
    action: &Action,
) -> anyhow::Result<(DatabaseConfig, Option<Scratch>)> {
    let missing = cfg.url.is_none() && !cfg.sqlite_path.exists();
    if !(matches!(action, Action::Status) && missing) {
        return Ok((cfg.clone(), None));
    }
    tracing::info!(
        path = %cfg.sqlite_path.display(),
        "no database yet: every migration is pending ('atlas migrate up', or starting atlas, creates it)"
    );
    let dir = std::env::temp_dir().join(format!("atlas-status-{}", std::process::id()));
    std::fs::create_dir_all(&dir).context("creating a scratch directory")?;
    let scratch = Scratch(dir);
    let cfg = DatabaseConfig {
        sqlite_path: scratch.0.join("empty.db"),
        ..cfg.clone()
    };
    Ok((cfg, Some(scratch)))
}

/// A directory removed when dropped.
struct Scratch(std::path::PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Apply pending migrations (also used at start-up when `migrate.on_start`).
///
/// # Errors
/// The database is unreachable, a migration failed, or the database is newer than
/// this binary by a contract migration.
pub async fn up(db: &Db) -> anyhow::Result<()> {
    up_with(db, &Catalog::embedded()).await
}

/// [`up`] as a binary knowing `catalog` would run it: how a test plays the next
/// release.
///
/// # Errors
/// As [`up`].
pub async fn up_with(db: &Db, catalog: &Catalog) -> anyhow::Result<()> {
    // Nothing pending is the common case at every restart: answer it read-only,
    // without inflating 5 MB of seed SQL the process would then keep in its heap.
    let before = db
        .schema_status_for(catalog)
        .await
        .context("reading the schema version")?;
    let backend = db.backend().name();
    if before.is_newer_and_compatible() {
        // A rollback's migrate Job lands here: the newer release expanded the
        // schema, this one serves it as it is.
        tracing::info!(version = ?before.applied, knows = ?before.expected, backend, "schema is newer than this binary and compatible (expand only); nothing to do");
        return Ok(());
    }
    if before.blocker.is_some() {
        let why = before.verdict().expect_err("a blocker fails the verdict");
        anyhow::bail!("cannot migrate: {why}");
    }
    if before.verdict().is_ok() {
        tracing::info!(version = ?before.applied, backend, "schema is current");
        return Ok(());
    }
    let migrator = catalog.migrator().await?;
    // A connection of its own, closed afterwards: on PostgreSQL closing it also
    // drops the advisory lock, whatever failed in between.
    let mut conn = db.pool().acquire().await.context("connecting")?.detach();
    conn.lock().await.context("taking the migration lock")?;
    // Kinds first, under the lock the migrator takes again (advisory locks nest
    // within a session): every version is applied with its kind already known.
    let result = async {
        record_kinds(&mut conn, catalog)
            .await
            .context("recording migration kinds")?;
        // `run_direct`: `run(&mut conn)` goes through `Acquire`, whose future is
        // not `Send` for every lifetime, and start-up must be `Send`.
        migrator
            .run_direct(&mut conn)
            .await
            .context("applying migrations")
    }
    .await;
    let _ = conn.close().await;
    result?;
    let after = db.schema_status_for(catalog).await?;
    tracing::info!(
        from = before.applied.unwrap_or(0),
        to = after.applied.unwrap_or(0),
        backend,
        "migrations applied"
    );
    Ok(())
}

/// Revert the last `n` applied migrations, which `catalog` must know.
///
/// # Errors
/// Fewer than `n` are applied, or reverting one failed (it is rolled back).
pub async fn down_with(db: &Db, n: usize, catalog: &Catalog) -> anyhow::Result<()> {
    let mut conn = db.pool().acquire().await.context("connecting")?;
    let mut applied: Vec<i64> = conn
        .list_applied_migrations()
        .await?
        .iter()
        .map(|m| m.version)
        .collect();
    drop(conn);
    applied.sort_unstable();
    anyhow::ensure!(
        n <= applied.len(),
        "only {} migrations are applied; cannot revert {n}",
        applied.len()
    );
    let target = if n == applied.len() {
        0
    } else {
        applied[applied.len() - n - 1]
    };
    catalog
        .migrator()
        .await?
        .undo(db.pool(), target)
        .await
        .context("reverting migrations")?;
    tracing::info!(reverted = n, now_at = target, "migrations reverted");
    Ok(())
}

/// Print every migration with its state and kind, then the window: which
/// binaries can serve this database, and whether this one can.
async fn status(db: &Db) -> anyhow::Result<()> {
    let mut conn = db.pool().acquire().await.context("connecting")?;
    conn.ensure_migrations_table().await?;
    let applied = conn.list_applied_migrations().await?;
    drop(conn);
    let catalog = Catalog::embedded();
    let known = catalog.kinds();
    let recorded = db.recorded_kinds().await?;
    let migrator = catalog.migrator().await?;
    for (m, (_, kind)) in migrator
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .zip(&known)
    {
        let state = if applied.iter().any(|a| a.version == m.version) {
            "applied"
        } else {
            "pending"
        };
        println!(
            "{:>4} {state:<8} {:<8} {}",
            m.version,
            kind.as_str(),
            m.description
        );
    }
    let mut window = Vec::new();
    for a in &applied {
        let kind = recorded.get(&a.version).copied();
        if !known.iter().any(|(v, _)| *v == a.version) {
            let word = kind.map_or("?", Kind::as_str);
            println!(
                "{:>4} {:<8} {word:<8} (unknown to this binary)",
                a.version, "applied"
            );
        }
        window.push((a.version, kind));
    }
    window.sort_unstable_by_key(|(v, _)| *v);
    let verdict = db.schema_status().await?.verdict();
    match Window::of(&window) {
        None => println!("window: nothing is applied yet"),
        Some(w) => println!(
            "window: binaries built for schema {}..={} can serve it; this one ({}): {}",
            w.oldest,
            w.newest,
            expected_version().unwrap_or(0),
            verdict.map_or_else(|e| format!("no: {e}"), |()| "yes".to_string())
        ),
    }
    Ok(())
}
