//! One readiness check: its name, its [`Role`], and how a run of it is timed and
//! reported.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

// Tokio's clock: the same as std's at run time, and pausable in tests.
use tokio::time::Instant;

use super::report::CheckReport;

/// Whether a check's failure takes the pod out of traffic.
///
/// A dependency every replica shares (a database) should usually be
/// [`Role::ReportOnly`]: when it is down, all replicas fail the check together, and
/// gating on it would pull every one of them out of the Service, including the
/// endpoints that do not need it. A dependency of this replica alone (an index it
/// loads, a local cache) should be [`Role::Gating`]: another replica may well have
/// it, so traffic is better sent there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Role {
    /// A failure turns `/readyz` 503.
    Gating,
    /// A failure is reported (`/readyz` `degraded`, `health_check_status`), and the
    /// pod stays ready.
    ReportOnly,
}

impl Role {
    /// `health.checks.<name>.gates_readiness` applied to the registered default.
    pub(super) fn resolve(self, gates_readiness: Option<bool>) -> Self {
        match gates_readiness {
            Some(true) => Role::Gating,
            Some(false) => Role::ReportOnly,
            None => self,
        }
    }
}

pub(super) type CheckFn =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

pub(super) struct NamedCheck {
    pub(super) name: String,
    pub(super) role: Role,
    pub(super) run: CheckFn,
}

impl NamedCheck {
    /// Run once, failing after `timeout`.
    pub(super) async fn run(&self, timeout: Duration) -> CheckReport {
        let start = Instant::now();
        let outcome = match tokio::time::timeout(timeout, (self.run)()).await {
            Ok(r) => r,
            Err(_) => Err(format!(
                "timed out after {}",
                humantime::format_duration(timeout)
            )),
        };
        let duration_ms = start.elapsed().as_secs_f64() * 1000.0;
        let gating = self.role == Role::Gating;
        if let Err(e) = &outcome {
            tracing::warn!(check = %self.name, gating, error.message = %e, "readiness check failed");
        }
        CheckReport {
            name: self.name.clone(),
            status: if outcome.is_ok() { "pass" } else { "fail" },
            gating,
            duration_ms,
            error: outcome.err(),
        }
    }
}
