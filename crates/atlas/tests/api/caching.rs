//! HTTP caching: ETags and 304 on lists as on entities, and the configured
//! `Cache-Control` of each group (issue #15 item 6).

use crate::db::TestDb;
use crate::helpers::TestApp;

async fn get_if_none_match(app: &TestApp, path: &str, tag: &str) -> reqwest::Response {
    app.http
        .get(format!("{}{path}", app.api))
        .header("if-none-match", tag)
        .send()
        .await
        .unwrap()
}

/// The list's ETag, after checking the answer to it is an empty 304.
async fn tag_and_304(app: &TestApp, path: &str) -> String {
    let res = app.get(path).await;
    assert_eq!(res.status(), 200, "{path}");
    assert_eq!(res.headers()["cache-control"], "no-cache", "{path}");
    let tag = res.headers()["etag"].to_str().unwrap().to_string();
    assert!(
        tag.starts_with('"') && tag.ends_with('"'),
        "{path}: strong, {tag}"
    );
    let body = res.bytes().await.unwrap();
    assert!(!body.is_empty(), "{path}");
    let again = get_if_none_match(app, path, &tag).await;
    assert_eq!(again.status(), 304, "{path}");
    assert_eq!(again.headers()["etag"], tag.as_str(), "{path}");
    assert_eq!(again.headers()["cache-control"], "no-cache", "{path}");
    assert!(again.bytes().await.unwrap().is_empty(), "{path}");
    // A list of tags, weak or not, matches as RFC 9110 §13.1.2 says.
    let listed = format!("\"nope\", W/{tag}");
    assert_eq!(
        get_if_none_match(app, path, &listed).await.status(),
        304,
        "{path}"
    );
    assert_eq!(
        get_if_none_match(app, path, "\"nope\"").await.status(),
        200,
        "{path}"
    );
    tag
}

async fn lists_answer_304_until_they_change(app: &TestApp, _: &TestDb) {
    let first = tag_and_304(app, "/api/v1/countries?limit=2").await;
    let other = tag_and_304(app, "/api/v1/countries?limit=3").await;
    assert_ne!(first, other, "each page has its own tag");
    tag_and_304(app, "/api/v1/currencies?limit=5").await;
    let users = tag_and_304(app, "/api/v1/currencies/EUR/countries").await;
    tag_and_304(app, "/api/v1/countries/PT/subdivisions?limit=5").await;
    tag_and_304(app, "/api/v1/timezones?country=PT").await;
    tag_and_304(app, "/api/v1/places?q=lisbon").await;
    tag_and_304(
        app,
        "/api/v1/countries?region=europe&fields=name&sort=-name",
    )
    .await;

    // A write changes `total`, so every page of the list has a new tag.
    let res = app.http.post(format!("{}/api/v1/countries", app.api))
        .json(&serde_json::json!({"alpha2": "XA", "alpha3": "XAA", "numeric": "901", "name": "Atlantis", "currencies": ["EUR"]}))
        .send().await.unwrap();
    assert_eq!(res.status(), 201);
    let res = get_if_none_match(app, "/api/v1/countries?limit=2", &first).await;
    assert_eq!(res.status(), 200, "the first page changed with the write");
    assert_ne!(res.headers()["etag"], first.as_str());
    let res = get_if_none_match(app, "/api/v1/currencies/EUR/countries", &users).await;
    assert_eq!(res.status(), 200, "XA uses EUR now");

    // Errors carry no validators and no group Cache-Control.
    let res = app.get("/api/v1/countries?limit=0").await;
    assert_eq!(res.status(), 422);
    assert!(res.headers().get("etag").is_none());
    assert!(res.headers().get("cache-control").is_none());
}
db_test!(list_etags, lists_answer_304_until_they_change);

#[tokio::test]
async fn a_list_has_the_same_etag_from_memory_and_from_the_database() {
    let mut tags = Vec::new();
    for cache in ["true", "false"] {
        let app = TestApp::spawn(&[("ATLAS_API__CACHE", cache)]).await;
        let mut these = Vec::new();
        for path in [
            "/api/v1/countries?limit=7&currency=EUR",
            "/api/v1/currencies?limit=4",
            "/api/v1/currencies/USD/countries",
        ] {
            let res = app.get(path).await;
            assert_eq!(res.status(), 200, "{path} cache={cache}");
            these.push(res.headers()["etag"].to_str().unwrap().to_string());
        }
        tags.push(these);
    }
    assert_eq!(
        tags[0], tags[1],
        "replicas with and without the snapshot agree"
    );
}

#[tokio::test]
async fn each_group_sends_its_configured_cache_control() {
    let app = TestApp::spawn(&[
        ("ATLAS_API__CACHE_CONTROL__COUNTRIES", "public, max-age=300"),
        ("ATLAS_API__CACHE_CONTROL__CURRENCIES", "private, max-age=5"),
        ("ATLAS_API__CACHE_CONTROL__TIMEZONES", "no-store"),
        ("ATLAS_API__CACHE_CONTROL__PLACES", "public, max-age=60"),
    ])
    .await;
    for (path, want) in [
        ("/api/v1/countries", "public, max-age=300"),
        ("/api/v1/countries/PT", "public, max-age=300"),
        ("/api/v1/currencies", "private, max-age=5"),
        ("/api/v1/currencies/EUR", "private, max-age=5"),
        ("/api/v1/currencies/EUR/countries", "private, max-age=5"),
        ("/api/v1/timezones/Europe/Lisbon", "no-store"),
        ("/api/v1/countries/PT/time", "no-store"),
        ("/api/v1/places?q=covilha", "public, max-age=60"),
        ("/api/v1/time?lat=40.28&lon=-7.5", "public, max-age=60"),
    ] {
        let res = app.get(path).await;
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(res.headers()["cache-control"], want, "{path}");
    }
    let entity = app.get("/api/v1/countries/PT").await;
    let tag = entity.headers()["etag"].to_str().unwrap().to_string();
    let res = get_if_none_match(&app, "/api/v1/countries/PT", &tag).await;
    assert_eq!(res.status(), 304);
    assert_eq!(res.headers()["cache-control"], "public, max-age=300");
    // A 404 must not become cacheable for max-age.
    let res = app.get("/api/v1/countries/ZZ").await;
    assert_eq!(res.status(), 404);
    assert!(res.headers().get("cache-control").is_none());
}
