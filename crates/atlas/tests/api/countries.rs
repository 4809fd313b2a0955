//! `/api/v1/countries` on both backends.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::db::TestDb;
use crate::helpers::TestApp;

fn url(app: &TestApp, path: &str) -> String {
    format!("{}/api/v1{path}", app.api)
}

fn atlantis() -> Value {
    json!({"alpha2": "XA", "alpha3": "XAA", "numeric": "901", "name": "Atlantis",
           "official_name": "Republic of Atlantis", "currencies": ["EUR"], "timezones": ["Atlantic/Azores"]})
}

async fn problem(res: reqwest::Response, status: u16) -> Value {
    assert_eq!(res.status(), status);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    res.json().await.unwrap()
}

async fn get_by_either_code_in_any_case_with_etag_and_304(app: &TestApp, _: &TestDb) {
    for code in ["PT", "pt", "PRT", "prt"] {
        let res = app
            .http
            .get(url(app, &format!("/countries/{code}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "case {code}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["alpha2"], "PT");
        assert_eq!(body["alpha3"], "PRT");
        assert_eq!(body["numeric"], "620");
        assert_eq!(body["currencies"], json!(["EUR"]));
        assert!(body["timezones"]
            .as_array()
            .unwrap()
            .contains(&json!("Europe/Lisbon")));
    }
    let res = app
        .http
        .get(url(app, "/countries/PT"))
        .send()
        .await
        .unwrap();
    let tag = res.headers()["etag"].to_str().unwrap().to_string();
    let res = app
        .http
        .get(url(app, "/countries/prt"))
        .header("if-none-match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304);
    let res = app
        .http
        .get(url(app, "/countries/PT"))
        .header("if-none-match", "\"other\"")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let p = problem(
        app.http
            .get(url(app, "/countries/ZZ"))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("ZZ"));
    problem(
        app.http
            .get(url(app, "/countries/P1"))
            .send()
            .await
            .unwrap(),
        422,
    )
    .await;
}
db_test!(
    get_country,
    get_by_either_code_in_any_case_with_etag_and_304
);

async fn list_pages_through_every_country_once_and_filters(app: &TestApp, _: &TestDb) {
    let mut seen = BTreeSet::new();
    let mut next = Some(url(app, "/countries?limit=100"));
    let mut pages = 0;
    let mut total = 0;
    while let Some(u) = next {
        let page: Value = app.http.get(&u).send().await.unwrap().json().await.unwrap();
        total = page["total"].as_i64().unwrap();
        for c in page["items"].as_array().unwrap() {
            assert!(
                seen.insert(c["alpha2"].as_str().unwrap().to_string()),
                "duplicate {c}"
            );
        }
        next = page["next"].as_str().map(|n| format!("{}{n}", app.api));
        pages += 1;
        assert!(pages < 10, "paging does not end");
    }
    assert_eq!(seen.len() as i64, total);
    assert!(total >= 245, "the full ISO 3166-1 set is seeded: {total}");
    assert_eq!(pages, 3);

    let eur: Value = app
        .http
        .get(url(app, "/countries?currency=eur&limit=250"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let codes: Vec<&str> = eur["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["alpha2"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"PT") && codes.contains(&"DE") && !codes.contains(&"GB"),
        "{codes:?}"
    );
    assert_eq!(eur["total"].as_i64().unwrap() as usize, codes.len());

    let q: Value = app
        .http
        .get(url(app, "/countries?q=UNITED"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = q["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(
        names.iter().any(|n| n.contains("United Kingdom")),
        "{names:?}"
    );
    assert!(
        names.iter().all(|n| n.to_lowercase().contains("united"))
            || q["items"].as_array().unwrap().iter().all(|c| {
                format!("{} {}", c["name"], c["official_name"])
                    .to_lowercase()
                    .contains("united")
            })
    );
    let literal: Value = app
        .http
        .get(url(app, "/countries?q=%25"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        literal["total"], 0,
        "% is matched literally, not as a wildcard"
    );

    for bad in ["limit=0", "limit=100000", "cursor=%2A%2A", "currency=EURO"] {
        problem(
            app.http
                .get(url(app, &format!("/countries?{bad}")))
                .send()
                .await
                .unwrap(),
            422,
        )
        .await;
    }
    problem(
        app.http
            .get(url(app, "/countries?limit=abc"))
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
}
db_test!(
    list_countries,
    list_pages_through_every_country_once_and_filters
);

async fn create_then_read_replace_with_if_match_and_delete(app: &TestApp, _: &TestDb) {
    let res = app
        .http
        .post(url(app, "/countries"))
        .json(&atlantis())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["location"], "/api/v1/countries/XA");
    let etag1 = res.headers()["etag"].to_str().unwrap().to_string();

    let got: Value = app
        .http
        .get(url(app, "/countries/xaa"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["name"], "Atlantis");
    assert_eq!(got["timezones"], json!(["Atlantic/Azores"]));

    let mut changed = atlantis();
    changed["name"] = json!("Atlantis Reborn");
    changed["currencies"] = json!(["EUR", "USD"]);
    let res = app
        .http
        .put(url(app, "/countries/XA"))
        .header("if-match", &etag1)
        .json(&changed)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let etag2 = res.headers()["etag"].to_str().unwrap().to_string();
    assert_ne!(etag1, etag2);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["currencies"], json!(["EUR", "USD"]));

    // A writer holding the old ETag loses instead of overwriting.
    let res = app
        .http
        .put(url(app, "/countries/XA"))
        .header("if-match", &etag1)
        .json(&atlantis())
        .send()
        .await
        .unwrap();
    problem(res, 412).await;
    let now: Value = app
        .http
        .get(url(app, "/countries/XA"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(now["name"], "Atlantis Reborn");

    let res = app
        .http
        .put(url(app, "/countries/XB"))
        .json(&atlantis())
        .send()
        .await
        .unwrap();
    problem(res, 404).await;

    let res = app
        .http
        .delete(url(app, "/countries/XA"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    problem(
        app.http
            .get(url(app, "/countries/XA"))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    problem(
        app.http
            .delete(url(app, "/countries/XA"))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
}
db_test!(
    country_crud,
    create_then_read_replace_with_if_match_and_delete
);

async fn bad_bodies_get_field_errors_and_write_nothing(app: &TestApp, _: &TestDb) {
    // 400: the body does not decode (a wrong type, an unknown field); 422: it does,
    // but a value is missing or invalid.
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({"alpha2": "XA"}), 422, "/alpha3"),
        (
            json!({"alpha2": "XA", "alpha3": "XAA", "numeric": "901", "name": "A", "colour": "blue"}),
            400,
            "/colour",
        ),
        (
            json!({"alpha2": 12, "alpha3": "XAA", "numeric": "901", "name": "A"}),
            400,
            "/alpha2",
        ),
        (
            json!({"alpha2": "X", "alpha3": "XAA", "numeric": "901", "name": "A"}),
            422,
            "/alpha2",
        ),
        (
            json!({"alpha2": "XA", "alpha3": "XAA", "numeric": "901", "name": "x".repeat(201)}),
            422,
            "/name",
        ),
        (
            json!({"alpha2": "XA", "alpha3": "XAA", "numeric": "901", "name": "A", "timezones": ["Mars/Base"]}),
            422,
            "/timezones/0",
        ),
        // One known and one unknown currency: refused whole, nothing half-written.
        (
            json!({"alpha2": "XA", "alpha3": "XAA", "numeric": "901", "name": "A", "currencies": ["EUR", "ZZZ"]}),
            422,
            "/currencies",
        ),
    ];
    for (body, status, pointer) in cases {
        let res = app
            .http
            .post(url(app, "/countries"))
            .json(&body)
            .send()
            .await
            .unwrap();
        let p = problem(res, status).await;
        let errors = p["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("case {body}: {p}"));
        assert!(
            errors
                .iter()
                .any(|e| e["pointer"].as_str().unwrap().starts_with(pointer)),
            "case {body}: {p}"
        );
        problem(
            app.http
                .get(url(app, "/countries/XA"))
                .send()
                .await
                .unwrap(),
            404,
        )
        .await;
    }
    let res = app
        .http
        .post(url(app, "/countries"))
        .header("content-type", "application/json")
        .body("{\"alpha2\":")
        .send()
        .await
        .unwrap();
    let p = problem(res, 400).await;
    assert!(p["errors"][0]["pointer"].is_string(), "{p}");
    let res = app
        .http
        .post(url(app, "/countries"))
        .body("alpha2=XA")
        .send()
        .await
        .unwrap();
    let p = problem(res, 400).await;
    assert_eq!(p["errors"][0]["header"], "content-type", "{p}");
}
db_test!(
    country_validation,
    bad_bodies_get_field_errors_and_write_nothing
);

async fn duplicates_are_409_even_when_racing(app: &TestApp, _: &TestDb) {
    let mut dup = atlantis();
    dup["alpha2"] = json!("PT");
    problem(
        app.http
            .post(url(app, "/countries"))
            .json(&dup)
            .send()
            .await
            .unwrap(),
        409,
    )
    .await;
    let mut dup = atlantis();
    dup["numeric"] = json!("620");
    problem(
        app.http
            .post(url(app, "/countries"))
            .json(&dup)
            .send()
            .await
            .unwrap(),
        409,
    )
    .await;

    let racers = (0..8).map(|_| {
        app.http
            .post(url(app, "/countries"))
            .json(&atlantis())
            .send()
    });
    let statuses: Vec<u16> = futures_util::future::join_all(racers)
        .await
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "{statuses:?}"
    );
}
db_test!(country_conflicts, duplicates_are_409_even_when_racing);

/// The current `ETag` of `path`.
async fn current_tag(app: &TestApp, path: &str) -> String {
    let res = app.http.get(url(app, path)).send().await.unwrap();
    assert_eq!(res.status(), 200, "GET {path}");
    res.headers()["etag"].to_str().unwrap().to_string()
}

/// `If-Match` field lines built from the current tag.
type Lines = fn(&str) -> Vec<String>;

/// A write with these `If-Match` lines.
fn conditional(req: reqwest::RequestBuilder, lines: &[String]) -> reqwest::RequestBuilder {
    lines.iter().fold(req, |r, l| r.header("if-match", l))
}

/// RFC 9110 §13.1.1 on `path` (an existing resource): strong comparison, `*`, lists,
/// 400 on a malformed field, and a refused write changes nothing. `body(i)` is a
/// valid replacement whose representation differs for each `i`.
pub(crate) async fn if_match_rules(app: &TestApp, path: &str, body: impl Fn(usize) -> Value) {
    let cases: [(&str, Lines, u16); 12] = [
        ("unquoted", |_| vec!["abc".into()], 400),
        ("lower-case weak", |t| vec![format!("w/{t}")], 400),
        ("star with a tag", |t| vec![format!("*, {t}")], 400),
        (
            "unterminated",
            |t| vec![t.trim_end_matches('"').into()],
            400,
        ),
        ("no comma", |t| vec![format!("{t} \"x\"")], 400),
        ("weak current tag", |t| vec![format!("W/{t}")], 412),
        ("stale tag", |_| vec!["\"0000000000000000\"".into()], 412),
        ("current tag", |t| vec![t.into()], 200),
        (
            "one of a list",
            |t| vec![format!("\"x\", W/\"y\", {t}")],
            200,
        ),
        (
            "one of several lines",
            |t| vec!["\"x\"".into(), t.into()],
            200,
        ),
        ("star", |_| vec!["*".into()], 200),
        ("absent", |_| vec![], 200),
    ];
    for (i, (case, lines, status)) in cases.into_iter().enumerate() {
        let before = current_tag(app, path).await;
        let lines = lines(&before);
        let req = conditional(app.http.put(url(app, path)), &lines).json(&body(i));
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), status, "PUT case {case}: {lines:?}");
        let after = current_tag(app, path).await;
        if status == 200 {
            assert_eq!(res.headers()["etag"], after.as_str(), "case {case}");
            assert_ne!(before, after, "case {case}: written");
            continue;
        }
        assert_eq!(before, after, "case {case}: nothing written");
        let p = problem(res, status).await;
        if status == 400 {
            assert_eq!(p["errors"][0]["header"], "if-match", "case {case}: {p}");
        }
    }
    let deletes: [(&str, Lines, u16); 4] = [
        ("unquoted", |_| vec!["abc".into()], 400),
        ("weak current tag", |t| vec![format!("W/{t}")], 412),
        ("stale tag", |_| vec!["\"0000000000000000\"".into()], 412),
        (
            "current tag in a list",
            |t| vec![format!("\"x\", {t}")],
            204,
        ),
    ];
    for (case, lines, status) in deletes {
        let lines = lines(&current_tag(app, path).await);
        let res = conditional(app.http.delete(url(app, path)), &lines);
        let res = res.send().await.unwrap();
        assert_eq!(res.status(), status, "DELETE case {case}: {lines:?}");
        if status != 204 {
            problem(res, status).await;
            current_tag(app, path).await; // still there
        }
    }
    // Gone: preconditions are not evaluated on a missing resource (§13.2.1).
    for lines in [vec!["*".to_string()], vec![]] {
        let res = conditional(app.http.delete(url(app, path)), &lines);
        problem(res.send().await.unwrap(), 404).await;
        let res = conditional(app.http.put(url(app, path)), &lines).json(&body(0));
        problem(res.send().await.unwrap(), 404).await;
    }
}

async fn if_match_guards_country_writes(app: &TestApp, _: &TestDb) {
    let res = app.http.post(url(app, "/countries")).json(&atlantis());
    let res = res.send().await.unwrap();
    assert_eq!(res.status(), 201);
    // Regression (#11): DELETE ignored If-Match, so a stale ETag deleted.
    let stale = res.headers()["etag"].to_str().unwrap().to_string();
    let mut renamed = atlantis();
    renamed["name"] = json!("Atlantis Renamed");
    let res = app.http.put(url(app, "/countries/XA")).json(&renamed);
    assert_eq!(res.send().await.unwrap().status(), 200);
    let res = app
        .http
        .delete(url(app, "/countries/XA"))
        .header("if-match", &stale);
    problem(res.send().await.unwrap(), 412).await;
    let now: Value = app
        .http
        .get(url(app, "/countries/XA"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(now["name"], "Atlantis Renamed", "the row stays");
    if_match_rules(app, "/countries/XA", |i| {
        let mut body = atlantis();
        body["name"] = json!(format!("Atlantis {i}"));
        body
    })
    .await;
}
db_test!(country_if_match, if_match_guards_country_writes);

/// Raw bodies that are not one JSON document, and names with invisible characters.
pub(crate) fn hostile_bodies(valid: &Value) -> Vec<(&'static str, String, u16, &'static str)> {
    let raw = valid.to_string();
    let with_name = |name: &str| {
        let mut b = valid.clone();
        b["name"] = json!(name);
        b.to_string()
    };
    vec![
        ("trailing junk", format!("{raw}xx"), 400, ""),
        ("two documents", format!("{raw}{raw}"), 400, ""),
        ("trailing bracket", format!("{raw}]"), 400, ""),
        (
            "right-to-left override",
            with_name("Atlan\u{202E}tis"),
            422,
            "/name",
        ),
        (
            "first strong isolate",
            with_name("\u{2068}Atlantis"),
            422,
            "/name",
        ),
        (
            "zero-width space",
            with_name("Atlan\u{200B}tis"),
            422,
            "/name",
        ),
        (
            "zero-width joiner",
            with_name("Atlan\u{200D}tis"),
            422,
            "/name",
        ),
        (
            "byte-order mark",
            with_name("\u{FEFF}Atlantis"),
            422,
            "/name",
        ),
        ("soft hyphen", with_name("Atlan\u{AD}tis"), 422, "/name"),
        ("C1 control", with_name("Atlan\u{9B}tis"), 422, "/name"),
    ]
}

/// POST to `list` and PUT to `item` refuse each hostile body, naming the spot, and
/// write nothing.
pub(crate) async fn hostile_bodies_write_nothing(
    app: &TestApp,
    list: &str,
    item: &str,
    valid: Value,
) {
    let before = current_tag(app, item).await;
    for (case, body, status, pointer) in hostile_bodies(&valid) {
        let requests = [app.http.post(url(app, list)), app.http.put(url(app, item))];
        for req in requests {
            let req = req.header("content-type", "application/json");
            let p = problem(req.body(body.clone()).send().await.unwrap(), status).await;
            let errors = p["errors"]
                .as_array()
                .unwrap_or_else(|| panic!("{case}: {p}"));
            assert!(
                errors.iter().any(|e| e["pointer"] == pointer),
                "case {case}: {p}"
            );
        }
        assert_eq!(current_tag(app, item).await, before, "case {case}");
    }
    let mut official = valid.clone();
    if official.get("official_name").is_some() {
        official["official_name"] = json!("Republic\u{2067} of Atlantis");
        let res = app.http.put(url(app, item)).json(&official);
        let p = problem(res.send().await.unwrap(), 422).await;
        assert_eq!(p["errors"][0]["pointer"], "/official_name", "{p}");
    }
}

async fn hostile_country_bodies_are_refused(app: &TestApp, _: &TestDb) {
    let res = app.http.post(url(app, "/countries")).json(&atlantis());
    assert_eq!(res.send().await.unwrap().status(), 201);
    hostile_bodies_write_nothing(app, "/countries", "/countries/XA", atlantis()).await;
}
db_test!(country_hostile_bodies, hostile_country_bodies_are_refused);
