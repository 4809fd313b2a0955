//! The OpenAPI document as client generators read it (issue #15 item 8):
//! meaningful camelCase operation ids, plain-text summaries, an example on every
//! operation.

use serde_json::Value;

use crate::helpers::TestApp;

/// Whether `v`, with `$ref`s into `doc` followed (to a bounded depth), carries an
/// `example` or `examples`.
fn has_example(doc: &Value, v: &Value, depth: u32) -> bool {
    if depth > 8 {
        return false;
    }
    match v {
        Value::Object(map) => {
            if map.contains_key("example") || map.contains_key("examples") {
                return true;
            }
            if let Some(r) = map.get("$ref").and_then(Value::as_str) {
                let target = doc
                    .pointer(r.trim_start_matches('#'))
                    .unwrap_or(&Value::Null);
                return has_example(doc, target, depth + 1);
            }
            map.values().any(|x| has_example(doc, x, depth + 1))
        }
        Value::Array(items) => items.iter().any(|x| has_example(doc, x, depth + 1)),
        _ => false,
    }
}

fn camel_case(id: &str) -> bool {
    id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && id.chars().all(|c| c.is_ascii_alphanumeric())
}

#[tokio::test]
async fn every_operation_has_a_camel_case_id_a_plain_summary_and_an_example() {
    let app = TestApp::spawn(&[]).await;
    let doc: Value = app.get("/openapi.json").await.json().await.unwrap();
    let mut ids = Vec::new();
    let mut problems = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let at = format!("{method} {path}");
            let id = op["operationId"].as_str().unwrap_or_default();
            if !camel_case(id) {
                problems.push(format!("{at}: operationId {id:?}"));
            }
            ids.push(id.to_string());
            let summary = op["summary"].as_str().unwrap_or_default();
            if summary.is_empty() || summary.contains(['`', '*', '[', '_']) {
                problems.push(format!(
                    "{at}: summary {summary:?} is empty or has markdown"
                ));
            }
            if !has_example(&doc, op, 0) {
                problems.push(format!("{at}: no example"));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    for want in [
        "getCountry",
        "listCountries",
        "listCurrencies",
        "convertTime",
    ] {
        assert!(ids.iter().any(|i| i == want), "{want} missing from {ids:?}");
    }
    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count, "operation ids are unique");
}
