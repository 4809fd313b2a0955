@@if db@@
//! The connection pool and the migrations in `migrations/` (embedded at build time).
//!
//! One pool type for both backends (`sqlx::Any`): PostgreSQL when `database.url`
//! is set, else the embedded SQLite file. The pool is lazy, so the pod starts while
//! the database is away and readiness reports it.

use std::future::Future;
use std::pin::Pin;

use anyhow::Context as _;
use sqlx::any::AnyPoolOptions;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::AnyPool;

use crate::config::DatabaseConfig;

/// A lazy pool for `cfg`.
///
/// # Errors
/// The URL cannot be parsed.
pub fn connect_lazy(cfg: &DatabaseConfig) -> anyhow::Result<AnyPool> {
    sqlx::any::install_default_drivers();
    AnyPoolOptions::new()
        .max_connections(cfg.max_connections)
        .acquire_timeout(cfg.acquire_timeout)
        .connect_lazy(&cfg.connect_url())
        .context("database.url")
}

/// The migrations, compiled into the binary: version, description, SQL. A new
/// migration is a new file in `migrations/` and a line here; applied ones never change.
const MIGRATIONS: &[(i64, &str, &str)] =
    &[(1, "items", include_str!("../migrations/0001_items.sql"))];

/// [`MIGRATIONS`] as sqlx's migration source (no `sqlx::migrate!`: its macros crate
/// doubles the build).
#[derive(Debug)]
struct Embedded;

impl MigrationSource<'static> for Embedded {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 'static>> {
        let migrations = MIGRATIONS
            .iter()
            .map(|(version, description, sql)| {
                let (description, sql) = ((*description).into(), (*sql).into());
                Migration::new(*version, description, MigrationType::Simple, sql, false)
            })
            .collect();
        Box::pin(async move { Ok(migrations) })
    }
}

/// Apply pending migrations (on PostgreSQL under an advisory lock, so replicas
/// starting together take turns).
///
/// # Errors
/// The database is unreachable or a migration failed.
pub async fn migrate(pool: &AnyPool) -> anyhow::Result<()> {
    let migrator = Migrator::new(Embedded)
        .await
        .context("loading migrations")?;
    migrator.run(pool).await.context("running migrations")
}

/// `@@name@@ migrate`: connect, migrate, close.
///
/// # Errors
/// The database is unreachable or a migration failed; the process exits 1.
pub async fn migrate_task(config: std::sync::Arc<crate::config::Config>) -> anyhow::Result<()> {
    let pool = connect_lazy(&config.service.database)?;
    migrate(&pool).await?;
    pool.close().await;
    tracing::info!("migrations applied");
    Ok(())
}

/// One round trip, for the readiness check.
///
/// # Errors
/// The database did not answer, in words.
pub async fn ping(pool: &AnyPool) -> Result<(), String> {
    sqlx::query("SELECT 1")
        .execute(pool)
        .await
        .map(|_| ())
        .map_err(|e| format!("database: {e}"))
}
@@end@@
