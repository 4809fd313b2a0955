//! The store's reads answer the same on both backends: one statement per read
//! (issue 14) must not change what a list, a page or a country says.

use serde_json::Value;

use crate::db::{Backend, TestDb};
use crate::helpers::TestApp;

/// Reads whose answers are compared, each with the status it must have: single
/// countries by both codes, pages (first, middle, past the end, filtered by
/// currency and by name), currencies and the countries using one.
const READS: &[(&str, u16)] = &[
    ("/countries/PT", 200),
    ("/countries/CHE", 200),
    ("/countries/US", 200),
    ("/countries/AQ", 200),
    ("/countries/XX", 404),
    ("/countries?limit=50", 200),
    ("/countries?limit=50&cursor=MX", 200),
    ("/countries?limit=3&cursor=ZW", 200),
    ("/countries?currency=EUR&limit=7", 200),
    ("/countries?q=united&limit=2", 200),
    ("/countries?q=zzzz", 200),
    ("/currencies?limit=20", 200),
    ("/currencies?limit=20&cursor=USD", 200),
    ("/currencies?limit=5&cursor=ZZZ", 200),
    ("/currencies?q=dollar", 200),
    ("/currencies/EUR", 200),
    ("/currencies/EUR/countries", 200),
    ("/currencies/USD/countries", 200),
    ("/currencies/XXX/countries", 200),
    ("/currencies/QQQ/countries", 404),
];

async fn answers(backend: Backend) -> Vec<(String, u16, Value)> {
    let db = TestDb::new(backend).await;
    let env = db.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = TestApp::spawn(&env).await;
    let mut out = Vec::new();
    for (path, status) in READS {
        let res = app
            .http
            .get(format!("{}/api/v1{path}", app.api))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), *status, "{backend:?} {path}");
        let mut body: Value = res.json().await.unwrap();
        // A problem's `instance` and request id differ per request by design.
        if let Some(o) = body.as_object_mut() {
            o.remove("request_id");
            o.remove("instance");
        }
        out.push((path.to_string(), *status, body));
    }
    out
}

#[tokio::test]
async fn reads_answer_the_same_on_sqlite_and_postgres() {
    let (sqlite, postgres) = (
        answers(Backend::Sqlite).await,
        answers(Backend::Postgres).await,
    );
    for (s, p) in sqlite.iter().zip(&postgres) {
        assert_eq!(s, p, "SQLite and PostgreSQL differ on {}", s.0);
    }
    // The comparison means something only if the answers carry data: a full page,
    // links on both sides, an empty page that still counts every item.
    let page = &sqlite[5].2;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(50), "{page}");
    assert!(page["total"].as_i64().unwrap() > 200, "{page}");
    let pt = &sqlite[0].2;
    assert_eq!(pt["currencies"], serde_json::json!(["EUR"]), "{pt}");
    assert!(pt["timezones"].as_array().unwrap().len() >= 3, "{pt}");
    let past_end = &sqlite[7].2;
    assert_eq!(past_end["items"], serde_json::json!([]), "{past_end}");
    assert_eq!(past_end["total"], page["total"], "{past_end}");
}
