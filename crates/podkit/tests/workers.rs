//! The worker pool: backpressure, panics, draining and cancelling at shutdown, spans
//! and metrics. Time is paused, so the sleeps below cost no real time.
//!
//! Run with: `cargo test -p podkit --test workers`

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use podkit::config::{MetricFamilies, MetricsConfig};
use podkit::workers::{Rejected, WorkerPool, WorkerPoolConfig};
use podkit::{BuildInfo, Metrics};
use tokio::time::{sleep, Instant};
use tokio_util::sync::CancellationToken;
use tracing_subscriber::registry::LookupSpan;

const BUILD: BuildInfo = BuildInfo {
    name: "kit-test",
    release: "0.0.0",
    commit: "test",
    build_time: "unset",
};

/// A bare registry as the global subscriber, installed before any test makes a span:
/// a scoped one (`set_default`) races with other test threads registering the same
/// callsites and can miss spans.
static TRACING: LazyLock<()> = LazyLock::new(|| {
    tracing::subscriber::set_global_default(tracing_subscriber::registry())
        .expect("no other global subscriber in this binary");
});

fn metrics(worker_pool: bool) -> Metrics {
    LazyLock::force(&TRACING);
    let config = MetricsConfig {
        families: MetricFamilies {
            process: false,
            worker_pool,
            ..Default::default()
        },
        ..Default::default()
    };
    Metrics::build(&config, &BUILD).unwrap()
}

fn config(workers: usize, queue_size: usize) -> WorkerPoolConfig {
    WorkerPoolConfig {
        workers: workers.try_into().unwrap(),
        queue_size: queue_size.try_into().unwrap(),
        cancel_grace: Duration::from_secs(1),
    }
}

fn pool(name: &str, workers: usize, queue_size: usize) -> (WorkerPool, Metrics) {
    let m = metrics(true);
    let pool = WorkerPool::build(name, config(workers, queue_size), Some(&m)).unwrap();
    (pool, m)
}

/// The value of the series of `family` whose labels include `labels`, 0 if absent.
fn value(m: &Metrics, family: &str, labels: &[(&str, &str)]) -> f64 {
    let text = m.render();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|line| {
            let (series, v) = line.rsplit_once(' ')?;
            let (name, rest) = series.split_once('{').unwrap_or((series, ""));
            let has_all = labels
                .iter()
                .all(|(k, val)| rest.contains(&format!("{k}=\"{val}\"")));
            (name == family && has_all).then(|| v.parse().unwrap())
        })
        .unwrap_or(0.0)
}

/// Yield until `cond` holds; the pool's tasks run on this same thread meanwhile.
async fn until(what: &str, cond: impl Fn() -> bool) {
    for _ in 0..10_000 {
        if cond() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("never happened: {what}");
}

/// A task that runs until `gate` opens.
fn blocked(gate: &CancellationToken) -> impl FnOnce(podkit::workers::TaskContext) -> GateFut {
    let gate = gate.clone();
    move |_| Box::pin(async move { gate.cancelled().await })
}
type GateFut = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

#[tokio::test(start_paused = true)]
async fn try_submit_rejects_with_queue_full_once_every_worker_and_queue_slot_is_taken() {
    let (pool, m) = pool("jobs", 1, 2);
    let gate = CancellationToken::new();
    pool.try_submit(blocked(&gate)).unwrap();
    until("the first task runs", || {
        value(&m, "worker_pool_busy_workers", &[("pool", "jobs")]) == 1.0
    })
    .await;
    pool.try_submit(blocked(&gate)).unwrap();
    pool.try_submit(blocked(&gate)).unwrap();

    assert_eq!(pool.try_submit(|_| async {}), Err(Rejected::QueueFull));
    assert_eq!(
        value(&m, "worker_pool_queue_length", &[("pool", "jobs")]),
        2.0
    );
    assert_eq!(
        value(&m, "worker_pool_rejected_total", &[("pool", "jobs")]),
        1.0
    );

    gate.cancel();
    let report = pool.shutdown(Duration::from_secs(5)).await;
    assert_eq!((report.completed, report.cancelled), (3, 0));
    assert_eq!(
        value(&m, "worker_pool_queue_length", &[("pool", "jobs")]),
        0.0
    );
    assert_eq!(
        value(&m, "worker_pool_busy_workers", &[("pool", "jobs")]),
        0.0
    );
}

#[tokio::test(start_paused = true)]
async fn submit_waits_for_room_and_counts_the_waiting_caller() {
    let (pool, m) = pool("mail", 1, 1);
    let gate = CancellationToken::new();
    pool.try_submit(blocked(&gate)).unwrap();
    until("the first task runs", || {
        value(&m, "worker_pool_busy_workers", &[("pool", "mail")]) == 1.0
    })
    .await;
    pool.try_submit(blocked(&gate)).unwrap();

    let (p, g) = (pool.clone(), gate.clone());
    let waiter = tokio::spawn(async move { p.submit(blocked(&g), Duration::from_secs(30)).await });
    until("the caller waits", || {
        value(&m, "worker_pool_waiting_tasks", &[("pool", "mail")]) == 1.0
    })
    .await;
    assert!(!waiter.is_finished());

    gate.cancel();
    assert!(waiter.await.unwrap().is_ok(), "room came before max_wait");
    assert_eq!(
        value(&m, "worker_pool_waiting_tasks", &[("pool", "mail")]),
        0.0
    );
    pool.shutdown(Duration::from_secs(5)).await;
    let ok = [("pool", "mail"), ("outcome", "ok")];
    assert_eq!(value(&m, "worker_pool_tasks_total", &ok), 3.0);
    assert_eq!(
        value(&m, "worker_pool_rejected_total", &[("pool", "mail")]),
        0.0
    );
}

#[tokio::test(start_paused = true)]
async fn submit_gives_up_with_queue_full_after_max_wait() {
    let (pool, m) = pool("mail", 1, 1);
    let gate = CancellationToken::new();
    pool.try_submit(blocked(&gate)).unwrap();
    until("the first task runs", || {
        value(&m, "worker_pool_busy_workers", &[("pool", "mail")]) == 1.0
    })
    .await;
    pool.try_submit(blocked(&gate)).unwrap();

    let started = Instant::now();
    let res = pool.submit(|_| async {}, Duration::from_secs(2)).await;
    assert_eq!(res, Err(Rejected::QueueFull));
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(2) && waited < Duration::from_millis(2100),
        "{waited:?}"
    );
    assert_eq!(
        value(&m, "worker_pool_waiting_tasks", &[("pool", "mail")]),
        0.0
    );
    assert_eq!(
        value(&m, "worker_pool_rejected_total", &[("pool", "mail")]),
        1.0
    );
    gate.cancel();
}

#[tokio::test(start_paused = true)]
async fn a_panicking_task_counts_as_panic_and_the_pool_keeps_working() {
    let (pool, m) = pool("fragile", 1, 8);
    pool.try_submit(|_| async {
        panic!("boom");
        #[allow(unreachable_code)]
        ()
    })
    .unwrap();
    pool.try_submit(|_| async { Err::<(), _>("bad input") })
        .unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    pool.try_submit(move |_| async move {
        let _ = tx.send(());
    })
    .unwrap();
    rx.await
        .expect("the only worker ran a task after the panic");

    pool.shutdown(Duration::from_secs(5)).await;
    for (outcome, n) in [
        ("ok", 1.0),
        ("error", 1.0),
        ("panic", 1.0),
        ("cancelled", 0.0),
    ] {
        let labels = [("pool", "fragile"), ("outcome", outcome)];
        assert_eq!(
            value(&m, "worker_pool_tasks_total", &labels),
            n,
            "case {outcome}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn shutdown_lets_queued_and_running_tasks_finish_within_the_deadline() {
    let (pool, m) = pool("drain", 2, 8);
    let done = Arc::new(AtomicUsize::new(0));
    for _ in 0..6 {
        let done = done.clone();
        pool.try_submit(move |_| async move {
            sleep(Duration::from_secs(1)).await;
            done.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
    }

    let started = Instant::now();
    let report = pool.shutdown(Duration::from_secs(10)).await;
    assert_eq!((report.completed, report.cancelled), (6, 0));
    assert_eq!(done.load(Ordering::SeqCst), 6);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_millis(3100),
        "six 1s tasks on two workers take 3s, not the deadline: {took:?}"
    );

    assert_eq!(pool.try_submit(|_| async {}), Err(Rejected::ShuttingDown));
    let res = pool.submit(|_| async {}, Duration::from_secs(1)).await;
    assert_eq!(res, Err(Rejected::ShuttingDown));
    assert_eq!(
        value(&m, "worker_pool_rejected_total", &[("pool", "drain")]),
        2.0
    );
}

#[tokio::test(start_paused = true)]
async fn tasks_left_at_the_deadline_are_cancelled_and_counted() {
    let (pool, m) = pool("slow", 2, 8);
    let saw_cancel = Arc::new(AtomicBool::new(false));
    // Finishes in time.
    pool.try_submit(|_| sleep(Duration::from_secs(1))).unwrap();
    // Watches its context and stops at the deadline.
    let saw = saw_cancel.clone();
    pool.try_submit(move |task| async move {
        task.cancelled().await;
        saw.store(true, Ordering::SeqCst);
        Err::<(), _>("stopped at shutdown")
    })
    .unwrap();
    // Ignores its context: dropped after the grace.
    pool.try_submit(|_| sleep(Duration::from_secs(3600)))
        .unwrap();
    // Still queued at the deadline: never starts.
    let started_late = Arc::new(AtomicBool::new(false));
    let late = started_late.clone();
    pool.try_submit(move |_| async move { late.store(true, Ordering::SeqCst) })
        .unwrap();

    let started = Instant::now();
    let report = pool.shutdown(Duration::from_secs(5)).await;
    let took = started.elapsed();

    assert_eq!((report.completed, report.cancelled), (1, 3));
    assert!(saw_cancel.load(Ordering::SeqCst));
    assert!(!started_late.load(Ordering::SeqCst));
    assert!(
        took >= Duration::from_secs(6) && took < Duration::from_millis(6100),
        "deadline 5s + cancel_grace 1s: {took:?}"
    );
    let outcome = |o| {
        value(
            &m,
            "worker_pool_tasks_total",
            &[("pool", "slow"), ("outcome", o)],
        )
    };
    assert_eq!((outcome("ok"), outcome("cancelled")), (1.0, 3.0));
    assert_eq!(
        value(&m, "worker_pool_busy_workers", &[("pool", "slow")]),
        0.0
    );
    assert_eq!(
        value(&m, "worker_pool_queue_length", &[("pool", "slow")]),
        0.0
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_hook_drains_and_cancels_within_the_hook_budget() {
    let (pool, m) = pool("hooked", 1, 1);
    pool.try_submit(|_| sleep(Duration::from_secs(3600)))
        .unwrap();
    let hook = pool.shutdown_hook(Duration::from_secs(5));
    let started = Instant::now();
    hook().await;
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(5) && took < Duration::from_millis(5100),
        "4s drain + 1s grace: {took:?}"
    );
    let labels = [("pool", "hooked"), ("outcome", "cancelled")];
    assert_eq!(value(&m, "worker_pool_tasks_total", &labels), 1.0);
}

#[tokio::test(start_paused = true)]
async fn tasks_run_in_a_child_span_of_the_submitters_span() {
    let (pool, _m) = pool("traced", 1, 1);
    let (tx, rx) = tokio::sync::oneshot::channel();
    let request = tracing::info_span!("http_request", request_id = "r-1");
    request
        .in_scope(|| {
            pool.try_submit(move |_| async move {
                let _ = tx.send(current_span_scope());
            })
        })
        .unwrap();
    assert_eq!(rx.await.unwrap(), ["worker_task", "http_request"]);
}

/// Names of the current span and its ancestors, innermost first.
fn current_span_scope() -> Vec<&'static str> {
    // Outside `get_default`: inside it, the current dispatcher is a no-op one.
    let Some(id) = tracing::Span::current().id() else {
        return Vec::new();
    };
    tracing::dispatcher::get_default(|d| {
        let registry = d
            .downcast_ref::<tracing_subscriber::Registry>()
            .expect("TRACING installs a bare registry");
        registry
            .span(&id)
            .map(|span| span.scope().map(|s| s.name()).collect())
            .unwrap_or_default()
    })
}

#[tokio::test(start_paused = true)]
async fn metrics_show_every_worker_pool_family_with_the_pool_label() {
    let (pool, m) = pool("reports", 3, 5);
    pool.try_submit(|_| sleep(Duration::from_millis(30)))
        .unwrap();
    pool.shutdown(Duration::from_secs(1)).await;

    let text = m.render();
    for (family, kind) in [
        ("worker_pool_queue_length", "gauge"),
        ("worker_pool_waiting_tasks", "gauge"),
        ("worker_pool_busy_workers", "gauge"),
        ("worker_pool_workers", "gauge"),
        ("worker_pool_tasks_total", "counter"),
        ("worker_pool_rejected_total", "counter"),
        ("worker_pool_task_duration_seconds", "histogram"),
    ] {
        assert!(
            text.contains(&format!("# TYPE {family} {kind}")),
            "case {family}: {text}"
        );
    }
    assert_eq!(
        value(&m, "worker_pool_workers", &[("pool", "reports")]),
        3.0
    );
    let ok = [("pool", "reports"), ("outcome", "ok")];
    assert_eq!(
        value(&m, "worker_pool_task_duration_seconds_count", &ok),
        1.0
    );
    // 30ms lands in the 0.05 bucket, not in 0.025.
    let bucket = |le| {
        value(
            &m,
            "worker_pool_task_duration_seconds_bucket",
            &[("pool", "reports"), ("outcome", "ok"), ("le", le)],
        )
    };
    assert_eq!((bucket("0.025"), bucket("0.05")), (0.0, 1.0));
}

#[tokio::test(start_paused = true)]
async fn pools_share_the_families_by_name_and_a_duplicate_name_is_refused() {
    let m = metrics(true);
    let _a = WorkerPool::build("a", config(1, 1), Some(&m)).unwrap();
    let _b = WorkerPool::build("b", config(2, 1), Some(&m)).unwrap();
    assert_eq!(value(&m, "worker_pool_workers", &[("pool", "a")]), 1.0);
    assert_eq!(value(&m, "worker_pool_workers", &[("pool", "b")]), 2.0);
    assert!(WorkerPool::build("a", config(1, 1), Some(&m)).is_err());
}

#[tokio::test(start_paused = true)]
async fn no_worker_pool_metrics_when_the_family_is_switched_off() {
    let m = metrics(false);
    let pool = WorkerPool::build("quiet", config(1, 1), Some(&m)).unwrap();
    pool.try_submit(|_| async {}).unwrap();
    pool.shutdown(Duration::from_secs(1)).await;
    assert!(!m.render().contains("worker_pool_"), "{}", m.render());
}
