//! A task: its id, the context it runs with, what it returns, and the queued job.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

use super::metrics::{Outcome, Stats};

/// The id of an accepted task, also recorded as `task.id` on its span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(pub(super) u64);

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
    pub(super) fn new(id: TaskId, cancel: CancellationToken) -> Self {
        Self { id, cancel }
    }

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

pub(super) type TaskFuture = Pin<Box<dyn Future<Output = Option<String>> + Send>>;

/// A queued task. Dropped without running (queue dropped at the deadline), it counts
/// as cancelled.
pub(super) struct Job {
    pub(super) id: TaskId,
    pub(super) span: tracing::Span,
    pub(super) run: Option<Box<dyn FnOnce(TaskContext) -> TaskFuture + Send>>,
    stats: Arc<Stats>,
}

impl Job {
    /// Wrap `task` for the queue. Its span's parent is the caller's current span.
    pub(super) fn new<F, Fut>(id: TaskId, pool: &str, task: F, stats: Arc<Stats>) -> Self
    where
        F: FnOnce(TaskContext) -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: TaskResult,
    {
        // ERROR level, as the request span: the task's error lines keep the request's
        // fields even when the filter is `warn`.
        let span = tracing::error_span!(
            parent: &tracing::Span::current(),
            "worker_task",
            pool = %pool,
            task.id = id.0,
        );
        Self {
            id,
            span,
            run: Some(Box::new(move |ctx| {
                Box::pin(async move { task(ctx).await.into_error() })
            })),
            stats,
        }
    }

    /// A rejected job: it was never accepted, so it is not cancelled either.
    pub(super) fn discard(mut self) {
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
