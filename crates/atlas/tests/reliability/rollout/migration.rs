//! Scenario 3: a Helm upgrade with a migration (#13). Two replicas of the old
//! release behind HAProxy, 100 keep-alive connections, `migrate.on_start` off as
//! in the chart; the next release's `atlas migrate up` runs as the pre-upgrade
//! Job while they serve (its migration is an expand one, see
//! `next-release-migrations/`), then the replicas roll to the next release.
//! Verdict: 0 failed requests; the old replicas stay ready (`/readyz` 200 on
//! every probe, HAProxy never takes them DOWN) across the migration; the old
//! release keeps answering after it; a rollback's Job (the old binary's
//! `migrate up`) exits 0 on the expanded schema.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use super::haproxy::HaProxy;
use super::load::{under_load, Clock, Report};
use super::rolling::{restart, Stage};
use super::steady;
use crate::helpers::{base_env, BinApp, BIN};

/// As the chart runs them: the Job migrates, the pods do not.
const POD_ENV: &[(&str, &str)] = &[("ATLAS_MIGRATE__ON_START", "false")];

/// `bin migrate <args>` against `url`, to completion: the migration Job.
async fn job(bin: &Path, args: &[&str], url: &str) -> Output {
    tokio::process::Command::new(bin)
        .arg("migrate")
        .args(args)
        .env_clear()
        .envs(base_env())
        .env("DATABASE_URL", url)
        .output()
        .await
        .expect("the migrate command runs")
}

/// What the migration phase saw: the Job's time line and the replicas' probes.
#[derive(Debug, Default)]
struct Phase {
    job_start: Duration,
    job_end: Duration,
    probes: usize,
    /// `/readyz` answers other than 200, by replica and status.
    unready: Vec<(&'static str, u16)>,
}

/// Run the next release's migration Job while probing both replicas' `/readyz`
/// every 50 ms, until a steady phase after the Job ends.
async fn migrate_while_probing(next: &Path, url: &str, pods: [&BinApp; 2], clock: Clock) -> Phase {
    let mut phase = Phase {
        job_start: clock.now(),
        ..Phase::default()
    };
    let migrate = job(next, &["up"], url);
    tokio::pin!(migrate);
    let mut done: Option<Output> = None;
    let mut settle = None;
    loop {
        for (name, pod) in ["a", "b"].into_iter().zip(pods) {
            let status = pod.admin_status("/readyz").await;
            phase.probes += 1;
            if status != 200 {
                phase.unready.push((name, status));
            }
        }
        if done.is_none() {
            tokio::select! {
                out = &mut migrate => {
                    phase.job_end = clock.now();
                    settle = Some(tokio::time::Instant::now() + steady());
                    done = Some(out);
                }
                _ = tokio::time::sleep(Duration::from_millis(50)) => {}
            }
        } else if settle.is_some_and(|t| tokio::time::Instant::now() >= t) {
            break;
        } else {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let out = done.expect("the Job ended");
    assert!(
        out.status.success(),
        "the migration Job failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    phase
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_helm_upgrade_with_an_expand_migration_keeps_the_old_pods_ready_and_fails_no_request() {
    let _serial = crate::one_at_a_time().await;
    let Stage {
        next,
        releases: (old_release, new_release),
        url,
        a,
        b,
        proxy,
        db: _db,
    } = Stage::set(POD_ENV).await;
    let spec = Stage::load_of(&proxy);
    let (next, url, lb) = (&next, url.as_str(), &proxy);
    let ((phase, downs, replicas), report) = under_load(spec, |clock| async move {
        tokio::time::sleep(steady()).await;
        let phase = migrate_while_probing(next, url, [&a, &b], clock).await;
        let downs: Vec<_> = lb
            .servers()
            .await
            .iter()
            .map(|s| (s.name.clone(), s.status.clone(), s.downs))
            .collect();
        let (a, _) = restart(a, next, POD_ENV, url, lb, "a", clock).await;
        let (b, _) = restart(b, next, POD_ENV, url, lb, "b", clock).await;
        tokio::time::sleep(steady()).await;
        (phase, downs, (a, b))
    })
    .await;
    drop(replicas);
    // A rollback after this upgrade runs the old release's Job: nothing to do.
    let rollback = job(Path::new(BIN), &["up"], url).await;
    print_figures(&report, &phase, &downs, &proxy).await;
    verdict(&report, &phase, &downs, (&old_release, &new_release));
    assert!(
        rollback.status.success(),
        "the old release's migrate up on the expanded schema: {}",
        String::from_utf8_lossy(&rollback.stderr)
    );
}

async fn print_figures(
    report: &Report,
    phase: &Phase,
    downs: &[(String, String, u64)],
    proxy: &HaProxy,
) {
    println!(
        "helm upgrade with an expand migration: 100 connections, {:.1} s, {} requests ({:.0}/s), \
         {} failed; latency p50 {:?}, p99 {:?}, max {:?}",
        report.elapsed.as_secs_f64(),
        report.samples.len(),
        report.rate(),
        report.failures().count(),
        report.quantile(0.5),
        report.quantile(0.99),
        report.quantile(1.0),
    );
    let during = |s: &super::load::Sample| (phase.job_start..phase.job_end).contains(&s.at);
    println!(
        "  migration Job {:.2} s → {:.2} s ({:.2} s); p99 during it {:?}; old replicas' /readyz: \
         {} probes, {} not 200; HAProxy after it: {downs:?}",
        phase.job_start.as_secs_f64(),
        phase.job_end.as_secs_f64(),
        (phase.job_end - phase.job_start).as_secs_f64(),
        report.quantile_where(0.99, during),
        phase.probes,
        phase.unready.len(),
    );
    let said = proxy.stderr();
    if !said.trim().is_empty() {
        println!("  HAProxy said: {said}");
    }
}

fn verdict(report: &Report, phase: &Phase, downs: &[(String, String, u64)], rel: (&str, &str)) {
    let failed: Vec<_> = report.failures().take(5).collect();
    assert!(failed.is_empty(), "failed requests, first: {failed:?}");
    assert!(
        phase.unready.is_empty(),
        "the old replicas turned unready: {:?}",
        phase.unready
    );
    assert!(
        downs.len() == 2 && downs.iter().all(|(_, status, n)| status == "UP" && *n == 0),
        "HAProxy kept both old replicas UP through the migration: {downs:?}"
    );
    let (_, old_last) = report
        .release_window(rel.0)
        .expect("the old release served");
    assert!(
        old_last > phase.job_end,
        "the old release served after the migration"
    );
    assert!(
        report.release_window(rel.1).is_some(),
        "the next release served after the roll"
    );
}
