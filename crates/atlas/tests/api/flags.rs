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
