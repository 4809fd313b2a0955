//! The pool: one code path over PostgreSQL and SQLite (sqlx `Any`), with
//! per-operation metrics and spans.

use std::future::Future;
use std::str::FromStr;
use std::time::Instant;

use podkit::telemetry::metrics::MetricsError;
use podkit::Metrics;
use prometheus::{HistogramVec, IntCounterVec};
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};
use tracing::Instrument;

use super::DbError;
use crate::config::DatabaseConfig;

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

    /// Close the pool (a shutdown hook).
    pub async fn close(&self) {
        self.pool.close().await;
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
