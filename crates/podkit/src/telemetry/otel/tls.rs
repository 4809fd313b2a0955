//! TLS for the OTLP exporter: the OS roots plus `OTEL_EXPORTER_OTLP_CERTIFICATE`,
//! and the client identity from `…_CLIENT_CERTIFICATE` / `…_CLIENT_KEY`.

use std::path::Path;
use std::time::Duration;

use opentelemetry_otlp::tonic_types::transport::{Certificate, ClientTlsConfig, Identity};

use super::OtelError;
use crate::config::OtelConfig;
use crate::tls::{self, TlsFiles};

/// How long one HTTP export may take (the SDK's default `OTEL_EXPORTER_OTLP_TIMEOUT`).
const HTTP_EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// The files, checked: each readable PEM, certificate and key both or neither.
fn files(cfg: &OtelConfig) -> Result<TlsFiles, OtelError> {
    let files = TlsFiles {
        ca_file: cfg.certificate.clone(),
        cert_file: cfg.client_certificate.clone(),
        key_file: cfg.client_key.clone(),
    };
    if let Some(ca) = &files.ca_file {
        tls::read_certificates(ca).map_err(|e| key_error("otel.certificate", e))?;
    }
    tls::read_identity(files.cert_file.as_deref(), files.key_file.as_deref())
        .map_err(|e| key_error("otel.client_certificate", e))?;
    Ok(files)
}

/// Check the TLS files without using them (a plaintext gRPC endpoint).
///
/// # Errors
/// As [`grpc`].
pub(super) fn check(cfg: &OtelConfig) -> Result<(), OtelError> {
    files(cfg).map(drop)
}

fn key_error(key: &str, e: tls::TlsError) -> OtelError {
    OtelError(format!("`{key}`: {e}"))
}

fn read(key: &str, path: &Path) -> Result<Vec<u8>, OtelError> {
    std::fs::read(path).map_err(|e| OtelError(format!("`{key}`: {}: {e}", path.display())))
}

/// tonic's TLS settings for an `https` gRPC endpoint.
///
/// # Errors
/// A file that cannot be read or used.
pub(super) fn grpc(cfg: &OtelConfig) -> Result<ClientTlsConfig, OtelError> {
    let files = files(cfg)?;
    let mut tls = ClientTlsConfig::new().with_native_roots();
    if let Some(ca) = &files.ca_file {
        tls = tls.ca_certificate(Certificate::from_pem(read("otel.certificate", ca)?));
    }
    if let (Some(cert), Some(key)) = (&files.cert_file, &files.key_file) {
        tls = tls.identity(Identity::from_pem(
            read("otel.client_certificate", cert)?,
            read("otel.client_key", key)?,
        ));
    }
    Ok(tls)
}

/// The blocking HTTP client for OTLP/HTTP, with podkit's rustls config, and where
/// it notes why a collector's certificate was refused: the exporter itself says
/// only "network error".
///
/// # Errors
/// A file that cannot be read or used, or a client that cannot start.
pub(super) fn http_client(
    cfg: &OtelConfig,
) -> Result<(reqwest::blocking::Client, tls::LastRefusal), OtelError> {
    let (config, refusals) =
        tls::witnessed_client_config(&files(cfg)?).map_err(|e| key_error("otel.certificate", e))?;
    // The blocking client runs its own runtime; building it inside another (a
    // test's, say) would panic, so it is built on a thread of its own.
    std::thread::Builder::new()
        .name("otel-http-client".into())
        .spawn(move || {
            reqwest::blocking::Client::builder()
                .use_preconfigured_tls(config)
                .timeout(HTTP_EXPORT_TIMEOUT)
                .build()
        })
        .map_err(|e| OtelError(format!("cannot start a thread: {e}")))?
        .join()
        .map_err(|_| OtelError("building the HTTP client panicked".into()))?
        .map_err(|e| OtelError(format!("cannot build the HTTP client: {e}")))
        .map(|client| (client, refusals))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_is_named_with_its_key_even_for_plaintext_endpoints() {
        let missing = std::env::temp_dir().join("podkit-otel-no-such-dir/ca.pem");
        let cases = [
            (
                "certificate",
                OtelConfig {
                    certificate: Some(missing.clone()),
                    ..Default::default()
                },
                "`otel.certificate`",
            ),
            (
                "client pair",
                OtelConfig {
                    client_certificate: Some(missing.clone()),
                    client_key: Some(missing.clone()),
                    ..Default::default()
                },
                "`otel.client_certificate`",
            ),
        ];
        for (name, cfg, key) in cases {
            let err = check(&cfg).unwrap_err().to_string();
            assert!(err.contains(key), "case {name}: {err}");
            assert!(
                err.contains(&missing.display().to_string()),
                "case {name}: {err}"
            );
        }
    }
}
