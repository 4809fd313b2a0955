//! Time zones and per-country local time, plus the OpenAPI document and groups.

use serde_json::Value;

use crate::db::TestDb;
use crate::helpers::TestApp;

async fn zone_and_country_times(app: &TestApp, _: &TestDb) {
    let z: Value = app
        .http
        .get(format!(
            "{}/api/v1/timezones/America/Argentina/Buenos_Aires",
            app.api
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(z["zone"], "America/Argentina/Buenos_Aires");
    assert_eq!(z["utc_offset"], "-03:00");
    assert_eq!(z["dst"], false);
    assert!(z["local_time"].as_str().unwrap().ends_with("-03:00"), "{z}");
    assert_eq!(z["tzdata_version"], atlas::zones::TZDATA_VERSION);
    assert_eq!(z["abbreviation"], "-03", "tzdata's numeric abbreviation");
    assert!(z["previous_transition"]["at"].is_string(), "{z}");

    let res = app
        .http
        .get(format!("{}/api/v1/timezones/Mars/Olympus_Mons", app.api))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/problem+json");

    let t: Value = app
        .http
        .get(format!("{}/api/v1/countries/prt/time", app.api))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(t["country"], "PT");
    let zones: Vec<&str> = t["zones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|z| z["zone"].as_str().unwrap())
        .collect();
    assert_eq!(
        zones,
        vec!["Atlantic/Azores", "Atlantic/Madeira", "Europe/Lisbon"]
    );
    for z in t["zones"].as_array().unwrap() {
        // Portugal changes twice a year: both transitions, in and out of DST.
        assert!(z["previous_transition"]["at"].is_string(), "{z}");
        assert!(z["next_transition"]["at"].is_string(), "{z}");
        assert_eq!(z["tzdata_version"], atlas::zones::TZDATA_VERSION);
    }
    assert_eq!(
        app.http
            .get(format!("{}/api/v1/countries/ZZ/time", app.api))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}
db_test!(time_zones, zone_and_country_times);

async fn get_json(app: &TestApp, path: &str, status: u16) -> Value {
    let res = app.get(path).await;
    assert_eq!(res.status(), status, "{path}");
    res.json().await.unwrap()
}

fn zones_of(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|z| z["zone"].as_str().unwrap())
        .collect()
}

async fn zone_list_filters_and_pages(app: &TestApp, _: &TestDb) {
    let pt = get_json(app, "/api/v1/timezones?country=prt&limit=2", 200).await;
    assert_eq!(zones_of(&pt), vec!["Atlantic/Azores", "Atlantic/Madeira"]);
    assert_eq!(
        (pt["total"].as_i64(), pt["limit"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(pt["next_cursor"], "Atlantic/Madeira");
    let next = pt["next"].as_str().unwrap();
    assert!(next.contains("country=PRT"), "{next}");
    let rest = get_json(app, next, 200).await;
    assert_eq!(zones_of(&rest), vec!["Europe/Lisbon"]);
    assert_eq!(rest["next_cursor"], Value::Null);

    let kolkata = get_json(app, "/api/v1/timezones?offset=%2B05:30", 200).await;
    assert_eq!(zones_of(&kolkata), vec!["Asia/Colombo", "Asia/Kolkata"]);
    assert_eq!(kolkata["items"][1]["abbreviation"], "IST");
    let india = get_json(app, "/api/v1/timezones?country=IN&offset=%2B05:30", 200).await;
    assert_eq!(zones_of(&india), vec!["Asia/Kolkata"]);
    let none = get_json(app, "/api/v1/timezones?country=ZZ", 200).await;
    assert_eq!(
        (none["total"].as_i64(), zones_of(&none).len()),
        (Some(0), 0)
    );

    let all = get_json(app, "/api/v1/timezones?limit=250", 200).await;
    let total = all["total"].as_i64().unwrap();
    assert!((300..400).contains(&total), "canonical zones only: {total}");
    let mut seen = zones_of(&all).len();
    let mut next = all["next"].as_str().map(str::to_string);
    let mut names: Vec<String> = zones_of(&all).iter().map(|s| s.to_string()).collect();
    while let Some(link) = next {
        // `next` carries the cursor URL-encoded: `Etc/GMT+5` has a `+`.
        let page = get_json(app, &link, 200).await;
        seen += zones_of(&page).len();
        names.extend(zones_of(&page).iter().map(|s| s.to_string()));
        next = page["next"].as_str().map(str::to_string);
    }
    assert_eq!(seen as i64, total, "pages cover every zone once");
    assert!(names.iter().any(|n| n == "Europe/Kyiv"));
    assert!(
        !names.iter().any(|n| n == "Europe/Kiev"),
        "links are left out"
    );

    for (bad, status) in [
        ("offset=%2B5:30", 422),
        ("offset=05:30", 422),
        ("offset=%2B15:00", 422),
        ("offset=%2B05:60", 422),
        ("country=P1", 422),
        ("country=PORT", 422),
        ("limit=0", 422),
        ("limit=abc", 400),
        ("cursor=Europe%2FLisbon%3F", 422),
    ] {
        let res = app.get(&format!("/api/v1/timezones?{bad}")).await;
        assert_eq!(res.status(), status, "case {bad}");
        let p: Value = res.json().await.unwrap();
        let name = bad.split('=').next().unwrap();
        assert_eq!(p["errors"][0]["parameter"], name, "case {bad}: {p}");
    }
}
db_test!(zone_list, zone_list_filters_and_pages);

async fn convert(app: &TestApp, query: &str) -> Value {
    get_json(app, &format!("/api/v1/time/convert?{query}"), 200).await
}

#[tokio::test]
async fn convert_reads_lisbon_gap_and_overlap_under_every_disambiguation() {
    let app = TestApp::spawn(&[]).await;
    let cases = [
        (
            "2026-03-29T01:30:00",
            "",
            "gap",
            "later",
            "2026-03-29T01:30:00Z",
            "2026-03-29T02:30:00+01:00",
        ),
        (
            "2026-03-29T01:30:00",
            "compatible",
            "gap",
            "later",
            "2026-03-29T01:30:00Z",
            "2026-03-29T02:30:00+01:00",
        ),
        (
            "2026-03-29T01:30:00",
            "later",
            "gap",
            "later",
            "2026-03-29T01:30:00Z",
            "2026-03-29T02:30:00+01:00",
        ),
        (
            "2026-03-29T01:30:00",
            "earlier",
            "gap",
            "earlier",
            "2026-03-29T00:30:00Z",
            "2026-03-29T00:30:00+00:00",
        ),
        (
            "2026-10-25T01:30:00",
            "",
            "overlap",
            "earlier",
            "2026-10-25T00:30:00Z",
            "2026-10-25T01:30:00+01:00",
        ),
        (
            "2026-10-25T01:30:00",
            "compatible",
            "overlap",
            "earlier",
            "2026-10-25T00:30:00Z",
            "2026-10-25T01:30:00+01:00",
        ),
        (
            "2026-10-25T01:30:00",
            "earlier",
            "overlap",
            "earlier",
            "2026-10-25T00:30:00Z",
            "2026-10-25T01:30:00+01:00",
        ),
        (
            "2026-10-25T01:30:00",
            "later",
            "overlap",
            "later",
            "2026-10-25T01:30:00Z",
            "2026-10-25T01:30:00+00:00",
        ),
        (
            "2026-07-01T12:00",
            "reject",
            "unique",
            "only",
            "2026-07-01T11:00:00Z",
            "2026-07-01T12:00:00+01:00",
        ),
        (
            "2026-03-29T01:30:00Z",
            "reject",
            "instant",
            "only",
            "2026-03-29T01:30:00Z",
            "2026-03-29T02:30:00+01:00",
        ),
    ];
    for (at, d, kind, candidate, instant, local) in cases {
        let q = format!("at={at}&from=Europe/Lisbon&to=Asia/Tokyo&disambiguation={d}");
        let q = if d.is_empty() {
            q.replace("&disambiguation=", "")
        } else {
            q
        };
        let c = convert(&app, &q).await;
        let case = format!("case {at} {d:?}: {c}");
        assert_eq!(c["instant"], instant, "{case}");
        assert_eq!(c["from"]["input"]["kind"], kind, "{case}");
        assert_eq!(c["from"]["input"]["candidate"], candidate, "{case}");
        assert_eq!(c["from"]["local_time"], local, "{case}");
        assert_eq!(c["from"]["zone"], "Europe/Lisbon", "{case}");
        assert_eq!(c["to"]["zone"], "Asia/Tokyo", "{case}");
        assert_eq!(c["to"]["abbreviation"], "JST", "{case}");
    }
    let summer = convert(
        &app,
        "at=2026-07-01T12:00:00&from=europe/lisbon&to=Asia/Tokyo",
    )
    .await;
    assert_eq!(summer["to"]["local_time"], "2026-07-01T20:00:00+09:00");
    assert_eq!(summer["from"]["abbreviation"], "WEST");
    assert_eq!(summer["from"]["dst"], true);
    assert_eq!(
        summer["from"]["previous_transition"]["at"],
        "2026-03-29T01:00:00Z"
    );
    assert_eq!(
        summer["from"]["next_transition"]["at"],
        "2026-10-25T01:00:00Z"
    );
    assert_eq!(
        summer["from"]["next_transition"]["abbreviation_after"],
        "WET"
    );
    assert!(summer["to"]["previous_transition"]["at"]
        .as_str()
        .unwrap()
        .starts_with("1951-"));
    assert_eq!(summer["to"]["next_transition"], Value::Null);
    assert_eq!(summer["to"]["tzdata_version"], atlas::zones::TZDATA_VERSION);
    let azores = convert(
        &app,
        "at=2026-01-15T12:00:00&from=Atlantic/Azores&to=Asia/Kolkata",
    )
    .await;
    assert_eq!(azores["from"]["abbreviation"], "-01");
    assert_eq!(azores["from"]["utc_offset"], "-01:00");
    assert_eq!(azores["to"]["abbreviation"], "IST");
    assert_eq!(azores["to"]["local_time"], "2026-01-15T18:30:00+05:30");
    let lord_howe = convert(
        &app,
        "at=2026-10-04T02:15:00&from=Australia/Lord_Howe&to=UTC",
    )
    .await;
    assert_eq!(lord_howe["from"]["input"]["kind"], "gap");
    assert_eq!(lord_howe["from"]["local_time"], "2026-10-04T02:45:00+11:00");
}

#[tokio::test]
async fn convert_refuses_reject_in_gaps_and_overlaps_and_bad_parameters() {
    let app = TestApp::spawn(&[]).await;
    for (at, word) in [
        ("2026-03-29T01:30:00", "gap"),
        ("2026-10-25T01:30:00", "overlap"),
    ] {
        let res = app
            .get(&format!(
                "/api/v1/time/convert?at={at}&from=Europe/Lisbon&to=UTC&disambiguation=reject"
            ))
            .await;
        assert_eq!(res.status(), 422, "case {word}");
        let p: Value = res.json().await.unwrap();
        assert_eq!(p["errors"][0]["parameter"], "at", "case {word}: {p}");
        assert!(
            p["errors"][0]["detail"].as_str().unwrap().contains(word),
            "case {word}: {p}"
        );
    }
    let long = "9".repeat(41);
    for (query, status, param) in [
        (
            "at=2026-07-01T12:00:00&from=Mars/Olympus&to=UTC",
            422,
            "from",
        ),
        ("at=2026-07-01T12:00:00&from=UTC&to=Europe/Lisbo", 422, "to"),
        ("from=UTC&to=UTC", 422, "at"),
        ("at=2026-07-01T12:00:00&to=UTC", 422, "from"),
        ("at=2026-02-30T12:00:00&from=UTC&to=UTC", 422, "at"),
        ("at=2026-07-01%2012:00:00&from=UTC&to=UTC", 422, "at"),
        ("at=2026-07-01T12:00:00%2B15:00&from=UTC&to=UTC", 422, "at"),
        (&format!("at={long}&from=UTC&to=UTC"), 422, "at"),
        (
            "at=2026-07-01T12:00:00&from=UTC&to=UTC&disambiguation=sometimes",
            400,
            "disambiguation",
        ),
    ] {
        let res = app.get(&format!("/api/v1/time/convert?{query}")).await;
        assert_eq!(res.status(), status, "case {query}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let p: Value = res.json().await.unwrap();
        assert_eq!(p["errors"][0]["parameter"], param, "case {query}: {p}");
    }
}

#[tokio::test]
async fn home_names_the_tzdata_version_beside_the_build() {
    let app = TestApp::spawn(&[]).await;
    let home = get_json(&app, "/home", 200).await;
    assert_eq!(home["tzdata"], atlas::zones::TZDATA_VERSION);
    assert!(
        home["release"].is_string(),
        "build info still flattened in: {home}"
    );
}

#[tokio::test]
async fn openapi_lists_every_operation_and_switched_off_groups_leave_it_and_answer_404() {
    let app = TestApp::spawn(&[]).await;
    let doc: Value = app.get("/openapi.json").await.json().await.unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/countries",
        "/api/v1/countries/{code}",
        "/api/v1/currencies/{code}/countries",
        "/api/v1/timezones/{zone}",
        "/api/v1/countries/{code}/time",
        "/api/v1/timezones",
        "/api/v1/time/convert",
        "/api/v1/time",
    ] {
        assert!(paths.contains_key(p), "{p} missing from {:?}", paths.keys());
    }
    assert_eq!(app.get("/docs/").await.status(), 200);
    drop(app);

    let app = TestApp::spawn(&[
        ("ATLAS_API__CURRENCIES", "false"),
        ("ATLAS_API__DOCS", "false"),
    ])
    .await;
    assert_eq!(app.get("/api/v1/currencies/EUR").await.status(), 404);
    assert_eq!(app.get("/api/v1/countries/PT").await.status(), 200);
    assert_eq!(app.get("/openapi.json").await.status(), 404);
    assert_eq!(app.get("/docs/").await.status(), 404);
    drop(app);

    let app = TestApp::spawn(&[("ATLAS_API__COUNTRIES", "false")]).await;
    let doc: Value = app.get("/openapi.json").await.json().await.unwrap();
    let paths = doc["paths"].as_object().unwrap();
    assert!(
        !paths.contains_key("/api/v1/countries"),
        "{:?}",
        paths.keys()
    );
    assert!(paths.contains_key("/api/v1/currencies"));
    assert_eq!(app.get("/api/v1/countries").await.status(), 404);
}
