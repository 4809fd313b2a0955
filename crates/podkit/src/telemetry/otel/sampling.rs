//! Which spans are kept: the `OTEL_TRACES_SAMPLER` choice, minus probe traffic.

use opentelemetry::trace::{Link, SpanKind, TraceContextExt, TraceId};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{Sampler, SamplingDecision, SamplingResult, ShouldSample};

use super::OtelError;

/// Routes hit by machines every few seconds; traced only when the caller sends a
/// trace context.
const UNTRACED_ROUTES: &[&str] = &["/livez", "/readyz", "/startupz", "/healthz", "/metrics"];

/// `OTEL_TRACES_SAMPLER` (+ `_ARG`) as the spec names them.
pub(super) fn sampler(name: &str, arg: Option<f64>) -> Result<Sampler, OtelError> {
    let ratio = || match arg {
        None => Ok(1.0),
        Some(r) if (0.0..=1.0).contains(&r) => Ok(r),
        Some(r) => Err(OtelError(format!(
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
            return Err(OtelError(format!(
                "`sampler` {other:?} is not one of always_on, always_off, traceidratio, \
                 parentbased_always_on, parentbased_always_off, parentbased_traceidratio"
            )))
        }
    })
}

/// Drops root server spans of [`UNTRACED_ROUTES`]; defers to the configured
/// sampler for everything else.
#[derive(Debug, Clone)]
pub(super) struct SkipProbes(pub(super) Sampler);

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
