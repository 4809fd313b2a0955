//! A bounded worker pool for work a request hands off (send a mail, render a report).
//!
//! A fixed number of workers take tasks from a bounded queue. When the queue is full,
//! [`WorkerPool::try_submit`] fails at once with [`Rejected::QueueFull`], and the
//! handler answers 429 with `Retry-After`. A burst never turns into unbounded memory
//! or latency. [`WorkerPool::submit`] waits for room instead, for at most a given time.
//!
//! - Each task gets a [`TaskContext`]. Its token fires at the shutdown deadline.
//! - Each task runs in a `worker_task` span whose parent is the submitter's span, so
//!   its log lines carry the request's fields (`request_id`, trace ids).
//! - A panic is caught and counted (outcome `panic`); the pool keeps working.
//! - [`WorkerPool::shutdown`] stops accepting, lets queued and running tasks finish
//!   until the deadline, then cancels the rest.
//!
//! Inside, a dispatcher takes a semaphore permit for a free worker, then the next
//! task from the queue, and spawns the task with the permit moved into it.
//!
//! # Wiring it into a service
//!
//! The config section lives in the service's own config, not in podkit's:
//!
//! This start function needs a running pod's `Context`, so it is compiled here and
//! run in `examples/full.rs` (and its test); the [`WorkerPool`] example runs a pool
//! alone.
//!
//! ```no_run
//! # use std::convert::Infallible;
//! use podkit::workers::{Rejected, WorkerPool, WorkerPoolConfig};
//!
//! # async fn start(ctx: podkit::Context<podkit::config::NoSettings>, mailer: WorkerPoolConfig)
//! #     -> Result<axum::Router, Infallible> {
//! // `mailer` is the service's `mailer:` section, a `WorkerPoolConfig`.
//! let pool = WorkerPool::build("mailer", mailer, Some(&ctx.metrics)).expect("metrics");
//! // Hooks run after in-flight requests end, so no handler submits during the drain.
//! // The hook drains and cancels within the lifecycle's budget for each hook.
//! ctx.on_shutdown("mailer pool", pool.shutdown_hook(ctx.config.shutdown.hook_timeout));
//!
//! match pool.try_submit(|task| async move {
//!     tokio::select! {
//!         _ = task.cancelled() => Err("cancelled at shutdown"),
//!         _ = tokio::time::sleep(std::time::Duration::from_millis(10)) => Ok(()),
//!     }
//! }) {
//!     Ok(_id) => { /* 202 Accepted */ }
//!     Err(Rejected::QueueFull) => { /* 429 with Retry-After */ }
//!     Err(_) => { /* 503: the pod is stopping */ }
//! }
//! # Ok(axum::Router::new())
//! # }
//! ```
//!
//! # Layout
//!
//! - this file: [`WorkerPool`]: submit, shut down;
//! - `config`: [`WorkerPoolConfig`];
//! - `task`: what a task gets ([`TaskContext`]) and returns ([`TaskResult`]), and
//!   the queued job;
//! - `dispatch`: the dispatcher and the run of one task (panics, cancellation);
//! - `metrics`: outcomes counted for the [`ShutdownReport`] and the `worker_pool_*`
//!   families.

mod config;
mod dispatch;
mod metrics;
mod task;

pub use config::WorkerPoolConfig;
pub use task::{TaskContext, TaskId, TaskResult};

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::telemetry::metrics::{Metrics, MetricsError};

use self::dispatch::{dispatch, Runner};
use self::metrics::{Outcome, PoolMetrics, Stats};
use self::task::Job;

/// Why a task was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejected {
    /// Every worker is busy and the queue is full. Answer 429 with `Retry-After`.
    #[error("the worker pool's queue is full")]
    QueueFull,
    /// [`WorkerPool::shutdown`] has begun.
    #[error("the worker pool is shutting down")]
    ShuttingDown,
}

/// What [`WorkerPool::shutdown`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Tasks that finished during the shutdown, successfully or not (outcomes `ok`,
    /// `error`, `panic`).
    pub completed: u64,
    /// Tasks cancelled at the deadline: queued ones never started, running ones
    /// that failed after the token fired or were dropped after `cancel_grace`.
    pub cancelled: u64,
}

/// A fixed number of workers behind a bounded queue. Clones share the pool.
///
/// ```
/// use std::num::NonZeroUsize;
/// use std::time::Duration;
/// use podkit::workers::{Rejected, WorkerPool, WorkerPoolConfig};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let config = WorkerPoolConfig {
///     workers: NonZeroUsize::new(1).unwrap(),
///     queue_size: NonZeroUsize::new(1).unwrap(),
///     ..Default::default()
/// };
/// let pool = WorkerPool::build("mailer", config, None).unwrap();
/// let (started, wait_started) = tokio::sync::oneshot::channel();
/// let (release, wait_release) = tokio::sync::oneshot::channel::<()>();
/// // The first task takes the only worker until it is released…
/// pool.try_submit(move |_task| async move {
///     started.send(()).ok();
///     wait_release.await.ok();
/// }).unwrap();
/// wait_started.await.unwrap();
/// // …the second waits in the queue of one, and the third is turned away.
/// pool.try_submit(|_task| async {}).unwrap();
/// assert_eq!(pool.try_submit(|_task| async {}), Err(Rejected::QueueFull)); // → 429
/// release.send(()).unwrap();
/// let report = pool.shutdown(Duration::from_secs(1)).await;
/// assert_eq!((report.completed, report.cancelled), (2, 0));
/// # }
/// ```
#[derive(Clone)]
pub struct WorkerPool {
    inner: Arc<Shared>,
}

impl fmt::Debug for WorkerPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerPool")
            .field("name", &self.inner.name)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

struct Shared {
    name: String,
    config: WorkerPoolConfig,
    /// `None` once shutdown has begun.
    tx: RwLock<Option<mpsc::Sender<Job>>>,
    /// Stop accepting; the dispatcher drains what is queued.
    closing: CancellationToken,
    /// The deadline: tasks see it on their context; nothing new starts.
    cancel: CancellationToken,
    /// The end of the grace: running tasks are dropped.
    kill: CancellationToken,
    tracker: TaskTracker,
    next_id: AtomicU64,
    stats: Arc<Stats>,
}

impl WorkerPool {
    /// Start the pool's dispatcher. `name` is the `pool` label on the metrics, so it
    /// must be unique among the pod's pools. `metrics` registers the `worker_pool_*`
    /// families when `metrics.families.worker_pool` is on.
    ///
    /// # Errors
    /// A pool of this name already registered its metrics.
    ///
    /// # Panics
    /// When called outside a Tokio runtime.
    pub fn build(
        name: &str,
        config: WorkerPoolConfig,
        metrics: Option<&Metrics>,
    ) -> Result<Self, MetricsError> {
        let metrics = match metrics {
            Some(m) if m.config().families.worker_pool => {
                Some(PoolMetrics::register(m, name, config.workers)?)
            }
            _ => None,
        };
        let (tx, rx) = mpsc::channel(config.queue_size.get());
        let stats = Arc::new(Stats::new(metrics));
        let inner = Arc::new(Shared {
            name: name.to_owned(),
            tx: RwLock::new(Some(tx)),
            closing: CancellationToken::new(),
            cancel: CancellationToken::new(),
            kill: CancellationToken::new(),
            tracker: TaskTracker::new(),
            next_id: AtomicU64::new(1),
            stats: stats.clone(),
            config,
        });
        // The dispatcher holds no `Shared`: once every handle is dropped, the
        // channel closes and it exits after the queue drains.
        let runner = Runner {
            permits: Arc::new(Semaphore::new(inner.config.workers.get())),
            cancel: inner.cancel.clone(),
            kill: inner.kill.clone(),
            tracker: inner.tracker.clone(),
            stats,
        };
        inner
            .tracker
            .spawn(dispatch(runner, rx, inner.closing.clone()));
        Ok(Self { inner })
    }

    /// The pool's name (its `pool` label).
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Queue `task` if there is room, else fail at once.
    ///
    /// `task` is called on a worker with a [`TaskContext`], inside a span whose
    /// parent is the caller's current span.
    ///
    /// # Errors
    /// [`Rejected::QueueFull`] when the queue is full, [`Rejected::ShuttingDown`]
    /// once [`WorkerPool::shutdown`] has begun.
    pub fn try_submit<F, Fut>(&self, task: F) -> Result<TaskId, Rejected>
    where
        F: FnOnce(TaskContext) -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: TaskResult,
    {
        let tx = self.sender()?;
        let job = self.job(task);
        let id = job.id;
        self.inner.stats.queue_add(1);
        match tx.try_send(job) {
            Ok(()) => Ok(id),
            Err(TrySendError::Full(job)) => {
                self.inner.stats.queue_add(-1);
                job.discard();
                Err(self.reject(Rejected::QueueFull))
            }
            Err(TrySendError::Closed(job)) => {
                self.inner.stats.queue_add(-1);
                job.discard();
                Err(self.reject(Rejected::ShuttingDown))
            }
        }
    }

    /// Queue `task`, waiting at most `max_wait` for room. Waiting callers show in
    /// `worker_pool_waiting_tasks`.
    ///
    /// # Errors
    /// [`Rejected::QueueFull`] when no room came within `max_wait`,
    /// [`Rejected::ShuttingDown`] once [`WorkerPool::shutdown`] has begun (also for
    /// callers already waiting).
    pub async fn submit<F, Fut>(&self, task: F, max_wait: Duration) -> Result<TaskId, Rejected>
    where
        F: FnOnce(TaskContext) -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: TaskResult,
    {
        let tx = self.sender()?;
        let reserved = {
            let _waiting = self.inner.stats.waiting();
            tokio::select! {
                biased;
                () = self.inner.closing.cancelled() => Err(Rejected::ShuttingDown),
                r = tokio::time::timeout(max_wait, tx.reserve()) => match r {
                    Ok(Ok(permit)) => Ok(permit),
                    Ok(Err(_closed)) => Err(Rejected::ShuttingDown),
                    Err(_elapsed) => Err(Rejected::QueueFull),
                },
            }
        };
        let permit = reserved.map_err(|r| self.reject(r))?;
        let job = self.job(task);
        let id = job.id;
        self.inner.stats.queue_add(1);
        permit.send(job);
        Ok(id)
    }

    /// Stop accepting, let queued and running tasks finish until `deadline` has
    /// passed, then cancel the rest. Queued tasks are dropped and running ones see
    /// their [`TaskContext`] cancelled. Those still running after `cancel_grace`
    /// are dropped at their next `.await`. Calling it again waits again and
    /// reports nothing new.
    ///
    /// Takes at most `deadline + cancel_grace`, unless a task blocks its thread
    /// without awaiting.
    pub async fn shutdown(&self, deadline: Duration) -> ShutdownReport {
        let inner = &self.inner;
        let before = inner.stats.snapshot();
        inner.closing.cancel();
        inner.tx.write().unwrap_or_else(|e| e.into_inner()).take();
        inner.tracker.close();
        if tokio::time::timeout(deadline, inner.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                pool = %inner.name,
                deadline_ms = deadline.as_millis() as u64,
                "worker pool shutdown deadline reached; cancelling the remaining tasks"
            );
            inner.cancel.cancel();
            let grace = inner.config.cancel_grace;
            if tokio::time::timeout(grace, inner.tracker.wait())
                .await
                .is_err()
            {
                inner.kill.cancel();
                inner.tracker.wait().await;
            }
        }
        let after = inner.stats.snapshot();
        let finished = |o: Outcome| after[o as usize] - before[o as usize];
        ShutdownReport {
            completed: finished(Outcome::Ok) + finished(Outcome::Error) + finished(Outcome::Panic),
            cancelled: finished(Outcome::Cancelled),
        }
    }

    /// A hook for [`crate::lifecycle::Context::on_shutdown`] that fits in `budget` (pass
    /// `shutdown.hook_timeout`). It drains for `budget - cancel_grace`, then cancels,
    /// and logs the report.
    pub fn shutdown_hook(
        &self,
        budget: Duration,
    ) -> impl FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + 'static {
        let pool = self.clone();
        move || {
            Box::pin(async move {
                let deadline = budget.saturating_sub(pool.inner.config.cancel_grace);
                let report = pool.shutdown(deadline).await;
                tracing::info!(
                    pool = %pool.inner.name,
                    completed = report.completed,
                    cancelled = report.cancelled,
                    "worker pool stopped"
                );
            })
        }
    }

    fn sender(&self) -> Result<mpsc::Sender<Job>, Rejected> {
        let tx = if self.inner.closing.is_cancelled() {
            None
        } else {
            self.inner
                .tx
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
        };
        tx.ok_or_else(|| self.reject(Rejected::ShuttingDown))
    }

    fn reject(&self, why: Rejected) -> Rejected {
        self.inner.stats.rejected();
        why
    }

    fn job<F, Fut>(&self, task: F) -> Job
    where
        F: FnOnce(TaskContext) -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: TaskResult,
    {
        let id = TaskId(self.inner.next_id.fetch_add(1, Ordering::Relaxed));
        Job::new(id, &self.inner.name, task, self.inner.stats.clone())
    }
}
