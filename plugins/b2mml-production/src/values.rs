//! The values inside a B2MML document as the canonical model wants them: text without control characters,
//! decimals kept as written, `xsd:dateTime` instants in UTC with the sender's offset, and the plant's units
//! as UN/ECE Recommendation 20 codes.

use millwright_sdk::host::{self, LookupError};
use millwright_sdk::types::{MappingError, Position, Timestamp};

/// The partner profile key naming the zone of times written without an offset.
pub const TIMEZONE_KEY: &str = "timezone";

/// The master-data table consulted first for units.
pub const UNITS_TABLE: &str = "units";

/// Units MES systems write, and their Rec 20 codes. A tenant's `units` table overrides any of them (a plant
/// that counts `EA` as `C62`); the Rec 20 codes themselves are accepted as they are.
pub const BUILT_IN_UNITS: &[(&str, &str)] = &[
    ("EA", "H87"), // each
    ("PC", "H87"), // piece
    ("PCE", "H87"),
    ("ST", "H87"), // Stück
    ("KG", "KGM"),
    ("G", "GRM"),
    ("T", "TNE"), // metric ton
    ("TO", "TNE"),
    ("LB", "LBR"),
    ("M", "MTR"),
    ("MM", "MMT"),
    ("CM", "CMT"),
    ("L", "LTR"),
    ("ML", "MLT"),
    ("M2", "MTK"),
    ("M3", "MTQ"),
    ("H87", "H87"),
    ("C62", "C62"),
    ("KGM", "KGM"),
    ("GRM", "GRM"),
    ("TNE", "TNE"),
    ("LBR", "LBR"),
    ("MTR", "MTR"),
    ("MMT", "MMT"),
    ("CMT", "CMT"),
    ("LTR", "LTR"),
    ("MLT", "MLT"),
    ("MTK", "MTK"),
    ("MTQ", "MTQ"),
];

/// Text as the canonical model holds it: trimmed, every run of whitespace (tabs and line breaks included) one
/// space. `Err` carries the first other control character (DEL, or a C0 character an XML 1.1 document may
/// hold), which no canonical string may contain.
pub fn clean_text(raw: &str) -> Result<String, char> {
    let mut out = String::with_capacity(raw.len());
    for word in raw.split([' ', '\t', '\n', '\r']) {
        if word.is_empty() {
            continue;
        }
        if let Some(c) = word.chars().find(|c| c.is_control()) {
            return Err(c);
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    Ok(out)
}

/// An optional `-`, digits and at most one `.`, with at least one digit: `118`, `412.500`, `-3`, `.5`.
pub fn is_decimal(value: &str) -> bool {
    let digits = value.strip_prefix('-').unwrap_or(value);
    let mut points = 0;
    let mut any_digit = false;
    for b in digits.bytes() {
        match b {
            b'0'..=b'9' => any_digit = true,
            b'.' => points += 1,
            _ => return false,
        }
    }
    any_digit && points <= 1
}

/// Zero written with the scale of `like`: `0` for `118`, `0.000` for `412.500`.
pub fn zero_like(like: &str) -> String {
    match like.split_once('.') {
        Some((_, fraction)) if !fraction.is_empty() => format!("0.{}", "0".repeat(fraction.len())),
        _ => "0".to_owned(),
    }
}

/// An `xsd:dateTime` (`2024-06-11T14:30:00-05:00`, `...Z`, `...14:30:00.250+02:00`) as a UTC timestamp with
/// the written offset kept. A time without an offset is read in the profile's `timezone` (UTC when unset).
/// Fractions of a second are dropped. The error says what could not be read.
pub fn timestamp(text: &str) -> Result<Timestamp, String> {
    let bad = || {
        format!(
            "`{text}` is not an xsd:dateTime such as 2024-06-11T14:30:00-05:00 (date, `T`, time, and \
             `Z` or an offset)"
        )
    };
    let (date, rest) = text.split_once('T').ok_or_else(bad)?;
    let date_parts: Vec<&str> = date.split('-').collect();
    let [year, month, day] = date_parts.as_slice() else {
        return Err(bad());
    };
    if year.len() != 4 || month.len() != 2 || day.len() != 2 {
        return Err(bad());
    }
    // The zone starts at `Z`, `+` or the `-` after the time.
    let zone_at = rest.find(['Z', '+', '-']).unwrap_or(rest.len());
    let (time, zone) = rest.split_at(zone_at);
    let time = time.split('.').next().unwrap_or_default();
    let time_parts: Vec<&str> = time.split(':').collect();
    let hhmmss = match time_parts.as_slice() {
        [h, m] if h.len() == 2 && m.len() == 2 => format!("{h}{m}"),
        [h, m, s] if h.len() == 2 && m.len() == 2 && s.len() == 2 => format!("{h}{m}{s}"),
        _ => return Err(bad()),
    };
    let zone = match zone {
        "" => host::config(TIMEZONE_KEY).unwrap_or_else(|| "UTC".to_owned()),
        "Z" => "UTC".to_owned(),
        offset if offset.len() == 6 && offset.as_bytes()[3] == b':' => offset.to_owned(),
        _ => return Err(bad()),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !digits(year) || !digits(month) || !digits(day) || !digits(&hhmmss) {
        return Err(bad());
    }
    host::local_to_utc(&format!("{year}{month}{day}"), &hhmmss, &zone)
        .map_err(|why| format!("`{text}`: {why}"))
}

/// Resolves the plant's unit codes to Rec 20, asking the host once per code per document.
#[derive(Debug, Default)]
pub struct Units {
    resolved: Vec<(String, String)>,
}

impl Units {
    /// The Rec 20 code of `code`: the tenant's `units` table first (the code as written), then the built-in
    /// table (case-insensitive). A code in neither is `unknown-reference` naming the code and the table; a
    /// table that cannot be read just now is `transient`.
    pub fn resolve(
        &mut self,
        code: &str,
        at: impl Fn() -> Position,
    ) -> Result<String, MappingError> {
        if let Some((_, rec20)) = self.resolved.iter().find(|(c, _)| c == code) {
            return Ok(rec20.clone());
        }
        let from_table = match host::lookup(UNITS_TABLE, code) {
            Ok(found) => found,
            Err(LookupError::NoSuchTable(_)) => None,
            Err(LookupError::Unavailable(why)) => {
                return Err(MappingError::transient(
                    format!("the `{UNITS_TABLE}` table could not be read: {why}"),
                    at(),
                ));
            }
        };
        let upper = code.to_ascii_uppercase();
        let rec20 = from_table
            .or_else(|| {
                BUILT_IN_UNITS
                    .iter()
                    .find(|(c, _)| *c == upper)
                    .map(|(_, r)| (*r).to_owned())
            })
            .ok_or_else(|| {
                MappingError::unknown_reference(
                    format!(
                        "unit `{code}` is neither in the tenant's `{UNITS_TABLE}` table nor in the built-in \
                         table; add it to `{UNITS_TABLE}` with its UN/ECE Rec 20 code"
                    ),
                    at(),
                )
            })?;
        self.resolved.push((code.to_owned(), rec20.clone()));
        Ok(rec20)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_whitespace_collapsed_but_other_controls_are_refused() {
        assert_eq!(
            clean_text("  BRK-ASSY-330 \n").as_deref(),
            Ok("BRK-ASSY-330")
        );
        assert_eq!(
            clean_text("Brake\tassembly\r\n 330").as_deref(),
            Ok("Brake assembly 330")
        );
        assert_eq!(clean_text("A\u{7f}B"), Err('\u{7f}'));
    }

    #[test]
    fn decimals_and_zeros_keep_the_senders_scale() {
        for ok in ["118", "412.500", "-3", ".5", "3."] {
            assert!(is_decimal(ok), "{ok}");
        }
        for bad in ["", "-", ".", "1.2.3", "12,5", "1e3", "+4", "NaN"] {
            assert!(!is_decimal(bad), "{bad:?}");
        }
        assert_eq!(zero_like("118"), "0");
        assert_eq!(zero_like("412.500"), "0.000");
    }

    #[test]
    fn date_times_keep_their_offset_and_drop_fractions() {
        let t = timestamp("2024-06-11T14:30:00-05:00").expect("valid");
        assert_eq!(t.utc, "2024-06-11T19:30:00Z");
        assert_eq!(t.original_offset_minutes, Some(-300));
        let t = timestamp("2024-06-11T14:30:00.250+02:00").expect("valid");
        assert_eq!(t.utc, "2024-06-11T12:30:00Z");
        assert_eq!(t.original_offset_minutes, Some(120));
        assert_eq!(
            timestamp("2024-06-11T14:30:00Z").expect("valid").utc,
            "2024-06-11T14:30:00Z"
        );
        for bad in [
            "2024-06-11",
            "2024-06-11 14:30:00Z",
            "2024-13-11T14:30:00Z",
            "2024-06-11T14:30:00+0500",
            "24-06-11T14:30:00Z",
            "2024-06-11T1430Z",
        ] {
            assert!(timestamp(bad).is_err(), "{bad}");
        }
    }
}
