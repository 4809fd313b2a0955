//! The body of `/readyz`: [`ReadinessReport`] and one [`CheckReport`] per check.

use serde::Serialize;

/// Outcome of one check.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// The check's name (`database`).
    pub name: String,
    /// `pass` or `fail`.
    pub status: &'static str,
    /// Whether a failure turns readiness off; `false` for a report-only check.
    pub gating: bool,
    /// How long it took, in milliseconds.
    pub duration_ms: f64,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl CheckReport {
    /// Whether it passed.
    pub fn passed(&self) -> bool {
        self.status == "pass"
    }
}

/// The body of `/readyz`.
#[derive(Debug, Clone, Serialize)]
pub struct ReadinessReport {
    /// `ready`, `not_ready`, `starting` or `shutting_down`.
    pub status: &'static str,
    /// The report-only checks that fail: the pod serves, but what needs them does
    /// not work (atlas answers those calls 503 + `Retry-After`). Always present,
    /// empty when nothing is degraded.
    pub degraded: Vec<String>,
    /// Every registered check.
    pub checks: Vec<CheckReport>,
}

impl ReadinessReport {
    /// `ready` when every gating check passes, whatever the report-only ones say.
    pub(super) fn from_checks(checks: Vec<CheckReport>) -> Self {
        let ok = checks.iter().all(|c| c.passed() || !c.gating);
        let degraded = checks
            .iter()
            .filter(|c| !c.passed() && !c.gating)
            .map(|c| c.name.clone())
            .collect();
        Self {
            status: if ok { "ready" } else { "not_ready" },
            degraded,
            checks,
        }
    }

    /// Shutdown began: no checks are run.
    pub(super) fn shutting_down() -> Self {
        Self {
            status: "shutting_down",
            degraded: Vec::new(),
            checks: Vec::new(),
        }
    }

    /// Whether the pod should receive traffic.
    pub fn is_ready(&self) -> bool {
        self.status == "ready"
    }
}
