//! The OTLP exporter: a batch processor on its own thread, and the tracing layer
//! that feeds it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use json_subscriber::JsonLayer;
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry::Context;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SdkTracer, SdkTracerProvider,
};
use tracing::Subscriber;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use super::processors::{IntAttributes, QuietExporter};
use super::resource::resource;
use super::sampling::{sampler, SkipProbes};
use super::OtelError;
use crate::build::BuildInfo;
use crate::config::{OtelConfig, OtlpProtocol};
use crate::tls::LastRefusal;

/// The longest [`Telemetry::flush`](crate::telemetry::Telemetry::flush) waits for
/// queued spans to leave.
pub const SHUTDOWN_BUDGET: Duration = Duration::from_secs(3);

/// Crates the exporter runs on: their spans would be exported by the exporter,
/// which would make more of them.
const EXPORTER_TARGETS: &[&str] = &["h2", "hyper", "hyper_util", "tonic", "tower", "reqwest"];

/// Set once an exporting layer is built; read on every log line and request.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Whether spans are being exported.
pub(crate) fn active() -> bool {
    ACTIVE.load(Ordering::Relaxed)
}

type BoxedLayer<S> = Box<dyn Layer<S> + Send + Sync>;
type Exporter = opentelemetry_otlp::SpanExporter;

/// Keeps the exporter alive; [`OtelGuard::shutdown`] exports what is queued.
pub struct OtelGuard {
    provider: SdkTracerProvider,
    /// Drives the tonic channel (gRPC only); the app's runtime does not exist yet
    /// when telemetry starts, and exporting on it would compete with requests.
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
    shut_down: AtomicBool,
}

impl OtelGuard {
    /// Export queued spans and stop the exporter, giving up after
    /// [`SHUTDOWN_BUDGET`] so a dead collector cannot hold up the exit. Idempotent.
    pub fn shutdown(&self) {
        if self.shut_down.swap(true, Ordering::SeqCst) {
            return;
        }
        let started = Instant::now();
        let provider = self.provider.clone();
        let (tx, rx) = mpsc::channel();
        // The SDK's own timeouts are per step (flush, then shutdown) and do not
        // cover an export already in progress; this thread bounds the whole.
        let spawned = std::thread::Builder::new()
            .name("otel-shutdown".into())
            .spawn(move || {
                let flushed = provider.force_flush();
                let remaining = SHUTDOWN_BUDGET.saturating_sub(started.elapsed());
                let stopped = provider.shutdown_with_timeout(remaining);
                let _ = tx.send(flushed.and(stopped));
            });
        let outcome = match spawned {
            Ok(_) => rx
                .recv_timeout(SHUTDOWN_BUDGET)
                .map_err(|_| "timed out".to_string())
                .and_then(|r| r.map_err(|e| e.to_string())),
            Err(e) => Err(format!("cannot start the shutdown thread: {e}")),
        };
        if let Err(reason) = outcome {
            tracing::warn!(
                error.message = %reason,
                budget_ms = SHUTDOWN_BUDGET.as_millis() as u64,
                "span export did not finish at shutdown; queued spans may be lost"
            );
        }
        if let Some(rt) = self
            .runtime
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            rt.shutdown_background();
        }
    }
}

impl Drop for OtelGuard {
    fn drop(&mut self) {
        // Dropping a runtime waits for its tasks; a hung connect must not.
        if let Some(rt) = self
            .runtime
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            rt.shutdown_background();
        }
    }
}

/// Build the exporting layer from `otel`, or nothing when export is off.
///
/// # Errors
/// A bad sampler, ratio, resource attribute or endpoint, or an exporter that
/// cannot be built.
pub fn layer<S>(
    cfg: &OtelConfig,
    build: &BuildInfo,
) -> Result<(Option<OtelGuard>, Option<BoxedLayer<S>>), OtelError>
where
    S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
{
    let Some(endpoint) = cfg.endpoint.as_deref().filter(|e| !e.trim().is_empty()) else {
        return Ok((None, None));
    };
    if cfg.disabled {
        return Ok((None, None));
    }
    let sampler = sampler(&cfg.sampler, cfg.sampler_arg)?;
    let resource = resource(cfg, build)?;
    let endpoint = endpoint.trim().trim_end_matches('/');
    url::Url::parse(endpoint)
        .map_err(|e| OtelError(format!("`endpoint` {endpoint:?} is not a URL: {e}")))?;
    let (exporter, runtime, refusals) = exporter(cfg, endpoint)?;

    let processor = BatchSpanProcessor::builder(QuietExporter::new(exporter, refusals))
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_max_queue_size(4096)
                .with_scheduled_delay(Duration::from_secs(1))
                .build(),
        )
        .build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(IntAttributes(processor))
        .with_sampler(SkipProbes(sampler))
        .with_resource(resource)
        .build();
    let layer = tracing_layer(provider.tracer(build.name));
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    ACTIVE.store(true, Ordering::Relaxed);
    let guard = OtelGuard {
        provider,
        runtime: Mutex::new(runtime),
        shut_down: AtomicBool::new(false),
    };
    Ok((Some(guard), Some(layer)))
}

/// The OTLP span exporter for `protocol`, with the runtime that drives it (gRPC)
/// or the note of its certificate refusals (HTTP; tonic's own errors name them).
fn exporter(
    cfg: &OtelConfig,
    endpoint: &str,
) -> Result<
    (
        Exporter,
        Option<tokio::runtime::Runtime>,
        Option<LastRefusal>,
    ),
    OtelError,
> {
    let https = endpoint.starts_with("https://");
    let (exporter, runtime, refusals) = match cfg.protocol {
        OtlpProtocol::Grpc => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("otel-export")
                .enable_all()
                .build()
                .map_err(|e| OtelError(format!("cannot start a runtime: {e}")))?;
            // tonic spawns its connection task on the runtime current at build.
            let mut builder = Exporter::builder().with_tonic().with_endpoint(endpoint);
            if https {
                builder = builder.with_tls_config(super::tls::grpc(cfg)?);
            } else {
                // Unused on a plaintext endpoint, still checked: a certificate
                // configured for nothing is a mistake to hear about at start.
                super::tls::check(cfg)?;
            }
            let exporter = {
                let _entered = rt.enter();
                builder.build()
            };
            (exporter, Some(rt), None)
        }
        OtlpProtocol::HttpProtobuf => {
            let (client, refusals) = super::tls::http_client(cfg)?;
            let exporter = Exporter::builder()
                .with_http()
                .with_http_client(client)
                .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                // Set in code, the endpoint is used as is: add the signal's path
                // as the SDK does for OTEL_EXPORTER_OTLP_ENDPOINT.
                .with_endpoint(format!("{endpoint}/v1/traces"))
                .build();
            (exporter, None, Some(refusals))
        }
    };
    let exporter = exporter.map_err(|e| OtelError(e.to_string()))?;
    Ok((exporter, runtime, refusals))
}

/// The tracing layer that turns spans into OTel spans, minus the exporter's own.
fn tracing_layer<S>(tracer: SdkTracer) -> BoxedLayer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
{
    let not_exporter = filter_fn(|meta| {
        let krate = meta.target().split("::").next().unwrap_or_default();
        !EXPORTER_TARGETS.contains(&krate)
    });
    tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_threads(false)
        .with_target(false)
        .with_tracked_inactivity(false)
        // code.filepath/lineno on every span cost a formatted string each, and
        // the span name (`GET /route`) already says where it came from.
        .with_location(false)
        .with_filter(not_exporter)
        .boxed()
}

/// Add `trace_id` and `span_id` to JSON lines written inside a traced span.
pub fn add_ids<S, W>(layer: &mut JsonLayer<S, W>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + 'static,
{
    layer.add_multiple_dynamic_fields(|_event, _ctx, writer| {
        if !active() {
            return;
        }
        // The OTel layer makes an entered span's context current, so this is the
        // innermost span the line is written in.
        let cx = Context::current();
        let span = cx.span();
        let sc = span.span_context();
        if sc.is_valid() {
            let _ = writer.write_field("trace_id", sc.trace_id().to_string());
            let _ = writer.write_field("span_id", sc.span_id().to_string());
        }
    });
}
