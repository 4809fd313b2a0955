//! TLS failures in words an operator can act on.

use std::error::Error;

use rustls::{AlertDescription, CertificateError};

/// The first rustls error in `err`'s source chain. `std::io::Error` hides the error
/// it wraps from `source()`, so each I/O error is opened as well.
pub fn find_rustls_error<'a>(err: &'a (dyn Error + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            if let Some(found) = find_rustls_error(inner) {
                return Some(found);
            }
        }
        next = e.source();
    }
    None
}

/// `"TLS: …"` when `err` comes from a TLS handshake, saying what went wrong.
pub fn describe(err: &(dyn Error + 'static)) -> Option<String> {
    find_rustls_error(err).map(|e| format!("TLS: {}", in_words(e)))
}

fn in_words(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificate(c) => certificate(c),
        rustls::Error::AlertReceived(a) => alert(*a),
        rustls::Error::NoCertificatesPresented => "the server presented no certificate".into(),
        rustls::Error::PeerIncompatible(p) => {
            format!("the server and this client share no TLS version or cipher ({p:?})")
        }
        other => format!("handshake failed ({other})"),
    }
}

fn certificate(c: &CertificateError) -> String {
    match c {
        CertificateError::UnknownIssuer => {
            "the server's certificate is signed by an unknown CA (not in the OS roots or the configured CA file)".into()
        }
        CertificateError::NotValidForName => {
            "the server's certificate is not valid for this host name".into()
        }
        CertificateError::NotValidForNameContext { expected, presented } => format!(
            "the server's certificate is not valid for host name {} (it names {})",
            expected.to_str(),
            presented
                .iter()
                .map(|n| bare_name(n))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        CertificateError::Expired => "the server's certificate has expired".into(),
        CertificateError::ExpiredContext { time, not_after } => format!(
            "the server's certificate has expired (valid until {}, now {})",
            unix(not_after.as_secs()),
            unix(time.as_secs())
        ),
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "the server's certificate is not valid yet (check the clocks)".into()
        }
        CertificateError::Revoked => "the server's certificate is revoked".into(),
        CertificateError::BadSignature => "the server's certificate has a bad signature".into(),
        other => format!("the server's certificate was rejected ({other:?})"),
    }
}

/// `localhost` from rustls's `DnsName("localhost")`; other forms (IP addresses)
/// are kept as rustls wrote them.
fn bare_name(presented: &str) -> &str {
    presented
        .strip_prefix("DnsName(\"")
        .and_then(|rest| rest.strip_suffix("\")"))
        .unwrap_or(presented)
}

/// The server's alert. Under TLS 1.3 the client's handshake is over before the
/// server checks the client certificate, so a refusal (`CertificateRequired`,
/// `BadCertificate`) arrives on the first read of the response, not at connect.
fn alert(a: AlertDescription) -> String {
    match a {
        AlertDescription::CertificateRequired => {
            "the server requires a client certificate and none was sent".into()
        }
        AlertDescription::UnknownCA | AlertDescription::BadCertificate => {
            format!("the server rejected this client's certificate ({a:?})")
        }
        other => format!("the server ended the handshake ({other:?})"),
    }
}

/// Seconds since the epoch as an RFC 3339 UTC time.
fn unix(secs: u64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
    humantime::format_rfc3339_seconds(t).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_rustls_errors_inside_io_errors() {
        let tls = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, tls);
        let text = describe(&io).expect("found");
        assert!(text.starts_with("TLS: "), "{text}");
        assert!(text.contains("unknown CA"), "{text}");

        let plain = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert!(describe(&plain).is_none());
    }

    #[test]
    fn names_and_expiry_are_spelled_out() {
        let name = CertificateError::NotValidForNameContext {
            expected: rustls_pki_types::ServerName::try_from("db.example.com").unwrap(),
            presented: vec!["DnsName(\"localhost\")".into()],
        };
        let text = certificate(&name);
        assert!(
            text.ends_with("host name db.example.com (it names localhost)"),
            "{text}"
        );
        let expired = CertificateError::ExpiredContext {
            time: rustls_pki_types::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
                1_800_000_000,
            )),
            not_after: rustls_pki_types::UnixTime::since_unix_epoch(
                std::time::Duration::from_secs(1_700_000_000),
            ),
        };
        let text = certificate(&expired);
        assert!(
            text.contains("expired") && text.contains("2023-11-14"),
            "{text}"
        );
    }
}
