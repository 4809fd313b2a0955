//! Issue #12: TLS to the database, and failures that say why. The real binary
//! against real peers: TLS-only PostgreSQL clusters started here (certificates from
//! rcgen, the server's naming DNS `localhost` only), a closed port, a name that
//! does not resolve. A failure ends the process with one stderr line naming
//! `host:port` and the cause; a bad `database.url` exits 2 before anything binds.

use std::collections::HashMap;
use std::time::Duration;

use crate::helpers::pg_tls::{Pki, TlsCluster};
use crate::helpers::{base_env, free_port, run_bounded, BinApp, TempDir};

/// Far above what a failing start takes (well under a second), far below a hang.
const WITHIN: Duration = Duration::from_secs(20);

fn env_with(url: &str, extra: &[(&str, &str)]) -> HashMap<String, String> {
    let mut env = base_env();
    env.insert("DATABASE_URL".into(), url.into());
    for (k, v) in extra {
        env.insert(k.to_string(), v.to_string());
    }
    env
}

/// Run `atlas args` against `url`; assert it exits `code` with exactly one
/// non-empty stderr line (the last, for `migrate`, whose logs also go to stderr)
/// containing every needle. Returns that line.
async fn expect_failure(url: &str, args: &[&str], code: i32, needles: &[&str]) -> String {
    let dir = TempDir::new();
    let (status, _stdout, stderr) = run_bounded(&dir.0, args, &env_with(url, &[]), WITHIN).await;
    let case = format!("{args:?} {url}");
    assert_eq!(status.code(), Some(code), "case {case}: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let line = *lines
        .last()
        .unwrap_or_else(|| panic!("case {case}: empty stderr"));
    if args.first() != Some(&"migrate") {
        assert_eq!(lines.len(), 1, "case {case}: one line: {stderr}");
    }
    assert!(!line.starts_with('{'), "case {case}: a plain line: {line}");
    for n in needles {
        assert!(line.contains(n), "case {case}: {line:?} lacks {n:?}");
    }
    assert!(
        !line.contains("app-secret") && !line.contains("hunter2"),
        "case {case}: {line}"
    );
    eprintln!("{case}\n  -> {line}");
    line.to_string()
}

#[tokio::test]
async fn a_bad_database_url_exits_2_naming_the_key_before_anything_binds() {
    let cases = [
        ("mysql://app:hunter2@localhost/atlas", "unsupported scheme 'mysql'"),
        ("postgres://app:hunter2@localhost/atlas?sslmode=strict", "unknown 'sslmode' value 'strict'"),
        ("postgres://app:hunter2@localhost/atlas?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem", "'sslrootcert' /nonexistent/ca.pem: cannot read the file"),
        ("postgres://app:hunter2@localhost/atlas?sslcert=/nonexistent/c.pem&sslkey=/nonexistent/c.key", "'sslcert' /nonexistent/c.pem"),
        (concat!("postgres://app:hunter2@localhost/atlas?sslcert=", env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"), "'sslcert' is set without 'sslkey'"),
    ];
    for (url, reason) in cases {
        for args in [&["config"][..], &[], &["migrate", "up"]] {
            let dir = TempDir::new();
            let (status, stdout, stderr) =
                run_bounded(&dir.0, args, &env_with(url, &[]), WITHIN).await;
            let case = format!("{args:?} {url}");
            assert_eq!(status.code(), Some(2), "case {case}: {stderr}");
            assert!(
                stdout.is_empty(),
                "case {case}: nothing bound or logged: {stdout}"
            );
            assert_eq!(stderr.trim().lines().count(), 1, "case {case}: {stderr}");
            for n in ["database.url", "DATABASE_URL", reason] {
                assert!(stderr.contains(n), "case {case}: {stderr:?} lacks {n:?}");
            }
            assert!(!stderr.contains("hunter2"), "case {case}: {stderr}");
        }
    }
}

#[tokio::test]
async fn an_unreachable_database_ends_serve_and_migrate_with_host_port_and_cause() {
    let port = free_port();
    let closed = format!("postgres://app:hunter2@127.0.0.1:{port}/atlas");
    let nowhere = "postgres://app:hunter2@no-such-host.invalid:5432/atlas";
    for args in [&[][..], &["migrate", "up"], &["migrate", "status"]] {
        let addr = format!("database 127.0.0.1:{port}: connection refused");
        expect_failure(&closed, args, 1, &[&addr]).await;
        let dns = "database no-such-host.invalid:5432: DNS lookup failed";
        expect_failure(nowhere, args, 1, &[dns]).await;
    }
}

#[tokio::test]
async fn a_server_without_tls_is_named_when_sslmode_requires_it() {
    let plain = url::Url::parse(&crate::db::server_url()).unwrap();
    let port = plain.port().unwrap();
    let url = format!("postgres://postgres@127.0.0.1:{port}/postgres?sslmode=require");
    let want =
        format!("database 127.0.0.1:{port}: the server does not support TLS (sslmode=require)");
    expect_failure(&url, &[], 1, &[&want]).await;
}

#[tokio::test]
async fn verify_full_with_the_right_ca_connects_over_tls_1_3_and_serves() {
    let pki = Pki::new(false);
    let pg = TlsCluster::start(&pki, true);
    let ca = pki.path("ca.pem");
    let url = format!(
        "postgres://postgres@localhost:{}/postgres?sslmode=verify-full&sslrootcert={ca}",
        pg.port
    );
    // A generous pool timeout: this migrates a fresh database while other tests
    // start clusters beside it.
    let app = BinApp::spawn(&[
        ("DATABASE_URL", &url),
        ("ATLAS_DATABASE__ACQUIRE_TIMEOUT", "15s"),
    ])
    .await;
    let line = app
        .wait_for_log(|v| v["message"] == "database connected")
        .await;
    assert_eq!(line["tls.version"], "TLSv1.3", "{line}");
    assert_eq!(
        line["db.address"],
        format!("localhost:{}", pg.port),
        "{line}"
    );
    app.wait_for_admin("/readyz", 200, Duration::from_secs(30))
        .await;
    assert_eq!(app.get("/api/v1/countries/PT").await.status(), 200);

    // mTLS: `certuser` logs in with a certificate signed by the client CA.
    let (cert, key) = (pki.path("certuser.pem"), pki.path("certuser.key"));
    let mtls = format!(
        "postgres://certuser@localhost:{}/postgres?sslmode=verify-full&sslrootcert={ca}&sslcert={cert}&sslkey={key}",
        pg.port
    );
    let dir = TempDir::new();
    let (status, stdout, stderr) = run_bounded(
        &dir.0,
        &["migrate", "status"],
        &env_with(&mtls, &[]),
        WITHIN,
    )
    .await;
    assert!(status.success(), "mTLS: {stderr}");
    assert!(stdout.contains("applied"), "mTLS: {stdout}");
    assert!(
        stderr.contains("TLSv1.3"),
        "mTLS: the connection is logged: {stderr}"
    );
}

#[tokio::test]
async fn tls_and_login_failures_end_start_up_with_one_line_that_says_why() {
    let pki = Pki::new(false);
    let pg = TlsCluster::start(&pki, true);
    let (p, ca, other) = (pg.port, pki.path("ca.pem"), pki.path("other-ca.pem"));
    let at = format!("database localhost:{p}: ");
    let cases = [
        (
            format!("postgres://postgres@localhost:{p}/postgres?sslmode=verify-full&sslrootcert={other}"),
            format!("{at}TLS: the server's certificate is signed by an unknown CA"),
        ),
        (
            format!("postgres://postgres@127.0.0.1:{p}/postgres?sslmode=verify-full&sslrootcert={ca}"),
            format!("database 127.0.0.1:{p}: TLS: the server's certificate is not valid for host name 127.0.0.1"),
        ),
        (
            format!("postgres://certuser@localhost:{p}/postgres?sslmode=verify-full&sslrootcert={ca}"),
            format!("{at}authentication failed for user \"certuser\" (connection requires a valid client certificate)"),
        ),
        (
            format!("postgres://postgres@localhost:{p}/postgres?sslmode=disable"),
            format!("{at}the server requires TLS (sslmode=disable)"),
        ),
        (
            format!("postgres://app:wrong@localhost:{p}/postgres?sslmode=verify-full&sslrootcert={ca}"),
            format!("{at}authentication failed for user \"app\""),
        ),
        (
            format!("postgres://app:app-secret@localhost:{p}/nope?sslmode=require"),
            format!("{at}database \"nope\" does not exist"),
        ),
    ];
    for (url, want) in &cases {
        expect_failure(url, &[], 1, &[want]).await;
    }
    expect_failure(&cases[0].0, &["migrate", "up"], 1, &[&cases[0].1]).await;
}

#[tokio::test]
async fn without_migrate_on_start_a_failure_is_a_warning_and_readiness_says_why() {
    let pki = Pki::new(false);
    let pg = TlsCluster::start(&pki, false);
    let url = format!(
        "postgres://app:wrong@localhost:{}/postgres?sslmode=verify-full&sslrootcert={}",
        pg.port,
        pki.path("ca.pem")
    );
    let app = BinApp::spawn(&[("DATABASE_URL", &url), ("ATLAS_MIGRATE__ON_START", "false")]).await;
    let want = format!(
        "database localhost:{}: authentication failed for user \\\"app\\\"",
        pg.port
    );
    let warned = app
        .wait_for_log(|v| {
            v["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("database not reachable"))
        })
        .await;
    assert!(warned.to_string().contains(&want), "{warned}");
    let res = app.admin_get("/readyz").await;
    assert_eq!(res.status(), 503);
    let body = res.text().await.unwrap();
    assert!(body.contains(&want), "{body}");
}

#[tokio::test]
async fn an_expired_server_certificate_is_named() {
    let pki = Pki::new(true);
    let pg = TlsCluster::start(&pki, false);
    let url = format!(
        "postgres://postgres@localhost:{}/postgres?sslmode=verify-full&sslrootcert={}",
        pg.port,
        pki.path("ca.pem")
    );
    let want = format!(
        "database localhost:{}: TLS: the server's certificate has expired",
        pg.port
    );
    expect_failure(&url, &[], 1, &[&want]).await;
}
