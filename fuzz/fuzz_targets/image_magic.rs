//! Format and partition-table detection: arbitrary bytes never panic, only
//! the first `HEAD_LEN` bytes count, and a detected format's catalog name
//! names it back (so the name-based and byte-based formats agree).
#![no_main]

use libfuzzer_sys::fuzz_target;
use server::inspect::{
    format_mismatch,
    magic::{detect_format, detect_partition_table, Format, HEAD_LEN},
};

fuzz_target!(|data: &[u8]| {
    let format = detect_format(data);
    let table = detect_partition_table(data);
    let head = &data[..data.len().min(HEAD_LEN)];
    assert_eq!(detect_format(head), format);
    assert_eq!(detect_partition_table(head), table);
    assert_eq!(Format::from_catalog_name(format.catalog_name()), Some(format));
    let name = format!("disk.{}", format.catalog_name());
    assert_eq!(format_mismatch(&name, format), None, "{name}");
    // A name made of the input must not panic the mismatch text either.
    let _ = format_mismatch(&String::from_utf8_lossy(data), format);
});
