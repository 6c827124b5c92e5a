//! Identity (reference §2.3): `bty_image_ref` is the SHA-256 of the
//! canonical source URL, so provenance stays stable even when a rolling tag
//! changes content. The content itself is identified by `disk_image_sha`.

use crate::{digest::sha256_hex, oras::OrasRef};

/// Why a source URL has no canonical form.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("unsupported source scheme in {0:?} (expected file://, http://, https:// or oras://)")]
    Scheme(String),
    #[error("file:// source {0:?} is empty, or has a '..' segment or NUL")]
    FilePath(String),
    #[error("source {0:?} has no host")]
    MissingHost(String),
    #[error("source {0:?} has a malformed host[:port]")]
    Authority(String),
    #[error("invalid oras reference {0:?}: {1}")]
    Oras(String, &'static str),
}

/// The canonical form of a source URL.
pub fn canonicalise_src(src: &str) -> Result<String, IdentityError> {
    if let Some(rest) = src.strip_prefix("file://") {
        return canonical_file(src, rest);
    }
    for scheme in ["http", "https"] {
        let prefix = format!("{scheme}://");
        // Compared as bytes: slicing the text could split a character.
        let matches = src
            .as_bytes()
            .get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()));
        if matches {
            return canonical_http(src, scheme, &src[prefix.len()..]);
        }
    }
    if let Some(rest) = src.strip_prefix("oras://") {
        return OrasRef::parse(rest)
            .map(|r| r.to_string())
            .map_err(|why| IdentityError::Oras(src.to_owned(), why));
    }
    Err(IdentityError::Scheme(src.to_owned()))
}

/// `bty_image_ref`: the hex SHA-256 of the canonical source.
pub fn image_ref_for_src(src: &str) -> Result<String, IdentityError> {
    Ok(sha256_hex(canonicalise_src(src)?.as_bytes()))
}

/// The `file://` source of a file in the image root.
pub fn local_src(name: &str) -> String {
    format!("file://{name}")
}

fn canonical_file(src: &str, rest: &str) -> Result<String, IdentityError> {
    let segments: Vec<&str> = rest
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    if segments.is_empty() || segments.contains(&"..") || rest.contains('\0') {
        return Err(IdentityError::FilePath(src.to_owned()));
    }
    Ok(format!("file://{}", segments.join("/")))
}

fn canonical_http(src: &str, scheme: &str, rest: &str) -> Result<String, IdentityError> {
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let mut host = authority.to_ascii_lowercase();
    // One port at most: `h:80:80` would canonicalise differently twice.
    let after_brackets = host.rsplit(']').next().unwrap_or(&host);
    if after_brackets.matches(':').count() > 1 {
        return Err(IdentityError::Authority(src.to_owned()));
    }
    let default_port = if scheme == "http" { ":80" } else { ":443" };
    if let Some(stripped) = host.strip_suffix(default_port) {
        host = stripped.to_owned();
    }
    if host.is_empty() || host.starts_with(':') {
        return Err(IdentityError::MissingHost(src.to_owned()));
    }
    Ok(format!("{scheme}://{host}{tail}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_sources_drop_empty_and_dot_segments_and_keep_case() {
        assert_eq!(canonicalise_src("file:///x.img").unwrap(), "file://x.img");
        assert_eq!(
            canonicalise_src("file://a//./B.img").unwrap(),
            "file://a/B.img"
        );
    }

    #[test]
    fn file_sources_with_dotdot_nul_or_nothing_are_refused() {
        for src in ["file://../x.img", "file://a/../b", "file://", "file://a\0b"] {
            assert!(canonicalise_src(src).is_err(), "{src}");
        }
    }

    #[test]
    fn http_sources_lowercase_scheme_and_host_and_drop_default_ports() {
        assert_eq!(
            canonicalise_src("HTTPS://Example.COM:443/Path/X.img?q=1#f").unwrap(),
            "https://example.com/Path/X.img?q=1#f"
        );
        assert_eq!(
            canonicalise_src("http://h:80/a%20b/").unwrap(),
            "http://h/a%20b/"
        );
        assert_eq!(
            canonicalise_src("http://h:8080/x").unwrap(),
            "http://h:8080/x"
        );
        assert!(canonicalise_src("https:///path").is_err());
    }

    #[test]
    fn equivalent_urls_share_a_ref() {
        assert_eq!(
            image_ref_for_src("https://h:443/x.img").unwrap(),
            image_ref_for_src("https://h/x.img").unwrap()
        );
        assert_ne!(
            image_ref_for_src("https://h/x.img").unwrap(),
            image_ref_for_src("https://h/X.img").unwrap()
        );
    }

    #[test]
    fn oras_references_lowercase_host_and_repo_and_keep_the_tag() {
        assert_eq!(
            canonicalise_src("oras://GHCR.io/Safl/nosi/debian:Latest").unwrap(),
            "oras://ghcr.io/safl/nosi/debian:Latest"
        );
        let digest = "a".repeat(64);
        assert_eq!(
            canonicalise_src(&format!("oras://127.0.0.1:5000/a/b@sha256:{digest}")).unwrap(),
            format!("oras://127.0.0.1:5000/a/b@sha256:{digest}")
        );
    }

    #[test]
    fn malformed_oras_references_are_refused() {
        for src in [
            "oras://ghcr.io/x:latest",
            "oras://ghcr.io/a/b",
            "oras://ghcr.io/a/b@sha256:xyz",
            "oras://-bad/a/b:1",
        ] {
            assert!(canonicalise_src(src).is_err(), "{src}");
        }
    }

    #[test]
    fn inputs_the_fuzzer_found_are_refused_not_panicked_on() {
        assert!(canonicalise_src("aaaaaaé").is_err());
        assert!(canonicalise_src("http:/\u{44d}:80\u{1}").is_err());
        assert!(matches!(
            canonicalise_src("http://h:80:80/"),
            Err(IdentityError::Authority(_))
        ));
        assert_eq!(
            canonicalise_src("http://[::1]:80/x").unwrap(),
            "http://[::1]/x"
        );
        assert_eq!(
            canonicalise_src("http://[::1]:8080/x").unwrap(),
            "http://[::1]:8080/x"
        );
    }

    #[test]
    fn other_schemes_are_refused() {
        assert!(matches!(
            canonicalise_src("ftp://h/x"),
            Err(IdentityError::Scheme(_))
        ));
        assert!(canonicalise_src("").is_err());
    }
}
