//! The template tree, embedded at build time (see `build.rs`).

include!(concat!(env!("OUT_DIR"), "/template_files.rs"));
