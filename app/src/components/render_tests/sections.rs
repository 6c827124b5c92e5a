//! The three catalog form sections, as the server renders them: each form's
//! action, method, encoding, field names and ids are the contract the
//! server's routes and operators' scripts rely on, and they work without
//! the WASM.

use leptos::prelude::*;

use super::{has_tag, page, render, row, SHA};
use crate::components::{AddFromUrlSection, FetchSection, UploadCatalogSection};
use crate::model::{ImagesPage, SourceKind};

/// The opening tags of `element` in `html`, without the leading `<`.
fn tags<'a>(html: &'a str, element: &str) -> Vec<&'a str> {
    html.split('<')
        .filter_map(|rest| rest.split('>').next())
        .filter(|tag| {
            tag.strip_prefix(element)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
        })
        .collect()
}

/// The section's own markup, before the catalog table below it (whose
/// filter form has inputs of its own).
fn section_part(html: &str) -> &str {
    html.split(r#"<section class="card bty-catalog-card"#)
        .next()
        .unwrap_or(html)
}

/// The one `<form>` tag of a section (the catalog table's filter form,
/// a GET, is not the section's).
fn form_tag(html: &str) -> &str {
    let forms: Vec<&str> = tags(html, "form")
        .into_iter()
        .filter(|tag| !tag.contains("bty-catalog-filter"))
        .collect();
    assert_eq!(forms.len(), 1, "{html}");
    forms[0]
}

fn with_one_row() -> ImagesPage {
    page(
        vec![row(
            "listed.img",
            Some(SHA),
            false,
            (SourceKind::Manifest, "https://example.test/listed.img"),
        )],
        vec![],
        vec![],
    )
}

fn fetch_html(data: &ImagesPage) -> String {
    render(data, |live| {
        view! {
            <FetchSection
                live
                release_repo="safl/bty".to_string()
                manifest_path="/var/lib/bty/catalog.toml".to_string()
            />
        }
        .into_any()
    })
}

fn upload_catalog_html(data: &ImagesPage) -> String {
    render(data, |live| {
        view! { <UploadCatalogSection live manifest_path="/var/lib/bty/catalog.toml".to_string()/> }
            .into_any()
    })
}

fn from_url_html(data: &ImagesPage) -> String {
    render(data, |live| view! { <AddFromUrlSection live/> }.into_any())
}

#[test]
fn fetch_catalog_posts_to_fetch_release_and_links_the_latest_release() {
    let html = fetch_html(&with_one_row());
    let form = form_tag(&html);
    assert!(form.contains(r#"method="post""#), "{form}");
    assert!(
        form.contains(r#"action="/ui/catalog/fetch-release""#),
        "{form}"
    );
    assert!(!form.contains("enctype"), "{form}");
    assert!(tags(section_part(&html), "input").is_empty(), "{html}");
    assert!(
        has_tag(
            &html,
            &[
                r#"type="submit""#,
                r#"id="bty-fetch-release-btn""#,
                "bty-submit"
            ]
        ),
        "{html}"
    );
    assert!(html.contains("Fetch latest catalog.toml"), "{html}");
    assert!(
        has_tag(
            &html,
            &[
                r#"href="https://github.com/safl/bty/releases/latest""#,
                r#"rel="external noopener""#,
                r#"target="_blank""#,
            ]
        ),
        "{html}"
    );
    assert!(
        html.contains(r#"<code class="bty-manifest-path">/var/lib/bty/catalog.toml</code>"#),
        "{html}"
    );
    assert!(has_tag(&html, &["bty-section-fetch"]), "{html}");
}

#[test]
fn upload_catalog_posts_one_toml_file_as_multipart() {
    let html = upload_catalog_html(&with_one_row());
    let form = form_tag(&html);
    assert!(form.contains(r#"method="post""#), "{form}");
    assert!(form.contains(r#"action="/ui/catalog/upload""#), "{form}");
    assert!(form.contains(r#"enctype="multipart/form-data""#), "{form}");
    let inputs = tags(section_part(&html), "input");
    assert_eq!(inputs.len(), 1, "{html}");
    for attribute in [
        r#"type="file""#,
        r#"name="file""#,
        r#"id="catalog-file""#,
        r#"accept=".toml""#,
        " required",
    ] {
        assert!(
            inputs[0].contains(attribute),
            "{attribute} in {}",
            inputs[0]
        );
    }
    assert!(!inputs[0].contains("multiple"), "{}", inputs[0]);
    assert!(has_tag(&html, &[r#"for="catalog-file""#]), "{html}");
    assert!(has_tag(&html, &[r#"type="submit""#]), "{html}");
    assert!(html.contains(">Upload catalog</span>"), "{html}");
    assert!(html.contains("1 MiB"), "{html}");
    assert!(html.contains("changes nothing"), "{html}");
    // The example is in the version 1 schema, with every documented field.
    let example = html
        .split("<pre>")
        .nth(1)
        .and_then(|rest| rest.split("</pre>").next())
        .unwrap_or_default();
    assert!(example.starts_with("<code>version = 1\n"), "{example}");
    for field in [
        "[[images]]",
        "\nname = ",
        "\nsrc = ",
        "\nsha256 = ",
        "\nformat = ",
        "\nsize_bytes = ",
        "\ndescription = ",
    ] {
        assert!(example.contains(field), "{field} in {example}");
    }
}

#[test]
fn upload_image_from_url_posts_the_image_url_and_an_optional_checksum_url() {
    let html = from_url_html(&with_one_row());
    let form = form_tag(&html);
    assert!(form.contains(r#"method="post""#), "{form}");
    assert!(form.contains(r#"action="/ui/catalog/entries""#), "{form}");
    assert!(!form.contains("enctype"), "{form}");
    let inputs = tags(section_part(&html), "input");
    assert_eq!(inputs.len(), 2, "{html}");
    let image_url = inputs
        .iter()
        .find(|tag| tag.contains(r#"id="image_url""#))
        .unwrap_or_else(|| panic!("no #image_url in {html}"));
    for attribute in [
        r#"type="text""#,
        r#"name="image_url""#,
        " required",
        r#"placeholder="https://example.com/images/debian.img.gz or oras://ghcr.io/org/repo:tag""#,
    ] {
        assert!(image_url.contains(attribute), "{attribute} in {image_url}");
    }
    let sha_url = inputs
        .iter()
        .find(|tag| tag.contains(r#"id="sha_url""#))
        .unwrap_or_else(|| panic!("no #sha_url in {html}"));
    for attribute in [
        r#"type="text""#,
        r#"name="sha_url""#,
        r#"placeholder="https://…/SHA256SUMS (optional)""#,
    ] {
        assert!(sha_url.contains(attribute), "{attribute} in {sha_url}");
    }
    assert!(!sha_url.contains("required"), "{sha_url}");
    assert!(has_tag(&html, &[r#"for="image_url""#]), "{html}");
    assert!(has_tag(&html, &[r#"for="sha_url""#]), "{html}");
    assert!(html.contains(">Add image</span>"), "{html}");
    assert!(html.contains("oras://"), "{html}");
}

#[test]
fn each_form_section_shows_the_live_catalog_below_it() {
    let data = with_one_row();
    for html in [
        fetch_html(&data),
        upload_catalog_html(&data),
        from_url_html(&data),
    ] {
        let form_at = html.find("<form").unwrap_or(usize::MAX);
        let row_at = html.find("bty-catalog-row").unwrap_or(0);
        assert!(
            form_at < row_at,
            "the catalog is not below the form: {html}"
        );
        assert!(
            has_tag(
                &html,
                &[
                    "bty-catalog-entry-delete-btn",
                    r#"data-src="https://example.test/listed.img""#
                ]
            ),
            "{html}"
        );
    }
    let empty = page(vec![], vec![], vec![]);
    for html in [
        fetch_html(&empty),
        upload_catalog_html(&empty),
        from_url_html(&empty),
    ] {
        assert!(html.contains("No images yet"), "{html}");
    }
}

#[test]
fn the_submit_buttons_start_idle() {
    // The server's render and the first one in the browser must agree.
    let data = with_one_row();
    for html in [
        fetch_html(&data),
        upload_catalog_html(&data),
        from_url_html(&data),
    ] {
        assert!(!html.contains("aria-busy"), "{html}");
        assert!(!html.contains("spinner"), "{html}");
    }
}
