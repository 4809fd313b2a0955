//! What was built: release, commit and build time, baked in by the service's build script.

use serde::Serialize;

/// Build identity, as served on `/home` and printed by `--version`.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildInfo {
    /// The service name (`atlas`).
    #[serde(skip)]
    pub name: &'static str,
    /// Semantic version: the crate version unless `BUILD_RELEASE` was set at build.
    pub release: &'static str,
    /// Commit hash, or `unset`.
    pub commit: &'static str,
    /// RFC 3339 build time, or `unset`.
    pub build_time: &'static str,
}

impl BuildInfo {
    /// `release: 0.1.0, commit: abc123, buildTime: 2026-01-01T00:00:00Z`
    pub fn version_line(&self) -> String {
        format!(
            "release: {}, commit: {}, buildTime: {}",
            self.release, self.commit, self.build_time
        )
    }
}

/// The calling crate's [`BuildInfo`]. Its build script must emit `BUILD_RELEASE`,
/// `BUILD_COMMIT` and `BUILD_TIME` (see `crates/atlas/build.rs` for the twelve lines).
#[macro_export]
macro_rules! build_info {
    () => {
        $crate::BuildInfo {
            name: env!("CARGO_PKG_NAME"),
            release: env!("BUILD_RELEASE"),
            commit: env!("BUILD_COMMIT"),
            build_time: env!("BUILD_TIME"),
        }
    };
}
