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

async fn subdivisions_page_by_code_with_types_and_parents(app: &TestApp, _: &TestDb) {
    let (status, pt05) = get_json(app, "/subdivisions/pt-05").await;
    assert_eq!(status, 200);
    assert_eq!(
        pt05,
        json!({"code": "PT-05", "country": "PT", "name": "Castelo Branco",
               "type": "District", "parent": null})
    );
    let (_, child) = get_json(app, "/subdivisions/GB-ABC").await;
    assert_eq!(
        child["parent"], "GB-NIR",
        "a parent given in full by iso-codes"
    );
    let (_, rayon) = get_json(app, "/subdivisions/AZ-BAB").await;
    assert_eq!(rayon["parent"], "AZ-NX", "a parent given as its suffix");
    let (_, parent) = get_json(app, "/subdivisions/AZ-NX").await;
    assert_eq!(parent["country"], "AZ", "the parent exists");

    let (status, first) = get_json(app, "/countries/PRT/subdivisions?limit=5").await;
    assert_eq!(status, 200);
    let codes = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["code"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(codes(&first), ["PT-01", "PT-02", "PT-03", "PT-04", "PT-05"]);
    assert_eq!(first["total"], 20, "18 districts and 2 autonomous regions");
    assert_eq!(first["limit"], 5);
    assert_eq!(first["next_cursor"], "PT-05");
    assert_eq!(
        first["next"],
        "/api/v1/countries/PT/subdivisions?limit=5&cursor=PT-05"
    );
    let mut seen = codes(&first);
    let mut next = first["next"].as_str().map(str::to_string);
    for _ in 0..10 {
        let Some(path) = next.take() else { break };
        let path = path.trim_start_matches("/api/v1");
        let (status, page) = get_json(app, path).await;
        assert_eq!(status, 200, "{path}");
        seen.extend(codes(&page));
        next = page["next"].as_str().map(str::to_string);
    }
    assert_eq!(seen.len(), 20, "every subdivision once: {seen:?}");
    assert!(next.is_none(), "paging ended");

    let (_, regions) = get_json(app, "/countries/pt/subdivisions?type=autonomous%20REGION").await;
    assert_eq!(codes(&regions), ["PT-20", "PT-30"], "type in any case");
    assert_eq!(regions["total"], 2);
    let (_, none) = get_json(app, "/countries/PT/subdivisions?type=State").await;
    assert_eq!((none["total"].clone(), codes(&none).len()), (json!(0), 0));
    let (status, none) = get_json(app, "/countries/AQ/subdivisions").await;
    assert_eq!(
        (status, none["total"].clone()),
        (200, json!(0)),
        "a country without any"
    );
}
db_test!(
    subdivisions,
    subdivisions_page_by_code_with_types_and_parents
);

async fn subdivision_reads_refuse_bad_input_and_revalidate(app: &TestApp, _: &TestDb) {
    for (path, status, at) in [
        ("/subdivisions/PT-99", 404, None),
        ("/subdivisions/PT05", 422, Some("code")),
        ("/subdivisions/PT-1234", 422, Some("code")),
        ("/subdivisions/%C3%A9%C3%A9-1", 422, Some("code")),
        ("/countries/ZZ/subdivisions", 404, None),
        ("/countries/P1/subdivisions", 422, Some("code")),
        ("/countries/PT/subdivisions?limit=0", 422, Some("limit")),
        ("/countries/PT/subdivisions?limit=abc", 400, None),
        ("/countries/PT/subdivisions?cursor=PT", 422, Some("cursor")),
        ("/countries/PT/subdivisions?type=", 422, Some("type")),
        (
            "/countries/PT/subdivisions?type=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            422,
            Some("type"),
        ),
        ("/countries/PT/subdivisions?type=R%C3%A9gion", 422, Some("type")),
    ] {
        let (got, body) = get_json(app, path).await;
        assert_eq!(got, status, "case {path}: {body}");
        if let Some(name) = at {
            assert_eq!(body["errors"][0]["parameter"], name, "case {path}");
        }
    }
    let (status, _) = get_json(
        app,
        &format!("/countries/PT/subdivisions?type={}", "x".repeat(60)),
    )
    .await;
    assert_eq!(status, 200, "a 60-character type is accepted");

    let url = format!("{}/api/v1/subdivisions/PT-05", app.api);
    let res = app.http.get(&url).send().await.unwrap();
    let tag = res.headers()["etag"].to_str().unwrap().to_string();
    let res = app
        .http
        .get(format!("{}/api/v1/subdivisions/pt-05", app.api))
        .header("if-none-match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304, "unchanged in any case of the code");
}
db_test!(
    subdivision_errors,
    subdivision_reads_refuse_bad_input_and_revalidate
);
