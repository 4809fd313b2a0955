//! What a pool counts: task outcomes for the shutdown report and, when enabled, the
//! `worker_pool_*` families.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus::{HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts};

use crate::telemetry::metrics::{Metrics, MetricsError};

#[derive(Debug, Clone, Copy)]
pub(super) enum Outcome {
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
pub(super) struct Stats {
    finished: [AtomicU64; 4],
    metrics: Option<PoolMetrics>,
}

impl Stats {
    pub(super) fn new(metrics: Option<PoolMetrics>) -> Self {
        Self {
            finished: Default::default(),
            metrics,
        }
    }

    pub(super) fn record(&self, outcome: Outcome, took: Option<Duration>) {
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

    /// Tasks finished so far, indexed by [`Outcome`].
    pub(super) fn snapshot(&self) -> [u64; 4] {
        self.finished
            .each_ref()
            .map(|count| count.load(Ordering::Relaxed))
    }

    pub(super) fn queue_add(&self, n: i64) {
        if let Some(m) = &self.metrics {
            m.queue.add(n);
        }
    }

    /// A task was refused.
    pub(super) fn rejected(&self) {
        if let Some(m) = &self.metrics {
            m.rejected.inc();
        }
    }

    pub(super) fn waiting(&self) -> GaugeGuard {
        GaugeGuard::inc(self.metrics.as_ref().map(|m| &m.waiting))
    }

    pub(super) fn busy(&self) -> GaugeGuard {
        GaugeGuard::inc(self.metrics.as_ref().map(|m| &m.busy))
    }
}

/// Holds a gauge up by one until dropped, also when the holder is cancelled.
pub(super) struct GaugeGuard(Option<IntGauge>);

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
pub(super) struct PoolMetrics {
    queue: IntGauge,
    waiting: IntGauge,
    busy: IntGauge,
    tasks: IntCounterVec,
    rejected: IntCounter,
    duration: HistogramVec,
}

impl PoolMetrics {
    pub(super) fn register(
        m: &Metrics,
        pool: &str,
        workers: NonZeroUsize,
    ) -> Result<Self, MetricsError> {
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
