//! Warm connections: reads keep a few connections checked out of sqlx's pool
//! between requests, because sqlx 0.8 pings every connection returned to its pool
//! (`Live::return_to_pool`, unconditionally; `after_release` runs before it and
//! cannot skip it). That ping is a round trip per request on PostgreSQL and a
//! hand-off to the worker thread on SQLite, as costly as the read itself.
//!
//! A [`Lease`] needs one of `cap` permits, handed out first come first served
//! (a tokio semaphore, so a read waiting under load is not overtaken by later ones
//! that would find a warm connection: the pool's own fair queue is bypassed). With
//! the permit it takes the most recently used warm connection, else one from the
//! pool. [`Lease::release`] puts it back on the stack without a ping; a lease
//! dropped without `release` (an error, or a request cancelled mid-query, which can
//! leave the connection mid-protocol) goes back through the pool, whose ping
//! flushes or closes it. Bounds: reads use at most `cap` connections (the pool
//! keeps the rest for writes, readiness and imports), wait for a permit at most
//! the pool's acquire timeout, and a connection idle
//! on it longer than [`MAX_IDLE`] goes back to the pool, where its idle timeout,
//! lifetime and liveness checks apply again.

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Longest a connection waits on the stack before it goes back to the pool.
pub(super) const MAX_IDLE: Duration = Duration::from_secs(5);

/// The stack of warm connections.
#[derive(Debug)]
pub(super) struct Warm {
    stack: Mutex<Vec<(PoolConnection<Any>, Instant)>>,
    /// Leases out at once; `None` when the pool is too small to spare any
    /// connection for reads alone (leases then come straight from the pool).
    permits: Option<Arc<Semaphore>>,
    /// How long a lease waits for a permit: the pool's acquire timeout.
    wait: Duration,
    cap: usize,
    /// [`MAX_IDLE`]; tests shorten it.
    max_idle: Duration,
    /// Checked on release: a closed pool waits for every connection, so none may
    /// stay warm once it closes.
    pool: AnyPool,
}

impl Warm {
    /// At most `cap` leases of `pool`'s connections at once, each waiting at most
    /// `wait` for its turn (0 turns warm connections off).
    pub(super) fn new(pool: AnyPool, cap: usize, wait: Duration) -> Arc<Self> {
        Arc::new(Self {
            stack: Mutex::new(Vec::with_capacity(cap)),
            permits: (cap > 0).then(|| Arc::new(Semaphore::new(cap))),
            wait,
            cap,
            max_idle: MAX_IDLE,
            pool,
        })
    }

    fn stack(&self) -> MutexGuard<'_, Vec<(PoolConnection<Any>, Instant)>> {
        // A panic while holding the lock cannot leave the Vec inconsistent.
        self.stack.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A connection: the most recently used warm one, else one from `pool`.
    pub(super) async fn lease(self: &Arc<Self>) -> Result<Lease, sqlx::Error> {
        let Some(permits) = &self.permits else {
            return Ok(Lease {
                conn: Some(self.pool.acquire().await?),
                warm: self.clone(),
                _permit: None,
            });
        };
        let permit = match tokio::time::timeout(self.wait, permits.clone().acquire_owned()).await {
            Ok(Ok(p)) => p,
            // The semaphore is never closed; a timeout is the pool's own answer.
            _ => return Err(sqlx::Error::PoolTimedOut),
        };
        let warm = {
            let mut stack = self.stack();
            // The oldest are at the bottom: if the newest idled too long, so did all.
            if stack
                .last()
                .is_some_and(|(_, at)| at.elapsed() > self.max_idle)
            {
                // Dropped outside the lock (below): back to the pool, pinged there.
                Some(Err(std::mem::take(&mut *stack)))
            } else {
                stack.pop().map(|(c, _)| Ok(c))
            }
        };
        let conn = match warm {
            Some(Ok(c)) => c,
            Some(Err(stale)) => {
                drop(stale);
                self.pool.acquire().await?
            }
            None => self.pool.acquire().await?,
        };
        Ok(Lease {
            conn: Some(conn),
            warm: self.clone(),
            _permit: Some(permit),
        })
    }

    /// Connections on the stack now (idle, though the pool counts them as in use).
    pub(super) fn len(&self) -> usize {
        self.stack().len()
    }

    /// Give every warm connection back to the pool (when closing it, which waits
    /// for all of them; or when the database went away). Releases after the pool
    /// closed drop their connection: the check and the push share the lock, so
    /// closing first and draining second leaves none behind.
    pub(super) fn drain(&self) {
        let stale = std::mem::take(&mut *self.stack());
        drop(stale);
    }

    fn put(&self, conn: PoolConnection<Any>) {
        let mut stack = self.stack();
        // Keep the bottom fresh too: one stale connection back per release.
        let stale = match stack.first() {
            Some((_, at)) if at.elapsed() > self.max_idle => Some(stack.remove(0).0),
            _ => None,
        };
        let overflow = if stack.len() < self.cap && !self.pool.is_closed() {
            stack.push((conn, Instant::now()));
            None
        } else {
            Some(conn)
        };
        drop(stack);
        drop((stale, overflow));
    }
}

/// A connection for one read; see the module docs.
#[derive(Debug)]
pub struct Lease {
    conn: Option<PoolConnection<Any>>,
    warm: Arc<Warm>,
    /// Dropped after the connection is back on the stack (or on its way to the
    /// pool), so the next lease finds it.
    _permit: Option<OwnedSemaphorePermit>,
}

impl Lease {
    /// The read went well: keep the connection warm for the next one.
    pub fn release(mut self) {
        if let Some(c) = self.conn.take() {
            self.warm.put(c);
        }
    }
}

impl Deref for Lease {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        // `conn` is `None` only inside `release`, which consumes the lease.
        self.conn.as_ref().expect("a lease holds its connection")
    }
}

impl DerefMut for Lease {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        self.conn.as_mut().expect("a lease holds its connection")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn pool(max: u32) -> AnyPool {
        sqlx::any::install_default_drivers();
        sqlx::any::AnyPoolOptions::new()
            .max_connections(max)
            .connect("sqlite::memory:")
            .await
            .unwrap()
    }

    async fn ping(lease: &mut Lease) {
        sqlx::query("SELECT 1").execute(&mut **lease).await.unwrap();
    }

    /// Lets the pool's release task (spawned on drop) run.
    async fn settle() {
        for _ in 0..50 {
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    #[tokio::test]
    async fn a_released_lease_stays_warm_and_is_taken_next() {
        let pool = pool(4).await;
        let warm = Warm::new(pool.clone(), 2, Duration::from_secs(5));
        let mut lease = warm.lease().await.unwrap();
        ping(&mut lease).await;
        lease.release();
        assert_eq!(warm.len(), 1, "kept warm");
        let mut again = warm.lease().await.unwrap();
        assert_eq!(warm.len(), 0, "taken from the stack");
        ping(&mut again).await;
        again.release();
        assert_eq!(pool.size(), 1, "one connection served both reads");
    }

    #[tokio::test]
    async fn reads_beyond_the_cap_wait_their_turn_and_then_time_out() {
        let pool = pool(4).await;
        let warm = Warm::new(pool.clone(), 2, Duration::from_millis(100));
        let (a, b) = (warm.lease().await.unwrap(), warm.lease().await.unwrap());
        let third = warm.lease().await;
        assert!(
            matches!(third, Err(sqlx::Error::PoolTimedOut)),
            "a third read waits at most the acquire timeout: {third:?}"
        );
        let waiting = tokio::spawn({
            let warm = warm.clone();
            async move { warm.lease().await.map(Lease::release) }
        });
        a.release();
        waiting
            .await
            .unwrap()
            .expect("the waiting read gets the released connection");
        b.release();
        assert_eq!(pool.size(), 2, "reads never used more than the cap");
        assert_eq!(warm.len(), 2);
    }

    #[tokio::test]
    async fn with_no_connection_to_spare_leases_come_straight_from_the_pool() {
        let pool = pool(2).await;
        let warm = Warm::new(pool.clone(), 0, Duration::from_millis(100));
        let (a, b) = (warm.lease().await.unwrap(), warm.lease().await.unwrap());
        a.release();
        b.release();
        settle().await;
        assert_eq!(warm.len(), 0);
        assert_eq!(pool.num_idle(), 2);
    }

    #[tokio::test]
    async fn a_lease_dropped_without_release_goes_back_through_the_pool() {
        let pool = pool(4).await;
        let warm = Warm::new(pool.clone(), 2, Duration::from_secs(5));
        drop(warm.lease().await.unwrap());
        settle().await;
        assert_eq!(warm.len(), 0);
        assert_eq!(pool.num_idle(), 1);
    }

    #[tokio::test]
    async fn connections_idle_past_the_limit_go_back_to_the_pool() {
        let pool = pool(4).await;
        let mut warm = Warm::new(pool.clone(), 2, Duration::from_secs(5));
        Arc::get_mut(&mut warm).unwrap().max_idle = Duration::ZERO;
        let (a, b) = (warm.lease().await.unwrap(), warm.lease().await.unwrap());
        a.release();
        std::thread::sleep(Duration::from_millis(2));
        b.release();
        assert_eq!(warm.len(), 1, "the older one left when the newer came back");
        std::thread::sleep(Duration::from_millis(2));
        let lease = warm.lease().await.unwrap();
        assert_eq!(warm.len(), 0, "a stale stack is emptied, not used");
        drop(lease);
        settle().await;
        assert_eq!(pool.num_idle() as u32, pool.size(), "all back in the pool");
    }

    #[tokio::test]
    async fn closing_the_pool_does_not_wait_for_warm_connections() {
        let pool = pool(4).await;
        let warm = Warm::new(pool.clone(), 2, Duration::from_secs(5));
        let (a, b) = (warm.lease().await.unwrap(), warm.lease().await.unwrap());
        a.release();
        let closing = pool.close();
        warm.drain();
        b.release();
        assert_eq!(warm.len(), 0, "a release after close is not kept");
        tokio::time::timeout(Duration::from_secs(5), closing)
            .await
            .expect("close finishes once the warm connections are back");
    }
}
