//! Probes: liveness, readiness with dependency checks, and start-up.
//!
//! Liveness answers from the process alone: restarting a pod because its database is
//! down only adds a restart storm to an outage. Readiness runs every registered check
//! concurrently, each under `health.check_timeout`, and caches the report for
//! `health.cache_ttl` so a storm of probes costs one round of checks. Once shutdown
//! begins, readiness is 503 at once without running anything.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

// Tokio's clock: the same as std's at run time, and pausable in tests.
use tokio::time::Instant;

use prometheus::{IntGauge, IntGaugeVec};
use serde::Serialize;
use tokio::sync::Mutex;

use crate::config::HealthConfig;
use crate::telemetry::metrics::{Metrics, MetricsError};

pub mod probe;

/// The longest a failed readiness report is reused.
const FAILURE_TTL: Duration = Duration::from_millis(100);

type CheckFn =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

struct NamedCheck {
    name: String,
    run: CheckFn,
}

/// The pod's health state, shared by the lifecycle, the admin router and the service.
#[derive(Clone)]
pub struct Health {
    inner: Arc<Inner>,
}

struct Inner {
    checks: std::sync::RwLock<Vec<Arc<NamedCheck>>>,
    started: AtomicBool,
    shutting_down: AtomicBool,
    cache: Mutex<Option<(Instant, ReadinessReport)>>,
    config: HealthConfig,
    metrics: Option<HealthMetrics>,
}

#[derive(Clone)]
struct HealthMetrics {
    check: IntGaugeVec,
    ready: IntGauge,
}

/// Outcome of one check.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// The check's name (`database`).
    pub name: String,
    /// `pass` or `fail`.
    pub status: &'static str,
    /// How long it took, in milliseconds.
    pub duration_ms: f64,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The body of `/readyz`.
#[derive(Debug, Clone, Serialize)]
pub struct ReadinessReport {
    /// `ready`, `not_ready`, `starting` or `shutting_down`.
    pub status: &'static str,
    /// Every registered check.
    pub checks: Vec<CheckReport>,
}

impl ReadinessReport {
    /// Whether the pod should receive traffic.
    pub fn is_ready(&self) -> bool {
        self.status == "ready"
    }
}

impl Health {
    /// New state: not started, not shutting down, no checks.
    ///
    /// # Errors
    /// When the `health_*` metric families cannot be registered.
    pub fn build(config: &HealthConfig, metrics: Option<&Metrics>) -> Result<Self, MetricsError> {
        let metrics = match metrics {
            Some(m) if m.config().families.health => Some(HealthMetrics {
                check: m.gauge_vec(
                    "health_check_status",
                    "Result of the last run of a readiness check: 1 pass, 0 fail.",
                    &["check"],
                )?,
                ready: m.gauge(
                    "health_ready",
                    "Whether the pod reports ready: 1 ready, 0 not.",
                )?,
            }),
            _ => None,
        };
        Ok(Self {
            inner: Arc::new(Inner {
                checks: Default::default(),
                started: AtomicBool::new(false),
                shutting_down: AtomicBool::new(false),
                cache: Mutex::new(None),
                config: config.clone(),
                metrics,
            }),
        })
    }

    /// Register a readiness check: `Ok` passes, `Err(reason)` fails.
    ///
    /// ```no_run
    /// # let health = podkit::Health::build(&Default::default(), None).unwrap();
    /// health.add_check("upstream", || async { Ok(()) });
    /// ```
    pub fn add_check<F, Fut>(&self, name: &str, check: F)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        let run: CheckFn = Arc::new(move || Box::pin(check()));
        // Invariant: the lock is never held across a panic-prone call.
        let mut checks = self.inner.checks.write().unwrap_or_else(|e| e.into_inner());
        checks.push(Arc::new(NamedCheck {
            name: name.into(),
            run,
        }));
    }

    /// Start-up work is done: `/startupz` turns 200 and readiness may follow.
    pub fn mark_started(&self) {
        self.inner.started.store(true, Ordering::SeqCst);
    }

    /// Whether start-up work is done.
    pub fn is_started(&self) -> bool {
        self.inner.started.load(Ordering::SeqCst)
    }

    /// Shutdown began: readiness is 503 from now on.
    pub fn mark_shutting_down(&self) {
        self.inner.shutting_down.store(true, Ordering::SeqCst);
        if let Some(m) = &self.inner.metrics {
            m.ready.set(0);
        }
    }

    /// Whether shutdown began.
    pub fn is_shutting_down(&self) -> bool {
        self.inner.shutting_down.load(Ordering::SeqCst)
    }

    /// Run (or reuse) the readiness checks.
    pub async fn readiness(&self) -> ReadinessReport {
        if self.is_shutting_down() {
            return ReadinessReport {
                status: "shutting_down",
                checks: Vec::new(),
            };
        }
        // Holding the lock while checking makes concurrent probes wait for one run
        // instead of starting their own.
        let mut cache = self.inner.cache.lock().await;
        if let Some((at, report)) = cache.as_ref() {
            // A failure is reused only briefly, so a recovered dependency (or a
            // warm-up that just finished) shows at the next probe, not a TTL later.
            let ttl = if report.status == "ready" {
                self.inner.config.cache_ttl
            } else {
                self.inner.config.cache_ttl.min(FAILURE_TTL)
            };
            if at.elapsed() < ttl {
                return self.with_lifecycle(report.clone());
            }
        }
        let report = self.run_checks().await;
        *cache = Some((Instant::now(), report.clone()));
        self.with_lifecycle(report)
    }

    fn with_lifecycle(&self, mut report: ReadinessReport) -> ReadinessReport {
        if self.is_shutting_down() {
            report.status = "shutting_down";
        } else if !self.is_started() && report.status == "ready" {
            report.status = "starting";
        }
        if let Some(m) = &self.inner.metrics {
            m.ready.set(i64::from(report.is_ready()));
        }
        report
    }

    async fn run_checks(&self) -> ReadinessReport {
        let checks: Vec<Arc<NamedCheck>> = self
            .inner
            .checks
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let timeout = self.inner.config.check_timeout;
        let runs = checks.iter().map(|c| run_one(c, timeout));
        let results = futures_util::future::join_all(runs).await;
        if let Some(m) = &self.inner.metrics {
            for r in &results {
                m.check
                    .with_label_values(&[&r.name])
                    .set(i64::from(r.status == "pass"));
            }
        }
        let ok = results.iter().all(|r| r.status == "pass");
        ReadinessReport {
            status: if ok { "ready" } else { "not_ready" },
            checks: results,
        }
    }
}

async fn run_one(check: &NamedCheck, timeout: Duration) -> CheckReport {
    let start = Instant::now();
    let outcome = match tokio::time::timeout(timeout, (check.run)()).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "timed out after {}",
            humantime::format_duration(timeout)
        )),
    };
    let duration_ms = start.elapsed().as_secs_f64() * 1000.0;
    if let Err(e) = &outcome {
        tracing::warn!(check = %check.name, error.message = %e, "readiness check failed");
    }
    CheckReport {
        name: check.name.clone(),
        status: if outcome.is_ok() { "pass" } else { "fail" },
        duration_ms,
        error: outcome.err(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn health(ttl: Duration) -> Health {
        let cfg = HealthConfig {
            check_timeout: Duration::from_millis(100),
            cache_ttl: ttl,
        };
        Health::build(&cfg, None).unwrap()
    }

    #[tokio::test]
    async fn ready_only_when_started_and_every_check_passes() {
        let h = health(Duration::ZERO);
        h.add_check("ok", || async { Ok(()) });
        assert_eq!(h.readiness().await.status, "starting");
        h.mark_started();
        assert!(h.readiness().await.is_ready());
        h.add_check("db", || async { Err("connection refused".into()) });
        let r = h.readiness().await;
        assert_eq!(r.status, "not_ready");
        let db = r.checks.iter().find(|c| c.name == "db").unwrap();
        assert_eq!(db.status, "fail");
        assert_eq!(db.error.as_deref(), Some("connection refused"));
    }

    #[tokio::test]
    async fn without_checks_it_is_starting_until_start_up_ends() {
        let h = health(Duration::from_secs(60));
        assert_eq!(h.readiness().await.status, "starting");
        // The cached "all checks pass" must not outlive start-up's verdict either.
        assert_eq!(h.readiness().await.status, "starting");
        h.mark_started();
        assert!(h.readiness().await.is_ready());
    }

    #[tokio::test(start_paused = true)]
    async fn slow_checks_fail_by_timeout() {
        let h = health(Duration::ZERO);
        h.mark_started();
        h.add_check("slow", || async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            Ok(())
        });
        let r = h.readiness().await;
        assert_eq!(r.status, "not_ready");
        assert!(r.checks[0].error.as_deref().unwrap().contains("timed out"));
    }

    #[tokio::test]
    async fn results_are_cached_so_probe_storms_run_checks_once() {
        let h = health(Duration::from_secs(60));
        h.mark_started();
        let runs = Arc::new(AtomicUsize::new(0));
        let r2 = runs.clone();
        h.add_check("count", move || {
            let r = r2.clone();
            async move {
                r.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        });
        let storm = (0..50).map(|_| h.readiness());
        let reports = futures_util::future::join_all(storm).await;
        assert!(reports.iter().all(|r| r.is_ready()));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn failures_are_cached_briefly_so_recovery_shows_at_the_next_probe() {
        let h = health(Duration::from_secs(60));
        h.mark_started();
        let up = Arc::new(AtomicBool::new(false));
        let u = up.clone();
        h.add_check("flaky", move || {
            let ok = u.load(Ordering::SeqCst);
            async move {
                if ok {
                    Ok(())
                } else {
                    Err("down".into())
                }
            }
        });
        assert_eq!(h.readiness().await.status, "not_ready");
        up.store(true, Ordering::SeqCst);
        tokio::time::advance(FAILURE_TTL + Duration::from_millis(1)).await;
        assert!(
            h.readiness().await.is_ready(),
            "recovery seen well before the 60 s TTL"
        );
        up.store(false, Ordering::SeqCst);
        assert!(
            h.readiness().await.is_ready(),
            "a success is reused for the TTL"
        );
    }

    #[tokio::test]
    async fn shutting_down_turns_readiness_off_at_once() {
        let h = health(Duration::from_secs(60));
        h.mark_started();
        assert!(h.readiness().await.is_ready());
        h.mark_shutting_down();
        assert_eq!(h.readiness().await.status, "shutting_down");
    }
}
