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

use std::fmt;
use std::future::Future;
use std::num::NonZeroUsize;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures_util::FutureExt;
use prometheus::{HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::config::duration;
use crate::metrics::{Metrics, MetricsError};

/// A worker pool's section in the service's config, e.g. `mailer:`.
///
/// ```yaml
/// mailer:
///   workers: 4
///   queue_size: 64
///   cancel_grace: 1s
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerPoolConfig {
    /// How many tasks run at once. `workers: 4`
    pub workers: NonZeroUsize,
    /// How many tasks may wait for a worker; the next one is rejected. `queue_size: 64`
    pub queue_size: NonZeroUsize,
    /// After the shutdown deadline, how long running tasks get to return once their
    /// [`TaskContext`] is cancelled. After that they are dropped. `cancel_grace: 1s`
    #[serde(with = "duration")]
    pub cancel_grace: Duration,
}

impl Default for WorkerPoolConfig {
    fn default() -> Self {
        Self {
            // Invariant: both literals are non-zero.
            workers: NonZeroUsize::new(4).unwrap(),
            queue_size: NonZeroUsize::new(64).unwrap(),
            cancel_grace: Duration::from_secs(1),
        }
    }
}

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

/// The id of an accepted task, also recorded as `task.id` on its span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(u64);

impl TaskId {
    /// The number: ids count up from 1 within a pool.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What a running task receives: its id and the token that fires at the shutdown
/// deadline.
#[derive(Debug, Clone)]
pub struct TaskContext {
    id: TaskId,
    cancel: CancellationToken,
}

impl TaskContext {
    /// This task's id.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// Whether the shutdown deadline has passed. A long task should check this
    /// between steps and return.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Completes at the shutdown deadline. Select on it around slow awaits.
    pub fn cancelled(&self) -> WaitForCancellationFuture<'_> {
        self.cancel.cancelled()
    }

    /// The token itself, to hand to code that takes one. Cancelling it affects only
    /// this task.
    pub fn token(&self) -> CancellationToken {
        self.cancel.clone()
    }
}

/// What a task's future may return: `()`, or `Result<(), E>` where `E: Display`.
/// An `Err` is logged with `{:#}` (so an `anyhow` chain shows in full) and counted
/// as outcome `error`.
pub trait TaskResult: Send + 'static {
    /// The error message, when the task failed.
    fn into_error(self) -> Option<String>;
}

impl TaskResult for () {
    fn into_error(self) -> Option<String> {
        None
    }
}

impl<E: fmt::Display + Send + 'static> TaskResult for Result<(), E> {
    fn into_error(self) -> Option<String> {
        self.err().map(|e| format!("{e:#}"))
    }
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
        let stats = Arc::new(Stats {
            finished: Default::default(),
            metrics,
        });
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

    /// A hook for [`crate::Context::on_shutdown`] that fits in `budget` (pass
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
        if let Some(m) = &self.inner.stats.metrics {
            m.rejected.inc();
        }
        why
    }

    fn job<F, Fut>(&self, task: F) -> Job
    where
        F: FnOnce(TaskContext) -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: TaskResult,
    {
        let id = TaskId(self.inner.next_id.fetch_add(1, Ordering::Relaxed));
        // ERROR level, as the request span: the task's error lines keep the request's
        // fields even when the filter is `warn`.
        let span = tracing::error_span!(
            parent: &tracing::Span::current(),
            "worker_task",
            pool = %self.inner.name,
            task.id = id.0,
        );
        Job {
            id,
            span,
            run: Some(Box::new(move |ctx| {
                Box::pin(async move { task(ctx).await.into_error() })
            })),
            stats: self.inner.stats.clone(),
        }
    }
}

type TaskFuture = Pin<Box<dyn Future<Output = Option<String>> + Send>>;

/// A queued task. Dropped without running (queue dropped at the deadline), it counts
/// as cancelled.
struct Job {
    id: TaskId,
    span: tracing::Span,
    run: Option<Box<dyn FnOnce(TaskContext) -> TaskFuture + Send>>,
    stats: Arc<Stats>,
}

impl Job {
    /// A rejected job: it was never accepted, so it is not cancelled either.
    fn discard(mut self) {
        self.run = None;
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        if self.run.is_some() {
            self.span
                .in_scope(|| tracing::debug!("task cancelled before it started"));
            self.stats.record(Outcome::Cancelled, None);
        }
    }
}

/// What the dispatcher needs to start tasks.
struct Runner {
    permits: Arc<Semaphore>,
    cancel: CancellationToken,
    kill: CancellationToken,
    tracker: TaskTracker,
    stats: Arc<Stats>,
}

async fn dispatch(runner: Runner, mut rx: mpsc::Receiver<Job>, closing: CancellationToken) {
    let mut closed = false;
    loop {
        let permit = tokio::select! {
            biased;
            () = runner.cancel.cancelled() => break,
            permit = runner.permits.clone().acquire_owned() => match permit {
                Ok(p) => p,
                // Invariant: the semaphore is never closed; stop rather than spin.
                Err(_) => break,
            },
        };
        let job = tokio::select! {
            biased;
            () = runner.cancel.cancelled() => break,
            () = closing.cancelled(), if !closed => {
                // Refuse new sends but keep what is queued: the drain runs it.
                rx.close();
                closed = true;
                continue;
            }
            job = rx.recv() => job,
        };
        let Some(job) = job else { break };
        runner.stats.queue_add(-1);
        runner.tracker.spawn(run(
            job,
            permit,
            runner.cancel.child_token(),
            runner.kill.clone(),
            runner.stats.clone(),
        ));
    }
    // Past the deadline nothing new starts; what is still queued is dropped here,
    // each job counting itself as cancelled.
    rx.close();
    while let Ok(job) = rx.try_recv() {
        runner.stats.queue_add(-1);
        drop(job);
    }
}

async fn run(
    mut job: Job,
    permit: OwnedSemaphorePermit,
    cancel: CancellationToken,
    kill: CancellationToken,
    stats: Arc<Stats>,
) {
    let Some(task) = job.run.take() else { return };
    let span = job.span.clone();
    let ctx = TaskContext {
        id: job.id,
        cancel: cancel.clone(),
    };
    let _busy = stats.busy();
    let started = Instant::now();
    // Calling `task` inside the future, so a panic while building it is caught too.
    let fut = AssertUnwindSafe(async move { task(ctx).await }).catch_unwind();
    let result = tokio::select! {
        biased;
        () = kill.cancelled() => None,
        r = fut.instrument(span.clone()) => Some(r),
    };
    let outcome = span.in_scope(|| match result {
        None => {
            tracing::warn!("task dropped: still running after the cancel grace");
            Outcome::Cancelled
        }
        Some(Ok(None)) => Outcome::Ok,
        Some(Ok(Some(err))) if cancel.is_cancelled() => {
            tracing::info!(error.message = %err, "task stopped at the shutdown deadline");
            Outcome::Cancelled
        }
        Some(Ok(Some(err))) => {
            tracing::error!(error.message = %err, "task failed");
            Outcome::Error
        }
        Some(Err(panic)) => {
            tracing::error!(error.message = %panic_message(&*panic), "task panicked");
            Outcome::Panic
        }
    });
    stats.record(outcome, Some(started.elapsed()));
    drop(permit);
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(a panic payload that is not a string)")
}

#[derive(Debug, Clone, Copy)]
enum Outcome {
    Ok = 0,
    Error = 1,
    Panic = 2,
    Cancelled = 3,
}

impl Outcome {
    const ALL: [Outcome; 4] = [Self::Ok, Self::Error, Self::Panic, Self::Cancelled];

    fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Error => "error",
            Self::Panic => "panic",
            Self::Cancelled => "cancelled",
        }
    }
}

/// Counts for the shutdown report, and the metrics when enabled.
struct Stats {
    finished: [AtomicU64; 4],
    metrics: Option<PoolMetrics>,
}

impl Stats {
    fn record(&self, outcome: Outcome, took: Option<Duration>) {
        self.finished[outcome as usize].fetch_add(1, Ordering::Relaxed);
        if let Some(m) = &self.metrics {
            m.tasks.with_label_values(&[outcome.as_str()]).inc();
            // A task that never started has no duration worth a histogram sample.
            if let Some(took) = took {
                m.duration
                    .with_label_values(&[outcome.as_str()])
                    .observe(took.as_secs_f64());
            }
        }
    }

    fn snapshot(&self) -> [u64; 4] {
        self.finished
            .each_ref()
            .map(|count| count.load(Ordering::Relaxed))
    }

    fn queue_add(&self, n: i64) {
        if let Some(m) = &self.metrics {
            m.queue.add(n);
        }
    }

    fn waiting(&self) -> GaugeGuard {
        GaugeGuard::inc(self.metrics.as_ref().map(|m| &m.waiting))
    }

    fn busy(&self) -> GaugeGuard {
        GaugeGuard::inc(self.metrics.as_ref().map(|m| &m.busy))
    }
}

/// Holds a gauge up by one until dropped, also when the holder is cancelled.
struct GaugeGuard(Option<IntGauge>);

impl GaugeGuard {
    fn inc(gauge: Option<&IntGauge>) -> Self {
        if let Some(g) = gauge {
            g.inc();
        }
        Self(gauge.cloned())
    }
}

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        if let Some(g) = &self.0 {
            g.dec();
        }
    }
}

/// The `worker_pool_*` families of one pool. `pool` is a constant label, so every
/// pool registers its own series under the shared family names.
struct PoolMetrics {
    queue: IntGauge,
    waiting: IntGauge,
    busy: IntGauge,
    tasks: IntCounterVec,
    rejected: IntCounter,
    duration: HistogramVec,
}

impl PoolMetrics {
    fn register(m: &Metrics, pool: &str, workers: NonZeroUsize) -> Result<Self, MetricsError> {
        let opts = |name: &str, help: &str| Opts::new(name, help).const_label("pool", pool);
        let gauge = |name: &str, help: &str| -> Result<IntGauge, MetricsError> {
            let g = IntGauge::with_opts(opts(name, help))?;
            m.registry().register(Box::new(g.clone()))?;
            Ok(g)
        };
        let queue = gauge(
            "worker_pool_queue_length",
            "Tasks waiting in the pool's queue for a worker.",
        )?;
        let waiting = gauge(
            "worker_pool_waiting_tasks",
            "Callers blocked in submit, waiting for room in the queue.",
        )?;
        let busy = gauge("worker_pool_busy_workers", "Workers running a task now.")?;
        let size = gauge("worker_pool_workers", "Workers in the pool.")?;
        size.set(i64::try_from(workers.get()).unwrap_or(i64::MAX));

        let tasks = IntCounterVec::new(
            opts(
                "worker_pool_tasks_total",
                "Tasks finished, by outcome (ok, error, panic, cancelled).",
            ),
            &["outcome"],
        )?;
        m.registry().register(Box::new(tasks.clone()))?;
        // Every outcome from the start, so `rate()` has a series before the first panic.
        for outcome in Outcome::ALL {
            tasks.with_label_values(&[outcome.as_str()]);
        }
        let rejected = IntCounter::with_opts(opts(
            "worker_pool_rejected_total",
            "Tasks refused because the queue was full or the pool was shutting down.",
        ))?;
        m.registry().register(Box::new(rejected.clone()))?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "worker_pool_task_duration_seconds",
                "Time a task ran on a worker (queueing excluded), by outcome, in seconds.",
            )
            .const_label("pool", pool)
            .buckets(m.buckets()),
            &["outcome"],
        )?;
        m.registry().register(Box::new(duration.clone()))?;
        Ok(Self {
            queue,
            waiting,
            busy,
            tasks,
            rejected,
            duration,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_and_yaml_keys() {
        let d = WorkerPoolConfig::default();
        assert_eq!((d.workers.get(), d.queue_size.get()), (4, 64));
        assert_eq!(d.cancel_grace, Duration::from_secs(1));

        let c: WorkerPoolConfig =
            serde_yaml::from_str("workers: 2\nqueue_size: 8\ncancel_grace: 250ms\n").unwrap();
        assert_eq!((c.workers.get(), c.queue_size.get()), (2, 8));
        assert_eq!(c.cancel_grace, Duration::from_millis(250));

        for (yaml, why) in [
            ("workers: 0\n", "zero workers"),
            ("queue_size: 0\n", "a zero-length queue"),
            ("worker: 2\n", "an unknown key"),
        ] {
            assert!(
                serde_yaml::from_str::<WorkerPoolConfig>(yaml).is_err(),
                "case {why}: {yaml:?} must be rejected"
            );
        }
    }

    #[test]
    fn panic_messages_are_read_from_str_and_string_payloads() {
        let s: Box<dyn std::any::Any + Send> = Box::new("boom");
        assert_eq!(panic_message(&*s), "boom");
        let s: Box<dyn std::any::Any + Send> = Box::new(String::from("bang"));
        assert_eq!(panic_message(&*s), "bang");
        let s: Box<dyn std::any::Any + Send> = Box::new(7);
        assert!(panic_message(&*s).contains("not a string"));
    }
}
