//! The dispatcher: a semaphore permit for a free worker, then the next job, spawned
//! with the permit moved into it; and the run of one task.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use tokio::sync::mpsc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::metrics::{Outcome, Stats};
use super::task::{Job, TaskContext};

/// What the dispatcher needs to start tasks.
pub(super) struct Runner {
    pub(super) permits: Arc<Semaphore>,
    pub(super) cancel: CancellationToken,
    pub(super) kill: CancellationToken,
    pub(super) tracker: TaskTracker,
    pub(super) stats: Arc<Stats>,
}

pub(super) async fn dispatch(
    runner: Runner,
    mut rx: mpsc::Receiver<Job>,
    closing: CancellationToken,
) {
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
    let ctx = TaskContext::new(job.id, cancel.clone());
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

#[cfg(test)]
mod tests {
    use super::*;

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
