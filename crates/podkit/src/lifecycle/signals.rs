//! SIGTERM/SIGINT: the first starts the shutdown, the second exits at once.

use std::sync::Arc;

use tracing::{info, warn};

use crate::telemetry::Telemetry;

/// Exit code for a second signal during shutdown.
pub const EXIT_SECOND_SIGNAL: u8 = 130;

/// SIGTERM/SIGINT handling: the first is observable, the second exits at once.
pub(super) struct Signals {
    first: tokio::sync::watch::Receiver<bool>,
}

impl Signals {
    pub(super) fn install(telemetry: Arc<Telemetry>) -> Self {
        let (tx, rx) = tokio::sync::watch::channel(false);
        let mut listener = SignalListener::new();
        tokio::spawn(async move {
            let mut count = 0u32;
            loop {
                let name = listener.next().await;
                count += 1;
                if count == 1 {
                    info!(phase = "signal", signal = name, "shutdown requested");
                    let _ = tx.send(true);
                } else {
                    warn!(
                        phase = "signal",
                        signal = name,
                        "second signal; exiting now"
                    );
                    telemetry.flush();
                    std::process::exit(i32::from(EXIT_SECOND_SIGNAL));
                }
            }
        });
        Self { first: rx }
    }

    pub(super) async fn first(&self) {
        let mut rx = self.first.clone();
        // Invariant: the sender lives in a task that loops forever.
        let _ = rx.wait_for(|v| *v).await;
    }
}

#[cfg(unix)]
struct SignalListener {
    term: Option<tokio::signal::unix::Signal>,
    int: Option<tokio::signal::unix::Signal>,
}

#[cfg(unix)]
impl SignalListener {
    fn new() -> Self {
        use tokio::signal::unix::{signal, SignalKind};
        Self {
            term: signal(SignalKind::terminate()).ok(),
            int: signal(SignalKind::interrupt()).ok(),
        }
    }

    async fn next(&mut self) -> &'static str {
        match (&mut self.term, &mut self.int) {
            (Some(term), Some(int)) => tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            },
            // No signal support: only Ctrl-C can stop us.
            _ => {
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
}

#[cfg(not(unix))]
struct SignalListener;

#[cfg(not(unix))]
impl SignalListener {
    fn new() -> Self {
        Self
    }
    async fn next(&mut self) -> &'static str {
        let _ = tokio::signal::ctrl_c().await;
        "CTRL_C"
    }
}
