//! Country details (world-countries) and ISO 3166-2 subdivisions, with known
//! answers, on both backends.

use serde_json::{json, Value};

use crate::db::TestDb;
use crate::helpers::TestApp;

async fn get_json(app: &TestApp, path: &str) -> (u16, Value) {
    let res = app
        .http
        .get(format!("{}/api/v1{path}", app.api))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn portugal_has_its_capital_languages_and_neighbours(app: &TestApp, _: &TestDb) {
    let (status, pt) = get_json(app, "/countries/PT").await;
    assert_eq!(status, 200);
    assert_eq!(pt["capitals"], json!(["Lisbon"]), "capitals");
    assert_eq!(pt["region"], "Europe", "region");
    assert_eq!(pt["subregion"], "Southern Europe", "subregion");
    assert_eq!(
        pt["languages"],
        json!([{"code": "por", "name": "Portuguese"}]),
        "languages"
    );
    assert_eq!(pt["calling_codes"], json!(["+351"]), "calling codes");
    assert_eq!(pt["tlds"], json!([".pt"]), "tlds");
    assert_eq!(pt["borders"], json!(["ESP"]), "borders");
    assert_eq!(pt["landlocked"], false, "landlocked");
    assert_eq!(pt["independent"], true, "independent");
    assert_eq!(pt["un_member"], true, "un_member");
    assert_eq!(pt["latlng"], json!({"lat": 39.5, "lng": -8.0}), "latlng");
    assert_eq!(pt["area_km2"], 92090.0, "area");
    assert_eq!(
        pt["demonyms"]["eng"],
        json!({"f": "Portuguese", "m": "Portuguese"})
    );
    assert_eq!(pt["native_names"]["por"]["common"], "Portugal");
    assert_eq!(pt["translations"]["deu"]["common"], "Portugal", "deu");
    assert_eq!(pt["translations"]["jpn"]["common"], "ポルトガル", "jpn");
    assert!(pt["translations"].as_object().unwrap().len() >= 10);
    assert!(pt["alt_spellings"]
        .as_array()
        .unwrap()
        .contains(&json!("Portuguesa")));
    assert_eq!(pt["flag_emoji"], "🇵🇹", "flag emoji");

    let (_, us) = get_json(app, "/countries/USA").await;
    assert_eq!(
        us["calling_codes"],
        json!(["+1"]),
        "area codes fold into +1"
    );
    let (_, ch) = get_json(app, "/countries/CH").await;
    assert_eq!(ch["landlocked"], true, "Switzerland is landlocked");
    let (_, rs) = get_json(app, "/countries/RS").await;
    assert!(
        !rs["borders"].as_array().unwrap().contains(&json!("UNK")),
        "Kosovo (not ISO 3166-1) is not a border: {}",
        rs["borders"]
    );
    let (_, aq) = get_json(app, "/countries/AQ").await;
    assert_eq!(aq["capitals"], json!([]), "Antarctica has no capital");
    assert_eq!(aq["independent"], false, "Antarctica is not a state");
    assert_eq!(aq["un_member"], false, "nor a UN member");
}
db_test!(
    country_details,
    portugal_has_its_capital_languages_and_neighbours
);
