//! Span processing between the SDK and the wire: integer attributes, and export
//! failures logged without flooding.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use opentelemetry::{Context, Value};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};
use opentelemetry_sdk::Resource;

use crate::tls::LastRefusal;

/// How often a failing export is logged.
const ERROR_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// Semantic-convention attributes typed `int`. tracing-opentelemetry has no
/// `record_u64`, so a `u16` status code recorded on a span arrives as a string.
const INT_ATTRIBUTES: &[&str] = &[
    "http.response.status_code",
    "http.request.body.size",
    "http.response.body.size",
    "server.port",
    "client.port",
];

/// Turns [`INT_ATTRIBUTES`] that arrived as digit strings back into integers.
#[derive(Debug)]
pub(super) struct IntAttributes<P>(pub(super) P);

impl<P: SpanProcessor> SpanProcessor for IntAttributes<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.0.on_start(span, cx);
    }

    fn on_end(&self, mut span: SpanData) {
        for kv in &mut span.attributes {
            if let Value::String(s) = &kv.value {
                if INT_ATTRIBUTES.contains(&kv.key.as_str()) {
                    if let Ok(n) = s.as_str().parse::<i64>() {
                        kv.value = Value::I64(n);
                    }
                }
            }
        }
        self.0.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
    }
}

/// Logs export failures at most once per [`ERROR_LOG_INTERVAL`] (a dead
/// collector fails every batch), and once when exports work again.
#[derive(Debug)]
pub(super) struct QuietExporter<E> {
    inner: E,
    state: Mutex<ErrorLog>,
    /// Why the collector's certificate was refused, when the exporter keeps it to
    /// itself (OTLP/HTTP says "network error"); logged as `error.cause`.
    refusals: Option<LastRefusal>,
}

#[derive(Debug, Default)]
struct ErrorLog {
    last_logged: Option<Instant>,
    suppressed: u64,
    failing: bool,
}

impl<E> QuietExporter<E> {
    pub(super) fn new(inner: E, refusals: Option<LastRefusal>) -> Self {
        Self {
            inner,
            state: Mutex::new(ErrorLog::default()),
            refusals,
        }
    }

    fn record(&self, result: &OTelSdkResult, spans: usize) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match result {
            // A refusal noted before a success is history, not the next failure's cause.
            Ok(()) if s.failing => {
                self.refusals.as_ref().map(LastRefusal::take);
                s.failing = false;
                s.last_logged = None;
                drop(s);
                tracing::info!("span export works again");
            }
            Ok(()) => {}
            Err(e) => {
                s.failing = true;
                let cause = self.refusals.as_ref().and_then(LastRefusal::take);
                if s.last_logged
                    .is_some_and(|t| t.elapsed() < ERROR_LOG_INTERVAL)
                {
                    s.suppressed += 1;
                    return;
                }
                let suppressed = std::mem::take(&mut s.suppressed);
                s.last_logged = Some(Instant::now());
                drop(s);
                tracing::warn!(
                    error.message = %e,
                    error.cause = cause,
                    dropped_spans = spans,
                    failures_not_logged = suppressed,
                    "span export failed; next report in a minute at the earliest"
                );
            }
        }
    }
}

impl<E: SpanExporter> SpanExporter for QuietExporter<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans = batch.len();
        let result = self.inner.export(batch).await;
        self.record(&result, spans);
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}
