//! What the database says about its schema: sqlx's `_sqlx_migrations` (which
//! versions are applied) and atlas's `atlas_schema_kinds` (the kind of each).
//!
//! A binary cannot know the kind of a migration newer than itself, so the binary
//! that applies one records its kind first, in the same database. It records the
//! kinds of its whole catalog before running the migrator, under the migrator's
//! lock: every applied version has its kind from the moment it lands. A version
//! with no recorded kind (applied by a binary from before schema windows, or by
//! hand) counts as a contract: nothing vouches that older binaries can serve it.

use std::collections::BTreeMap;

use sqlx::AnyConnection;

use super::{Catalog, Kind, SchemaStatus};
use crate::store::{Backend, Db};

/// One row of sqlx's bookkeeping table.
#[derive(sqlx::FromRow)]
struct AppliedRow {
    version: i64,
    ok: i64,
}

/// Record the kind of every migration in `catalog` (creating the table if need
/// be). Run it holding the migrator's lock, on the connection that migrates.
///
/// # Errors
/// The database refused the statement.
pub async fn record_kinds(conn: &mut AnyConnection, catalog: &Catalog) -> Result<(), sqlx::Error> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS atlas_schema_kinds (version BIGINT PRIMARY KEY, kind TEXT NOT NULL)",
    )
    .execute(&mut *conn)
    .await?;
    for (version, kind) in catalog.kinds() {
        sqlx::query(
            "INSERT INTO atlas_schema_kinds (version, kind) VALUES ($1, $2) \
             ON CONFLICT (version) DO UPDATE SET kind = excluded.kind",
        )
        .bind(version)
        .bind(kind.as_str())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

impl Db {
    /// The readiness check: the database answers and its schema is one this
    /// binary can serve.
    ///
    /// # Errors
    /// What is wrong, for the readiness report.
    pub async fn check(&self) -> Result<(), String> {
        if let Some(path) = self.sqlite_file_missing() {
            return Err(format!(
                "the SQLite file {} is gone; restart the pod to create it again, then run `atlas migrate up` (or keep `migrate.on_start`)",
                path.display()
            ));
        }
        // With no idle connection the pool may be failing to open one, and would
        // say only `PoolTimedOut` after its acquire timeout; a direct connection
        // says why (refused, TLS, authentication…) at once.
        if self.idle_connections() == 0 {
            if let Some(Err(failure)) = self.probe().await {
                return Err(failure.to_string());
            }
        }
        let status = self.schema_status().await.map_err(|e| self.explain(&e))?;
        self.note_reachable();
        status.verdict()
    }

    /// Whether a table exists, from the catalog: asking beats reading the error of
    /// a failed query (SQLite has no code for "no such table").
    async fn table_exists(&self, table: &str) -> Result<bool, sqlx::Error> {
        let sql = match self.backend() {
            Backend::Postgres => {
                "SELECT CAST(COUNT(*) AS BIGINT) FROM pg_catalog.pg_class WHERE oid = to_regclass($1)"
            }
            Backend::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1"
            }
        };
        let n: i64 = sqlx::query_scalar(sql)
            .bind(table)
            .fetch_one(self.pool())
            .await?;
        Ok(n > 0)
    }

    /// Applied versions (`true`: it succeeded), oldest first.
    async fn applied(&self) -> Result<Vec<(i64, bool)>, sqlx::Error> {
        // Read-only on purpose: creating the bookkeeping table here would race the
        // migrator, which creates it under its advisory lock.
        if !self.table_exists("_sqlx_migrations").await? {
            return Ok(Vec::new());
        }
        let rows: Vec<AppliedRow> = sqlx::query_as(
            "SELECT version, CAST(CASE WHEN success THEN 1 ELSE 0 END AS BIGINT) AS ok \
             FROM _sqlx_migrations ORDER BY version",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|r| (r.version, r.ok == 1)).collect())
    }

    /// The kinds the database has recorded, by version.
    ///
    /// # Errors
    /// The database cannot be reached.
    pub async fn recorded_kinds(&self) -> Result<BTreeMap<i64, Kind>, sqlx::Error> {
        if !self.table_exists("atlas_schema_kinds").await? {
            return Ok(BTreeMap::new());
        }
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT version, kind FROM atlas_schema_kinds")
                .fetch_all(self.pool())
                .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(v, k)| Some((v, Kind::parse(&k)?)))
            .collect())
    }

    /// Where the schema stands for this binary.
    ///
    /// # Errors
    /// The database cannot be reached.
    pub async fn schema_status(&self) -> Result<SchemaStatus, sqlx::Error> {
        self.schema_status_for(&Catalog::embedded()).await
    }

    /// Where the schema stands for a binary that knows `catalog`.
    ///
    /// # Errors
    /// The database cannot be reached.
    pub async fn schema_status_for(&self, catalog: &Catalog) -> Result<SchemaStatus, sqlx::Error> {
        let applied = self.applied().await?;
        let newest = applied.iter().filter(|(_, ok)| *ok).map(|(v, _)| *v).max();
        // The kinds matter only past what this binary knows: read them then only,
        // which keeps the common readiness probe at two small queries.
        let kinds = match (newest, catalog.latest()) {
            (Some(n), Some(l)) if n > l => self.recorded_kinds().await?,
            _ => BTreeMap::new(),
        };
        Ok(SchemaStatus::assess(catalog, &applied, &kinds))
    }
}
