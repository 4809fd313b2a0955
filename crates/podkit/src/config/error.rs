//! [`ConfigError`] and the mapping from figment's errors to it.

use std::path::PathBuf;

use figment::{Figment, Metadata};

/// Why configuration could not be loaded. Displayed as the one line printed at exit.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The config file named by `--config`/`CONFIG_FILE` cannot be read.
    #[error("config error: cannot read config file {path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        reason: String,
    },
    /// A key is unknown, or its value is invalid.
    #[error("config error: key `{key}` from {source_name}: {reason}")]
    Invalid {
        /// Dotted key path, e.g. `server.port`.
        key: String,
        /// Where the value came from, e.g. "environment variable `PORT`".
        source_name: String,
        /// What is wrong.
        reason: String,
    },
}

impl ConfigError {
    /// The exit code for a configuration failure (2, as for a usage error).
    pub const EXIT_CODE: u8 = 2;
}

/// Where the value at `key` came from, for an error message.
pub(super) fn source_of(fig: &Figment, key: &str) -> String {
    fig.find_metadata(key)
        .map(describe)
        .unwrap_or_else(|| "configuration".into())
}

fn describe(meta: &Metadata) -> String {
    match &meta.source {
        Some(figment::Source::File(path)) => format!("config file {}", path.display()),
        _ => meta.name.to_string(),
    }
}

/// The first of figment's errors as one [`ConfigError::Invalid`] line. Values of
/// secret-bearing keys are hidden.
pub(super) fn convert(fig: &Figment, err: figment::Error) -> ConfigError {
    let err = err
        .into_iter()
        .next()
        .expect("a figment error holds at least one error");
    // For an unknown field the path already ends with the field's name.
    let key = err.path.join(".");
    let source_name = fig
        .find_metadata(&key)
        .or(err.metadata.as_ref())
        .map(describe)
        .unwrap_or_else(|| "configuration".into());
    let mut reason = reason_of(&err.kind);
    if key.contains("token") || key.contains("password") || key.contains("url") {
        reason = redact_values(&reason);
    }
    ConfigError::Invalid {
        key: if key.is_empty() { "(root)".into() } else { key },
        source_name,
        reason,
    }
}

/// figment's reason in plain words: its own wording quotes with backticks inside
/// backticks (`expected `one of `a`, `b```), which reads badly in a log line.
fn reason_of(kind: &figment::error::Kind) -> String {
    use figment::error::Kind;
    match kind {
        Kind::UnknownField(_, expected) => {
            format!("unknown field; expected one of: {}", expected.join(", "))
        }
        Kind::UnknownVariant(found, expected) => {
            format!(
                "unknown value {found:?}; expected one of: {}",
                expected.join(", ")
            )
        }
        Kind::MissingField(field) => format!("missing field {field:?}"),
        other => other.to_string().replace('`', "'"),
    }
}

/// Hide quoted values in an error message about a secret-bearing key.
fn redact_values(reason: &str) -> String {
    let mut out = String::new();
    let mut in_quote = false;
    for c in reason.chars() {
        if c == '"' {
            in_quote = !in_quote;
            out.push(c);
            if in_quote {
                out.push_str("***");
            }
        } else if !in_quote {
            out.push(c);
        }
    }
    out
}
