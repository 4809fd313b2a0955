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
