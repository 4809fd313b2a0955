//! Scenario (#11, data safety): writers racing with one `If-Match`.
//!
//! 50 clients read a country's ETag and all `PUT` a different body with it at once.
//! Verdict: exactly one 2xx, every other 412, no 5xx, and the stored row is the
//! winner's body (no lost update). Then writers holding the now-stale ETag `DELETE`
//! at once: all 412 and the row stays; with the current ETag exactly one deletes.
//! Readers run throughout; their statuses and p99 latency are printed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::db::TestDb;
use crate::helpers::TestApp;

const WRITERS: usize = 50;
const READERS: usize = 4;
const PATH: &str = "/api/v1/countries/XA";

fn atlantis(name: &str) -> Value {
    json!({"alpha2": "XA", "alpha3": "XAA", "numeric": "901", "name": name,
           "official_name": null, "currencies": ["EUR"], "timezones": ["Atlantic/Azores"]})
}

/// Reads of `PATH` until `stop`: each read's status, latency and name.
async fn read_until(app: &TestApp, stop: Arc<AtomicBool>) -> Vec<(u16, Duration, Option<String>)> {
    let mut seen = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let res = app.get(PATH).await;
        let status = res.status().as_u16();
        let body: Option<Value> = res.json().await.ok();
        let name = body.and_then(|b| b["name"].as_str().map(str::to_string));
        seen.push((status, started.elapsed(), name));
    }
    seen
}

/// `requests` all at once, alongside `READERS` readers: each request's status and
/// body, and the reads.
async fn race(
    app: &TestApp,
    requests: Vec<reqwest::RequestBuilder>,
) -> (Vec<(u16, Value)>, Vec<(u16, Duration, Option<String>)>) {
    let stop = Arc::new(AtomicBool::new(false));
    let readers = join_all((0..READERS).map(|_| read_until(app, stop.clone())));
    let writers = async {
        let sent = join_all(requests.into_iter().map(|r| async {
            let res = r.send().await.expect("the server answers");
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap_or(Value::Null))
        }))
        .await;
        stop.store(true, Ordering::Relaxed);
        sent
    };
    let (writes, reads) = tokio::join!(writers, readers);
    (writes, reads.into_iter().flatten().collect())
}

fn count(statuses: &[u16], want: u16) -> usize {
    statuses.iter().filter(|s| **s == want).count()
}

fn p99(reads: &[(u16, Duration, Option<String>)]) -> Duration {
    let mut times: Vec<Duration> = reads.iter().map(|r| r.1).collect();
    times.sort();
    times
        .get((times.len() * 99 / 100).min(times.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default()
}

/// How many times each status occurs, in status order.
fn tally(statuses: impl Iterator<Item = u16>) -> Vec<(u16, usize)> {
    let mut counts = std::collections::BTreeMap::new();
    for s in statuses {
        *counts.entry(s).or_insert(0) += 1;
    }
    counts.into_iter().collect()
}

fn report(db: &TestDb, phase: &str, statuses: &[u16], reads: &[(u16, Duration, Option<String>)]) {
    println!(
        "if_match {:?} {phase}: writes {:?}; {} concurrent reads {:?}, p99 {:?}",
        db.backend,
        tally(statuses.iter().copied()),
        reads.len(),
        tally(reads.iter().map(|r| r.0)),
        p99(reads)
    );
    assert!(
        statuses
            .iter()
            .chain(reads.iter().map(|r| &r.0))
            .all(|s| *s < 500),
        "{phase}: a 5xx"
    );
}

async fn writers_with_one_etag_one_wins_no_lost_update(app: &TestApp, db: &TestDb) {
    let _serial = crate::one_at_a_time().await;
    let res = app.http.post(format!("{}/api/v1/countries", app.api));
    let res = res.json(&atlantis("Atlantis")).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let tag = res.headers()["etag"].to_str().unwrap().to_string();
    let url = format!("{}{PATH}", app.api);

    let puts = (0..WRITERS)
        .map(|i| {
            let body = atlantis(&format!("Atlantis {i}"));
            app.http.put(&url).header("if-match", &tag).json(&body)
        })
        .collect();
    let (writes, reads) = race(app, puts).await;
    let statuses: Vec<u16> = writes.iter().map(|w| w.0).collect();
    report(db, &format!("{WRITERS} PUT, one ETag"), &statuses, &reads);
    assert_eq!(count(&statuses, 200), 1, "exactly one winner: {statuses:?}");
    assert_eq!(count(&statuses, 412), WRITERS - 1, "{statuses:?}");
    assert!(
        reads.iter().all(|r| r.0 == 200),
        "reads failed during the race"
    );
    let winner = &writes.iter().find(|w| w.0 == 200).unwrap().1;
    let stored: Value = app.get(PATH).await.json().await.unwrap();
    assert_eq!(&stored, winner, "the stored row is the winner's body");
    let names = [Some("Atlantis"), winner["name"].as_str()];
    assert!(
        reads.iter().all(|r| names.contains(&r.2.as_deref())),
        "a read saw neither the old row nor the winner's"
    );

    // The first ETag is stale now: no DELETE with it may remove the row.
    let deletes = (0..WRITERS)
        .map(|_| app.http.delete(&url).header("if-match", &tag))
        .collect();
    let (writes, reads) = race(app, deletes).await;
    let statuses: Vec<u16> = writes.iter().map(|w| w.0).collect();
    report(
        db,
        &format!("{WRITERS} DELETE, stale ETag"),
        &statuses,
        &reads,
    );
    assert_eq!(count(&statuses, 412), WRITERS, "{statuses:?}");
    let after: Value = app.get(PATH).await.json().await.unwrap();
    assert_eq!(&after, winner, "the row stays");

    // With the current ETag one DELETE wins; the rest find it changed or gone.
    let current = app.get(PATH).await.headers()["etag"].clone();
    let deletes = (0..WRITERS)
        .map(|_| app.http.delete(&url).header("if-match", current.clone()))
        .collect();
    let (writes, reads) = race(app, deletes).await;
    let statuses: Vec<u16> = writes.iter().map(|w| w.0).collect();
    report(
        db,
        &format!("{WRITERS} DELETE, current ETag"),
        &statuses,
        &reads,
    );
    assert_eq!(count(&statuses, 204), 1, "{statuses:?}");
    assert_eq!(
        count(&statuses, 404) + count(&statuses, 412),
        WRITERS - 1,
        "{statuses:?}"
    );
    assert_eq!(app.get(PATH).await.status(), 404);
}
db_test!(
    if_match_writers,
    writers_with_one_etag_one_wins_no_lost_update
);
