//! Outage detection. Once the database is known to be down, operations fail at
//! once (the caller gets 503 + `Retry-After`) instead of each waiting out the
//! pool's acquire timeout; one background probe watches for the database's return
//! and lifts the state as soon as a connection works again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::AnyPool;

/// How often the probe tries while the database is down.
const PROBE_INTERVAL: Duration = Duration::from_millis(250);
/// The longest one probe attempt may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// Whether the database is known to be down.
#[derive(Debug, Default)]
pub(super) struct Availability {
    down: AtomicBool,
}

impl Availability {
    /// Known down: skip the database and fail fast.
    pub(super) fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }

    /// An operation found the database unreachable. The first to say so starts
    /// the probe; the rest fail fast until it succeeds.
    pub(super) fn mark_down(self: &Arc<Self>, pool: &AnyPool) {
        if self.down.swap(true, Ordering::AcqRel) {
            return;
        }
        tracing::warn!("database unreachable; failing fast until a probe reaches it again");
        let (this, pool) = (self.clone(), pool.clone());
        tokio::spawn(async move { this.probe(pool).await });
    }

    /// Something else (readiness) reached the database: lift the state now.
    pub(super) fn mark_up(&self) {
        if self.down.swap(false, Ordering::AcqRel) {
            tracing::info!("database reachable again");
        }
    }

    async fn probe(&self, pool: AnyPool) {
        let started = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(PROBE_INTERVAL).await;
            if pool.is_closed() {
                return;
            }
            let attempt = async {
                let mut conn = pool.acquire().await?;
                sqlx::query("SELECT 1").execute(&mut *conn).await
            };
            if !self.is_down() {
                return; // readiness got there first
            }
            if let Ok(Ok(_)) = tokio::time::timeout(PROBE_TIMEOUT, attempt).await {
                tracing::debug!(
                    down_ms = started.elapsed().as_millis() as u64,
                    "probe reached the database"
                );
                self.mark_up();
                return;
            }
        }
    }
}
