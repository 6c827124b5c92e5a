//! Each page loads its own browser bundle (`app::Bundle`): the scripts the
//! server-rendered document asks for.

use reqwest::StatusCode;

use crate::helpers::spawn_app;

/// The `.js` and `.wasm` files under `/pkg/` that `html` loads.
fn bundles(html: &str) -> Vec<&str> {
    let mut found: Vec<&str> = html
        .match_indices("/pkg/")
        .filter_map(|(at, _)| {
            let rest = &html[at + 5..];
            let end = rest.find(['"', '\'', ' '])?;
            let file = &rest[..end];
            (file.ends_with(".js") || file.ends_with(".wasm")).then_some(file)
        })
        .collect();
    found.sort_unstable();
    found.dedup();
    found
}

#[tokio::test]
async fn every_page_asks_for_the_bundle_of_that_page_only() {
    let mut app = spawn_app().await;
    let login = app.get("/ui/login").await.text().await.expect("HTML");
    assert_eq!(bundles(&login), ["bty-web-login.js", "bty-web-login.wasm"]);

    app.login().await;
    for (path, name) in [
        ("/ui/images", "bty-web"),
        ("/ui/images?section=fetch", "bty-web"),
        ("/ui/events", "bty-web-events"),
        ("/ui/tokens", "bty-web-tokens"),
    ] {
        let page = app.get(path).await;
        assert_eq!(page.status(), StatusCode::OK, "{path}");
        let html = page.text().await.expect("HTML");
        assert_eq!(
            bundles(&html),
            [format!("{name}.js"), format!("{name}.wasm")],
            "{path}"
        );
    }

    let missing = app.get("/ui/nowhere").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let html = missing.text().await.expect("HTML");
    assert_eq!(bundles(&html), ["bty-web-login.js", "bty-web-login.wasm"]);
}
