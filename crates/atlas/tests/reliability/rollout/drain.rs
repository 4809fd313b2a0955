//! Scenario 2: 200 keep-alive connections straight at one replica (no load
//! balancer), SIGTERM. While it drains, every answer says `Connection: close`, so
//! clients leave their keep-alive connections at a response boundary instead of
//! finding them closed under a request. Verdict: no failed request before the
//! listener closes, every client moved off by `Connection: close`, and no client
//! sees an EOF before that.

use std::collections::BTreeMap;
use std::time::Duration;

use super::load::{under_load, LoadSpec, Report, Sample};
use super::wire::Failure;
use super::{addr, phase_at, replica, steady};
use crate::helpers::BIN;

/// What one client saw, in order.
#[derive(Debug, Default)]
struct ClientView {
    /// When its first `Connection: close` answer arrived.
    first_close: Option<Duration>,
    eof_before_close: u32,
    eof_after_close: u32,
}

fn views(report: &Report) -> BTreeMap<usize, ClientView> {
    let mut views: BTreeMap<usize, ClientView> = BTreeMap::new();
    for s in &report.samples {
        let v = views.entry(s.client).or_default();
        let done = s.at + s.took;
        match s.outcome {
            Ok(_) if s.close && v.first_close.is_none() => v.first_close = Some(done),
            Err(Failure::Eof) if v.first_close.is_none() => v.eof_before_close += 1,
            Err(Failure::Eof) => v.eof_after_close += 1,
            _ => {}
        }
    }
    views
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_moves_keep_alive_clients_off_with_connection_close_before_the_listener_closes() {
    let _serial = crate::one_at_a_time().await;
    let mut app = replica(std::path::Path::new(BIN), None, None, &[]).await;
    let spec = LoadSpec {
        addr: addr(&app.api),
        conns: 200,
        paths: &["/home", "/api/v1/countries/PT"],
        stop_on_refused: true,
    };
    let app_ref = &mut app;
    let ((term, stopping), report) = under_load(spec, |clock| async move {
        tokio::time::sleep(steady()).await;
        let term = clock.now();
        app_ref.signal("TERM");
        let status = app_ref.wait_exit(Duration::from_secs(60)).await;
        assert!(status.success(), "exit {status}");
        let stopping = phase_at(app_ref, "stopping", &clock).expect("a `stopping` log line");
        (term, stopping)
    })
    .await;
    let views = views(&report);
    // Failed before the listener closed: observed before the `stopping` line,
    // which is logged just before the listener is dropped.
    let early: Vec<&Sample> = report
        .failures()
        .filter(|s| s.at + s.took < stopping)
        .collect();
    let late = report.failures().count() - early.len();
    let refused = report
        .failures()
        .filter(|s| s.outcome == Err(Failure::Refused))
        .count();
    let eof_reused = report
        .failures()
        .filter(|s| s.outcome == Err(Failure::Eof) && s.reused)
        .count();
    let moved = views.values().filter(|v| v.first_close.is_some()).count();
    let count = |f: fn(&ClientView) -> bool| views.values().filter(|v| f(v)).count();
    println!(
        "drain straight at one replica: 200 connections, {} requests ({:.0}/s); SIGTERM at {:.2} s, \
         listener closed at {:.2} s; failed before it closed: {}; after: {late} ({refused} refused \
         connects, {} EOFs, {eof_reused} of them on a reused keep-alive connection); clients moved off by Connection: close {moved}/200; clients with an \
         EOF before their Connection: close {}, after {}; p99 {:?}",
        report.samples.len(),
        report.rate(),
        term.as_secs_f64(),
        stopping.as_secs_f64(),
        early.len(),
        late - refused,
        count(|v| v.eof_before_close > 0),
        count(|v| v.eof_after_close > 0),
        report.quantile(0.99),
    );
    assert!(
        early.is_empty(),
        "failed before the listener closed: {:?}",
        &early[..early.len().min(5)]
    );
    assert_eq!(
        moved, 200,
        "every client got a Connection: close while draining"
    );
    assert_eq!(
        count(|v| v.eof_before_close > 0),
        0,
        "no EOF before Connection: close"
    );
}
