//! [`WorkerPoolConfig`]: a pool's section in the service's config.

use std::num::NonZeroUsize;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::duration;

/// A worker pool's section in the service's config, e.g. `mailer:`.
///
/// ```yaml
/// mailer:
///   workers: 4
///   queue_size: 64
///   cancel_grace: 1s
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerPoolConfig {
    /// How many tasks run at once. `workers: 4`
    pub workers: NonZeroUsize,
    /// How many tasks may wait for a worker; the next one is rejected. `queue_size: 64`
    pub queue_size: NonZeroUsize,
    /// After the shutdown deadline, how long running tasks get to return once their
    /// [`TaskContext`](super::TaskContext) is cancelled. After that they are dropped. `cancel_grace: 1s`
    #[serde(with = "duration")]
    pub cancel_grace: Duration,
}

impl Default for WorkerPoolConfig {
    fn default() -> Self {
        Self {
            // Invariant: both literals are non-zero.
            workers: NonZeroUsize::new(4).unwrap(),
            queue_size: NonZeroUsize::new(64).unwrap(),
            cancel_grace: Duration::from_secs(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_and_yaml_keys() {
        let d = WorkerPoolConfig::default();
        assert_eq!((d.workers.get(), d.queue_size.get()), (4, 64));
        assert_eq!(d.cancel_grace, Duration::from_secs(1));

        let c: WorkerPoolConfig =
            serde_yaml::from_str("workers: 2\nqueue_size: 8\ncancel_grace: 250ms\n").unwrap();
        assert_eq!((c.workers.get(), c.queue_size.get()), (2, 8));
        assert_eq!(c.cancel_grace, Duration::from_millis(250));

        for (yaml, why) in [
            ("workers: 0\n", "zero workers"),
            ("queue_size: 0\n", "a zero-length queue"),
            ("worker: 2\n", "an unknown key"),
        ] {
            assert!(
                serde_yaml::from_str::<WorkerPoolConfig>(yaml).is_err(),
                "case {why}: {yaml:?} must be rejected"
            );
        }
    }
}
