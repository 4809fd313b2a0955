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
