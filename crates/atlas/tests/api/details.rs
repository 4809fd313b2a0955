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

fn atlantis_with_details() -> Value {
    json!({"alpha2": "XA", "alpha3": "XAA", "numeric": "901", "name": "Atlantis",
        "currencies": ["EUR"], "timezones": ["Atlantic/Azores"],
        "capitals": ["Poseidonis"], "region": "europe", "subregion": "Sunken Europe",
        "languages": [{"code": "GRC", "name": "Ancient Greek"}, {"code": "por", "name": "Portuguese"}],
        "calling_codes": ["+999", "+1-876"], "tlds": [".XA"],
        "latlng": {"lat": 37.0, "lng": -25.5}, "area_km2": 1234.5, "landlocked": false,
        "borders": ["prt", "ESP"], "independent": true, "un_member": false,
        "demonyms": {"eng": {"f": "Atlantean", "m": "Atlantean"}},
        "native_names": {"grc": {"common": "Ἀτλαντίς", "official": "Ἀτλαντὶς νῆσος"}},
        "alt_spellings": ["Atlantida"],
        "translations": {"deu": {"common": "Atlantis", "official": "Atlantis"}},
        "flag_emoji": "ignored"})
}

async fn send(app: &TestApp, method: reqwest::Method, path: &str, body: &Value) -> (u16, Value) {
    let res = app
        .http
        .request(method, format!("{}/api/v1{path}", app.api))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn pointers(problem: &Value) -> Vec<String> {
    let mut p: Vec<String> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap_or("").to_string())
        .collect();
    p.sort();
    p
}

async fn writes_take_details_checked_and_normalised(app: &TestApp, _: &TestDb) {
    let mut bad = atlantis_with_details();
    bad["region"] = json!("Atlantic");
    bad["latlng"] = json!({"lat": 91.0, "lng": -181.0});
    bad["area_km2"] = json!(-1.0);
    bad["calling_codes"] = json!(["+351", "00351"]);
    bad["tlds"] = json!(["xa"]);
    bad["languages"] = json!([{"code": "pt", "name": "Portuguese"}]);
    bad["borders"] = json!(["ES"]);
    bad["translations"] = json!({"deu": {"common": "", "official": "x"}});
    bad["capitals"] = json!(vec!["C"; 11]);
    let (status, problem) = send(app, reqwest::Method::POST, "/countries", &bad).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(
        pointers(&problem),
        [
            "/area_km2",
            "/borders/0",
            "/calling_codes/1",
            "/capitals",
            "/languages/0/code",
            "/latlng/lat",
            "/latlng/lng",
            "/region",
            "/tlds/0",
            "/translations/deu/common",
        ],
        "every bad field named: {problem}"
    );
    assert_eq!(
        get_json(app, "/countries/XA").await.0,
        404,
        "nothing written"
    );

    let mut unknown = atlantis_with_details();
    unknown["borders"] = json!(["ESP", "QQQ"]);
    let (status, problem) = send(app, reqwest::Method::POST, "/countries", &unknown).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(pointers(&problem), ["/borders"], "{problem}");

    let (status, created) = send(
        app,
        reqwest::Method::POST,
        "/countries",
        &atlantis_with_details(),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let (_, xa) = get_json(app, "/countries/xaa").await;
    assert_eq!(xa, created, "what POST answered is what GET reads");
    assert_eq!(xa["region"], "Europe");
    assert_eq!(xa["borders"], json!(["ESP", "PRT"]));
    assert_eq!(xa["calling_codes"], json!(["+1-876", "+999"]));
    assert_eq!(xa["tlds"], json!([".xa"]));
    assert_eq!(
        xa["languages"][0],
        json!({"code": "grc", "name": "Ancient Greek"})
    );
    assert_eq!(xa["native_names"]["grc"]["common"], "Ἀτλαντίς");
    assert_eq!(xa["latlng"], json!({"lat": 37.0, "lng": -25.5}));
    assert_eq!(xa["area_km2"], 1234.5);
    assert_eq!(
        (xa["independent"].clone(), xa["un_member"].clone()),
        (json!(true), json!(false))
    );
    assert_eq!(
        xa["flag_emoji"], "\u{1F1FD}\u{1F1E6}",
        "derived, the body's ignored"
    );

    // A GET body goes back as it is; then PUT without details clears them, as it
    // clears an absent official_name or currency list.
    let (status, put) = send(app, reqwest::Method::PUT, "/countries/XA", &xa).await;
    assert_eq!((status, &put), (200, &xa), "round trip");
    let plain = json!({"alpha2": "XA", "alpha3": "XAA", "numeric": "901", "name": "Atlantis"});
    let (status, put) = send(app, reqwest::Method::PUT, "/countries/XA", &plain).await;
    assert_eq!(status, 200, "{put}");
    let (_, xa) = get_json(app, "/countries/XA").await;
    assert_eq!(
        (xa["capitals"].clone(), xa["region"].clone()),
        (json!([]), Value::Null)
    );
    assert_eq!(
        (xa["latlng"].clone(), xa["translations"].clone()),
        (Value::Null, json!({}))
    );
}
db_test!(
    country_detail_writes,
    writes_take_details_checked_and_normalised
);

async fn wait_job(app: &TestApp, location: &str) -> Value {
    for _ in 0..600 {
        let job: Value = app.get(location).await.json().await.unwrap();
        if !matches!(job["status"].as_str(), Some("queued" | "running")) {
            return job;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("import never finished");
}

async fn import(app: &TestApp, body: String, content_type: &str, query: &str) -> Value {
    let res = app
        .http
        .post(format!("{}/api/v1/imports{query}", app.api))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    wait_job(app, res.headers()["location"].to_str().unwrap()).await
}

async fn imports_carry_details_in_json_and_csv(app: &TestApp, _: &TestDb) {
    // Borders may name a country of the same batch (XB borders XAA).
    let mut xa = atlantis_with_details();
    xa.as_object_mut().unwrap().remove("flag_emoji");
    let xb = json!({"alpha2": "XB", "alpha3": "XBB", "numeric": "902", "name": "Lemuria",
        "borders": ["XAA"], "translations": {"fra": {"common": "Lémurie", "official": "Lémurie"}}});
    let body = json!({"countries": [xb, xa]}).to_string();
    let job = import(app, body, "application/json", "").await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let (_, got) = get_json(app, "/countries/XB").await;
    assert_eq!(got["borders"], json!(["XAA"]));
    assert_eq!(got["translations"]["fra"]["common"], "Lémurie");
    let (_, got) = get_json(app, "/countries/XA").await;
    assert_eq!(got["capitals"], json!(["Poseidonis"]));

    let csv = "alpha2,alpha3,numeric,name,capitals,region,languages,calling_codes,tlds,latitude,longitude,area_km2,landlocked,borders,independent,un_member,alt_spellings\n\
        XC,XCC,903,Cibola,Hawikuh;Old Cibola,Americas,zun=Zuni,+1-505,.xc,35.1,-108.8,50,true,USA;XAA,false,,Seven Cities\n";
    let job = import(app, csv.into(), "text/csv", "?kind=countries").await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let (_, xc) = get_json(app, "/countries/XC").await;
    assert_eq!(xc["capitals"], json!(["Hawikuh", "Old Cibola"]));
    assert_eq!(xc["languages"], json!([{"code": "zun", "name": "Zuni"}]));
    assert_eq!(xc["borders"], json!(["USA", "XAA"]));
    assert_eq!(xc["latlng"], json!({"lat": 35.1, "lng": -108.8}));
    assert_eq!(
        (xc["landlocked"].clone(), xc["un_member"].clone()),
        (json!(true), Value::Null)
    );

    // A bad detail fails its row; an unknown border fails the batch; nothing lands.
    let csv = "alpha2,alpha3,numeric,name,region,borders\nXD,XDD,904,El Dorado,Atlantis,\nXE,XEE,905,Quivira,Americas,QQQ\n";
    let job = import(app, csv.into(), "text/csv", "?kind=countries").await;
    assert_eq!(job["status"], "failed", "{job}");
    let errors = job["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e["row"] == 1 && e["pointer"] == "/region"),
        "{job}"
    );
    let csv = "alpha2,alpha3,numeric,name,borders\nXE,XEE,905,Quivira,QQQ\n";
    let job = import(app, csv.into(), "text/csv", "?kind=countries").await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["errors"][0]["pointer"], "/borders", "{job}");
    assert_eq!(
        get_json(app, "/countries/XE").await.0,
        404,
        "nothing written"
    );
}
db_test!(
    country_detail_imports,
    imports_carry_details_in_json_and_csv
);
