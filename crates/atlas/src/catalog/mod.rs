//! Reference data served from memory: countries, currencies and subdivisions live in an
//! immutable [`Snapshot`] that reads share without touching the database.
//!
//! - A write on this replica refreshes the snapshot before it answers (a client
//!   reads its own write), then announces the change.
//! - On PostgreSQL every replica `LISTEN`s on [`CHANNEL`](crate::store::catalog::CHANNEL)
//!   and refreshes when another one announces ([`follow`]); a missed announcement
//!   (the listening connection dropped) and a write whose announcement was lost are
//!   covered by a refresh on reconnect and a periodic one.
//! - Until the first load succeeds, or after a refresh failed, there is no
//!   snapshot and reads go to the database, which answers (or fails) as before.
//! - `api.cache: false` turns all of it off: every read is a query.

mod follow;
pub(crate) mod snapshot;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arc_swap::ArcSwapOption;

pub use follow::follow;
pub use snapshot::{Counts, Encoded, Snapshot};

use crate::store::{self, Db, DbError};

/// The snapshot handle: cheap to clone, shared by every request.
#[derive(Clone, Default)]
pub struct Catalog {
    inner: Option<Arc<Inner>>,
}

struct Inner {
    db: Db,
    current: ArcSwapOption<Snapshot>,
    /// When the current snapshot was read (none: no snapshot).
    read_at: Mutex<Option<Instant>>,
    /// One refresh at a time, so an older read can never replace a newer one.
    refreshing: tokio::sync::Mutex<()>,
    /// Writes committed so far (each takes the next number after its commit).
    written: AtomicU64,
    /// Writes the current snapshot is known to include: those numbered before the
    /// read that built it started.
    covered: AtomicU64,
}

impl Catalog {
    /// Off: every read goes to the database.
    pub fn off() -> Self {
        Self::default()
    }

    /// On, empty until [`refresh`](Self::refresh) first succeeds; with `metrics`,
    /// `catalog_snapshot_items{kind}` (0 while there is no snapshot) and
    /// `catalog_snapshot_age_seconds` (-1 then).
    ///
    /// # Errors
    /// The metrics are already registered.
    pub fn new(db: Db, metrics: Option<&podkit::Metrics>) -> anyhow::Result<Self> {
        let inner = Arc::new(Inner {
            db,
            current: ArcSwapOption::empty(),
            read_at: Mutex::new(None),
            refreshing: tokio::sync::Mutex::new(()),
            written: AtomicU64::new(0),
            covered: AtomicU64::new(0),
        });
        if let Some(m) = metrics {
            register(m, &inner)?;
        }
        Ok(Self { inner: Some(inner) })
    }

    /// The current snapshot, if the cache is on and loaded.
    pub fn snapshot(&self) -> Option<Arc<Snapshot>> {
        self.inner.as_ref()?.current.load_full()
    }

    /// Whether the cache is on (loaded or not).
    pub fn is_on(&self) -> bool {
        self.inner.is_some()
    }

    /// Read everything again and swap it in. On failure the snapshot is dropped,
    /// so reads go to the database rather than serve data that may be stale.
    ///
    /// # Errors
    /// The database read failed.
    pub async fn refresh(&self) -> Result<(), DbError> {
        let Some(inner) = &self.inner else {
            return Ok(());
        };
        let _one = inner.refreshing.lock().await;
        reload(inner).await
    }

    /// After a committed write: refresh this replica's snapshot, then tell the
    /// others. Failures are logged, not returned: the write itself succeeded, and
    /// a dropped snapshot means reads go to the database until the next refresh.
    ///
    /// Writes at once share refreshes: a write waits for a read that started after
    /// its commit, and only starts one itself if none did. Under a burst of N
    /// writes that is two or three reloads, not N in a row.
    pub async fn changed(&self) {
        let Some(inner) = &self.inner else {
            return;
        };
        let mine = inner.written.fetch_add(1, Ordering::SeqCst) + 1;
        let refreshed = {
            let _one = inner.refreshing.lock().await;
            if inner.covered.load(Ordering::SeqCst) >= mine {
                Ok(())
            } else {
                reload(inner).await
            }
        };
        if let Err(e) = refreshed {
            tracing::warn!(error.message = %e, "catalog snapshot not refreshed after a write; reads go to the database until it is");
        }
        if let Err(e) = store::catalog::announce(&inner.db).await {
            tracing::warn!(error.message = %e, "catalog change not announced to other replicas; they pick it up at their next periodic refresh");
        }
    }
}

/// Read everything and swap it in (the caller holds `refreshing`).
async fn reload(inner: &Inner) -> Result<(), DbError> {
    // Every write numbered up to here committed before this read starts.
    let covers = inner.written.load(Ordering::SeqCst);
    let t = Instant::now();
    match store::catalog::load(&inner.db).await {
        Ok(all) => {
            let snap = Snapshot::build(all);
            let Counts {
                countries,
                currencies,
                subdivisions,
            } = snap.counts();
            inner.current.store(Some(Arc::new(snap)));
            *lock(&inner.read_at) = Some(t);
            inner.covered.store(covers, Ordering::SeqCst);
            tracing::debug!(
                countries,
                currencies,
                subdivisions,
                load_ms = t.elapsed().as_millis() as u64,
                "catalog snapshot refreshed"
            );
            Ok(())
        }
        Err(e) => {
            inner.current.store(None);
            *lock(&inner.read_at) = None;
            Err(e)
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn register(m: &podkit::Metrics, inner: &Arc<Inner>) -> anyhow::Result<()> {
    let weak = Arc::downgrade(inner);
    m.gauge_fn_vec(
        "catalog_snapshot_items",
        "Entities in the in-memory catalog snapshot, by kind (0: no snapshot, reads go to the database).",
        "kind",
        move || {
            let c = weak
                .upgrade()
                .and_then(|i| i.current.load_full())
                .map_or_else(Counts::default, |s| s.counts());
            vec![
                ("countries".into(), c.countries as f64),
                ("currencies".into(), c.currencies as f64),
                ("subdivisions".into(), c.subdivisions as f64),
            ]
        },
    )?;
    let weak = Arc::downgrade(inner);
    m.gauge_fn(
        "catalog_snapshot_age_seconds",
        "Seconds since the in-memory catalog snapshot was read from the database (-1: no snapshot).",
        move || {
            weak.upgrade()
                .and_then(|i| *lock(&i.read_at))
                .map_or(-1.0, |t| t.elapsed().as_secs_f64())
        },
    )?;
    Ok(())
}
