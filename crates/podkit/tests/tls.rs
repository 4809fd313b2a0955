//! The HTTP client against local https servers: a private CA, a wrong host name, an
//! expired certificate, a server that wants a client certificate. Each failure must
//! say why in words, name `host:port`, and not be retried.
//!
//! Run with: `cargo test -p podkit --test tls`

#[allow(dead_code)] // shared with the otel tests, which use other parts
#[path = "support/certs.rs"]
mod certs;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::Request;
use axum::routing::get;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use podkit::client::{BuildError, ClientConfig, ClientError, HttpClient};
use podkit::config::{MetricFamilies, MetricsConfig};
use podkit::tls::TlsFiles;
use podkit::{BuildInfo, Metrics};
use tokio_rustls::TlsAcceptor;

use certs::{Ca, Leaf, Validity};

const BUILD: BuildInfo = BuildInfo {
    name: "kit-tls-test",
    release: "0.0.0",
    commit: "test",
    build_time: "unset",
};

/// An https server on loopback. `hits` counts requests that reached the router,
/// `refused` the handshakes it failed, with rustls's reason.
struct TlsServer {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    refused: Arc<Mutex<Vec<String>>>,
}

impl TlsServer {
    async fn spawn(config: rustls::ServerConfig) -> Self {
        let hits = Arc::new(AtomicUsize::new(0));
        let refused = Arc::new(Mutex::new(Vec::new()));
        let counter = hits.clone();
        let router = Router::new().route("/ok", get(|| async { "ok" })).layer(
            axum::middleware::map_request(move |req: Request| {
                counter.fetch_add(1, Ordering::SeqCst);
                async move { req }
            }),
        );
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let log = refused.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, router, log) = (acceptor.clone(), router.clone(), log.clone());
                tokio::spawn(async move {
                    let tls = match acceptor.accept(tcp).await {
                        Ok(tls) => tls,
                        Err(e) => return log.lock().unwrap().push(e.to_string()),
                    };
                    let service = TowerToHyperService::new(router);
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        Self {
            addr,
            hits,
            refused,
        }
    }

    /// A server presenting `leaf`, optionally requiring a client certificate.
    async fn with(leaf: &Leaf, client_ca: Option<&Ca>) -> Self {
        Self::spawn(leaf.server_config(client_ca)).await
    }

    fn url(&self, host: &str) -> String {
        format!("https://{host}:{}/ok", self.addr.port())
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    fn refused(&self) -> Vec<String> {
        self.refused.lock().unwrap().clone()
    }
}

fn metrics() -> Metrics {
    let config = MetricsConfig {
        families: MetricFamilies {
            process: false,
            ..Default::default()
        },
        ..Default::default()
    };
    Metrics::build(&config, &BUILD).unwrap()
}

/// The sum of every series of `family` (0 if absent).
fn total(m: &Metrics, family: &str) -> f64 {
    m.render()
        .lines()
        .filter(|l| l.starts_with(&format!("{family}{{")))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

fn client(m: &Metrics, tls: TlsFiles) -> HttpClient {
    let config = ClientConfig {
        tls,
        ..Default::default()
    };
    HttpClient::build("upstream", config, Some(m)).unwrap()
}

fn trusting(ca: PathBuf) -> TlsFiles {
    TlsFiles {
        ca_file: Some(ca),
        ..Default::default()
    }
}

/// A TLS failure: `ClientError::Tls`, tried once, never reaching the router.
async fn expect_tls_failure(server: &TlsServer, tls: TlsFiles, host: &str) -> String {
    let m = metrics();
    let err = client(&m, tls).get(&server.url(host)).await.unwrap_err();
    let message = err.to_string();
    eprintln!("{host}: {message}");
    assert!(matches!(err, ClientError::Tls { .. }), "{err:?}");
    let authority = format!("{host}:{}", server.addr.port());
    assert!(
        message.starts_with(&format!("cannot connect to {authority}: TLS: ")),
        "names host:port and says TLS: {message}"
    );
    assert_eq!(server.hits(), 0, "the server saw no request");
    assert_eq!(total(&m, "http_client_retries_total"), 0.0, "not retried");
    assert_eq!(total(&m, "http_client_requests_total"), 1.0, "one attempt");
    message
}

#[tokio::test]
async fn a_server_signed_by_the_configured_ca_file_answers() {
    let dir = certs::scratch_dir("podkit-tls");
    let ca = Ca::new("test CA");
    let server = TlsServer::with(&ca.server(&["localhost"], Validity::Current), None).await;
    let m = metrics();
    let res = client(&m, trusting(ca.write(&dir, "ca.pem")))
        .get(&server.url("localhost"))
        .await
        .unwrap();
    assert_eq!(res.status, 200);
    assert_eq!(server.hits(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn an_unknown_ca_is_a_tls_error_naming_host_and_port_and_is_not_retried() {
    let ca = Ca::new("private CA");
    let server = TlsServer::with(&ca.server(&["localhost"], Validity::Current), None).await;
    let message = expect_tls_failure(&server, TlsFiles::default(), "localhost").await;
    assert!(message.contains("unknown CA"), "{message}");
}

#[tokio::test]
async fn a_certificate_for_another_name_says_it_is_not_valid_for_the_host_name() {
    let dir = certs::scratch_dir("podkit-tls");
    let ca = Ca::new("test CA");
    let server = TlsServer::with(&ca.server(&["localhost"], Validity::Current), None).await;
    let tls = trusting(ca.write(&dir, "ca.pem"));
    let message = expect_tls_failure(&server, tls, "127.0.0.1").await;
    assert!(message.contains("not valid for host name"), "{message}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn an_expired_certificate_says_expired() {
    let dir = certs::scratch_dir("podkit-tls");
    let ca = Ca::new("test CA");
    let server = TlsServer::with(&ca.server(&["localhost"], Validity::Expired), None).await;
    let tls = trusting(ca.write(&dir, "ca.pem"));
    let message = expect_tls_failure(&server, tls, "localhost").await;
    assert!(message.contains("expired"), "{message}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn an_mtls_server_answers_a_client_certificate_from_its_ca() {
    let dir = certs::scratch_dir("podkit-tls");
    let ca = Ca::new("test CA");
    let leaf = ca.server(&["localhost"], Validity::Current);
    let server = TlsServer::with(&leaf, Some(&ca)).await;
    let (cert, key) = ca.client("atlas").write(&dir, "client");
    let tls = TlsFiles {
        ca_file: Some(ca.write(&dir, "ca.pem")),
        cert_file: Some(cert),
        key_file: Some(key),
    };
    let m = metrics();
    let res = client(&m, tls).get(&server.url("localhost")).await.unwrap();
    assert_eq!(res.status, 200);
    assert_eq!(server.refused(), Vec::<String>::new());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn an_mtls_server_without_a_client_certificate_says_one_is_required() {
    let dir = certs::scratch_dir("podkit-tls");
    let ca = Ca::new("test CA");
    let server = TlsServer::with(&ca.server(&["localhost"], Validity::Current), Some(&ca)).await;
    let tls = trusting(ca.write(&dir, "ca.pem"));
    let message = expect_tls_failure(&server, tls, "localhost").await;
    assert!(
        message.contains("requires a client certificate"),
        "{message}"
    );
    eprintln!("server side: {:?}", server.refused());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_missing_ca_file_fails_the_build_naming_the_key_and_the_file() {
    let missing = std::env::temp_dir().join("podkit-tls-no-such-dir/ca.pem");
    let config = ClientConfig {
        tls: trusting(missing.clone()),
        ..Default::default()
    };
    let err = HttpClient::build("upstream", config, None).unwrap_err();
    let message = err.to_string();
    eprintln!("{message}");
    assert!(matches!(err, BuildError::Tls(_)), "{err:?}");
    assert!(message.contains("key `tls`"), "{message}");
    assert!(
        message.contains(&missing.display().to_string()),
        "{message}"
    );
}
