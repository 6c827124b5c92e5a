//! Source-URL canonicalisation: arbitrary UTF-8 never panics, and the
//! canonical form is a fixed point (`canonicalise_src(c) == Ok(c)`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use server::catalog::identity::{canonicalise_src, image_ref_for_src};

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let canonical = canonicalise_src(src);
    // The ref is the hash of the canonical form, so it must agree with it.
    assert_eq!(
        image_ref_for_src(src).is_ok(),
        canonical.is_ok(),
        "image_ref_for_src and canonicalise_src disagree on {src:?}"
    );
    if let Ok(canonical) = canonical {
        assert_eq!(
            canonicalise_src(&canonical).as_ref(),
            Ok(&canonical),
            "not idempotent: {src:?} -> {canonical:?}"
        );
    }
});
