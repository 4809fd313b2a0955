//! Scenario 1: two replicas sharing one PostgreSQL behind HAProxy, 100 keep-alive
//! connections of load, one replica restarted after the other into the next
//! release (SIGTERM, exit 0, a new process of the next build on the same ports).
//! Verdict: 0 failed requests, and the answers' `release` switches.
//!
//! `Stage` and `restart` are the pieces a release scenario
//! reuses: a migration before the restarts is one more line in the step.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::haproxy::{Backend, HaProxy};
use super::load::{under_load, Clock, LoadSpec, Report, Sample};
use super::{addr, next_bin, release_of, replica, steady};
use crate::db::{Backend as Db, TestDb};
use crate::helpers::{BinApp, BIN};

/// When each replica went and came back, on the load's time line.
#[derive(Debug, Default)]
pub(super) struct Restart {
    pub term: Duration,
    pub exited: Duration,
    /// The new process answers `/readyz` 200 and HAProxy has it UP again.
    pub back: Duration,
}

/// What a release scenario starts from: this build and the next one, and two
/// replicas of this build sharing a fresh PostgreSQL database behind HAProxy.
pub(super) struct Stage {
    pub next: PathBuf,
    /// This build's `release`, then the next one's.
    pub releases: (String, String),
    pub url: String,
    pub a: BinApp,
    pub b: BinApp,
    pub proxy: HaProxy,
    /// Dropped last: the replicas' database.
    pub db: TestDb,
}

impl Stage {
    /// Set the stage, the replicas started with `env`.
    pub(super) async fn set(env: &[(&str, &str)]) -> Self {
        let next = next_bin();
        let releases = (release_of(Path::new(BIN)), release_of(&next));
        assert_ne!(releases.0, releases.1, "{next:?} is another release");
        let db = TestDb::new(Db::Postgres).await;
        let url = db.url.clone().expect("a PostgreSQL URL");
        let (a, b, proxy) = pair_behind_haproxy(Path::new(BIN), &url, env).await;
        Self {
            next,
            releases,
            url,
            a,
            b,
            proxy,
            db,
        }
    }

    /// 100 keep-alive connections through HAProxy, on `/home` (which carries the
    /// release) and a country.
    pub(super) fn load_of(proxy: &HaProxy) -> LoadSpec {
        LoadSpec {
            addr: proxy.addr,
            conns: 100,
            paths: &["/home", "/api/v1/countries/PT"],
            stop_on_refused: false,
        }
    }
}

/// Replicas `a` and `b` of `bin` serving `database` with `env`, behind HAProxy,
/// both UP.
async fn pair_behind_haproxy(
    bin: &Path,
    database: &str,
    env: &[(&str, &str)],
) -> (BinApp, BinApp, HaProxy) {
    let a = replica(bin, Some(database), None, env).await;
    let b = replica(bin, Some(database), None, env).await;
    let backend = |name, app: &BinApp| Backend {
        name,
        api: addr(&app.api),
        admin: addr(&app.admin),
    };
    let proxy = HaProxy::start(&[backend("a", &a), backend("b", &b)]).await;
    for name in ["a", "b"] {
        proxy.wait_up(name, Duration::from_secs(10)).await;
    }
    (a, b, proxy)
}

/// SIGTERM `old`, wait for exit 0, start `bin` (with `env`) on the same ports and
/// wait until HAProxy sends it traffic: what a rolling update with
/// `maxUnavailable: 1` does.
pub(super) async fn restart(
    old: BinApp,
    bin: &Path,
    env: &[(&str, &str)],
    database: &str,
    proxy: &HaProxy,
    name: &str,
    clock: Clock,
) -> (BinApp, Restart) {
    let mut old = old;
    let ports = (addr(&old.api).port(), addr(&old.admin).port());
    let term = clock.now();
    old.signal("TERM");
    let status = old.wait_exit(Duration::from_secs(60)).await;
    assert!(status.success(), "replica {name} exited with {status}");
    let exited = clock.now();
    drop(old);
    let new = replica(bin, Some(database), Some(ports), env).await;
    proxy.wait_up(name, Duration::from_secs(10)).await;
    let back = clock.now();
    let times = Restart { term, exited, back };
    (new, times)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_behind_haproxy_into_the_next_release_fails_no_request() {
    let _serial = crate::one_at_a_time().await;
    let Stage {
        next,
        releases: (old_release, new_release),
        url,
        a,
        b,
        proxy,
        db: _db,
    } = Stage::set(&[]).await;
    let spec = Stage::load_of(&proxy);
    let (next, url, lb) = (&next, url.as_str(), &proxy);
    let ((restarts, replicas), report) = under_load(spec, |clock| async move {
        tokio::time::sleep(steady()).await;
        let (a, ra) = restart(a, next, &[], url, lb, "a", clock).await;
        tokio::time::sleep(steady()).await;
        let (b, rb) = restart(b, next, &[], url, lb, "b", clock).await;
        tokio::time::sleep(steady()).await;
        // The replicas outlive the load: dropping one kills it.
        ([ra, rb], (a, b))
    })
    .await;
    let stats = proxy.servers().await;
    let states: Vec<String> = stats
        .iter()
        .map(|s| format!("{} {} ({})", s.name, s.status, s.check))
        .collect();
    let retried: u64 = stats.iter().map(|s| s.retries + s.redispatches).sum();
    drop(replicas);
    print_figures(&report, &restarts, retried, (&old_release, &new_release));
    println!("  HAProxy servers at the end: {}", states.join(", "));
    let said = proxy.stderr();
    if !said.trim().is_empty() {
        println!("  HAProxy said: {said}");
    }
    verdict(&report, &restarts, (&old_release, &new_release));
}

fn print_figures(report: &Report, restarts: &[Restart; 2], retried: u64, rel: (&str, &str)) {
    let (first_new, _) = report.release_window(rel.1).unwrap_or_default();
    let (_, last_old) = report.release_window(rel.0).unwrap_or_default();
    println!(
        "rolling restart behind HAProxy: 100 connections, {:.1} s, {} requests ({:.0}/s), \
         {} failed; latency p50 {:?}, p99 {:?}, max {:?}; HAProxy retries + redispatches {retried}",
        report.elapsed.as_secs_f64(),
        report.samples.len(),
        report.rate(),
        report.failures().count(),
        report.quantile(0.5),
        report.quantile(0.99),
        report.quantile(1.0),
    );
    let away = |s: &Sample| restarts.iter().any(|r| (r.term..r.back).contains(&s.at));
    println!(
        "  p99 while a replica was away (SIGTERM → UP again) {:?}, otherwise {:?}",
        report.quantile_where(0.99, away),
        report.quantile_where(0.99, |s| !away(s)),
    );
    for (name, r) in ["a", "b"].iter().zip(restarts) {
        println!(
            "  replica {name}: SIGTERM at {:.2} s, exit 0 after {:.2} s, next release UP {:.2} s later",
            r.term.as_secs_f64(),
            (r.exited - r.term).as_secs_f64(),
            (r.back - r.exited).as_secs_f64(),
        );
    }
    println!(
        "  release {} → {}: first new answer at {:.2} s, last old at {:.2} s: the old release \
         left {:.2} s after its last replica's SIGTERM; whole rollout (first SIGTERM → last \
         replica UP again) {:.2} s",
        rel.0,
        rel.1,
        first_new.as_secs_f64(),
        last_old.as_secs_f64(),
        last_old.saturating_sub(restarts[1].term).as_secs_f64(),
        (restarts[1].back - restarts[0].term).as_secs_f64(),
    );
}

fn verdict(report: &Report, restarts: &[Restart; 2], rel: (&str, &str)) {
    let failed: Vec<_> = report.failures().take(5).collect();
    assert!(failed.is_empty(), "failed requests, first: {failed:?}");
    let (old_first, old_last) = report.release_window(rel.0).expect("old release served");
    let (new_first, new_last) = report.release_window(rel.1).expect("new release served");
    assert!(
        old_first < restarts[0].term,
        "the old release served before the rollout"
    );
    assert!(
        new_first > restarts[0].exited,
        "the new release came with the new process"
    );
    assert!(
        old_last < restarts[1].exited,
        "no old answer once the last old process exited"
    );
    assert!(
        new_last > restarts[1].back,
        "the new release serves after the rollout"
    );
    assert_eq!(report.releases.len(), 2, "only the two releases answered");
}
