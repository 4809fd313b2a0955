//! atlas's configuration: podkit's sections plus the service's own.

use podkit::cli::CommonArgs;
use podkit::Loader;
use serde::{Deserialize, Serialize};

/// Environment prefix: `ATLAS_SECTION__KEY`.
pub const ENV_PREFIX: &str = "ATLAS";

/// The service's own sections (podkit's sit beside them in the same file; podkit
/// rejects unknown top-level keys, each section rejects unknown keys of its own).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {}

/// The loaded configuration.
pub type Config = podkit::Config<Settings>;

/// A loader with atlas's prefix and well-known names, topped by the command line.
pub fn loader(args: &CommonArgs) -> Loader {
    args.loader(ENV_PREFIX)
}
