//! The qcow2 header parser: arbitrary bytes never panic, it reads nothing
//! past the first cluster, and a parsed header is unsafe exactly when it
//! has a backing file, an external data file, encryption or unknown
//! incompatible features.
#![no_main]

use libfuzzer_sys::fuzz_target;
use server::inspect::qcow2::{parse, Encryption};

fuzz_target!(|data: &[u8]| {
    let Ok(header) = parse(data) else {
        return;
    };
    assert!(matches!(header.version, 2 | 3), "{header:?}");
    let cluster = 1usize << header.cluster_bits;
    if data.len() > cluster {
        assert_eq!(
            parse(&data[..cluster]).as_ref(),
            Ok(&header),
            "parse read past the first cluster"
        );
    }
    let findings = header.backing_file.is_some()
        || header.uses_external_data_file()
        || header.encryption != Encryption::None
        || header.unknown_features() != 0;
    assert_eq!(header.unsafe_reason().is_some(), findings, "{header:?}");
});
