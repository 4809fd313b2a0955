//! `/api/v1/currencies` on both backends.

use serde_json::{json, Value};

use crate::db::TestDb;
use crate::helpers::TestApp;

fn url(app: &TestApp, path: &str) -> String {
    format!("{}/api/v1{path}", app.api)
}

async fn currencies_crud_and_links(app: &TestApp, _: &TestDb) {
    let eur: Value = app
        .http
        .get(url(app, "/currencies/eur"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        eur,
        json!({"code": "EUR", "numeric": "978", "name": "Euro", "minor_units": 2})
    );
    let jpy: Value = app
        .http
        .get(url(app, "/currencies/JPY"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jpy["minor_units"], 0);

    let page: Value = app
        .http
        .get(url(app, "/currencies?limit=250"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(page["total"].as_i64().unwrap() >= 150, "{}", page["total"]);

    let users: Value = app
        .http
        .get(url(app, "/currencies/EUR/countries?limit=250"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(users["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["alpha2"] == "PT"));
    assert_eq!(
        app.http
            .get(url(app, "/currencies/QQQ/countries"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    let res = app
        .http
        .post(url(app, "/currencies"))
        .json(&json!({"code": "XQA", "numeric": "001", "name": "Quatloo", "minor_units": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["location"], "/api/v1/currencies/XQA");
    let tag = res.headers()["etag"].to_str().unwrap().to_string();
    let dup = app
        .http
        .post(url(app, "/currencies"))
        .json(&json!({"code": "XQA", "numeric": "002", "name": "Again"}))
        .send()
        .await
        .unwrap();
    assert_eq!(dup.status(), 409);
    let res = app
        .http
        .put(url(app, "/currencies/XQA"))
        .header("if-match", &tag)
        .json(&json!({"code": "XQA", "numeric": "001", "name": "Quatloo", "minor_units": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let stale = app
        .http
        .put(url(app, "/currencies/XQA"))
        .header("if-match", &tag)
        .json(&json!({"code": "XQA", "numeric": "001", "name": "Quatloo", "minor_units": 4}))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 412);
    let bad = app
        .http
        .post(url(app, "/currencies"))
        .json(&json!({"code": "XQB", "numeric": "99", "name": "", "minor_units": 9}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let p: Value = bad.json().await.unwrap();
    assert_eq!(
        p["errors"].as_array().unwrap().len(),
        3,
        "every bad field at once: {p}"
    );

    // A currency in use cannot go; an unused one can.
    let res = app
        .http
        .delete(url(app, "/currencies/EUR"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    assert_eq!(
        app.http
            .get(url(app, "/currencies/EUR"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        app.http
            .delete(url(app, "/currencies/XQA"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        app.http
            .get(url(app, "/currencies/XQA"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}
db_test!(currency_crud, currencies_crud_and_links);

fn quatloo(minor_units: usize) -> Value {
    json!({"code": "XQA", "numeric": "001", "name": "Quatloo", "minor_units": minor_units % 7})
}

async fn if_match_guards_currency_writes(app: &TestApp, _: &TestDb) {
    let res = app.http.post(url(app, "/currencies")).json(&quatloo(0));
    assert_eq!(res.send().await.unwrap().status(), 201);
    crate::countries::if_match_rules(app, "/currencies/XQA", |i| quatloo(i + 1)).await;
}
db_test!(currency_if_match, if_match_guards_currency_writes);

async fn hostile_currency_bodies_are_refused(app: &TestApp, _: &TestDb) {
    let res = app.http.post(url(app, "/currencies")).json(&quatloo(2));
    assert_eq!(res.send().await.unwrap().status(), 201);
    crate::countries::hostile_bodies_write_nothing(
        app,
        "/currencies",
        "/currencies/XQA",
        quatloo(2),
    )
    .await;
}
db_test!(currency_hostile_bodies, hostile_currency_bodies_are_refused);

async fn a_stale_if_match_does_not_delete_a_currency(app: &TestApp, _: &TestDb) {
    let res = app.http.post(url(app, "/currencies")).json(&quatloo(2));
    let res = res.send().await.unwrap();
    let stale = res.headers()["etag"].to_str().unwrap().to_string();
    let res = app.http.put(url(app, "/currencies/XQA")).json(&quatloo(3));
    assert_eq!(res.send().await.unwrap().status(), 200);
    let res = app
        .http
        .delete(url(app, "/currencies/XQA"))
        .header("if-match", &stale);
    assert_eq!(res.send().await.unwrap().status(), 412);
    let res = app
        .http
        .get(url(app, "/currencies/XQA"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        quatloo(3),
        "the row stays"
    );
}
db_test!(
    currency_stale_delete,
    a_stale_if_match_does_not_delete_a_currency
);
