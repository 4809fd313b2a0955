//! Remembering why a server's certificate was refused, for clients that keep the
//! cause to themselves: the OTLP/HTTP exporter reports every failed request as
//! "network error".

use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use super::TlsError;

/// The last certificate refusal of a client built with
/// [`witnessed_client_config`](super::witnessed_client_config), in words.
#[derive(Debug, Clone, Default)]
pub struct LastRefusal(Arc<Mutex<Option<String>>>);

impl LastRefusal {
    /// The last refusal (`"TLS: the server's certificate …"`), cleared.
    pub fn take(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    fn set(&self, e: &rustls::Error) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = super::describe(e);
    }
}

/// The usual web PKI check, unchanged; only its refusals are noted on the way out.
#[derive(Debug)]
pub(super) struct Witness {
    inner: Arc<WebPkiServerVerifier>,
    last: LastRefusal,
}

impl Witness {
    pub(super) fn new(roots: rustls::RootCertStore) -> Result<(Self, LastRefusal), TlsError> {
        let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), super::provider())
            .build()
            .map_err(|e| TlsError(format!("TLS setup: {e}")))?;
        let last = LastRefusal::default();
        let witness = Self {
            inner,
            last: last.clone(),
        };
        Ok((witness, last))
    }
}

impl ServerCertVerifier for Witness {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .inspect_err(|e| self.last.set(e))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
