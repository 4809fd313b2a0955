//! The database: one code path over PostgreSQL and SQLite (sqlx `Any`), with
//! per-operation metrics and spans, and errors sorted by who can fix them.

use std::future::Future;
use std::str::FromStr;
use std::time::Instant;

use podkit::telemetry::metrics::MetricsError;
use podkit::Metrics;
use prometheus::{HistogramVec, IntCounterVec};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};
use tracing::Instrument;

use crate::config::DatabaseConfig;

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

/// Which engine is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL (production).
    Postgres,
    /// Embedded SQLite (the zero-setup default).
    Sqlite,
}

impl Backend {
    /// The engine a URL names.
    ///
    /// # Errors
    /// An unsupported scheme.
    pub fn of(url: &str) -> Result<Self, String> {
        match url.split(':').next() {
            Some("postgres" | "postgresql") => Ok(Backend::Postgres),
            Some("sqlite") => Ok(Backend::Sqlite),
            other => Err(format!(
                "unsupported database scheme {:?}: expected postgres:// or sqlite://",
                other.unwrap_or("")
            )),
        }
    }

    /// The `db.system` name.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "postgresql",
            Backend::Sqlite => "sqlite",
        }
    }
}

/// A database failure, by who can fix it.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database cannot be reached or the pool is exhausted: retry later.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// A unique or foreign-key constraint refused the write.
    #[error("constraint violated: {0}")]
    Conflict(#[source] sqlx::Error),
    /// Anything else: a bug or a broken schema.
    #[error("database error: {0}")]
    Unexpected(#[source] sqlx::Error),
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        use sqlx::error::ErrorKind;
        match &e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => DbError::Unavailable(e),
            sqlx::Error::Database(d) => match d.kind() {
                ErrorKind::UniqueViolation | ErrorKind::ForeignKeyViolation => DbError::Conflict(e),
                // PostgreSQL class 08 (connection exception), 57P01..03 (shutdown,
                // cannot connect now): the server is going away, not our query.
                _ if d
                    .code()
                    .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")) =>
                {
                    DbError::Unavailable(e)
                }
                _ => DbError::Unexpected(e),
            },
            _ => DbError::Unexpected(e),
        }
    }
}

#[derive(Clone)]
struct DbMetrics {
    queries: IntCounterVec,
    errors: IntCounterVec,
    duration: HistogramVec,
}

/// The pool plus what the service needs to know about it.
#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    metrics: Option<DbMetrics>,
    /// SQLite allows one writer; a transaction that reads and then writes fails with
    /// SQLITE_BUSY instead of waiting when another writer holds the lock. Queueing
    /// writers here turns that into a short wait. `None` for PostgreSQL.
    writer: Option<std::sync::Arc<tokio::sync::Mutex<()>>>,
}

impl Db {
    /// Create the pool lazily: the pod starts while the database is down, and
    /// readiness reports the outage until it returns.
    ///
    /// # Errors
    /// A malformed URL or unsupported scheme.
    pub fn connect_lazy(cfg: &DatabaseConfig, metrics: Option<&Metrics>) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let url = cfg.connect_url();
        let backend = Backend::of(&url).map_err(anyhow::Error::msg)?;
        if backend == Backend::Sqlite {
            if let Some(dir) = cfg
                .sqlite_path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir)?;
            }
        }
        let options = sqlx::any::AnyConnectOptions::from_str(&url).map_err(|e| {
            anyhow::anyhow!(
                "invalid database url {}: {e}",
                podkit::config::redact_url(&url)
            )
        })?;
        let pool = AnyPoolOptions::new()
            .max_connections(cfg.max_connections)
            .acquire_timeout(cfg.acquire_timeout)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the writer; busy_timeout queues
                        // writers instead of failing them.
                        conn.execute("PRAGMA journal_mode=WAL; PRAGMA busy_timeout=5000; PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL")
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_lazy_with(options);
        let metrics = match metrics {
            Some(m) if m.config().families.db => Some(register(m, &pool)?),
            _ => None,
        };
        let writer = (backend == Backend::Sqlite).then(Default::default);
        Ok(Self {
            pool,
            backend,
            metrics,
            writer,
        })
    }

    /// The pool, for queries.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Which engine.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Run one named operation with a span (`db.operation.name`), metrics, and
    /// error classification.
    pub async fn run<T, F>(&self, operation: &'static str, fut: F) -> Result<T, DbError>
    where
        F: Future<Output = Result<T, sqlx::Error>>,
    {
        let span = tracing::info_span!(
            "db.query",
            otel.name = operation,
            otel.kind = "client",
            db.system = self.backend.name(),
            db.operation.name = operation,
        );
        let start = Instant::now();
        let result = fut.instrument(span).await;
        if let Some(m) = &self.metrics {
            m.queries.with_label_values(&[operation]).inc();
            m.duration
                .with_label_values(&[operation])
                .observe(start.elapsed().as_secs_f64());
            if result.is_err() {
                m.errors.with_label_values(&[operation]).inc();
            }
        }
        result.map_err(DbError::from)
    }

    /// Hold this while running a write transaction (a no-op on PostgreSQL).
    pub async fn write_permit(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match &self.writer {
            Some(m) => Some(m.lock().await),
            None => None,
        }
    }

    /// The readiness check: the database answers and its schema is the one this
    /// binary expects.
    pub async fn check(&self) -> Result<(), String> {
        let status = self.schema_status().await.map_err(|e| e.to_string())?;
        status.verdict()
    }

    /// Applied vs expected schema versions.
    ///
    /// # Errors
    /// The database cannot be reached.
    pub async fn schema_status(&self) -> Result<SchemaStatus, sqlx::Error> {
        use sqlx::Row;
        // Read-only on purpose: creating the bookkeeping table here would race the
        // migrator, which creates it under its advisory lock.
        let rows = sqlx::query(
            "SELECT version, CAST(CASE WHEN success THEN 1 ELSE 0 END AS BIGINT) AS ok FROM _sqlx_migrations",
        )
        .fetch_all(&self.pool)
        .await;
        let rows = match rows {
            Ok(rows) => rows,
            Err(sqlx::Error::Database(e))
                if e.code().as_deref() == Some("42P01")
                    || e.message().contains("no such table") =>
            {
                Vec::new()
            }
            Err(e) => return Err(e),
        };
        let mut applied = None;
        let mut dirty = None;
        for r in &rows {
            let v: i64 = r.try_get("version")?;
            if r.try_get::<i64, _>("ok")? == 1 {
                applied = applied.max(Some(v));
            } else {
                dirty = Some(v);
            }
        }
        Ok(SchemaStatus {
            applied,
            expected: expected_version(),
            dirty,
        })
    }

    /// Close the pool (a shutdown hook).
    pub async fn close(&self) {
        self.pool.close().await;
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

fn register(m: &Metrics, pool: &AnyPool) -> Result<DbMetrics, MetricsError> {
    let p = pool.clone();
    m.gauge_fn_vec(
        "db_pool_connections",
        "Database pool connections by state (idle, in_use).",
        "state",
        move || {
            let size = f64::from(p.size());
            let idle = p.num_idle() as f64;
            vec![
                ("idle".into(), idle),
                ("in_use".into(), (size - idle).max(0.0)),
            ]
        },
    )?;
    let max = f64::from(pool.options().get_max_connections());
    m.gauge_fn(
        "db_pool_max_connections",
        "Database pool size limit.",
        move || max,
    )?;
    Ok(DbMetrics {
        queries: m.counter_vec(
            "db_queries_total",
            "Database operations run, by operation name.",
            &["operation"],
        )?,
        errors: m.counter_vec(
            "db_query_errors_total",
            "Database operations that failed, by operation name.",
            &["operation"],
        )?,
        duration: m.histogram_vec(
            "db_query_duration_seconds",
            "Time per database operation, in seconds.",
            &["operation"],
        )?,
    })
}

/// Read an optional text column (Any maps NULL to `None`).
pub fn opt_text(row: &AnyRow, col: &str) -> Result<Option<String>, sqlx::Error> {
    use sqlx::Row;
    row.try_get::<Option<String>, _>(col)
}
