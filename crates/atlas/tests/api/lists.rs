//! List query features (issue #15 item 3): filters, accent-insensitive name search,
//! bulk codes, `?fields=` projection, `?sort=` with keyset paging, and one paging
//! envelope on every list, with known answers from the seed data.

use serde_json::Value;

use crate::db::TestDb;
use crate::helpers::TestApp;

async fn json(app: &TestApp, path: &str) -> (u16, Value) {
    let res = app.get(path).await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn codes(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {page}"))
        .iter()
        .map(|c| c["alpha2"].as_str().unwrap().to_string())
        .collect()
}

/// The parameter a 422 names and its detail.
async fn refusal(app: &TestApp, path: &str) -> (String, String) {
    let (status, body) = json(app, path).await;
    assert_eq!(status, 422, "{path}: {body}");
    let e = &body["errors"][0];
    (
        e["parameter"].as_str().unwrap_or_default().to_string(),
        e["detail"].as_str().unwrap_or_default().to_string(),
    )
}

async fn filters_search_and_codes(app: &TestApp, _: &TestDb) {
    let cases: &[(&str, &[&str])] = &[
        ("region=europe&language=por", &["PT"]),
        (
            "region=Europe&independent=false",
            &["AX", "FO", "GG", "GI", "IM", "JE", "SJ"],
        ),
        ("calling_code=%2B351", &["PT"]),
        ("calling_code=351", &["PT"]),
        ("capital=LISBON", &["PT"]),
        ("language=portuguese&subregion=southern%20europe", &["PT"]),
        // Translations, native names, accents and case.
        ("q=espanha", &["ES"]),
        ("q=ALEMANHA", &["DE"]),
        ("q=deutschland", &["DE"]),
        ("q=cote%20d%27ivoire", &["CI"]),
        ("codes=PT,ESP,250", &["ES", "FR", "PT"]),
        ("codes=pt,prt,620", &["PT"]),
        ("codes=PT,ESP&currency=EUR&region=europe", &["ES", "PT"]),
    ];
    for (query, want) in cases {
        let (status, page) = json(app, &format!("/api/v1/countries?{query}")).await;
        assert_eq!(status, 200, "{query}: {page}");
        assert_eq!(codes(&page), *want, "{query}");
        assert_eq!(page["total"], want.len(), "{query}");
    }
    let refused = [
        ("codes=PT,P1", "codes", "\"P1\""),
        ("region=atlantis", "region", "Europe"),
        ("calling_code=%2Babc", "calling_code", "calling code"),
        ("fields=nme", "fields", "unknown field \"nme\""),
        ("fields=latlng.alt", "fields", "\"alt\""),
        ("sort=population", "sort", "area_km2"),
        ("cursor=PT~zz", "cursor", "not a cursor"),
    ];
    for (query, parameter, detail) in refused {
        let (p, d) = refusal(app, &format!("/api/v1/countries?{query}")).await;
        assert_eq!(p, parameter, "{query}");
        assert!(d.contains(detail), "{query}: {d}");
    }
    let (status, _) = json(app, "/api/v1/countries?independent=maybe").await;
    assert_eq!(status, 400, "a wrong type is 400");
}

db_test!(country_filters, filters_search_and_codes);

async fn projections(app: &TestApp, _: &TestDb) {
    let (_, page) = json(
        app,
        "/api/v1/countries?codes=PT&fields=name,latlng.lat,translations.deu.common,languages.code",
    )
    .await;
    assert_eq!(
        page["items"][0],
        serde_json::json!({
            "name": "Portugal",
            "latlng": {"lat": 39.5},
            "translations": {"deu": {"common": "Portugal"}},
            "languages": [{"code": "por"}],
        })
    );
    let res = app
        .get("/api/v1/countries/PT?fields=capitals,flag_emoji")
        .await;
    let tag = res.headers()["etag"].to_str().unwrap().to_string();
    let one: Value = res.json().await.unwrap();
    assert_eq!(
        one,
        serde_json::json!({"capitals": ["Lisbon"], "flag_emoji": "🇵🇹"})
    );
    let whole = app.get("/api/v1/countries/PT").await;
    assert_ne!(
        whole.headers()["etag"].to_str().unwrap(),
        tag,
        "a projection has its own ETag"
    );
    let (p, d) = refusal(app, "/api/v1/countries/PT?fields=capital").await;
    assert_eq!(
        (p.as_str(), d.contains("\"capital\"")),
        ("fields", true),
        "{d}"
    );
    let (_, cur) = json(app, "/api/v1/currencies?fields=code,minor_units&limit=1").await;
    assert_eq!(
        cur["items"][0],
        serde_json::json!({"code": "AED", "minor_units": 2})
    );
}

db_test!(country_projections, projections);

/// Follow `next` links from `first` to the end; the codes in order and the total.
async fn walk(app: &TestApp, first: &str) -> (Vec<String>, i64) {
    let mut path = first.to_string();
    let mut seen = Vec::new();
    for _ in 0..100 {
        let (status, page) = json(app, &path).await;
        assert_eq!(status, 200, "{path}: {page}");
        let total = page["total"].as_i64().unwrap();
        seen.extend(codes(&page));
        match page["next"].as_str() {
            Some(next) => path = next.to_string(),
            None => return (seen, total),
        }
    }
    panic!("paging from {first} did not end");
}

async fn sorting_and_paging(app: &TestApp, _: &TestDb) {
    let (_, top) = json(app, "/api/v1/countries?sort=-area_km2&limit=4").await;
    assert_eq!(codes(&top), ["RU", "AQ", "CA", "CN"]);

    let (all, total) = walk(app, "/api/v1/countries?sort=name&limit=37").await;
    assert_eq!((all.len() as i64, total), (249, 249));
    let (_, one_page) = json(app, "/api/v1/countries?sort=name&limit=250").await;
    assert_eq!(
        all,
        codes(&one_page),
        "pages join up into the one-page order"
    );
    assert_eq!(
        all[..3],
        ["AF", "AX", "AL"],
        "Åland sorts as 'aland', before Albania"
    );

    let (by_region, _) = walk(app, "/api/v1/countries?sort=-region&region=oceania&limit=5").await;
    let mut sorted = by_region.clone();
    sorted.sort();
    assert_eq!(by_region, sorted, "equal regions tie-break by alpha-2");

    // The list of a currency's countries ignored `limit`; now it is a page.
    let (_, eur) = json(app, "/api/v1/currencies/EUR/countries?limit=5").await;
    assert_eq!(codes(&eur), ["AD", "AT", "AX", "BE", "BG"]);
    assert_eq!(eur["limit"], 5);
    assert!(eur["total"].as_i64().unwrap() > 30, "{eur}");
    let next = eur["next"].as_str().unwrap();
    assert!(
        next.starts_with("/api/v1/currencies/EUR/countries?"),
        "{next}"
    );
    let (eur_all, eur_total) = walk(app, "/api/v1/currencies/eur/countries?limit=7").await;
    assert_eq!(eur_all.len() as i64, eur_total);
    let (status, _) = json(app, "/api/v1/currencies/XTS/countries?limit=5").await;
    assert_eq!(status, 200, "a currency no country uses has an empty page");
    let (status, _) = json(app, "/api/v1/currencies/ZZZ/countries").await;
    assert_eq!(status, 404);
}

db_test!(country_sorting, sorting_and_paging);
