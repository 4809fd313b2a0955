//! TLS for outgoing connections: rustls with the `ring` provider (no OpenSSL, one
//! crypto library in the image), the operating system's root certificates plus an
//! optional extra CA bundle, and an optional client certificate for mTLS.
//!
//! **Roots: the OS store**, read once per client from the standard places
//! (`/etc/ssl/certs/ca-certificates.crt` on Debian and distroless; `SSL_CERT_FILE`
//! and `SSL_CERT_DIR` override). It is what a platform team updates and where a
//! cluster mounts a corporate CA, and it keeps a revoked root out without a rebuild.
//! A private CA (a managed database's, a mesh's) goes in `ca_file`, added to the OS
//! roots, never replacing them.

mod describe;
mod files;
mod witness;

use std::path::PathBuf;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use serde::{Deserialize, Serialize};

pub use describe::{describe, find_rustls_error};
pub use files::{read_certificates, read_identity, Identity};
pub use witness::LastRefusal;

/// `tls:` in a client's section: extra trust and an optional client identity.
///
/// ```yaml
/// tls:
///   ca_file: /etc/podkit/ca/ca.pem       # added to the OS roots
///   cert_file: /etc/podkit/client.pem    # mTLS: both or neither
///   key_file: /etc/podkit/client.key
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsFiles {
    /// PEM bundle of CA certificates trusted besides the OS roots.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate chain, sent when the server asks (mTLS).
    pub cert_file: Option<PathBuf>,
    /// PEM private key of `cert_file` (PKCS#8, PKCS#1 or SEC1).
    pub key_file: Option<PathBuf>,
}

/// Why a TLS configuration could not be built. The message names the file.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TlsError(pub(crate) String);

/// The crypto provider every TLS connection of the process uses: `ring`.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Make `ring` the process default, for libraries that build their own rustls
/// configs (sqlx, tonic). Idempotent; a provider installed earlier stays.
pub fn install_default_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A rustls client config: OS roots + `files.ca_file`, and the client identity
/// when `cert_file` and `key_file` are set.
///
/// # Errors
/// A file that cannot be read or holds no usable certificate or key, only one of
/// `cert_file` / `key_file`, or no root certificate at all.
pub fn client_config(files: &TlsFiles) -> Result<rustls::ClientConfig, TlsError> {
    let roots = root_store(files.ca_file.as_deref())?;
    with_identity(builder()?.with_root_certificates(roots), files)
}

/// [`client_config`], plus the last reason a server's certificate was refused,
/// for clients that report only "network error" (the OTLP/HTTP exporter).
///
/// # Errors
/// As [`client_config`].
pub fn witnessed_client_config(
    files: &TlsFiles,
) -> Result<(rustls::ClientConfig, LastRefusal), TlsError> {
    let roots = root_store(files.ca_file.as_deref())?;
    let (verifier, last) = witness::Witness::new(roots)?;
    let builder = builder()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier));
    Ok((with_identity(builder, files)?, last))
}

type WantsClientCert = rustls::ConfigBuilder<rustls::ClientConfig, rustls::client::WantsClientCert>;

fn builder() -> Result<rustls::ConfigBuilder<rustls::ClientConfig, rustls::WantsVerifier>, TlsError>
{
    rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError(format!("TLS setup: {e}")))
}

fn with_identity(
    builder: WantsClientCert,
    files: &TlsFiles,
) -> Result<rustls::ClientConfig, TlsError> {
    let identity = read_identity(files.cert_file.as_deref(), files.key_file.as_deref())?;
    match identity {
        Some(id) => builder
            .with_client_auth_cert(id.chain, id.key)
            .map_err(|e| TlsError(format!("client certificate and key do not match: {e}"))),
        None => Ok(builder.with_no_client_auth()),
    }
}

/// The OS roots plus the certificates in `extra`.
///
/// # Errors
/// `extra` cannot be read or holds no certificate; no roots at all.
pub fn root_store(extra: Option<&std::path::Path>) -> Result<rustls::RootCertStore, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    // Unreadable entries in the OS store are skipped, as every TLS client does.
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    if let Some(path) = extra {
        let certs = read_certificates(path)?;
        let (added, _) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(TlsError(format!(
                "{}: no usable CA certificate in the file",
                path.display()
            )));
        }
    }
    if roots.is_empty() {
        return Err(TlsError(
            "no root certificates: the OS store is empty (install ca-certificates or set SSL_CERT_FILE) and no CA file is configured".into(),
        ));
    }
    Ok(roots)
}
