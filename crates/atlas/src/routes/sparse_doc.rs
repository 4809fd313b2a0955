//! The OpenAPI document's account of `?fields=`: a projected country or currency
//! carries only the fields asked for, so the schemas of those answers cannot list
//! any field as required. Each such schema gets a `…Fields` copy without
//! `required`, used by the answers that take `fields`; request bodies and write
//! answers keep the strict schemas.

use serde_json::Value;

/// Schemas a projection can cut short, the resources and what they nest.
const PARTIAL: &[&str] = &[
    "Country",
    "Currency",
    "LatLng",
    "LocalName",
    "Demonym",
    "Language",
];
/// List envelopes whose items may be projected (only `GET` lists use them), and
/// the schema of an item (utoipa inlines it into the envelope).
const PAGES: &[(&str, &str)] = &[("Page_Country", "Country"), ("Page_Currency", "Currency")];
/// Single reads that take `fields`: path and the schema of their answer.
const SINGLE: &[&str] = &["/api/v1/countries/{code}"];

const PREFIX: &str = "#/components/schemas/";

/// `doc` (the OpenAPI JSON) with the `…Fields` schemas added and used where
/// answers may be projected; the input unchanged if it is not a document.
pub fn apply(doc: String) -> String {
    let Ok(mut v) = serde_json::from_str::<Value>(&doc) else {
        return doc;
    };
    let Some(schemas) = v
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return doc;
    };
    for name in PARTIAL {
        if let Some(mut copy) = schemas.get(*name).cloned() {
            if let Some(o) = copy.as_object_mut() {
                o.remove("required");
            }
            to_partial(&mut copy);
            schemas.insert(format!("{name}Fields"), copy);
        }
    }
    for (page, item) in PAGES {
        if let Some(items) = schemas
            .get_mut(*page)
            .and_then(|p| p.pointer_mut("/properties/items/items"))
        {
            *items = serde_json::json!({ "$ref": format!("{PREFIX}{item}Fields") });
        }
    }
    for path in SINGLE {
        let at = format!(
            "/paths/{}/get/responses/200/content/application~1json/schema",
            path.replace('~', "~0").replace('/', "~1")
        );
        if let Some(schema) = v.pointer_mut(&at) {
            to_partial(schema);
        }
    }
    serde_json::to_string(&v).unwrap_or(doc)
}

/// Point every `$ref` to a [`PARTIAL`] schema inside `v` at its `…Fields` copy.
fn to_partial(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get_mut("$ref") {
                if let Some(name) = r.strip_prefix(PREFIX) {
                    if PARTIAL.contains(&name) {
                        *r = format!("{PREFIX}{name}Fields");
                    }
                }
            }
            map.values_mut().for_each(to_partial);
        }
        Value::Array(items) => items.iter_mut().for_each(to_partial),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn projected_answers_point_at_copies_without_required_fields() {
        let doc = json!({
            "paths": {"/api/v1/countries/{code}": {"get": {"responses": {"200": {"content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Country"}}}}}}},
                "/api/v1/countries": {"post": {"responses": {"201": {"content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Country"}}}}}}}},
            "components": {"schemas": {
                "Country": {"type": "object", "required": ["alpha2"], "properties": {
                    "latlng": {"$ref": "#/components/schemas/LatLng"}}},
                "LatLng": {"type": "object", "required": ["lat", "lng"]},
                "Page_Country": {"properties": {"items": {"items": {"type": "object", "required": ["alpha2"]}}}}
            }}
        });
        let out: Value = serde_json::from_str(&apply(doc.to_string())).unwrap();
        let s = &out["components"]["schemas"];
        assert!(s["CountryFields"].get("required").is_none());
        assert_eq!(
            s["CountryFields"]["properties"]["latlng"]["$ref"],
            "#/components/schemas/LatLngFields"
        );
        assert!(s["LatLngFields"].get("required").is_none());
        assert_eq!(
            s["Country"]["required"],
            json!(["alpha2"]),
            "the strict schema stays"
        );
        assert_eq!(
            s["Page_Country"]["properties"]["items"]["items"]["$ref"],
            "#/components/schemas/CountryFields"
        );
        let get = &out["paths"]["/api/v1/countries/{code}"]["get"]["responses"]["200"]["content"]
            ["application/json"]["schema"];
        assert_eq!(get["$ref"], "#/components/schemas/CountryFields");
        let post = &out["paths"]["/api/v1/countries"]["post"]["responses"]["201"]["content"]
            ["application/json"]["schema"];
        assert_eq!(
            post["$ref"], "#/components/schemas/Country",
            "a write answers whole"
        );
    }
}
