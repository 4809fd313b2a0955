//! `atlas migrate up | down [N] | status`.
//!
//! On PostgreSQL the migrator holds an advisory lock while it works, so replicas (or
//! a Job and a pod) starting at once apply each migration exactly once. Every
//! migration runs in its own transaction: it lands whole or not at all.

use std::sync::Arc;

use anyhow::Context as _;
use clap::Subcommand;
use sqlx::migrate::Migrate;

use crate::config::Config;
use crate::store::{migrator, Db};

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
    /// List migrations and whether each is applied.
    Status,
}

/// Run a migration command against the configured database.
///
/// # Errors
/// The database is unreachable (one line: `database host:port: cause`) or a
/// migration failed (it is rolled back).
pub async fn run(config: Arc<Config>, action: Action) -> anyhow::Result<()> {
    let db = Db::connect_lazy(&config.service.database, None)?;
    if let Err(failure) = db.connect_once().await {
        db.close().await;
        return Err(failure.into());
    }
    let result = match action {
        Action::Up => up(&db).await,
        Action::Down { n } => down(&db, n).await,
        Action::Status => status(&db).await,
    };
    db.close().await;
    result
}

/// Apply pending migrations (also used at start-up when `migrate.on_start`).
///
/// # Errors
/// The database is unreachable or a migration failed.
pub async fn up(db: &Db) -> anyhow::Result<()> {
    // Nothing pending is the common case at every restart: answer it read-only,
    // without inflating 5 MB of seed SQL the process would then keep in its heap.
    let before = db
        .schema_status()
        .await
        .context("reading the schema version")?;
    if before.dirty.is_none() && before.applied == before.expected {
        tracing::info!(version = ?before.applied, backend = db.backend().name(), "schema is current");
        return Ok(());
    }
    // The migrator takes the advisory lock first, then refuses a database that has
    // versions this binary does not know (a newer schema).
    migrator()
        .await?
        .run(db.pool())
        .await
        .context("applying migrations")?;
    let after = db.schema_status().await?;
    tracing::info!(from = ?before.applied, to = ?after.applied, backend = db.backend().name(), "migrations applied");
    Ok(())
}

async fn down(db: &Db, n: usize) -> anyhow::Result<()> {
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
    migrator()
        .await?
        .undo(db.pool(), target)
        .await
        .context("reverting migrations")?;
    tracing::info!(reverted = n, now_at = target, "migrations reverted");
    Ok(())
}

async fn status(db: &Db) -> anyhow::Result<()> {
    let mut conn = db.pool().acquire().await.context("connecting")?;
    conn.ensure_migrations_table().await?;
    let applied = conn.list_applied_migrations().await?;
    let known = migrator().await?;
    for m in known.iter().filter(|m| m.migration_type.is_up_migration()) {
        let state = if applied.iter().any(|a| a.version == m.version) {
            "applied"
        } else {
            "pending"
        };
        println!("{:>4} {:<8} {}", m.version, state, m.description);
    }
    for a in applied.iter().filter(|a| !known.version_exists(a.version)) {
        println!("{:>4} {:<8} (unknown to this binary)", a.version, "applied");
    }
    Ok(())
}
