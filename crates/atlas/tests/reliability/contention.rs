//! A session holding a row lock for 8 s on PostgreSQL: writers to that row give up
//! after the lock timeout with 503 + `Retry-After` (never 500), writers to other
//! rows are not held up (there is no global write lock), and reads keep a p99
//! under 50 ms throughout.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::{Connection, Executor, PgConnection};

use crate::db::{Backend, TestDb};
use crate::helpers::{Endpoints, TestApp};

const HOLD: Duration = Duration::from_secs(8);

fn p99(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get((v.len() * 99 / 100).min(v.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default()
}

async fn put_currency(app: &Endpoints, code: &str, numeric: &str) -> (u16, bool, Duration) {
    let start = Instant::now();
    let res = app
        .http
        .put(format!("{}/api/v1/currencies/{code}", app.api))
        .json(&json!({"code": code, "numeric": numeric, "name": "Renamed", "minor_units": 2}))
        .send()
        .await
        .unwrap();
    let retry = res.headers().contains_key("retry-after");
    (res.status().as_u16(), retry, start.elapsed())
}

async fn reads(app: Arc<Endpoints>, until: Instant) -> Vec<Duration> {
    let mut took = Vec::new();
    while Instant::now() < until {
        let start = Instant::now();
        let res = app.get("/api/v1/countries/PT").await;
        assert_eq!(res.status(), 200, "reads keep working");
        took.push(start.elapsed());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    took
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_holding_a_row_lock_costs_its_row_a_503_and_nobody_else_anything() {
    let _serial = crate::one_at_a_time().await;
    let db = TestDb::new(Backend::Postgres).await;
    let url = db.url.clone().unwrap();
    let app = TestApp::spawn(&[("DATABASE_URL", &url)]).await;
    let endpoints = Arc::new(Endpoints::new(
        app.api.trim_start_matches("http://"),
        app.admin.trim_start_matches("http://"),
    ));

    // Another session locks the euro's row and keeps it for HOLD.
    let mut holder = PgConnection::connect(&url).await.unwrap();
    holder.execute("BEGIN").await.unwrap();
    holder
        .execute("SELECT * FROM currencies WHERE code = 'EUR' FOR UPDATE")
        .await
        .unwrap();
    let locked_at = Instant::now();
    let reader = tokio::spawn(reads(endpoints.clone(), locked_at + HOLD));

    let blocked = Arc::new(Mutex::new(Vec::new()));
    let mut writers = Vec::new();
    for _ in 0..4 {
        let (app, out) = (endpoints.clone(), blocked.clone());
        writers.push(tokio::spawn(async move {
            let r = put_currency(&app, "EUR", "978").await;
            out.lock().unwrap().push(r);
        }));
    }
    // Meanwhile, other rows are written at once.
    let mut free = Vec::new();
    for (code, numeric) in [("JPY", "392"), ("GBP", "826"), ("CHF", "756")] {
        free.push(put_currency(&endpoints, code, numeric).await);
    }
    for w in writers {
        w.await.unwrap();
    }
    let read_times = reader.await.unwrap();
    holder.execute("ROLLBACK").await.unwrap();

    let blocked = blocked.lock().unwrap().clone();
    let read_p99 = p99(read_times.clone());
    println!(
        "contention: writers to the locked row {blocked:?}; writers to other rows {free:?}; \
         {} reads, p99 {read_p99:?}",
        read_times.len()
    );
    for (status, retry, took) in &blocked {
        assert_eq!(
            (*status, *retry),
            (503, true),
            "the locked row: 503 + Retry-After"
        );
        assert!(
            *took < Duration::from_secs(5),
            "bounded by the lock timeout: {took:?}"
        );
    }
    for (status, _, took) in &free {
        assert_eq!(*status, 200, "other rows are not held up");
        assert!(*took < Duration::from_secs(1), "no global lock: {took:?}");
    }
    assert!(
        read_p99 < Duration::from_millis(50),
        "reads p99 {read_p99:?}"
    );
    drop(app);
}
