//! PNG flags on a bounded render pool.

use crate::helpers::TestApp;

#[tokio::test]
async fn png_renders_beyond_the_pool_get_503_with_retry_after() {
    let app = TestApp::spawn(&[
        ("ATLAS_API__FLAG_RENDER_CONCURRENCY", "1"),
        ("ATLAS_API__FLAG_RENDER_WAIT", "1ms"),
    ])
    .await;
    let requests = (0..12).map(|i| {
        let url = format!(
            "{}/api/v1/countries/BR/flag?format=png&width={}",
            app.api,
            1000 + i
        );
        app.http.get(url).send()
    });
    let mut counts = std::collections::BTreeMap::new();
    for res in futures_util::future::join_all(requests).await {
        let res = res.unwrap();
        let status = res.status().as_u16();
        if status == 503 {
            assert_eq!(res.headers()["retry-after"], "1");
            assert_eq!(res.headers()["content-type"], "application/problem+json");
        }
        *counts.entry(status).or_insert(0) += 1;
    }
    assert!(counts.keys().all(|s| [200, 503].contains(s)), "{counts:?}");
    assert!(
        counts.contains_key(&200) && counts.contains_key(&503),
        "{counts:?}"
    );
}

/// Width and height of a PNG, from its IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[1..4], b"PNG");
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    (be(16), be(20))
}

async fn get_if_none_match(app: &TestApp, path: &str, tag: &str) -> reqwest::Response {
    app.http
        .get(format!("{}{path}", app.api))
        .header("if-none-match", tag)
        .send()
        .await
        .unwrap()
}

async fn flags_in_both_ratios_with_their_own_etags(app: &TestApp, _: &crate::db::TestDb) {
    let default = "public, max-age=604800, stale-while-revalidate=86400";
    let mut tags = std::collections::HashSet::new();
    for (query, size) in [
        ("format=png&width=64", (64, 48)),
        ("format=png&width=64&ratio=4x3", (64, 48)),
        ("format=png&width=64&ratio=1x1", (64, 64)),
        ("format=png&width=1024&ratio=1x1", (1024, 1024)),
        ("format=png&ratio=1x1", (256, 256)),
    ] {
        let path = format!("/api/v1/countries/PT/flag?{query}");
        let res = app.get(&path).await;
        assert_eq!(res.status(), 200, "case {query}");
        assert_eq!(res.headers()["cache-control"], default, "case {query}");
        let tag = res.headers()["etag"].to_str().unwrap().to_string();
        tags.insert(tag.clone());
        assert_eq!(png_size(&res.bytes().await.unwrap()), size, "case {query}");
        let again = get_if_none_match(app, &path, &tag).await;
        assert_eq!(again.status(), 304, "case {query}");
        assert_eq!(again.headers()["etag"], tag.as_str(), "case {query}");
        assert_eq!(again.headers()["cache-control"], default, "case {query}");
        assert!(again.bytes().await.unwrap().is_empty(), "case {query}");
    }
    // ratio=4x3 is the default: the same representation, the same tag.
    assert_eq!(tags.len(), 4, "{tags:?}");

    let square = app.get("/api/v1/countries/PT/flag?ratio=1x1").await;
    assert_eq!(square.status(), 200);
    assert_eq!(square.headers()["content-type"], "image/svg+xml");
    let tag = square.headers()["etag"].to_str().unwrap().to_string();
    let svg = square.text().await.unwrap();
    assert!(svg.contains(r#"viewBox="0 0 512 512""#), "{svg:.200}");
    let wide = app.get("/api/v1/countries/PT/flag").await;
    assert_ne!(wide.headers()["etag"], tag.as_str(), "one tag per ratio");
    assert!(wide
        .text()
        .await
        .unwrap()
        .contains(r#"viewBox="0 0 640 480""#));
    let res = get_if_none_match(app, "/api/v1/countries/PRT/flag?ratio=1x1", &tag).await;
    assert_eq!(res.status(), 304);
    let res = get_if_none_match(app, "/api/v1/countries/PT/flag?ratio=4x3", &tag).await;
    assert_eq!(res.status(), 200, "the 1:1 tag does not match the 4:3 flag");

    for (bad, status) in [
        ("ratio=16x9", 400),
        ("ratio=", 400),
        ("ratio=1X1", 400),
        ("ratio=1x1&ratio=4x3", 400),
        ("ratio=1x1&width=64", 422),
        ("ratio=1x1&format=png&width=2000", 422),
    ] {
        let res = app.get(&format!("/api/v1/countries/PT/flag?{bad}")).await;
        assert_eq!(res.status(), status, "case {bad}");
        assert_eq!(
            res.headers()["content-type"],
            "application/problem+json",
            "case {bad}"
        );
        assert!(res.headers().get("cache-control").is_none(), "case {bad}");
    }
    let res = app.get("/api/v1/countries/ZZ/flag?ratio=1x1").await;
    assert_eq!(res.status(), 404);
}
db_test!(flag_ratios, flags_in_both_ratios_with_their_own_etags);

#[tokio::test]
async fn flag_cache_control_is_configurable() {
    let immutable = "public, max-age=31536000, immutable";
    let app = TestApp::spawn(&[("ATLAS_API__CACHE_CONTROL__FLAGS", immutable)]).await;
    for path in [
        "/api/v1/countries/PT/flag",
        "/api/v1/countries/PT/flag?format=png&width=16",
    ] {
        let res = app.get(path).await;
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(res.headers()["cache-control"], immutable, "{path}");
    }
}
