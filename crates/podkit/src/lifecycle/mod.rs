//! The pod lifecycle: start, serve, and stop without dropping a request.
//!
//! - [`Pod`] binds both listeners and runs the phases until any future resolves
//!   (a test's channel, say); `phases.rs` holds one function per phase.
//! - [`App`] is the binary's wrapper: subcommands, telemetry, signals, exit codes.
//! - [`Context`] is what a service's start function gets.
//!
//! On the first SIGTERM or SIGINT:
//! 1. readiness turns 503 at once, so the endpoints controller removes the pod;
//! 2. the API keeps serving normally for `shutdown.drain_delay`, because load balancers
//!    and kube-proxy learn of the removal seconds later;
//! 3. the listener closes and in-flight requests (and tracked background tasks) get
//!    `shutdown.timeout` to finish; whatever is left is cancelled;
//! 4. shutdown hooks run in reverse registration order (close pools, flush telemetry);
//! 5. the process exits 0.
//!
//! While draining (steps 1–3), API responses carry `Connection: close`, so
//! keep-alive clients reconnect to another replica. How connections are accepted
//! and bounded (`server.header_read_timeout`, `server.max_connections`) is in
//! [`serve_until`].
//!
//! A second signal at any point exits at once with code 130. Every phase is logged
//! with a `phase` field.

mod app;
mod context;
mod phases;
mod pod;
mod serve;
mod signals;

pub use app::{exit_config_error, App};
pub use context::Context;
pub use pod::{Pod, PodError};
pub use serve::{serve_until, ServeOptions};
pub use signals::EXIT_SECOND_SIGNAL;
