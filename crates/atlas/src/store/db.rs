//! The pool: one code path over PostgreSQL and SQLite (sqlx `Any`), with
//! per-operation metrics and spans.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use podkit::telemetry::metrics::MetricsError;
use podkit::Metrics;
use prometheus::{HistogramVec, IntCounterVec};
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};
use tokio::sync::{Semaphore, SemaphorePermit};
use tracing::Instrument;

use sqlx::postgres::PgConnectOptions;

use super::availability::Availability;
use super::diagnosis::Target;
use super::warm::{Lease, Warm};
use super::{probe, ConnectFailure, Connected, DatabaseUrl, DbError};
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
    /// Connections reads keep between requests, unpinged ([`Db::lease`]).
    warm: Arc<Warm>,
    backend: Backend,
    metrics: Option<DbMetrics>,
    /// Write transactions allowed at once. SQLite allows one writer (a transaction
    /// that reads then writes fails with SQLITE_BUSY instead of waiting), so one;
    /// PostgreSQL half the pool, so writers waiting on row locks can never take
    /// every connection from reads.
    writers: Arc<Semaphore>,
    /// How long a write waits for its turn before the caller gets a 503.
    write_wait: Duration,
    availability: Arc<Availability>,
    /// The SQLite file: open connections keep writing to it after it is deleted
    /// (and the data vanishes at the next start), so writes check it is still there.
    sqlite_file: Option<Arc<PathBuf>>,
    /// PostgreSQL: the URL and time limit for a direct connection that says why
    /// connecting fails ([`Db::probe`]).
    direct: Option<(DatabaseUrl, Duration)>,
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
        if backend == Backend::Sqlite && cfg.url.is_none() {
            create_sqlite_file(&cfg.sqlite_path)?;
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
            // No ping before each acquire: it is a round trip (on SQLite a hand-off to
            // the connection's worker thread) per request, and it proves little, since
            // the connection can break right after. A broken connection fails its
            // query instead; `classify` turns that into a 503 and the fail-fast state,
            // and sqlx's ping when the connection is returned closes it.
            .test_before_acquire(false)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the writer; busy_timeout queues
                        // writers instead of failing them. The page cache is 512 KiB
                        // per connection instead of 2 MiB: the tables requests read
                        // are a few hundred KiB, and the one full scan (the place
                        // fingerprint at start-up) would otherwise leave 2 MiB
                        // resident; the OS page cache holds the file anyway.
                        conn.execute("PRAGMA journal_mode=WAL; PRAGMA busy_timeout=5000; PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-512")
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_lazy_with(options);
        // Reads may use (and keep warm) all but two connections: writes,
        // readiness and imports always find the pool's own.
        let warm = Warm::new(
            pool.clone(),
            cfg.max_connections.saturating_sub(2) as usize,
            cfg.acquire_timeout,
        );
        let metrics = match metrics {
            Some(m) if m.config().families.db => Some(register(m, &pool, &warm)?),
            _ => None,
        };
        let writers = match backend {
            Backend::Sqlite => 1,
            Backend::Postgres => (cfg.max_connections / 2).max(1) as usize,
        };
        Ok(Self {
            pool,
            warm,
            backend,
            metrics,
            writers: Arc::new(Semaphore::new(writers)),
            write_wait: cfg.acquire_timeout,
            availability: Arc::default(),
            sqlite_file: (backend == Backend::Sqlite && cfg.url.is_none())
                .then(|| Arc::new(cfg.sqlite_path.clone())),
            direct: cfg
                .url
                .clone()
                .filter(|u| u.backend() == Backend::Postgres)
                .map(|u| (u, cfg.acquire_timeout)),
        })
    }

    /// The pool, for queries.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A connection for a read, without the pool's pings: call
    /// [`Lease::release`] when the read succeeded; on failure just drop it.
    ///
    /// # Errors
    /// The pool's acquire failed (timeout, connect error).
    pub async fn lease(&self) -> Result<Lease, sqlx::Error> {
        self.warm.lease().await
    }

    /// Idle connections: the pool's plus the warm ones reads keep.
    pub fn idle_connections(&self) -> usize {
        self.pool.num_idle() + self.warm.len()
    }

    /// Which engine.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// PostgreSQL: open one connection outside the pool (bounded by
    /// `database.acquire_timeout`) and report how it went, with the cause in words
    /// when it fails. `None` on SQLite, where there is nothing to reach.
    pub async fn probe(&self) -> Option<Result<Connected, ConnectFailure>> {
        let (url, limit) = self.direct.as_ref()?;
        Some(probe(url, *limit).await)
    }

    /// [`Db::probe`], logging a success once at info (`database connected`, with
    /// the TLS version and cipher).
    ///
    /// # Errors
    /// The probe failed: host, port and the cause in words.
    pub async fn connect_once(&self) -> Result<(), ConnectFailure> {
        match self.probe().await {
            None => Ok(()),
            Some(Ok(connected)) => {
                connected.log();
                Ok(())
            }
            Some(Err(failure)) => Err(failure),
        }
    }

    /// A failure in words: on PostgreSQL, one that happened while connecting
    /// becomes `database host:port: cause`, like the start-up check's.
    pub fn explain(&self, e: &sqlx::Error) -> String {
        let connecting = match e {
            sqlx::Error::Io(_) | sqlx::Error::Tls(_) => true,
            sqlx::Error::Protocol(m) => super::error::closed_before_tls(m),
            sqlx::Error::Database(d) => d
                .code()
                .is_some_and(|c| c.starts_with("28") || c.starts_with("08") || c == "3D000"),
            _ => false,
        };
        let target = self
            .direct
            .as_ref()
            .filter(|_| connecting)
            .and_then(|(url, _)| PgConnectOptions::from_str(url.expose()).ok());
        match target {
            Some(opts) => Target::of(&opts).classify(e).to_string(),
            None => e.to_string(),
        }
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
        if self.availability.is_down() {
            return Err(DbError::Down);
        }
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
        match result {
            Ok(v) => Ok(v),
            Err(e) => Err(self.classify(e)),
        }
    }

    /// Sort a failure; an outage on PostgreSQL starts the fail-fast state.
    fn classify(&self, e: sqlx::Error) -> DbError {
        let err = DbError::from(e);
        if matches!(err, DbError::Unavailable(_)) && self.backend == Backend::Postgres {
            // The warm connections went down with the server: let the pool's
            // ping close them rather than fail one request each later.
            self.warm.drain();
            self.availability.mark_down(&self.pool);
        }
        err
    }

    /// Hold this while running a write transaction: at most one on SQLite, half
    /// the pool on PostgreSQL.
    ///
    /// # Errors
    /// [`DbError::Busy`] when no turn comes within the acquire timeout, and
    /// [`DbError::Down`] while the database is known to be down.
    pub async fn write_permit(&self) -> Result<SemaphorePermit<'_>, DbError> {
        if self.availability.is_down() {
            return Err(DbError::Down);
        }
        if let Some(path) = self.sqlite_file_missing() {
            return Err(DbError::FileGone(path.to_path_buf()));
        }
        match tokio::time::timeout(self.write_wait, self.writers.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            // The semaphore is never closed; a timeout means too many writers.
            _ => Err(DbError::Busy(sqlx::Error::PoolTimedOut)),
        }
    }

    /// A query outside [`Db::run`] (readiness) reached the database.
    pub(super) fn note_reachable(&self) {
        self.availability.mark_up();
    }

    /// The configured SQLite file, when it no longer exists.
    pub fn sqlite_file_missing(&self) -> Option<&Path> {
        self.sqlite_file
            .as_deref()
            .filter(|p| !p.exists())
            .map(PathBuf::as_path)
    }

    /// Close the pool (a shutdown hook).
    pub async fn close(&self) {
        // Mark the pool closed first, so no release can make a connection warm
        // again, then hand back the warm ones it would otherwise wait for.
        let closing = self.pool.close();
        self.warm.drain();
        closing.await;
    }
}

/// Create the embedded SQLite file (and its folder) when missing: an empty file is
/// an empty database.
fn create_sqlite_file(path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
    Ok(())
}

fn register(m: &Metrics, pool: &AnyPool, warm: &Arc<Warm>) -> Result<DbMetrics, MetricsError> {
    let (p, warm) = (pool.clone(), warm.clone());
    m.gauge_fn_vec(
        "db_pool_connections",
        "Database pool connections by state (idle, in_use).",
        "state",
        move || {
            let size = f64::from(p.size());
            let idle = (p.num_idle() + warm.len()) as f64;
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
