//! podkit-cli: `podkit new NAME` writes a new service repository on podkit.
//!
//! # Layout
//! - [`name`]: [`ServiceName`], the validated name and its spellings (crate,
//!   DNS label, metric and environment prefixes, alert names).
//! - [`render`]: the template language (`@@key@@`, whole-line `@@if flag@@`).
//! - [`template`]: the template tree, embedded at build time from `template/`.
//! - [`mod@generate`]: [`Options`] → rendered files → a directory.
//!
//! Why a binary crate and not a `cargo generate` template: the templates are plain
//! files in this repository, rendered by code that is unit-tested and end-to-end
//! tested (`scripts/test-generator`) like the rest of the workspace; it builds in
//! seconds from the workspace's locked dependencies and works offline, where
//! cargo-generate is a separate install that compiles libgit2 and OpenSSL.

pub mod generate;
pub mod name;
pub mod render;
pub mod template;

pub use generate::{generate, render_tree, Db, GenerateError, Options, PodkitSource};
pub use name::{InvalidName, ServiceName};

#[cfg(test)]
mod tests;
