//! The run-time log filter behind `PUT /admin/log-level`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing_subscriber::filter::EnvFilter;
use tracing_subscriber::{reload, Registry};

use super::logs::parse_filter;
use super::TelemetryError;

/// Changes the log filter at run time, optionally reverting after a TTL.
#[derive(Clone)]
pub struct LogControl {
    inner: Arc<ControlInner>,
}

struct ControlInner {
    handle: reload::Handle<EnvFilter, Registry>,
    state: Mutex<ControlState>,
}

struct ControlState {
    current: String,
    default: String,
    generation: u64,
    reverts_at: Option<std::time::SystemTime>,
}

/// The state reported by `GET /admin/log-level`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LogLevelState {
    /// The filter in force.
    pub filter: String,
    /// The filter from config, restored when a TTL ends.
    pub default: String,
    /// When the current filter reverts, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reverts_at: Option<String>,
}

impl LogControl {
    pub(super) fn new(handle: reload::Handle<EnvFilter, Registry>, default: String) -> Self {
        Self {
            inner: Arc::new(ControlInner {
                handle,
                state: Mutex::new(ControlState {
                    current: default.clone(),
                    default,
                    generation: 0,
                    reverts_at: None,
                }),
            }),
        }
    }

    /// The filter in force and when it reverts.
    pub fn state(&self) -> LogLevelState {
        let s = self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
        LogLevelState {
            filter: s.current.clone(),
            default: s.default.clone(),
            reverts_at: s
                .reverts_at
                .map(|t| humantime::format_rfc3339_seconds(t).to_string()),
        }
    }

    /// Replace the filter now; with `ttl`, restore the configured one afterwards.
    /// Must be called inside a tokio runtime when `ttl` is set.
    ///
    /// # Errors
    /// The filter does not parse (nothing changes then).
    pub fn set(
        &self,
        filter: &str,
        ttl: Option<Duration>,
    ) -> Result<LogLevelState, TelemetryError> {
        let parsed = parse_filter(filter)?;
        let generation = {
            let mut s = self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
            self.inner
                .handle
                .reload(parsed)
                .map_err(|e| TelemetryError::Filter {
                    filter: filter.into(),
                    reason: e.to_string(),
                })?;
            s.current = filter.into();
            s.generation += 1;
            s.reverts_at = ttl.map(|t| std::time::SystemTime::now() + t);
            s.generation
        };
        tracing::warn!(filter, ttl = ?ttl.map(humantime::format_duration).map(|d| d.to_string()), "log filter changed");
        if let Some(ttl) = ttl {
            let this = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(ttl).await;
                this.revert_if(generation);
            });
        }
        Ok(self.state())
    }

    fn revert_if(&self, generation: u64) {
        let mut s = self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
        // A later change supersedes this TTL.
        if s.generation != generation {
            return;
        }
        let default = s.default.clone();
        if let Ok(f) = parse_filter(&default) {
            if self.inner.handle.reload(f).is_ok() {
                let previous = std::mem::replace(&mut s.current, default.clone());
                s.reverts_at = None;
                drop(s);
                tracing::warn!(filter = %default, previous = %previous, "log filter TTL ended; reverted to the configured filter");
            }
        }
    }
}
