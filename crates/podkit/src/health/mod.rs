//! Probes: liveness, readiness with dependency checks, and start-up.
//!
//! Liveness answers from the process alone: restarting a pod because its database is
//! down only adds a restart storm to an outage. Readiness runs every registered check
//! concurrently, each under `health.check_timeout`, and caches the report for
//! `health.cache_ttl` so a storm of probes costs one round of checks. Once shutdown
//! begins, readiness is 503 at once without running anything.
//!
//! Each check has a [`Role`]: a gating check's failure turns `/readyz` 503; a
//! report-only check's failure is listed under `degraded` and in the
//! `health_check_status` gauge while the pod stays in traffic. The service picks
//! the default when it registers the check; `health.checks.<name>.gates_readiness`
//! overrides it, and [`Health::check_overrides`] rejects overrides naming no check.
//!
//! # Layout
//!
//! - this file: [`Health`], the shared state, its cache and its gauges;
//! - `check`: [`Role`] and how one check is run and timed;
//! - `report`: [`ReadinessReport`] and [`CheckReport`], the `/readyz` body;
//! - `probe`: the `probe` subcommand's client.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

// Tokio's clock: the same as std's at run time, and pausable in tests.
use tokio::time::Instant;

use prometheus::{IntGauge, IntGaugeVec};
use tokio::sync::Mutex;

use crate::config::{ConfigError, HealthConfig};
use crate::telemetry::metrics::{Metrics, MetricsError};

mod check;
pub mod probe;
mod report;

pub use check::Role;
use check::{CheckFn, NamedCheck};
pub use report::{CheckReport, ReadinessReport};

/// The longest a failed readiness report is reused.
const FAILURE_TTL: Duration = Duration::from_millis(100);

/// The pod's health state, shared by the lifecycle, the admin router and the service.
#[derive(Clone)]
pub struct Health {
    inner: Arc<Inner>,
}

struct Inner {
    checks: std::sync::RwLock<Vec<Arc<NamedCheck>>>,
    started: AtomicBool,
    shutting_down: AtomicBool,
    /// The last report, when it ran, and how many checks were registered then.
    cache: Mutex<Option<(Instant, ReadinessReport, usize)>>,
    config: HealthConfig,
    metrics: Option<HealthMetrics>,
}

#[derive(Clone)]
struct HealthMetrics {
    check: IntGaugeVec,
    gating: IntGaugeVec,
    ready: IntGauge,
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
                gating: m.gauge_vec(
                    "health_check_gating",
                    "Whether a failure of this check turns readiness off: 1 gating, 0 report-only.",
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

    /// Register a gating readiness check: `Ok` passes, `Err(reason)` fails and
    /// turns `/readyz` 503. Same as [`Health::add_check_with`] with [`Role::Gating`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// // A service gets its `Health` from `Context::health` in its start function.
    /// let health = podkit::Health::build(&Default::default(), None).unwrap();
    /// health.add_check("upstream", || async { Ok(()) });
    /// health.add_check("queue", || async { Err("broker.svc:5672: connection refused".to_string()) });
    /// health.mark_started(); // the pod does this once the start function returns
    /// let report = health.readiness().await; // what `/readyz` answers
    /// assert!(!report.is_ready(), "a failing gating check turns readiness off");
    /// # }
    /// ```
    pub fn add_check<F, Fut>(&self, name: &str, check: F)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.add_check_with(name, Role::Gating, check);
    }

    /// Register a readiness check with a default [`Role`], which
    /// `health.checks.<name>.gates_readiness` overrides. Register checks in the
    /// start function: overrides are validated when it returns.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let health = podkit::Health::build(&Default::default(), None).unwrap();
    /// use podkit::health::Role;
    /// health.add_check_with("database", Role::ReportOnly, || async { Err("down".to_string()) });
    /// health.mark_started();
    /// let report = health.readiness().await;
    /// assert!(report.is_ready(), "a report-only failure keeps the pod in traffic");
    /// assert_eq!(report.degraded, ["database"]);
    /// # }
    /// ```
    pub fn add_check_with<F, Fut>(&self, name: &str, role: Role, check: F)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        let run: CheckFn = Arc::new(move || Box::pin(check()));
        let configured = self.inner.config.checks.get(name);
        let role = role.resolve(configured.and_then(|c| c.gates_readiness));
        if let Some(m) = &self.inner.metrics {
            m.gating
                .with_label_values(&[name])
                .set(i64::from(role == Role::Gating));
        }
        // Invariant: the lock is never held across a panic-prone call.
        let mut checks = self.inner.checks.write().unwrap_or_else(|e| e.into_inner());
        checks.push(Arc::new(NamedCheck {
            name: name.into(),
            role,
            run,
        }));
    }

    /// Every `health.checks.<name>` names a registered check.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the first unknown key and the registered
    /// checks: a typo must fail start-up rather than silently change nothing.
    pub fn check_overrides(&self) -> Result<(), ConfigError> {
        let checks = self.inner.checks.read().unwrap_or_else(|e| e.into_inner());
        let known: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
        let Some(unknown) = self
            .inner
            .config
            .checks
            .keys()
            .find(|k| !known.contains(&k.as_str()))
        else {
            return Ok(());
        };
        let listed: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
        Err(ConfigError::Invalid {
            key: format!("health.checks.{unknown}"),
            source_name: "configuration".into(),
            reason: format!(
                "no readiness check is named `{unknown}`; registered: {}",
                if listed.is_empty() {
                    "none".to_string()
                } else {
                    listed.join(", ")
                }
            ),
        })
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
            return ReadinessReport::shutting_down();
        }
        // Holding the lock while checking makes concurrent probes wait for one run
        // instead of starting their own.
        let mut cache = self.inner.cache.lock().await;
        let registered = self
            .inner
            .checks
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .len();
        // A report from before a check was registered (a probe during start-up,
        // when the service has not added its checks yet) says nothing about it.
        if let Some((at, report, _)) = cache.as_ref().filter(|c| c.2 == registered) {
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
        *cache = Some((Instant::now(), report.clone(), registered));
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
        let runs = checks.iter().map(|c| c.run(timeout));
        let results = futures_util::future::join_all(runs).await;
        if let Some(m) = &self.inner.metrics {
            for r in &results {
                m.check
                    .with_label_values(&[&r.name])
                    .set(i64::from(r.passed()));
            }
        }
        ReadinessReport::from_checks(results)
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
            ..Default::default()
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

    #[tokio::test]
    async fn a_report_cached_before_a_check_was_added_is_not_reused() {
        // A probe during start-up ran no checks; the service then registered one
        // that fails, and start-up ended within the cache TTL.
        let h = health(Duration::from_secs(60));
        assert_eq!(h.readiness().await.status, "starting");
        h.add_check("index", || async { Err("loading".into()) });
        h.mark_started();
        assert_eq!(h.readiness().await.status, "not_ready");
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

    fn health_with(overrides: &[(&str, bool)], metrics: Option<&Metrics>) -> Health {
        let checks = overrides
            .iter()
            .map(|(name, gates)| {
                let c = crate::config::CheckConfig {
                    gates_readiness: Some(*gates),
                };
                (name.to_string(), c)
            })
            .collect();
        let cfg = HealthConfig {
            cache_ttl: Duration::ZERO,
            checks,
            ..Default::default()
        };
        let h = Health::build(&cfg, metrics).unwrap();
        h.mark_started();
        h
    }

    async fn down() -> Result<(), String> {
        Err("connection refused".into())
    }

    #[tokio::test]
    async fn a_failing_report_only_check_keeps_the_pod_ready_and_is_listed_as_degraded() {
        let h = health_with(&[], None);
        h.add_check("places", || async { Ok(()) });
        h.add_check_with("database", Role::ReportOnly, down);
        let r = h.readiness().await;
        assert!(r.is_ready(), "{r:?}");
        assert_eq!(r.degraded, ["database"]);
        let db = r.checks.iter().find(|c| c.name == "database").unwrap();
        assert_eq!((db.status, db.gating), ("fail", false));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["checks"][0]["gating"], true, "{json}");
    }

    #[tokio::test]
    async fn config_overrides_the_role_the_service_registered() {
        let cases = [
            (
                "report-only made gating",
                Role::ReportOnly,
                true,
                "not_ready",
            ),
            ("gating made report-only", Role::Gating, false, "ready"),
        ];
        for (case, registered, gates, expected) in cases {
            let h = health_with(&[("database", gates)], None);
            h.add_check_with("database", registered, down);
            let r = h.readiness().await;
            assert_eq!(r.status, expected, "{case}");
            assert_eq!(r.checks[0].gating, gates, "{case}");
        }
    }

    #[test]
    fn an_override_naming_no_registered_check_is_a_config_error_naming_the_key() {
        let h = health_with(&[("databse", false)], None);
        h.add_check_with("database", Role::ReportOnly, down);
        h.add_check("places", || async { Ok(()) });
        let err = h.check_overrides().unwrap_err().to_string();
        assert!(err.contains("`health.checks.databse`"), "{err}");
        assert!(err.contains("`database`, `places`"), "{err}");
        let ok = health_with(&[("database", true)], None);
        ok.add_check_with("database", Role::ReportOnly, down);
        assert!(ok.check_overrides().is_ok());
    }

    #[tokio::test]
    async fn gauges_show_each_checks_status_and_whether_it_gates() {
        let build = crate::BuildInfo {
            name: "t",
            release: "0",
            commit: "c",
            build_time: "b",
        };
        let m = Metrics::build(&Default::default(), &build).unwrap();
        let h = health_with(&[], Some(&m));
        h.add_check("places", || async { Ok(()) });
        h.add_check_with("database", Role::ReportOnly, down);
        assert!(h.readiness().await.is_ready());
        let text = m.render();
        for line in [
            "health_check_status{check=\"database\"} 0",
            "health_check_status{check=\"places\"} 1",
            "health_check_gating{check=\"database\"} 0",
            "health_check_gating{check=\"places\"} 1",
            "health_ready 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
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
