//! The schema: migrations embedded in the binary, and where the database stands.

use sqlx::migrate::Migrator;

use super::{Backend, Db};

include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

/// Every migration this binary knows, embedded gzip-compressed at build time and
/// inflated only while migrating (the places seed is 5 MB of SQL; a pod should not
/// carry it in memory). The SQL is portable: the same files run on PostgreSQL and
/// SQLite, and checksums are those of the plain files.
///
/// # Errors
/// Never for a binary that built: the embedded files are valid gzip and UTF-8.
pub async fn migrator() -> Result<Migrator, sqlx::migrate::MigrateError> {
    Migrator::new(Embedded).await
}

/// The embedded migrations as an sqlx migration source.
#[derive(Debug)]
struct Embedded;

impl<'s> sqlx::migrate::MigrationSource<'s> for Embedded {
    fn resolve(
        self,
    ) -> futures_util::future::BoxFuture<
        's,
        Result<Vec<sqlx::migrate::Migration>, sqlx::error::BoxDynError>,
    > {
        Box::pin(async move {
            use sqlx::migrate::{Migration, MigrationType};
            use std::io::Read;
            let mut migrations = Vec::new();
            for (name, gz) in MIGRATIONS_GZ {
                let bad = || format!("unexpected migration file name {name:?}");
                let (version, rest) = name.split_once('_').ok_or_else(bad)?;
                let (description, kind) = if let Some(d) = rest.strip_suffix(".up.sql") {
                    (d, MigrationType::ReversibleUp)
                } else if let Some(d) = rest.strip_suffix(".down.sql") {
                    (d, MigrationType::ReversibleDown)
                } else {
                    return Err(bad().into());
                };
                let mut sql = String::new();
                flate2::read::GzDecoder::new(*gz).read_to_string(&mut sql)?;
                let version: i64 = version.parse()?;
                migrations.push(Migration::new(
                    version,
                    description.replace('_', " ").into(),
                    kind,
                    sql.into(),
                    false,
                ));
            }
            migrations.sort_by_key(|m| m.version);
            Ok(migrations)
        })
    }
}

/// The newest migration version this binary knows, without inflating anything.
pub fn expected_version() -> Option<i64> {
    MIGRATIONS_GZ
        .iter()
        .filter_map(|(n, _)| n.split_once('_')?.0.parse().ok())
        .max()
}

/// How many (up) migrations this binary ships.
pub fn migration_count() -> usize {
    MIGRATIONS_GZ
        .iter()
        .filter(|(n, _)| n.ends_with(".up.sql"))
        .count()
}

/// One row of sqlx's bookkeeping table.
#[derive(sqlx::FromRow)]
struct AppliedRow {
    version: i64,
    ok: i64,
}

impl Db {
    /// The readiness check: the database answers and its schema is the one this
    /// binary expects.
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
        if self.pool().num_idle() == 0 {
            if let Some(Err(failure)) = self.probe().await {
                return Err(failure.to_string());
            }
        }
        let status = self.schema_status().await.map_err(|e| self.explain(&e))?;
        self.note_reachable();
        status.verdict()
    }

    /// Whether sqlx's bookkeeping table exists, from the catalog: asking beats
    /// reading the error of a failed query (SQLite has no code for "no such table").
    async fn migrations_table_exists(&self) -> Result<bool, sqlx::Error> {
        let sql = match self.backend() {
            Backend::Postgres => {
                "SELECT CAST(COUNT(*) AS BIGINT) FROM pg_catalog.pg_class \
                 WHERE oid = to_regclass('_sqlx_migrations')"
            }
            Backend::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
            }
        };
        let n: i64 = sqlx::query_scalar(sql).fetch_one(self.pool()).await?;
        Ok(n > 0)
    }

    /// Applied vs expected schema versions.
    ///
    /// # Errors
    /// The database cannot be reached.
    pub async fn schema_status(&self) -> Result<SchemaStatus, sqlx::Error> {
        // Read-only on purpose: creating the bookkeeping table here would race the
        // migrator, which creates it under its advisory lock.
        let rows: Vec<AppliedRow> = if self.migrations_table_exists().await? {
            sqlx::query_as(
                "SELECT version, CAST(CASE WHEN success THEN 1 ELSE 0 END AS BIGINT) AS ok FROM _sqlx_migrations",
            )
            .fetch_all(self.pool())
            .await?
        } else {
            Vec::new()
        };
        let applied = rows.iter().filter(|r| r.ok == 1).map(|r| r.version).max();
        let dirty = rows.iter().find(|r| r.ok != 1).map(|r| r.version);
        Ok(SchemaStatus {
            applied,
            expected: expected_version(),
            dirty,
        })
    }
}

/// Where the schema stands.
#[derive(Debug, Clone, Copy)]
pub struct SchemaStatus {
    /// Highest applied version.
    pub applied: Option<i64>,
    /// Highest version this binary knows.
    pub expected: Option<i64>,
    /// A migration that failed half-way.
    pub dirty: Option<i64>,
}

impl SchemaStatus {
    /// `Ok` when the schema is exactly what this binary expects.
    ///
    /// # Errors
    /// What is wrong and what to run.
    pub fn verdict(&self) -> Result<(), String> {
        if let Some(v) = self.dirty {
            return Err(format!(
                "migration {v} failed part-way; fix it and run `atlas migrate up`"
            ));
        }
        match (self.applied, self.expected) {
            (a, e) if a == e => Ok(()),
            (Some(a), Some(e)) if a > e => Err(format!(
                "schema version {a} is newer than this binary knows ({e}); roll forward the binary or `atlas migrate down` with the newer one"
            )),
            (a, Some(e)) => Err(format!(
                "schema version {} is behind this binary ({e}); run `atlas migrate up`",
                a.map_or("none".to_string(), |a| a.to_string())
            )),
            (_, None) => Ok(()),
        }
    }
}
