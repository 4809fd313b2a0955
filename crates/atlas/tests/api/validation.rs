//! One rule for bad requests, on every endpoint: a request that cannot be read is
//! 400, one that can be read but carries missing or invalid values is 422, and both
//! name each problem in `errors` (a body `pointer`, a `parameter` or a `header`).

use serde_json::{json, Value};

use crate::helpers::TestApp;

/// (case, method, path, body, status, where: (member, value)).
type Case = (
    &'static str,
    &'static str,
    &'static str,
    Option<Value>,
    u16,
    (&'static str, &'static str),
);

fn cases() -> Vec<Case> {
    let country = |alpha2: Value| {
        Some(json!({"alpha2": alpha2, "alpha3": "XAA", "numeric": "901", "name": "Atlantis"}))
    };
    vec![
        (
            "limit=0",
            "GET",
            "/countries?limit=0",
            None,
            422,
            ("parameter", "limit"),
        ),
        (
            "limit=abc",
            "GET",
            "/countries?limit=abc",
            None,
            400,
            ("parameter", "limit"),
        ),
        (
            "currency limit=0",
            "GET",
            "/currencies?limit=0",
            None,
            422,
            ("parameter", "limit"),
        ),
        (
            "negative limit",
            "GET",
            "/currencies?limit=-3",
            None,
            400,
            ("parameter", "limit"),
        ),
        (
            "bad cursor",
            "GET",
            "/currencies?cursor=%2A",
            None,
            422,
            ("parameter", "cursor"),
        ),
        (
            "bad currency",
            "GET",
            "/countries?currency=EURO",
            None,
            422,
            ("parameter", "currency"),
        ),
        (
            "NUL in q",
            "GET",
            "/countries?q=a%00",
            None,
            422,
            ("parameter", "q"),
        ),
        (
            "blank q is no filter",
            "GET",
            "/currencies?q=",
            None,
            200,
            ("", ""),
        ),
        (
            "place q blank",
            "GET",
            "/places?q=%20",
            None,
            422,
            ("parameter", "q"),
        ),
        (
            "place q missing",
            "GET",
            "/places",
            None,
            422,
            ("parameter", "q"),
        ),
        (
            "place limit=abc",
            "GET",
            "/places?q=a&limit=abc",
            None,
            400,
            ("parameter", "limit"),
        ),
        (
            "lat=100",
            "GET",
            "/time?lat=100&lon=0",
            None,
            422,
            ("parameter", "lat"),
        ),
        (
            "lat=abc",
            "GET",
            "/time?lat=abc&lon=0",
            None,
            400,
            ("parameter", "lat"),
        ),
        (
            "lon missing",
            "GET",
            "/time?lat=0",
            None,
            422,
            ("parameter", "lon"),
        ),
        (
            "bad path code",
            "GET",
            "/countries/P1",
            None,
            422,
            ("parameter", "code"),
        ),
        (
            "bad currency code",
            "GET",
            "/currencies/EURO",
            None,
            422,
            ("parameter", "code"),
        ),
        (
            "flag width=abc",
            "GET",
            "/countries/PT/flag?format=png&width=abc",
            None,
            400,
            ("parameter", "width"),
        ),
        (
            "flag width=2000",
            "GET",
            "/countries/PT/flag?format=png&width=2000",
            None,
            422,
            ("parameter", "width"),
        ),
        (
            "wrong JSON type",
            "POST",
            "/countries",
            country(json!(12)),
            400,
            ("pointer", "/alpha2"),
        ),
        (
            "invalid value",
            "POST",
            "/countries",
            country(json!("X")),
            422,
            ("pointer", "/alpha2"),
        ),
        (
            "import row of the wrong type",
            "POST",
            "/imports",
            Some(json!({"countries": [{}, {"alpha2": 5}]})),
            400,
            ("pointer", "/countries/1/alpha2"),
        ),
        (
            "empty import",
            "POST",
            "/imports",
            Some(json!({})),
            422,
            ("pointer", ""),
        ),
    ]
}

#[tokio::test]
async fn malformed_requests_are_400_invalid_ones_422_and_both_name_the_spot() {
    let app = TestApp::spawn(&[]).await;
    for (case, method, path, body, status, (member, at)) in cases() {
        let url = format!("{}/api/v1{path}", app.api);
        let req = match method {
            "GET" => app.http.get(url),
            _ => app.http.post(url),
        };
        let req = match &body {
            Some(b) => req.json(b),
            None => req,
        };
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), status, "case {case}");
        if status < 400 {
            continue;
        }
        assert_eq!(
            res.headers()["content-type"],
            "application/problem+json",
            "case {case}"
        );
        let p: Value = res.json().await.unwrap();
        assert_eq!(p["status"], status, "case {case}: {p}");
        let errors = p["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("case {case}: {p}"));
        assert!(
            errors
                .iter()
                .any(|e| e[member] == at && e["detail"].is_string()),
            "case {case}: no error with {member} = {at:?} in {p}"
        );
    }
}

/// (case, method, path, `If-Match`, raw JSON body, status, where: (member, value)).
type RawCase = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
    u16,
    (&'static str, &'static str),
);

const CURRENCY: &str = r#"{"code": "EUR", "numeric": "978", "name": "Euro", "minor_units": 2}"#;

fn raw_cases() -> Vec<RawCase> {
    vec![
        (
            "trailing data",
            "POST",
            "/currencies",
            None,
            r#"{"code": "XQA"}xx"#,
            400,
            ("pointer", ""),
        ),
        (
            "two documents",
            "POST",
            "/countries",
            None,
            "{}{}",
            400,
            ("pointer", ""),
        ),
        (
            "trailing data on PUT",
            "PUT",
            "/currencies/EUR",
            None,
            "{\"code\": \"EUR\"} 1",
            400,
            ("pointer", ""),
        ),
        (
            "trailing data in an import",
            "POST",
            "/imports",
            None,
            r#"{"currencies": []}x"#,
            400,
            ("pointer", ""),
        ),
        (
            "trailing whitespace is fine",
            "PUT",
            "/currencies/EUR",
            Some("*"),
            "{\"code\": \"EUR\", \"numeric\": \"978\", \"name\": \"Euro\", \"minor_units\": 2}\n ",
            200,
            ("", ""),
        ),
        (
            "unquoted If-Match",
            "PUT",
            "/currencies/EUR",
            Some("abc"),
            CURRENCY,
            400,
            ("header", "if-match"),
        ),
        (
            "empty If-Match",
            "PUT",
            "/currencies/EUR",
            Some(""),
            CURRENCY,
            400,
            ("header", "if-match"),
        ),
        (
            "If-Match on DELETE",
            "DELETE",
            "/countries/PT",
            Some("W/abc"),
            "",
            400,
            ("header", "if-match"),
        ),
        (
            "weak If-Match",
            "DELETE",
            "/currencies/EUR",
            Some("W/\"x\""),
            "",
            412,
            ("", ""),
        ),
        (
            "bidi override in a name",
            "PUT",
            "/currencies/EUR",
            None,
            "{\"code\": \"EUR\", \"numeric\": \"978\", \"name\": \"\u{202E}oruE\"}",
            422,
            ("pointer", "/name"),
        ),
    ]
}

#[tokio::test]
async fn trailing_data_and_malformed_if_match_are_400_invisible_characters_422() {
    let app = TestApp::spawn(&[]).await;
    for (case, method, path, if_match, body, status, (member, at)) in raw_cases() {
        let url = format!("{}/api/v1{path}", app.api);
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = app.http.request(method, url);
        if let Some(tag) = if_match {
            req = req.header("if-match", tag);
        }
        if !body.is_empty() {
            req = req.header("content-type", "application/json").body(body);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), status, "case {case}");
        if at.is_empty() {
            continue;
        }
        let p: Value = res.json().await.unwrap();
        let errors = p["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("case {case}: {p}"));
        assert!(
            errors
                .iter()
                .any(|e| e[member] == at && e["detail"].is_string()),
            "case {case}: no error with {member} = {at:?} in {p}"
        );
    }
}
