//! `otel:`: trace export, filled from the standard `OTEL_*` variables.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// OTLP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OtlpProtocol {
    /// OTLP/gRPC (port 4317).
    #[serde(rename = "grpc")]
    Grpc,
    /// OTLP/HTTP with protobuf bodies (port 4318).
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
}

/// `otel:` — traces. Filled from the standard `OTEL_*` variables.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OtelConfig {
    /// `OTEL_SDK_DISABLED`.
    pub disabled: bool,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`; unset → no exporter, no cost.
    pub endpoint: Option<String>,
    /// `OTEL_EXPORTER_OTLP_PROTOCOL`: `grpc` (default) or `http/protobuf`.
    pub protocol: OtlpProtocol,
    /// `OTEL_SERVICE_NAME`; default the service's name.
    pub service_name: Option<String>,
    /// `OTEL_RESOURCE_ATTRIBUTES`: `key=value,key=value`.
    pub resource_attributes: Option<String>,
    /// `OTEL_TRACES_SAMPLER`: `always_on`, `always_off`, `traceidratio`,
    /// `parentbased_always_on` (default), `parentbased_always_off`,
    /// `parentbased_traceidratio`.
    pub sampler: String,
    /// `OTEL_TRACES_SAMPLER_ARG`: the ratio for the ratio samplers.
    pub sampler_arg: Option<f64>,
    /// `OTEL_EXPORTER_OTLP_CERTIFICATE` (or `…_TRACES_CERTIFICATE`): PEM CA bundle
    /// trusted for an `https` endpoint, besides the OS roots.
    pub certificate: Option<PathBuf>,
    /// `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE` (or `…_TRACES_…`): PEM client
    /// certificate for mTLS; needs `client_key`.
    pub client_certificate: Option<PathBuf>,
    /// `OTEL_EXPORTER_OTLP_CLIENT_KEY` (or `…_TRACES_…`): its private key.
    pub client_key: Option<PathBuf>,
}

impl Default for OtelConfig {
    fn default() -> Self {
        Self {
            disabled: false,
            endpoint: None,
            protocol: OtlpProtocol::Grpc,
            service_name: None,
            resource_attributes: None,
            sampler: "parentbased_always_on".into(),
            sampler_arg: None,
            certificate: None,
            client_certificate: None,
            client_key: None,
        }
    }
}

impl OtelConfig {
    /// `service.name` as exported: `service_name` (`OTEL_SERVICE_NAME`), else
    /// `service.name` in `resource_attributes`, else `fallback` (the build's name).
    pub fn service_name_or(&self, fallback: &str) -> String {
        let from_attributes = || {
            resource_attributes(self.resource_attributes.as_deref().unwrap_or(""))
                .ok()?
                .into_iter()
                .find(|(k, _)| k == "service.name")
                .map(|(_, v)| v)
        };
        self.service_name
            .clone()
            .filter(|n| !n.is_empty())
            .or_else(from_attributes)
            .unwrap_or_else(|| fallback.to_owned())
    }
}

/// `OTEL_RESOURCE_ATTRIBUTES`: `key=value,key=value`, values percent-encoded (W3C
/// baggage octets).
///
/// # Errors
/// A pair that is not `key=value`, or a bad percent escape; the message quotes it.
pub fn resource_attributes(raw: &str) -> Result<Vec<(String, String)>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let bad = || {
                format!(
                    "`resource_attributes`: {pair:?} is not key=value (percent-encode \
                     `,` `=` `%` in values)"
                )
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
