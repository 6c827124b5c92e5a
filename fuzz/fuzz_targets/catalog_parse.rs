//! `catalog.toml` parsing: arbitrary bytes never panic, and whatever parses
//! survives a write/parse round trip unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use server::catalog::manifest::{parse, write};

fuzz_target!(|data: &[u8]| {
    let Ok(manifest) = parse(data, "<fuzz>") else {
        return;
    };
    let written = write(&manifest.entries)
        .unwrap_or_else(|error| panic!("write failed on parsed entries: {error}"));
    match parse(written.as_bytes(), "<fuzz round trip>") {
        Ok(reparsed) => assert_eq!(
            reparsed.entries, manifest.entries,
            "round trip changed the entries; written:\n{written}"
        ),
        Err(error) => panic!("re-parse of written catalog failed: {error}\nwritten:\n{written}"),
    }
});
