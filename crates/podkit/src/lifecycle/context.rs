//! [`Context`]: what a service's start function gets from the pod.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::health::Health;
use crate::telemetry::metrics::Metrics;

type Hook = Pin<Box<dyn Future<Output = ()> + Send>>;
pub(super) type HookFn = Box<dyn FnOnce() -> Hook + Send>;

/// What a service's start function gets: config, health, metrics, and ways to hook
/// into shutdown.
pub struct Context<S> {
    /// The effective configuration.
    pub config: Arc<Config<S>>,
    /// Register readiness checks here.
    pub health: Health,
    /// Register the service's own metric families here.
    pub metrics: Metrics,
    hooks: Arc<Mutex<Vec<(String, HookFn)>>>,
    stopping: CancellationToken,
    tracker: TaskTracker,
}

impl<S> Clone for Context<S> {
    fn clone(&self) -> Self {
        Self {
            config: self.config.clone(),
            health: self.health.clone(),
            metrics: self.metrics.clone(),
            hooks: self.hooks.clone(),
            stopping: self.stopping.clone(),
            tracker: self.tracker.clone(),
        }
    }
}

impl<S> Context<S> {
    /// Run `hook` at shutdown, after in-flight work ends; hooks run in reverse
    /// registration order, each within `shutdown.hook_timeout`.
    pub fn on_shutdown<F, Fut>(&self, name: &str, hook: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let f: HookFn = Box::new(move || Box::pin(hook()));
        self.hooks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((name.into(), f));
    }

    /// Cancelled when the pod stops taking new work (after the drain delay). Background
    /// loops should finish their current item and return when it fires.
    pub fn stopping(&self) -> CancellationToken {
        self.stopping.clone()
    }

    /// Spawn a background task the shutdown waits for (within `shutdown.timeout`),
    /// so no task outlives the pod's own accounting.
    pub fn spawn<F>(&self, task: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.tracker.spawn(task)
    }
}

impl<S> Context<S> {
    pub(super) fn new(config: Arc<Config<S>>, health: Health, metrics: Metrics) -> Self {
        Self {
            config,
            health,
            metrics,
            hooks: Arc::default(),
            stopping: CancellationToken::new(),
            tracker: TaskTracker::new(),
        }
    }

    /// The registered hooks, newest first, leaving none behind.
    pub(super) fn take_hooks(&self) -> Vec<(String, HookFn)> {
        let mut hooks = std::mem::take(&mut *self.hooks.lock().unwrap_or_else(|e| e.into_inner()));
        hooks.reverse();
        hooks
    }

    /// Tell background work to stop and close the tracker to new tasks.
    pub(super) fn stop_background(&self) {
        self.stopping.cancel();
        self.tracker.close();
    }

    /// Background tasks still running.
    pub(super) fn background_tasks(&self) -> usize {
        self.tracker.len()
    }

    /// Wait for every tracked task (after [`Self::stop_background`]).
    pub(super) async fn background_done(&self) {
        self.tracker.wait().await;
    }
}
