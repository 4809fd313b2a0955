//! Reading PEM certificates and keys, with errors that name the file.

use std::path::Path;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::TlsError;

/// A client certificate chain and its key.
#[derive(Debug)]
pub struct Identity {
    /// Leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key.
    pub key: PrivateKeyDer<'static>,
}

/// Every certificate in the PEM file at `path`.
///
/// # Errors
/// The file cannot be read, is not PEM, or holds no certificate.
pub fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let fail = |reason: String| TlsError(format!("{}: {reason}", path.display()));
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| fail(reason(e)))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(reason(e)))?;
    if certs.is_empty() {
        return Err(fail("no PEM certificate in the file".into()));
    }
    Ok(certs)
}

/// The client identity from `cert` and `key`: both or neither.
///
/// # Errors
/// Only one is set, or either cannot be read.
pub fn read_identity(
    cert: Option<&Path>,
    key: Option<&Path>,
) -> Result<Option<Identity>, TlsError> {
    match (cert, key) {
        (None, None) => Ok(None),
        (Some(cert), Some(key)) => {
            let chain = read_certificates(cert)?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| TlsError(format!("{}: {}", key.display(), reason(e))))?;
            Ok(Some(Identity { chain, key }))
        }
        (Some(_), None) => Err(TlsError(
            "a client certificate needs its key file too".into(),
        )),
        (None, Some(_)) => Err(TlsError(
            "a client key needs its certificate file too".into(),
        )),
    }
}

fn reason(e: rustls_pki_types::pem::Error) -> String {
    use rustls_pki_types::pem::Error as E;
    match e {
        E::Io(io) => io.to_string(),
        E::NoItemsFound => "no PEM item of the expected kind in the file".into(),
        other => format!("not valid PEM ({other:?})"),
    }
}
