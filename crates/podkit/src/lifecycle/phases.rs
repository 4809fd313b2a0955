//! The shutdown phases, in the order a pod runs them. Each is one step an
//! operator can find in the log by its `phase` field.

use std::time::{Duration, Instant};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::context::Context;
use crate::health::Health;
use crate::telemetry::metrics::HttpServerMetrics;
use crate::telemetry::Telemetry;

/// 1. Readiness turns 503 at once, so the endpoints controller removes the pod.
pub(super) fn readiness_off(health: &Health, drain_delay: Duration) {
    health.mark_shutting_down();
    info!(
        phase = "draining",
        drain_delay_ms = drain_delay.as_millis() as u64,
        "shutdown signal received; readiness is off, still serving while endpoints drain"
    );
}

/// 2. Keep serving normally: load balancers and kube-proxy learn of the removal
///    seconds later.
pub(super) async fn drain_delay(delay: Duration) {
    tokio::time::sleep(delay).await;
}

/// 3. Close the listener and tell background work to stop taking new items.
pub(super) fn stop_accepting<S>(accept: &CancellationToken, ctx: &Context<S>, timeout: Duration) {
    info!(
        phase = "stopping",
        timeout_ms = timeout.as_millis() as u64,
        "no longer accepting; waiting for in-flight requests and tasks"
    );
    accept.cancel();
    ctx.stop_background();
}

/// 4. In-flight requests and tracked tasks get `timeout` to finish; whatever is
///    left is cancelled.
pub(super) async fn wait_in_flight<S>(
    mut server: JoinHandle<std::io::Result<()>>,
    ctx: &Context<S>,
    timeout: Duration,
    http: Option<&HttpServerMetrics>,
) {
    let drained = tokio::time::timeout(timeout, async {
        let _ = (&mut server).await;
        ctx.background_done().await;
    })
    .await;
    match drained {
        Ok(()) => info!(phase = "drained", "in-flight work finished"),
        Err(_) => {
            warn!(
                phase = "forced",
                requests_in_flight = http.map_or(-1, |m| m.in_flight.get()),
                background_tasks = ctx.background_tasks(),
                "shutdown timeout reached; cancelling what is left"
            );
            server.abort();
        }
    }
}

/// 5. Shutdown hooks, newest first, each within `each`.
pub(super) async fn run_hooks<S>(ctx: &Context<S>, each: Duration) {
    for (name, hook) in ctx.take_hooks() {
        let t = Instant::now();
        match tokio::time::timeout(each, hook()).await {
            Ok(()) => info!(
                phase = "shutdown_hook",
                hook = %name,
                duration_ms = t.elapsed().as_secs_f64() * 1000.0,
                "shutdown hook finished"
            ),
            Err(_) => warn!(phase = "shutdown_hook", hook = %name, "shutdown hook timed out"),
        }
    }
}

/// 6. The admin port closes last: probes answer until the very end.
pub(super) async fn stop_admin(stop: &CancellationToken, server: JoinHandle<std::io::Result<()>>) {
    stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(1), server).await;
}

/// 7. Export queued spans and write out buffered log lines.
pub(super) fn flush_telemetry(telemetry: Option<&Telemetry>) {
    if let Some(t) = telemetry {
        t.flush();
    }
}
