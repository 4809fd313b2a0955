//! A TLS-only PostgreSQL of a test's own ([`TlsCluster`], stopped on drop) and the
//! certificates it needs ([`Pki`], made with rcgen in a scratch directory).

use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use super::pg_cluster::PgCluster;
use super::TempDir;

/// A CA, a server certificate for DNS `localhost` only, a client CA and a client
/// certificate for `certuser`, plus an unrelated CA: PEM files in one directory.
pub struct Pki {
    dir: TempDir,
}

impl Pki {
    /// `expired`: the server certificate's validity ended in 2021.
    pub fn new(expired: bool) -> Self {
        let pki = Self {
            dir: TempDir::new(),
        };
        let ca = pki.ca("ca", "atlas test CA");
        let mut server = leaf(vec!["localhost".into()], "localhost");
        server
            .extended_key_usages
            .push(ExtendedKeyUsagePurpose::ServerAuth);
        if expired {
            server.not_before = rcgen::date_time_ymd(2020, 1, 1);
            server.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        pki.sign("server", &server, &ca);
        let client_ca = pki.ca("client-ca", "atlas test client CA");
        let mut client = leaf(Vec::new(), "certuser");
        client
            .extended_key_usages
            .push(ExtendedKeyUsagePurpose::ClientAuth);
        pki.sign("certuser", &client, &client_ca);
        pki.ca("other-ca", "some other CA");
        pki
    }

    /// The path of `name.pem` (`ca`, `other-ca`, `client-ca`, `server`,
    /// `certuser`) or `name.key`, as a string for a URL.
    pub fn path(&self, file: &str) -> String {
        self.dir.0.join(file).to_str().unwrap().to_string()
    }

    fn ca(&self, name: &str, cn: &str) -> Issuer<'static, KeyPair> {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, cn);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        std::fs::write(self.dir.0.join(format!("{name}.pem")), cert.pem()).unwrap();
        Issuer::new(params, key)
    }

    fn sign(&self, name: &str, params: &CertificateParams, issuer: &Issuer<'static, KeyPair>) {
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, issuer).unwrap();
        std::fs::write(self.dir.0.join(format!("{name}.pem")), cert.pem()).unwrap();
        write_key(
            &self.dir.0.join(format!("{name}.key")),
            &key.serialize_pem(),
        );
    }
}

fn leaf(names: Vec<String>, cn: &str) -> CertificateParams {
    let mut params = CertificateParams::new(names).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params
}

/// A private key, readable by its owner only (libpq-style clients and the server
/// refuse group-readable keys).
fn write_key(path: &Path, pem: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, pem).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// A throwaway TLS-only PostgreSQL (`scripts/pg-test-cluster start-tls`), stopped
/// and removed on drop. Fails the test loudly when PostgreSQL is not installed.
pub struct TlsCluster {
    _cluster: PgCluster,
    /// The port it listens on (127.0.0.1 only).
    pub port: u16,
}

impl TlsCluster {
    /// Serve `pki`'s server certificate; with `client_ca`, role `certuser` logs in
    /// with a client certificate.
    pub fn start(pki: &Pki, client_ca: bool) -> Self {
        let (cert, key, ca) = (
            pki.path("server.pem"),
            pki.path("server.key"),
            pki.path("client-ca.pem"),
        );
        let mut args = vec!["start-tls", cert.as_str(), key.as_str()];
        if client_ca {
            args.push(ca.as_str());
        }
        let cluster = PgCluster::start(&args);
        Self {
            port: cluster.export("PG_TEST_PORT").parse().unwrap(),
            _cluster: cluster,
        }
    }
}
