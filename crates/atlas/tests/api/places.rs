//! Time by place name or coordinates, and flags, on both backends.

use serde_json::Value;

use atlas::places::{PlaceIndex, Source};
use atlas::store::Db;
use podkit::cli::CommonArgs;

use crate::db::TestDb;
use crate::helpers::{base_env, TestApp};

async fn json(app: &TestApp, path: &str, status: u16) -> Value {
    let res = app.get(path).await;
    assert_eq!(res.status(), status, "{path}");
    res.json().await.unwrap()
}

async fn places_by_name_and_coordinates(app: &TestApp, _: &TestDb) {
    app.wait_for_admin("/readyz", 200, std::time::Duration::from_secs(30))
        .await;
    let list = json(app, "/api/v1/places?q=covilha", 200).await;
    assert_eq!(
        list["items"][0]["name"], "Covilhã",
        "accent-insensitive: {list}"
    );
    assert_eq!(list["items"][0]["match"], "exact");
    assert!(list["attribution"].as_str().unwrap().contains("GeoNames"));
    let prefix = json(app, "/api/v1/places?q=COVIL&limit=3", 200).await;
    assert_eq!(prefix["items"][0]["name"], "Covilhã", "prefix, any case");
    assert_eq!(
        json(app, "/api/v1/places?q=qqqqqq", 200).await["items"],
        serde_json::json!([])
    );

    let t = json(app, "/api/v1/places/covilha/time", 200).await;
    assert_eq!(t["place"]["country"], "PT");
    assert_eq!(t["time"]["zone"], "Europe/Lisbon");
    let paris = json(app, "/api/v1/places/Paris/time", 200).await;
    assert_eq!(paris["place"]["country"], "FR", "most populous first");
    let alts = paris["alternatives"].as_array().unwrap();
    assert!(!alts.is_empty() && alts.len() <= 5, "{paris}");
    assert!(alts.iter().all(|a| a["place"]["name"] == "Paris"));

    let miss = app.get("/api/v1/places/Lisbob/time").await;
    assert_eq!(miss.status(), 404);
    let p: Value = miss.json().await.unwrap();
    assert!(
        p["suggestions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "Lisbon"),
        "{p}"
    );

    let near = json(app, "/api/v1/time?lat=40.28&lon=-7.50", 200).await;
    assert_eq!(near["place"]["name"], "Covilhã");
    assert!(near["distance_km"].as_f64().unwrap() < 5.0, "{near}");
    assert_eq!(near["zone"]["zone"], "Europe/Lisbon");
    assert_eq!(near["zone_source"], "boundary_polygons");
    assert_eq!(near["zone"]["tzdata_version"], atlas::zones::TZDATA_VERSION);
    assert!(near["zone"]["next_transition"]["at"].is_string(), "{near}");
    assert!(
        near["time"]["previous_transition"]["at"].is_string(),
        "{near}"
    );
    assert!(near["attribution"]
        .as_str()
        .unwrap()
        .contains("timezone-boundary-builder"));
    polygon_zones_where_the_nearest_place_is_across_a_border(app).await;
    for (bad, status) in [
        ("lat=91&lon=0", 422),
        ("lat=0&lon=-181", 422),
        ("lat=abc&lon=0", 400),
        ("lon=0", 422),
    ] {
        let res = app.get(&format!("/api/v1/time?{bad}")).await;
        assert_eq!(res.status(), status, "case {bad}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
    }
    for bad in [
        "/api/v1/places?q=",
        "/api/v1/places?q=a&limit=0",
        "/api/v1/places?q=a&limit=51",
    ] {
        assert_eq!(app.get(bad).await.status(), 422, "case {bad}");
    }
}
db_test!(places, places_by_name_and_coordinates);

/// The zone of a coordinate is the polygon's, whatever zone the nearest place
/// has (issue #15: nearest-city lookup agreed with the polygons at 136 of 300
/// random points).
async fn polygon_zones_where_the_nearest_place_is_across_a_border(app: &TestApp) {
    let cases = [
        (
            "51.4386",
            "4.9269",
            "Europe/Brussels",
            "Baarle-Hertog, Belgian enclave",
        ),
        (
            "51.4452",
            "4.9296",
            "Europe/Amsterdam",
            "Baarle-Nassau, Dutch",
        ),
        (
            "41.95",
            "-6.70",
            "Europe/Madrid",
            "Spain, 10 km from Portugal",
        ),
        ("30", "-40", "Etc/GMT+3", "mid-Atlantic: UTC-3 is Etc/GMT+3"),
        (
            "0",
            "179.9",
            "Etc/GMT-12",
            "Pacific, west of the antimeridian",
        ),
        (
            "0",
            "-179.9",
            "Etc/GMT+12",
            "Pacific, east of the antimeridian",
        ),
        (
            "-13.8",
            "-171.77",
            "Pacific/Apia",
            "Samoa, west of the date line's bend",
        ),
    ];
    let mut places_elsewhere = 0;
    for (lat, lon, want, case) in cases {
        let got = json(app, &format!("/api/v1/time?lat={lat}&lon={lon}"), 200).await;
        assert_eq!(got["zone"]["zone"], want, "case {case}: {got}");
        assert_eq!(got["zone_source"], "boundary_polygons", "case {case}");
        if got["time"]["zone"] != want {
            places_elsewhere += 1;
        }
    }
    // The nearest-place answer would have been wrong at sea at least.
    assert!(places_elsewhere >= 3, "{places_elsewhere}");
    let sea = json(app, "/api/v1/time?lat=30&lon=-40", 200).await;
    assert_eq!(
        (&sea["zone"]["utc_offset"], &sea["zone"]["abbreviation"]),
        (&Value::from("-03:00"), &Value::from("-03"))
    );
    assert_eq!(
        sea["zone"]["previous_transition"],
        Value::Null,
        "Etc zones never change"
    );
    assert_eq!(sea["zone"]["next_transition"], Value::Null);
}

/// A pool of our own on the app's database.
fn handle(app: &TestApp, db: &TestDb) -> Db {
    let mut env = base_env();
    match &db.url {
        Some(url) => env.insert("DATABASE_URL".into(), url.clone()),
        None => env.insert(
            "ATLAS_DATABASE__SQLITE_PATH".into(),
            app.dir().join("atlas.db").display().to_string(),
        ),
    };
    let config: atlas::config::Config = atlas::config::loader(&CommonArgs::default())
        .with_env(env)
        .load()
        .unwrap();
    Db::connect_lazy(&config.service.database, None).unwrap()
}

/// The index built into the binary serves only while the database holds the same
/// places; one changed row sends the load to the database (#14).
async fn embedded_index_only_while_the_database_matches(app: &TestApp, db: &TestDb) {
    app.wait_for_admin("/readyz", 200, std::time::Duration::from_secs(30))
        .await;
    let handle = handle(app, db);
    let embedded = PlaceIndex::load(&handle).await.unwrap();
    assert_eq!(
        embedded.source(),
        Source::Embedded,
        "a migrated database holds data/places.tsv"
    );
    // The SQL fingerprint and the Rust one agree on the database's rows.
    let (read, rows) = PlaceIndex::read(&handle).await.unwrap();
    let sql = atlas::store::places::fingerprint(&handle).await.unwrap();
    assert_eq!(
        (
            rows.count,
            rows.ids,
            rows.populations,
            rows.coordinates,
            rows.lengths
        ),
        (
            sql.count,
            sql.ids,
            sql.populations,
            sql.coordinates,
            sql.lengths
        )
    );
    assert_eq!(read.len(), embedded.len());
    for q in ["covilha", "paris", "sao", "new york", "z"] {
        let ids =
            |i: &PlaceIndex| -> Vec<i64> { i.search(q, 20).iter().map(|(p, _)| p.id).collect() };
        assert_eq!(ids(&read), ids(&embedded), "case {q}");
    }
    for (lat, lon) in [(40.28, -7.5), (-33.9, 151.2), (64.1, -21.9), (0.0, 179.99)] {
        let (a, b) = (
            read.nearest(lat, lon).unwrap().0,
            embedded.nearest(lat, lon).unwrap().0,
        );
        assert_eq!(
            (a.id, a.latitude, a.longitude),
            (b.id, b.latitude, b.longitude),
            "case {lat},{lon}"
        );
    }

    let covilha = embedded.search("covilha", 1)[0].0.clone();
    sqlx::query("UPDATE places SET population = population + 1 WHERE id = $1")
        .bind(covilha.id)
        .execute(handle.pool())
        .await
        .unwrap();
    let changed = PlaceIndex::load(&handle).await.unwrap();
    assert_eq!(changed.source(), Source::Database);
    assert_eq!(
        changed.search("covilha", 1)[0].0.population,
        covilha.population + 1
    );
    handle.close().await;
}
db_test!(
    embedded_index,
    embedded_index_only_while_the_database_matches
);

async fn flags_as_svg_and_png_with_etags(app: &TestApp, _: &TestDb) {
    let svg = app.get("/api/v1/countries/pt/flag").await;
    assert_eq!(svg.status(), 200);
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    assert!(svg.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age="));
    let tag = svg.headers()["etag"].to_str().unwrap().to_string();
    assert!(svg.text().await.unwrap().contains("<svg"));
    let res = app
        .http
        .get(format!("{}/api/v1/countries/PRT/flag", app.api))
        .header("if-none-match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304);

    let png = app
        .get("/api/v1/countries/PT/flag?format=png&width=64")
        .await;
    assert_eq!(png.status(), 200);
    assert_eq!(png.headers()["content-type"], "image/png");
    let png_tag = png.headers()["etag"].to_str().unwrap().to_string();
    assert_ne!(png_tag, tag, "each representation has its own tag");
    let bytes = png.bytes().await.unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
    let width = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
    let height = u32::from_be_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]);
    assert_eq!((width, height), (64, 48), "4:3 at the requested width");

    for (bad, status) in [
        ("format=gif", 400),
        ("format=png&width=15", 422),
        ("format=png&width=1025", 422),
        ("format=png&width=abc", 400),
        ("width=64", 422),
    ] {
        let res = app.get(&format!("/api/v1/countries/PT/flag?{bad}")).await;
        assert_eq!(res.status(), status, "case {bad}");
    }
    assert_eq!(app.get("/api/v1/countries/ZZ/flag").await.status(), 404);
    // A country created through the API has no flag: 404, not 500.
    let res = app.http.post(format!("{}/api/v1/countries", app.api))
        .json(&serde_json::json!({"alpha2": "XA", "alpha3": "XAA", "numeric": "901", "name": "Atlantis"}))
        .send().await.unwrap();
    assert_eq!(res.status(), 201);
    let res = app.get("/api/v1/countries/XA/flag").await;
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
}
db_test!(flags, flags_as_svg_and_png_with_etags);
