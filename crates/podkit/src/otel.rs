//! OpenTelemetry traces: OTLP export and W3C trace-context propagation.
//!
//! Always compiled: [`inject`] is a no-op without the `otel` feature, so an HTTP
//! client calls it unconditionally. With the feature, and only when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set and `OTEL_SDK_DISABLED` is not:
//!
//! - spans go to a batch processor whose own thread exports them over gRPC (tonic, on
//!   a one-thread runtime of its own) or HTTP/protobuf (blocking reqwest). A request
//!   only pushes its finished span onto a bounded queue, so a dead or slow collector
//!   costs requests nothing; a full queue drops spans;
//! - export failures are logged at most once a minute, with a count of the others;
//! - `traceparent`/`tracestate` on a request become the parent of its span, and
//!   [`inject`] writes the current span's context on outgoing requests;
//! - JSON log lines written inside a span carry `trace_id` and `span_id`;
//! - kubelet probes and Prometheus scrapes (`/livez`, `/readyz`, `/startupz`,
//!   `/healthz`, `/metrics` with no remote parent) are not sampled;
//! - [`Telemetry::flush`](crate::telemetry::Telemetry::flush) exports what is queued,
//!   giving up after `SHUTDOWN_BUDGET` (3 s) so a dead collector cannot hold up exit.
//!
//! Without an endpoint nothing is built: no thread, no layer, no per-request work.

use axum::http::HeaderMap;

/// Write the current span's W3C `traceparent` (and `tracestate`) into `headers`, so
/// the service called joins this trace. A no-op when tracing is off or not compiled in.
pub fn inject(headers: &mut HeaderMap) {
    #[cfg(feature = "otel")]
    imp::inject(headers);
    #[cfg(not(feature = "otel"))]
    let _ = headers;
}

/// The request-span hook for [`crate::http::HttpLayerConfig::propagate`]: `Some` only
/// when spans are exported.
pub(crate) fn propagator() -> Option<crate::http::TraceHooks> {
    #[cfg(feature = "otel")]
    if imp::active() {
        return Some(crate::http::TraceHooks {
            start: imp::join_remote_trace,
            finish: imp::record_status,
        });
    }
    None
}

#[cfg(feature = "otel")]
pub use imp::SHUTDOWN_BUDGET;
#[cfg(feature = "otel")]
pub(crate) use imp::{add_ids, layer, OtelGuard};

#[cfg(feature = "otel")]
mod imp {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{mpsc, Mutex};
    use std::time::{Duration, Instant};

    use axum::http::{HeaderMap, HeaderName, HeaderValue};
    use json_subscriber::JsonLayer;
    use opentelemetry::propagation::{Extractor, Injector};
    use opentelemetry::trace::{Link, SpanKind, TraceContextExt, TraceId, TracerProvider as _};
    use opentelemetry::{Context, KeyValue, Value};
    use opentelemetry_otlp::WithExportConfig;
    use opentelemetry_sdk::error::OTelSdkResult;
    use opentelemetry_sdk::propagation::TraceContextPropagator;
    use opentelemetry_sdk::trace::{
        BatchConfigBuilder, BatchSpanProcessor, Sampler, SamplingDecision, SamplingResult,
        SdkTracerProvider, ShouldSample, Span, SpanData, SpanExporter, SpanProcessor,
    };
    use opentelemetry_sdk::Resource;
    use tracing::Subscriber;
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    use tracing_subscriber::filter::filter_fn;
    use tracing_subscriber::registry::LookupSpan;
    use tracing_subscriber::Layer;

    use crate::config::{OtelConfig, OtlpProtocol};
    use crate::telemetry::TelemetryError;

    /// The longest [`Telemetry::flush`](crate::telemetry::Telemetry::flush) waits for
    /// queued spans to leave.
    pub const SHUTDOWN_BUDGET: Duration = Duration::from_secs(3);

    /// How often a failing export is logged.
    const ERROR_LOG_INTERVAL: Duration = Duration::from_secs(60);

    /// Routes hit by machines every few seconds; traced only when the caller sends a
    /// trace context.
    const UNTRACED_ROUTES: &[&str] = &["/livez", "/readyz", "/startupz", "/healthz", "/metrics"];

    /// Crates the exporter runs on: their spans would be exported by the exporter,
    /// which would make more of them.
    const EXPORTER_TARGETS: &[&str] = &["h2", "hyper", "hyper_util", "tonic", "tower", "reqwest"];

    /// Set once an exporting layer is built; read on every log line and request.
    static ACTIVE: AtomicBool = AtomicBool::new(false);

    pub(super) fn active() -> bool {
        ACTIVE.load(Ordering::Relaxed)
    }

    type BoxedLayer<S> = Box<dyn Layer<S> + Send + Sync>;

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
        build: &crate::BuildInfo,
    ) -> Result<(Option<OtelGuard>, Option<BoxedLayer<S>>), TelemetryError>
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
        url::Url::parse(endpoint).map_err(|e| {
            TelemetryError::Otel(format!("`endpoint` {endpoint:?} is not a URL: {e}"))
        })?;

        let (exporter, runtime) = match cfg.protocol {
            OtlpProtocol::Grpc => {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name("otel-export")
                    .enable_all()
                    .build()
                    .map_err(|e| TelemetryError::Otel(format!("cannot start a runtime: {e}")))?;
                // tonic spawns its connection task on the runtime current at build.
                let exporter = {
                    let _entered = rt.enter();
                    opentelemetry_otlp::SpanExporter::builder()
                        .with_tonic()
                        .with_endpoint(endpoint)
                        .build()
                };
                (exporter, Some(rt))
            }
            OtlpProtocol::HttpProtobuf => {
                let exporter = opentelemetry_otlp::SpanExporter::builder()
                    .with_http()
                    .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                    // Set in code, the endpoint is used as is: add the signal's path
                    // as the SDK does for OTEL_EXPORTER_OTLP_ENDPOINT.
                    .with_endpoint(format!("{endpoint}/v1/traces"))
                    .build();
                (exporter, None)
            }
        };
        let exporter = exporter.map_err(|e| TelemetryError::Otel(e.to_string()))?;

        let processor = BatchSpanProcessor::builder(QuietExporter::new(exporter))
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
        let tracer = provider.tracer(build.name);
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());

        let not_exporter = filter_fn(|meta| {
            let krate = meta.target().split("::").next().unwrap_or_default();
            !EXPORTER_TARGETS.contains(&krate)
        });
        let layer = tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_threads(false)
            .with_target(false)
            .with_tracked_inactivity(false)
            // code.filepath/lineno on every span cost a formatted string each, and
            // the span name (`GET /route`) already says where it came from.
            .with_location(false)
            .with_filter(not_exporter)
            .boxed();
        ACTIVE.store(true, Ordering::Relaxed);
        let guard = OtelGuard {
            provider,
            runtime: Mutex::new(runtime),
            shut_down: AtomicBool::new(false),
        };
        Ok((Some(guard), Some(layer)))
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

    /// Make the caller's trace, if its `traceparent` is valid, the parent of `span`,
    /// and add the server-span attributes that only the headers know.
    pub(super) fn join_remote_trace(
        headers: &HeaderMap,
        span: &tracing::Span,
        method: &str,
        route: &str,
        path: &str,
    ) {
        span.set_attribute("http.request.method", method.to_owned());
        span.set_attribute("http.route", route.to_owned());
        span.set_attribute("url.path", path.to_owned());
        let remote = opentelemetry::global::get_text_map_propagator(|p| {
            p.extract(&HeaderExtractor(headers))
        });
        if remote.span().span_context().is_valid() {
            // Fails only when the span is not traced (filtered out): nothing to join.
            let _ = span.set_parent(remote);
        }
        // TLS ends before the pod; the proxy's header says what the caller used.
        let scheme = match headers.get("x-forwarded-proto").map(HeaderValue::as_bytes) {
            Some(b"https") => "https",
            _ => "http",
        };
        span.set_attribute("url.scheme", scheme);
        if let Some(ua) = headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
        {
            span.set_attribute("user_agent.original", ua.to_owned());
        }
    }

    pub(super) fn record_status(span: &tracing::Span, status: u16) {
        span.set_attribute("http.response.status_code", i64::from(status));
    }

    pub(super) fn inject(headers: &mut HeaderMap) {
        if !active() {
            return;
        }
        let cx = tracing::Span::current().context();
        opentelemetry::global::get_text_map_propagator(|p| {
            p.inject_context(&cx, &mut HeaderInjector(headers));
        });
    }

    struct HeaderExtractor<'a>(&'a HeaderMap);

    impl Extractor for HeaderExtractor<'_> {
        fn get(&self, key: &str) -> Option<&str> {
            self.0.get(key).and_then(|v| v.to_str().ok())
        }

        fn keys(&self) -> Vec<&str> {
            self.0.keys().map(HeaderName::as_str).collect()
        }
    }

    struct HeaderInjector<'a>(&'a mut HeaderMap);

    impl Injector for HeaderInjector<'_> {
        fn set(&mut self, key: &str, value: String) {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(key.as_bytes()),
                HeaderValue::from_str(&value),
            ) {
                self.0.insert(name, value);
            }
        }
    }

    /// `OTEL_TRACES_SAMPLER` (+ `_ARG`) as the spec names them.
    fn sampler(name: &str, arg: Option<f64>) -> Result<Sampler, TelemetryError> {
        let ratio = || match arg {
            None => Ok(1.0),
            Some(r) if (0.0..=1.0).contains(&r) => Ok(r),
            Some(r) => Err(TelemetryError::Otel(format!(
                "`sampler_arg` {r} is not a ratio between 0 and 1"
            ))),
        };
        Ok(match name {
            "always_on" => Sampler::AlwaysOn,
            "always_off" => Sampler::AlwaysOff,
            "traceidratio" => Sampler::TraceIdRatioBased(ratio()?),
            "parentbased_always_on" => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
            "parentbased_always_off" => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
            "parentbased_traceidratio" => {
                Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(ratio()?)))
            }
            other => {
                return Err(TelemetryError::Otel(format!(
                    "`sampler` {other:?} is not one of always_on, always_off, traceidratio, \
                     parentbased_always_on, parentbased_always_off, parentbased_traceidratio"
                )))
            }
        })
    }

    /// `service.name` (`OTEL_SERVICE_NAME`, else `service.name` in the attributes, else
    /// the build's name), `service.version` (the release unless the attributes say),
    /// the SDK's identity and `OTEL_RESOURCE_ATTRIBUTES`.
    fn resource(cfg: &OtelConfig, build: &crate::BuildInfo) -> Result<Resource, TelemetryError> {
        let attrs = parse_attributes(cfg.resource_attributes.as_deref().unwrap_or(""))?;
        let given = |key: &str| attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        let name = cfg
            .service_name
            .clone()
            .filter(|n| !n.is_empty())
            .or_else(|| given("service.name"))
            .unwrap_or_else(|| build.name.to_owned());
        let version = given("service.version").unwrap_or_else(|| build.release.to_owned());
        Ok(Resource::builder_empty()
            .with_detector(Box::new(
                opentelemetry_sdk::resource::TelemetryResourceDetector,
            ))
            .with_attributes(attrs.into_iter().map(|(k, v)| KeyValue::new(k, v)))
            .with_attribute(KeyValue::new("service.version", version))
            .with_service_name(name)
            .build())
    }

    /// `key=value,key=value`, values percent-encoded (W3C baggage octets).
    fn parse_attributes(raw: &str) -> Result<Vec<(String, String)>, TelemetryError> {
        raw.split(',')
            .map(str::trim)
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let bad = || {
                    TelemetryError::Otel(format!(
                        "`resource_attributes`: {pair:?} is not key=value (percent-encode \
                         `,` `=` `%` in values)"
                    ))
                };
                let (k, v) = pair.split_once('=').ok_or_else(bad)?;
                let (k, v) = (k.trim(), v.trim());
                if k.is_empty() {
                    return Err(bad());
                }
                Ok((k.to_owned(), percent_decode(v).ok_or_else(bad)?))
            })
            .collect()
    }

    fn percent_decode(s: &str) -> Option<String> {
        let mut out = Vec::with_capacity(s.len());
        let mut bytes = s.bytes();
        while let Some(b) = bytes.next() {
            if b == b'%' {
                let hex = [bytes.next()?, bytes.next()?];
                out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
            } else {
                out.push(b);
            }
        }
        String::from_utf8(out).ok()
    }

    /// Drops root server spans of [`UNTRACED_ROUTES`]; defers to the configured
    /// sampler for everything else.
    #[derive(Debug, Clone)]
    struct SkipProbes(Sampler);

    impl ShouldSample for SkipProbes {
        fn should_sample(
            &self,
            parent: Option<&Context>,
            trace_id: TraceId,
            name: &str,
            kind: &SpanKind,
            attributes: &[KeyValue],
            links: &[Link],
        ) -> SamplingResult {
            let has_parent = parent.is_some_and(|p| p.span().span_context().is_valid());
            let probe = *kind == SpanKind::Server
                && !has_parent
                && attributes.iter().any(|kv| {
                    kv.key.as_str() == "http.route"
                        && UNTRACED_ROUTES.contains(&kv.value.as_str().as_ref())
                });
            if probe {
                return SamplingResult {
                    decision: SamplingDecision::Drop,
                    attributes: Vec::new(),
                    trace_state: Default::default(),
                };
            }
            self.0
                .should_sample(parent, trace_id, name, kind, attributes, links)
        }
    }

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
    struct IntAttributes<P>(P);

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
    struct QuietExporter<E> {
        inner: E,
        state: Mutex<ErrorLog>,
    }

    #[derive(Debug, Default)]
    struct ErrorLog {
        last_logged: Option<Instant>,
        suppressed: u64,
        failing: bool,
    }

    impl<E> QuietExporter<E> {
        fn new(inner: E) -> Self {
            Self {
                inner,
                state: Mutex::new(ErrorLog::default()),
            }
        }

        fn record(&self, result: &OTelSdkResult, spans: usize) {
            let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
            match result {
                Ok(()) if s.failing => {
                    s.failing = false;
                    s.last_logged = None;
                    drop(s);
                    tracing::info!("span export works again");
                }
                Ok(()) => {}
                Err(e) => {
                    s.failing = true;
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

    #[cfg(test)]
    mod tests {
        use super::*;
        use opentelemetry::propagation::TextMapPropagator;

        #[test]
        fn resource_attributes_parse_and_percent_decode() {
            let cases = [
                ("", Some(vec![])),
                ("a=1", Some(vec![("a", "1")])),
                (" a = 1 , b=x%2Cy ,", Some(vec![("a", "1"), ("b", "x,y")])),
                (
                    "deployment.environment=prod%20eu",
                    Some(vec![("deployment.environment", "prod eu")]),
                ),
                ("novalue", None),
                ("=1", None),
                ("a=%zz", None),
            ];
            for (raw, want) in cases {
                let got = parse_attributes(raw).ok();
                let want = want.map(|v| {
                    v.into_iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect::<Vec<_>>()
                });
                assert_eq!(got, want, "case {raw:?}");
            }
        }

        #[test]
        fn samplers_follow_the_spec_names_and_reject_the_rest() {
            for name in [
                "always_on",
                "always_off",
                "traceidratio",
                "parentbased_always_on",
                "parentbased_always_off",
                "parentbased_traceidratio",
            ] {
                assert!(sampler(name, Some(0.5)).is_ok(), "case {name}");
            }
            let err = sampler("sometimes", None).unwrap_err().to_string();
            assert!(err.contains("parentbased_always_on"), "{err}");
            assert!(sampler("traceidratio", Some(1.5)).is_err(), "ratio above 1");
        }

        #[test]
        fn service_name_prefers_the_variable_then_the_attribute_then_the_build() {
            let build = crate::BuildInfo {
                name: "svc",
                release: "1.2.3",
                commit: "c",
                build_time: "t",
            };
            let get = |r: &Resource, k: &'static str| r.get(&k.into()).map(|v| v.to_string());
            let mut cfg = OtelConfig::default();
            let r = resource(&cfg, &build).unwrap();
            assert_eq!(get(&r, "service.name").as_deref(), Some("svc"));
            assert_eq!(get(&r, "service.version").as_deref(), Some("1.2.3"));
            cfg.resource_attributes = Some("service.name=attr,team=geo".into());
            let r = resource(&cfg, &build).unwrap();
            assert_eq!(get(&r, "service.name").as_deref(), Some("attr"));
            assert_eq!(get(&r, "team").as_deref(), Some("geo"));
            cfg.service_name = Some("var".into());
            let r = resource(&cfg, &build).unwrap();
            assert_eq!(get(&r, "service.name").as_deref(), Some("var"));
        }

        #[test]
        fn headers_carry_trace_context_both_ways() {
            let mut headers = HeaderMap::new();
            headers.insert(
                "traceparent",
                HeaderValue::from_static("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
            );
            let cx = TraceContextPropagator::new().extract(&HeaderExtractor(&headers));
            let sc = cx.span().span_context().clone();
            assert_eq!(
                sc.trace_id().to_string(),
                "0af7651916cd43dd8448eb211c80319c"
            );
            assert!(sc.is_remote() && sc.is_sampled());

            let mut out = HeaderMap::new();
            TraceContextPropagator::new().inject_context(&cx, &mut HeaderInjector(&mut out));
            assert_eq!(out["traceparent"], headers["traceparent"]);
        }
    }
}
