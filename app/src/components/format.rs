//! Pure text helpers for the page: byte counts, rates, ETAs, SHA
//! shortening and counts. Kept free of Leptos so they are unit-tested.
//!
//! Decimals go through [`fixed`], not `format!("{x:.1}")`: core's float
//! formatting (Grisu, Dragon and their tables) was the largest piece of
//! the browser bundle that no page needed.

use crate::model::CacheUsage;

/// Binary units for sizes, as operators read disk images ("1.2 GiB").
const BYTE_UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

/// Decimal units for transfer rates, as network tools show them ("350 MB/s").
const RATE_UNITS: [&str; 6] = ["kB/s", "MB/s", "GB/s", "TB/s", "PB/s", "EB/s"];

/// How many hex characters of a SHA-256 the table shows.
pub const SHORT_SHA_LEN: usize = 12;

/// A byte count in binary units: `512 B`, `1.5 KiB`, `4.0 GiB`.
pub fn format_bytes(bytes: u64) -> String {
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < BYTE_UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{} {}", fixed(value, 1), BYTE_UNITS[unit])
}

/// Bytes done over the total, or just the bytes done while the total is
/// unknown: `1.2 GiB / 4.0 GiB`.
pub fn format_progress_bytes(done: u64, total: Option<u64>) -> String {
    match total {
        Some(total) => format!("{} / {}", format_bytes(done), format_bytes(total)),
        None => format_bytes(done),
    }
}

/// A transfer rate in decimal units: `350 MB/s`, `1.2 GB/s`, `12 B/s`.
/// One decimal below ten units, none above, so the figure does not jitter.
pub fn format_rate(bytes_per_second: f64) -> String {
    let rate = if bytes_per_second.is_finite() {
        bytes_per_second.max(0.0)
    } else {
        0.0
    };
    if rate < 1000.0 {
        return format!("{} B/s", fixed(rate, 0));
    }
    let mut value = rate / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit < RATE_UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    let decimals = if value < 10.0 { 1 } else { 0 };
    format!("{} {}", fixed(value, decimals), RATE_UNITS[unit])
}

/// `value` with `decimals` (0 or 1) digits after the point, exactly as
/// `format!("{value:.1$}", decimals)` writes it: the exact binary value
/// rounded half to even, every digit of a large one, `-` on negative zero.
pub fn fixed(value: f64, decimals: u32) -> String {
    if value.is_nan() {
        return "NaN".to_string();
    }
    let sign = if value.is_sign_negative() { "-" } else { "" };
    if value.is_infinite() {
        return format!("{sign}inf");
    }
    // value = mantissa * 2^exponent
    let bits = value.to_bits();
    let (biased, fraction) = ((bits >> 52) & 0x7ff, bits & ((1 << 52) - 1));
    let (mantissa, exponent) = match biased {
        0 => (fraction, -1074),
        _ => (fraction | 1 << 52, biased as i32 - 1075),
    };
    let scale = 10u64.pow(decimals);
    if exponent >= 0 {
        // An integer, no fraction to round.
        let point = if decimals > 0 { "." } else { "" };
        let zeros = "0".repeat(decimals as usize);
        return format!(
            "{sign}{}{point}{zeros}",
            shifted_integer(mantissa, exponent as u32)
        );
    }
    // value * 10^decimals = scaled / 2^shift, rounded half to even.
    let (scaled, shift) = (mantissa * scale, exponent.unsigned_abs());
    let rounded = if shift >= 64 {
        0 // scaled < 2^57 is below half of 2^shift
    } else {
        let (quotient, rest, half) = (
            scaled >> shift,
            scaled & ((1 << shift) - 1),
            1 << (shift - 1),
        );
        quotient + u64::from(rest > half || (rest == half && quotient % 2 == 1))
    };
    match decimals {
        0 => format!("{sign}{rounded}"),
        _ => format!(
            "{sign}{}.{:0width$}",
            rounded / scale,
            rounded % scale,
            width = decimals as usize
        ),
    }
}

/// `mantissa * 2^shift` in decimal, however large.
fn shifted_integer(mantissa: u64, shift: u32) -> String {
    const BASE: u64 = 1_000_000_000;
    // Base 10^9 digits, least significant first.
    let mut limbs = vec![
        mantissa % BASE,
        mantissa / BASE % BASE,
        mantissa / BASE / BASE,
    ];
    for _ in 0..shift {
        let mut carry = 0;
        for limb in &mut limbs {
            let doubled = *limb * 2 + carry;
            *limb = doubled % BASE;
            carry = doubled / BASE;
        }
        if carry > 0 {
            limbs.push(carry);
        }
    }
    while limbs.len() > 1 && limbs.last() == Some(&0) {
        limbs.pop();
    }
    let mut text = limbs.pop().unwrap_or(0).to_string();
    for limb in limbs.iter().rev() {
        text.push_str(&format!("{limb:09}"));
    }
    text
}

/// Time left as a clock: `0:42`, `12:05`, `1:02:03`. Partial seconds round
/// up, so a job never claims to be done early.
pub fn format_eta(seconds: f64) -> String {
    let total = if seconds.is_finite() && seconds > 0.0 {
        seconds.ceil() as u64
    } else {
        0
    };
    let (hours, minutes, secs) = (total / 3600, total / 60 % 60, total % 60);
    if hours > 0 {
        format!("{hours}:{minutes:02}:{secs:02}")
    } else {
        format!("{minutes}:{secs:02}")
    }
}

/// The first twelve hex characters of a SHA-256 and `...`, as the reference
/// table shows it; the full value goes into a `title`.
pub fn short_sha(sha: &str) -> String {
    let head: String = sha.chars().take(SHORT_SHA_LEN).collect();
    format!("{head}...")
}

/// `1 entry`, `2 entries`: the count on the right of the sub-nav.
pub fn entry_count(count: usize) -> String {
    if count == 1 {
        "1 entry".to_string()
    } else {
        format!("{count} entries")
    }
}

/// The download cache's footprint in one line, for the Downloads card:
/// `Cache: 3 files, 4.2 GiB used, 180.0 GiB free`, or with a quota
/// `Cache: 3 files, 4.2 GiB used of 10.0 GiB quota, 180.0 GiB free`.
pub fn cache_summary(usage: &CacheUsage) -> String {
    let files = if usage.files == 1 {
        "1 file".to_string()
    } else {
        format!("{} files", usage.files)
    };
    let mut text = format!("Cache: {files}, {} used", format_bytes(usage.bytes));
    if let Some(quota) = usage.quota_bytes {
        text.push_str(&format!(" of {} quota", format_bytes(quota)));
    }
    if let Some(free) = usage.free_bytes {
        text.push_str(&format!(", {} free", format_bytes(free)));
    }
    text
}

/// How full the cache is against its quota, in percent (none without a
/// quota), for the bar beside the line.
pub fn cache_quota_percent(usage: &CacheUsage) -> Option<f64> {
    let quota = usage.quota_bytes.filter(|quota| *quota > 0)?;
    Some((usage.bytes as f64 * 100.0 / quota as f64).min(100.0))
}

/// The first `limit` characters of a text (not bytes, so a multi-byte
/// character is never split), as the reference clips job errors.
pub fn first_chars(text: &str, limit: usize) -> String {
    text.chars().take(limit).collect()
}

/// Percent-encodes a query-string value (RFC 3986 unreserved characters
/// stay as they are), for links built on both the server and the browser.
pub fn encode_query_value(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                encoded.push(char::from(byte))
            }
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_sizes_are_shown_in_bytes() {
        assert_eq!(format_bytes(0), "0 B");
        assert_eq!(format_bytes(1023), "1023 B");
    }

    #[test]
    fn larger_sizes_use_binary_units_with_one_decimal() {
        assert_eq!(format_bytes(1024), "1.0 KiB");
        assert_eq!(format_bytes(1536), "1.5 KiB");
        assert_eq!(format_bytes(5 * 1024 * 1024), "5.0 MiB");
        assert_eq!(format_bytes(1_288_490_189), "1.2 GiB");
        assert_eq!(format_bytes(4 * 1024 * 1024 * 1024), "4.0 GiB");
        assert_eq!(format_bytes(u64::MAX), "16.0 EiB");
    }

    #[test]
    fn progress_shows_the_total_only_when_known() {
        assert_eq!(
            format_progress_bytes(1_288_490_189, Some(4 * 1024 * 1024 * 1024)),
            "1.2 GiB / 4.0 GiB"
        );
        assert_eq!(format_progress_bytes(2048, None), "2.0 KiB");
    }

    #[test]
    fn rates_use_decimal_units() {
        assert_eq!(format_rate(12.0), "12 B/s");
        assert_eq!(format_rate(350_000_000.0), "350 MB/s");
        assert_eq!(format_rate(1_200_000_000.0), "1.2 GB/s");
        assert_eq!(format_rate(5_500.0), "5.5 kB/s");
        assert_eq!(format_rate(f64::NAN), "0 B/s");
        assert_eq!(format_rate(-3.0), "0 B/s");
    }

    #[test]
    fn fixed_writes_what_format_writes() {
        let mut values = vec![
            0.0,
            -0.0,
            0.05,
            0.25,
            0.35,
            0.45,
            0.5,
            1.5,
            2.5,
            1.25,
            9.95,
            99.95,
            999.5,
            1e-7,
            5e-324,
            f64::MIN_POSITIVE,
            2f64.powi(52) + 0.5,
            2f64.powi(53),
            2f64.powi(70) + 3.0,
            1e21,
            1e300,
            f64::MAX,
            -1.75,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        // And a spread of ordinary ones: rates, percentages, sizes.
        let mut x = 0.001_f64;
        while x < 1e20 {
            values.extend([x, x * 1.000_1, x / 3.0, x + 0.05]);
            x *= 1.37;
        }
        for bytes in [1023u64, 1024, 1280, 1331, 1_288_490_189, u64::MAX] {
            values.push(bytes as f64 / 1024.0);
        }
        for value in values {
            assert_eq!(fixed(value, 0), format!("{value:.0}"), "{value:e}");
            assert_eq!(fixed(value, 1), format!("{value:.1}"), "{value:e}");
        }
    }

    #[test]
    fn eta_is_a_clock_with_hours_only_when_needed() {
        assert_eq!(format_eta(42.0), "0:42");
        assert_eq!(format_eta(41.2), "0:42");
        assert_eq!(format_eta(725.0), "12:05");
        assert_eq!(format_eta(3723.0), "1:02:03");
        assert_eq!(format_eta(0.0), "0:00");
        assert_eq!(format_eta(f64::INFINITY), "0:00");
    }

    #[test]
    fn sha_is_shortened_to_twelve_characters_and_dots() {
        let sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert_eq!(short_sha(sha), "0123456789ab...");
        assert_eq!(short_sha("abc"), "abc...");
    }

    #[test]
    fn entry_count_is_singular_only_for_one() {
        assert_eq!(entry_count(0), "0 entries");
        assert_eq!(entry_count(1), "1 entry");
        assert_eq!(entry_count(2), "2 entries");
    }

    #[test]
    fn the_cache_line_counts_files_and_says_what_is_used_and_free() {
        let mut usage = CacheUsage {
            cache_dir: "/var/lib/bty/cache".into(),
            files: 3,
            bytes: 4_509_715_660,
            free_bytes: Some(180 * 1024 * 1024 * 1024),
            total_bytes: Some(200 * 1024 * 1024 * 1024),
            quota_bytes: None,
        };
        assert_eq!(
            cache_summary(&usage),
            "Cache: 3 files, 4.2 GiB used, 180.0 GiB free"
        );
        usage.files = 1;
        usage.free_bytes = None;
        assert_eq!(cache_summary(&usage), "Cache: 1 file, 4.2 GiB used");
        assert_eq!(cache_quota_percent(&usage), None);
        usage.quota_bytes = Some(9_019_431_320);
        assert_eq!(
            cache_summary(&usage),
            "Cache: 1 file, 4.2 GiB used of 8.4 GiB quota"
        );
        assert_eq!(cache_quota_percent(&usage), Some(50.0));
        usage.bytes *= 3;
        assert_eq!(cache_quota_percent(&usage), Some(100.0), "never past full");
    }

    #[test]
    fn long_errors_are_cut_at_a_character_boundary() {
        assert_eq!(first_chars("short", 60), "short");
        assert_eq!(first_chars("ééééé", 3), "ééé");
        assert_eq!(first_chars(&"x".repeat(61), 60), "x".repeat(60));
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(encode_query_value("10.0.0.1"), "10.0.0.1");
        assert_eq!(encode_query_value("::1"), "%3A%3A1");
        assert_eq!(encode_query_value("a b&c"), "a%20b%26c");
    }
}
