//! EDIFACT knowledge every EDIFACT mapper needs: message function codes, code list agencies and item number
//! types to id schemes, measure units to UN/ECE Recommendation 20, decimals with either decimal mark, DTM
//! dates and times by their format code (with the UTC offset a sender may add), and the event header of a
//! message.
//!
//! Like [`crate::x12`], these live in the SDK so that every EDIFACT mapping (a DESADV today, an ORDRSP or a
//! RECADV later) reads `DTM+137:202406111415:203` or `3055 = 9` the same way. The helpers read the parse result
//! in place, through [`crate::edi::view`].
//!
//! ```
//! use millwright_sdk::edi::view::Document;
//! use millwright_sdk::edifact;
//!
//! let doc = Document::parse(b"UNB+UNOC:3+4012345000009:14+5412345000013:14+240611:1415+RS0001'\
//! UNH+1+DESADV:D:96A:UN:EAN005'BGM+351+DES-1+9'DTM+11:202406111415:203'UNT+4+1'UNZ+1+RS0001'")
//!     .expect("parses");
//! let tx = doc.transactions().next().expect("one message");
//! let shipped = edifact::dtm(tx.segments(), "11").expect("a despatch date");
//! let at = shipped.timestamp(tx, Some("Europe/Berlin")).expect("a valid date");
//! assert_eq!(at.utc, "2024-06-11T12:15:00Z");
//! assert_eq!(at.original_offset_minutes, Some(120));
//! ```

use crate::edi::view::{Segment, Segments, Transaction};
use crate::host::{self, LookupError};
use crate::types::{Envelope, EventHeader, IdScheme, MappingError, Position, Purpose, Timestamp};

/// The purpose of a message from its message function code (element 1225, BGM's third element).
///
/// `9` original, `1` cancellation, `3` deletion (read as cancel), `4` change, `5` replace, `6` confirmation,
/// `7` duplicate, `31` copy (read as duplicate). Any other code is `None`.
///
/// ```
/// use millwright_sdk::{edifact, types::Purpose};
/// assert_eq!(edifact::purpose("9"), Some(Purpose::Original));
/// assert_eq!(edifact::purpose("5"), Some(Purpose::Replace));
/// assert_eq!(edifact::purpose("700101"), None);
/// ```
pub fn purpose(code: &str) -> Option<Purpose> {
    Some(match code {
        "9" => Purpose::Original,
        "1" | "3" => Purpose::Cancel,
        "4" => Purpose::Change,
        "5" => Purpose::Replace,
        "6" => Purpose::Confirmation,
        "7" | "31" => Purpose::Duplicate,
        _ => return None,
    })
}

/// The scheme of a party id from the agency that maintains its code list (element 3055, the third component
/// of NAD's C082): `9` GS1 (a GLN), `16` D-U-N-S, `91` assigned by the supplier, `92` by the buyer and `ZZZ`
/// mutually defined; any other agency is kept as [`IdScheme::Other`].
///
/// ```
/// use millwright_sdk::{edifact, types::IdScheme};
/// assert_eq!(edifact::party_id_scheme("9"), IdScheme::Gln);
/// assert_eq!(edifact::party_id_scheme("31B"), IdScheme::Other("31B".into()));
/// ```
pub fn party_id_scheme(agency: &str) -> IdScheme {
    match agency {
        "9" => IdScheme::Gln,
        "16" => IdScheme::Duns,
        "91" | "92" | "ZZZ" => IdScheme::MutuallyDefined,
        other => IdScheme::Other(other.to_owned()),
    }
}

/// The scheme of an item number from its type (element 7143, in LIN's and PIA's C212): `EN`, `SRV` (GS1's
/// code in EANCOM 2002), `UP` and `UK` a GTIN; `SA` (supplier's article number) and `VN` a vendor part; `BP`
/// (buyer's part number) and `IN` (buyer's item number) a buyer part; `MF` a manufacturer part; `EC` an
/// engineering-change level. Any other type is kept as [`IdScheme::Other`]. `NB` (batch) and `SN` (serial)
/// name lots and serials, not items: a mapping reads them before asking for a scheme.
///
/// ```
/// use millwright_sdk::{edifact, types::IdScheme};
/// assert_eq!(edifact::product_id_scheme("SA"), IdScheme::VendorPart);
/// assert_eq!(edifact::product_id_scheme("SRV"), IdScheme::Gtin);
/// assert_eq!(edifact::product_id_scheme("HS"), IdScheme::Other("HS".into()));
/// ```
pub fn product_id_scheme(item_type: &str) -> IdScheme {
    match item_type {
        "EN" | "SRV" | "UP" | "UK" => IdScheme::Gtin,
        "SA" | "VN" => IdScheme::VendorPart,
        "BP" | "IN" => IdScheme::BuyerPart,
        "MF" => IdScheme::ManufacturerPart,
        "EC" => IdScheme::EngineeringChange,
        other => IdScheme::Other(other.to_owned()),
    }
}

/// A numeric EDIFACT value (`n` type) as a canonical decimal string, or `None` when it is not one.
///
/// ISO 9735 lets a sender write the decimal mark as a full stop or a comma whatever its UNA says; the canonical
/// model writes a full stop. Everything else is kept as sent, scale included: an optional `-`, digits, at most
/// one decimal mark, and a digit somewhere (`"12,500"` is `"12.500"`, `",5"` is `".5"`).
///
/// ```
/// use millwright_sdk::edifact::decimal;
/// assert_eq!(decimal("12,500").as_deref(), Some("12.500"));
/// assert_eq!(decimal("24850").as_deref(), Some("24850"));
/// assert_eq!(decimal("-3.5").as_deref(), Some("-3.5"));
/// assert_eq!(decimal("1.234,5"), None);
/// assert_eq!(decimal("12 KGM"), None);
/// assert_eq!(decimal(""), None);
/// ```
pub fn decimal(value: &str) -> Option<String> {
    let digits = value.strip_prefix('-').unwrap_or(value);
    let mut marks = 0;
    let mut any_digit = false;
    for b in digits.bytes() {
        match b {
            b'0'..=b'9' => any_digit = true,
            b'.' | b',' => marks += 1,
            _ => return None,
        }
    }
    (any_digit && marks <= 1).then(|| value.replace(',', "."))
}

/// The built-in table of EDIFACT measure unit codes (element 6411) and their UN/ECE Recommendation 20 codes.
///
/// EDIFACT units are Recommendation 20 codes already, so most rows keep the code; the rest are codes from older
/// revisions that EANCOM still uses (`PCE`, `NAR`, `NPR`) and `EA`, which the canonical model reads as a piece,
/// as [`crate::x12::BUILT_IN_UNITS`] does. A tenant's `units` table overrides any of them.
pub const BUILT_IN_UNITS: &[(&str, &str)] = &[
    ("H87", "H87"), // piece
    ("C62", "C62"), // one
    ("PCE", "H87"), // piece (a code from earlier revisions, common in EANCOM)
    ("NAR", "H87"), // number of articles (earlier revisions)
    ("EA", "H87"),  // each
    ("NPR", "PR"),  // number of pairs (earlier revisions)
    ("PR", "PR"),   // pair
    ("SET", "SET"), // set
    ("DZN", "DZN"), // dozen
    ("KGM", "KGM"), // kilogram
    ("GRM", "GRM"), // gram
    ("TNE", "TNE"), // tonne
    ("LBR", "LBR"), // pound
    ("ONZ", "ONZ"), // ounce
    ("MTR", "MTR"), // metre
    ("CMT", "CMT"), // centimetre
    ("MMT", "MMT"), // millimetre
    ("KMT", "KMT"), // kilometre
    ("FOT", "FOT"), // foot
    ("INH", "INH"), // inch
    ("MTK", "MTK"), // square metre
    ("MTQ", "MTQ"), // cubic metre
    ("LTR", "LTR"), // litre
    ("MLT", "MLT"), // millilitre
    ("CT", "CT"),   // carton
    ("CS", "CS"),   // case
    ("BX", "BX"),   // box
    ("PK", "PK"),   // pack
    ("PF", "PF"),   // pallet (lift)
];

/// The Rec 20 code of an EDIFACT unit code from [`BUILT_IN_UNITS`].
pub fn built_in_unit(code: &str) -> Option<&'static str> {
    BUILT_IN_UNITS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, rec20)| *rec20)
}

/// Resolves EDIFACT unit codes to UN/ECE Recommendation 20 codes, asking the host once per code per document.
///
/// The tenant's master-data table `units` (the one X12 mappings read; key: the code as sent, value: the Rec 20
/// code) wins; a code it does not hold, or a tenant without that table, falls back to [`BUILT_IN_UNITS`]. A
/// code in neither is `unknown-reference` at the given position, so the document is parked until the table is
/// loaded; master data that cannot be read is `transient`.
#[derive(Debug, Default)]
pub struct Units {
    resolved: Vec<(String, String)>,
}

impl Units {
    /// The name of the tenant's master-data table consulted first.
    pub const TABLE: &'static str = "units";

    /// An empty cache; make one per document.
    pub fn new() -> Self {
        Self::default()
    }

    /// The Rec 20 code of `code`, or the error to return for the element at the position `at` makes (called only
    /// when there is an error to return).
    pub fn resolve_with(
        &mut self,
        code: &str,
        at: impl FnOnce() -> Position,
    ) -> Result<String, MappingError> {
        if let Some((_, rec20)) = self.resolved.iter().find(|(c, _)| c == code) {
            return Ok(rec20.clone());
        }
        let from_table = match host::lookup(Self::TABLE, code) {
            Ok(found) => found,
            Err(LookupError::NoSuchTable(_)) => None,
            Err(LookupError::Unavailable(why)) => {
                return Err(MappingError::transient(
                    format!("the `units` table could not be read: {why}"),
                    at(),
                ));
            }
        };
        let rec20 = from_table
            .or_else(|| built_in_unit(code).map(str::to_owned))
            .ok_or_else(|| {
                MappingError::unknown_reference(
                    format!(
                        "unit `{code}` is not a known EDIFACT measure unit; add it to the tenant's `units` \
                         table with its UN/ECE Rec 20 code"
                    ),
                    at(),
                )
                .with_code("unknown-unit")
            })?;
        self.resolved.push((code.to_owned(), rec20.clone()));
        Ok(rec20)
    }
}

/// A date and time as a DTM wrote it, read by its format code but not yet placed in time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalDateTime {
    /// `CCYYMMDD` (a two-digit year is widened: `00`–`49` is 20YY, `50`–`99` 19YY).
    pub date: String,
    /// `HHMM` or `HHMMSS`; empty when the format has no time (midnight).
    pub time: String,
    /// The offset from UTC in minutes, when the format carries one (`205`).
    pub offset_minutes: Option<i32>,
}

/// The date and time formats (element 2379) [`date_time`] reads.
pub const DATE_TIME_FORMATS: &[&str] = &["101", "102", "201", "202", "203", "204", "205"];

/// Reads a DTM value (element 2380) by its format code (element 2379): `101` YYMMDD, `102` CCYYMMDD, `201`
/// YYMMDDHHMM, `202` YYMMDDHHMMSS, `203` CCYYMMDDHHMM, `204` CCYYMMDDHHMMSS, `205` CCYYMMDDHHMMZHHMM (`Z` the
/// sign of the offset from UTC). An empty format is read by the value's length: 8 digits as `102`, 12 as `203`,
/// 14 as `204`. Any other format, or a value that does not fit its format, is an error naming both; the
/// calendar itself (a 30 February) is checked when the value is placed in time.
///
/// ```
/// use millwright_sdk::edifact::date_time;
/// let t = date_time("202406111415+0200", "205").unwrap();
/// assert_eq!((t.date.as_str(), t.time.as_str(), t.offset_minutes), ("20240611", "1415", Some(120)));
/// assert_eq!(date_time("240611", "101").unwrap().date, "20240611");
/// assert!(date_time("20240611", "718").is_err());
/// assert!(date_time("2024061", "102").is_err());
/// ```
pub fn date_time(value: &str, format: &str) -> Result<LocalDateTime, String> {
    let format = match (format, value.len()) {
        ("", 8) => "102",
        ("", 12) => "203",
        ("", 14) => "204",
        ("", _) => {
            return Err(format!(
                "date `{value}` has no format code (2379) and is not 8, 12 or 14 digits long"
            ));
        }
        (format, _) => format,
    };
    let (date_len, time_len, offset) = match format {
        "101" => (6, 0, false),
        "102" => (8, 0, false),
        "201" => (6, 4, false),
        "202" => (6, 6, false),
        "203" => (8, 4, false),
        "204" => (8, 6, false),
        "205" => (8, 4, true),
        other => {
            return Err(format!(
                "date format `{other}` is not one this mapping reads ({})",
                DATE_TIME_FORMATS.join(", ")
            ));
        }
    };
    let wrong = || format!("date `{value}` does not fit format {format}");
    let length = date_len + time_len + if offset { 5 } else { 0 };
    if value.len() != length || !value.is_char_boundary(date_len + time_len) {
        return Err(wrong());
    }
    let (date_time, zone) = value.split_at(date_len + time_len);
    if !date_time.bytes().all(|b| b.is_ascii_digit()) {
        return Err(wrong());
    }
    let (date, time) = date_time.split_at(date_len);
    let date = if date_len == 6 {
        let century = if &date[..2] < "50" { "20" } else { "19" };
        format!("{century}{date}")
    } else {
        date.to_owned()
    };
    let offset_minutes = if offset {
        Some(utc_offset(zone).ok_or_else(wrong)?)
    } else {
        None
    };
    Ok(LocalDateTime {
        date,
        time: time.to_owned(),
        offset_minutes,
    })
}

/// `±HHMM` as minutes east of UTC.
fn utc_offset(value: &str) -> Option<i32> {
    let (sign, digits) = match value.as_bytes().first() {
        Some(b'+') => (1, &value[1..]),
        Some(b'-') => (-1, &value[1..]),
        _ => return None,
    };
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i32 = digits[..2].parse().ok()?;
    let minutes: i32 = digits[2..].parse().ok()?;
    (hours <= 14 && minutes < 60).then_some(sign * (hours * 60 + minutes))
}

/// The qualifier (element 2005) of a DTM that gives the offset from UTC of the DTM before it, in format `406`
/// (`ZHHMM`): `DTM+11:202406111415:203'DTM+735:?+0200:406'`.
pub const UTC_OFFSET_QUALIFIER: &str = "735";

/// A DTM found by its qualifier, with the DTM that gives its offset from UTC when the sender added one.
#[derive(Debug, Clone, Copy)]
pub struct Dtm<'a> {
    /// The DTM segment.
    pub segment: Segment<'a>,
    /// The DTM+735 right after it, when there is one.
    pub offset: Option<Segment<'a>>,
}

/// The first DTM among `segments` whose qualifier (element 2005, the first component of C507) is `qualifier`,
/// with the DTM+735 right after it when there is one.
pub fn dtm<'a>(segments: Segments<'a>, qualifier: &str) -> Option<Dtm<'a>> {
    let mut iter = segments.iter().peekable();
    while let Some(segment) = iter.next() {
        if segment.is("DTM") && segment.component(1, 1) == qualifier {
            let offset = iter
                .peek()
                .filter(|next| next.is("DTM") && next.component(1, 1) == UTC_OFFSET_QUALIFIER)
                .copied();
            return Some(Dtm { segment, offset });
        }
    }
    None
}

impl<'a> Dtm<'a> {
    /// The qualifier (2005).
    pub fn qualifier(&self) -> &'a str {
        self.segment.component(1, 1)
    }

    /// The value (2380), as sent.
    pub fn value(&self) -> &'a str {
        self.segment.component(1, 2)
    }

    /// The format code (2379), as sent.
    pub fn format(&self) -> &'a str {
        self.segment.component(1, 3)
    }

    /// The value read by its format, or `invalid-document` at C507's value (component 2) or format (component 3).
    pub fn local(&self, tx: Transaction<'_>) -> Result<LocalDateTime, MappingError> {
        date_time(self.value(), self.format()).map_err(|why| {
            let component = if why.starts_with("date format") { 3 } else { 2 };
            MappingError::invalid(
                format!("DTM {}: {why}", self.qualifier()),
                tx.at(self.segment, 1).with_component(component),
            )
            .with_code("invalid-date")
        })
    }

    /// The calendar date as ISO 8601 `YYYY-MM-DD` (a time in the value is dropped), or `invalid-document`.
    ///
    /// ```
    /// # use millwright_sdk::edi::view::Document;
    /// # use millwright_sdk::edifact;
    /// let doc = Document::parse(b"UNB+UNOC:3+S:14+R:14+240611:1415+1'UNH+1+DESADV:D:96A:UN'RFF+ON:PO-1'\
    /// DTM+171:20240601:102'UNT+4+1'UNZ+1+1'").unwrap();
    /// let tx = doc.transactions().next().unwrap();
    /// let ordered = edifact::dtm(tx.segments(), "171").unwrap();
    /// assert_eq!(ordered.date(tx).unwrap(), "2024-06-01");
    /// ```
    pub fn date(&self, tx: Transaction<'_>) -> Result<String, MappingError> {
        let local = self.local(tx)?;
        iso_date(&local.date).ok_or_else(|| {
            MappingError::invalid(
                format!(
                    "DTM {}: `{}` is not a calendar date",
                    self.qualifier(),
                    self.value()
                ),
                tx.at(self.segment, 1).with_component(2),
            )
            .with_code("invalid-date")
        })
    }

    /// The instant, in UTC.
    ///
    /// The offset from UTC is the value's own (format `205`), else the DTM+735 after it; then the instant keeps
    /// that offset as its original one. Without either, the local time is in `zone` (the partner's time zone,
    /// an IANA name or `±HH:MM`); with no zone either it is read as UTC and no original offset is claimed.
    /// A value that cannot be read or placed is `invalid-document` at this DTM (or at the DTM+735).
    pub fn timestamp(
        &self,
        tx: Transaction<'_>,
        zone: Option<&str>,
    ) -> Result<Timestamp, MappingError> {
        let local = self.local(tx)?;
        let offset = match (local.offset_minutes, self.offset) {
            (Some(minutes), _) => Some(minutes),
            (None, Some(offset)) => Some(offset_of(offset, tx)?),
            (None, None) => None,
        };
        let fixed;
        let zone_name = match (offset, zone) {
            (Some(minutes), _) => {
                let sign = if minutes < 0 { '-' } else { '+' };
                let minutes = minutes.abs();
                fixed = format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60);
                fixed.as_str()
            }
            (None, Some(zone)) => zone,
            (None, None) => "UTC",
        };
        let mut timestamp =
            host::local_to_utc(&local.date, &local.time, zone_name).map_err(|why| {
                MappingError::invalid(
                    format!("DTM {}: {why}", self.qualifier()),
                    tx.at(self.segment, 1).with_component(2),
                )
                .with_code("invalid-date")
            })?;
        if offset.is_none() && zone.is_none() {
            timestamp.original_offset_minutes = None;
        }
        Ok(timestamp)
    }
}

/// The offset a DTM+735 gives: format `406` (or none) and a value `±HHMM`.
fn offset_of(dtm: Segment<'_>, tx: Transaction<'_>) -> Result<i32, MappingError> {
    let (value, format) = (dtm.component(1, 2), dtm.component(1, 3));
    if !matches!(format, "406" | "") {
        return Err(MappingError::invalid(
            format!("DTM 735 (offset from UTC) has format `{format}`; it must be 406 (ZHHMM)"),
            tx.at(dtm, 1).with_component(3),
        )
        .with_code("invalid-date"));
    }
    utc_offset(value).ok_or_else(|| {
        MappingError::invalid(
            format!("DTM 735 (offset from UTC) `{value}` is not an offset ±HHMM"),
            tx.at(dtm, 1).with_component(2),
        )
        .with_code("invalid-date")
    })
}

/// `CCYYMMDD` as `YYYY-MM-DD` when it is a day of the calendar.
fn iso_date(date: &str) -> Option<String> {
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year: u32 = date[..4].parse().ok()?;
    let month: u32 = date[4..6].parse().ok()?;
    let day: u32 = date[6..].parse().ok()?;
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (1..=days)
        .contains(&day)
        .then(|| format!("{}-{}-{}", &date[..4], &date[4..6], &date[6..]))
}

impl EventHeader {
    /// The header of the event made from one EDIFACT message.
    ///
    /// - `id`: `edifact:<UNB 0004 trimmed>:<UNB 0020>:<UNH 0062>` (ISO 9735 makes the message reference unique
    ///   within its interchange, so a group reference adds nothing);
    /// - `idempotency-key`: the same without `edifact:`, equal when the partner sends the same message twice;
    /// - `source-system`: the envelope's source; `tenant` and `correlation-id`: the envelope's, which the host
    ///   fills in; `site`: none.
    pub fn for_edifact(envelope: &Envelope, tx: Transaction<'_>, event_time: Timestamp) -> Self {
        let interchange = tx.interchange();
        let key = format!(
            "{}:{}:{}",
            interchange.sender_id().trim(),
            interchange.control_number(),
            tx.control_number()
        );
        EventHeader {
            id: format!("edifact:{key}"),
            source_system: envelope.source.clone(),
            tenant: envelope.tenant.clone(),
            site: None,
            event_time,
            correlation_id: envelope.correlation_id.clone(),
            idempotency_key: key,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::InboundMapper;
    use crate::edi::view::Document;
    use crate::harness::Harness;
    use crate::types::{CanonicalEvent, PluginInfo};

    fn message(body: &str) -> Document {
        let segments = body.matches('\'').count() + 2;
        let doc = format!(
            "UNA:+.? 'UNB+UNOC:3+4012345000009:14+5412345000013:14+240611:1415+RS0001'\
             UNH+7+DESADV:D:01B:UN:EAN007'{body}UNT+{segments}+7'UNZ+1+RS0001'"
        );
        Document::parse(doc.as_bytes()).expect("the test message parses")
    }

    #[test]
    fn a_dtm_is_placed_in_the_partner_zone_unless_it_carries_its_own_offset() {
        let doc = message(
            "DTM+137:20240611:102'DTM+11:202406111415:203'DTM+735:?+0100:406'\
             DTM+17:202406131000?+0200:205'DTM+132:20240613080000:204'",
        );
        let tx = doc.transactions().next().expect("a message");
        let at = |qualifier: &str, zone| {
            dtm(tx.segments(), qualifier)
                .expect("present")
                .timestamp(tx, zone)
                .expect("valid")
        };
        // DTM 11 is followed by its offset: +01:00 wins over the zone (Berlin is +02:00 in June).
        let shipped = at("11", Some("Europe/Berlin"));
        assert_eq!(
            (shipped.utc.as_str(), shipped.original_offset_minutes),
            ("2024-06-11T13:15:00Z", Some(60))
        );
        let expected = at("17", Some("America/Chicago"));
        assert_eq!(
            (expected.utc.as_str(), expected.original_offset_minutes),
            ("2024-06-13T08:00:00Z", Some(120))
        );
        let arrival = at("132", Some("Europe/Berlin"));
        assert_eq!(
            (arrival.utc.as_str(), arrival.original_offset_minutes),
            ("2024-06-13T06:00:00Z", Some(120))
        );
        let document = at("137", None);
        assert_eq!(
            (document.utc.as_str(), document.original_offset_minutes),
            ("2024-06-11T00:00:00Z", None)
        );
        assert!(dtm(tx.segments(), "2").is_none());
    }

    #[test]
    fn dates_that_do_not_fit_their_format_are_invalid_at_the_dtm_component() {
        let doc = message(
            "DTM+11:2024061114:203'DTM+17:20240611:718'DTM+2:20240230:102'DTM+171:20240230:102'",
        );
        let tx = doc.transactions().next().expect("a message");
        let error = |qualifier: &str| {
            let found = dtm(tx.segments(), qualifier).expect("present");
            let err = match qualifier {
                "171" => found.date(tx).expect_err("rejected"),
                _ => found.timestamp(tx, Some("UTC")).expect_err("rejected"),
            };
            let MappingError::InvalidDocument(d) = err else {
                panic!("expected invalid-document, got {err:?}")
            };
            (d.message, d.at.segment_index, d.at.component)
        };
        let (message, index, component) = error("11");
        assert!(message.contains("does not fit format 203"), "{message}");
        assert_eq!((index, component), (Some(2), Some(2)));
        let (message, index, component) = error("17");
        assert!(message.contains("`718`"), "{message}");
        assert_eq!((index, component), (Some(3), Some(3)));
        let (message, _, _) = error("2");
        assert!(message.contains("20240230"), "{message}");
        let (message, index, _) = error("171");
        assert!(message.contains("not a calendar date"), "{message}");
        assert_eq!(index, Some(5));
    }

    #[test]
    fn an_offset_dtm_with_another_format_or_a_bad_value_is_invalid() {
        let doc = message(
            "DTM+11:202406111415:203'DTM+735:0100:406'DTM+17:202406111415:203'DTM+735:?+0100:303'",
        );
        let tx = doc.transactions().next().expect("a message");
        for (qualifier, component) in [("11", 2), ("17", 3)] {
            let err = dtm(tx.segments(), qualifier)
                .expect("present")
                .timestamp(tx, None)
                .expect_err("rejected");
            assert_eq!(err.diagnostic().at.segment_id.as_deref(), Some("DTM"));
            assert_eq!(err.diagnostic().at.component, Some(component));
            assert!(err.diagnostic().message.contains("735"));
        }
    }

    #[test]
    fn formats_read_two_digit_years_seconds_and_lengths_without_a_format() {
        let t = date_time("9912312359", "201").expect("valid");
        assert_eq!((t.date.as_str(), t.time.as_str()), ("19991231", "2359"));
        assert_eq!(date_time("491231", "101").expect("valid").date, "20491231");
        assert_eq!(
            date_time("20240611141530", "").expect("valid").time,
            "141530"
        );
        assert_eq!(date_time("202406111415", "").expect("valid").time, "1415");
        assert!(date_time("2024061", "").is_err());
        assert!(
            date_time("202406111415+1500", "205").is_err(),
            "no zone is 15 hours off"
        );
        assert!(
            date_time("2024061114150200", "205").is_err(),
            "the sign is required"
        );
        assert!(date_time("2024-06-11", "102").is_err());
        assert!(date_time("20240611é", "").is_err());
    }

    #[test]
    fn the_event_header_names_sender_interchange_and_message() {
        let doc = message("BGM+351+DES-1+9'");
        let tx = doc.transactions().next().expect("a message");
        let envelope = Envelope::for_bytes("rhein-desadv", Vec::new());
        let header =
            EventHeader::for_edifact(&envelope, tx, Timestamp::utc("2024-06-11T12:15:00Z"));
        assert_eq!(header.id, "edifact:4012345000009:RS0001:7");
        assert_eq!(header.idempotency_key, "4012345000009:RS0001:7");
        assert_eq!(header.source_system, "rhein-desadv");
    }

    #[test]
    fn units_come_from_the_tenant_table_then_the_built_in_one() {
        struct Probe;
        impl InboundMapper for Probe {
            fn describe() -> PluginInfo {
                PluginInfo::new("probe", "0", ["edifact:DESADV"])
            }
            fn map(_: Envelope) -> Result<Vec<CanonicalEvent>, MappingError> {
                let mut units = Units::new();
                let at = || Position::new().with_segment(9, "QTY").with_element(1);
                assert_eq!(units.resolve_with("PCE", at)?, "C62", "the table wins");
                assert_eq!(units.resolve_with("KGM", at)?, "KGM");
                assert_eq!(units.resolve_with("NAR", at)?, "H87");
                let err = units.resolve_with("XYZ", at).expect_err("unknown");
                let MappingError::UnknownReference(d) = &err else {
                    panic!("expected unknown-reference, got {err:?}")
                };
                assert!(d.message.contains("`XYZ`") && d.message.contains("`units`"));
                assert_eq!(
                    (d.at.segment_index, d.code.as_deref()),
                    (Some(9), Some("unknown-unit"))
                );
                Ok(Vec::new())
            }
        }
        let harness = Harness::new().with_lookup("units", "PCE", "C62");
        assert_eq!(
            harness.map::<Probe>(Envelope::for_bytes("t", Vec::new())),
            Ok(Vec::new())
        );
    }

    #[test]
    fn calendar_dates_know_month_lengths_and_leap_years() {
        assert_eq!(iso_date("20240229").as_deref(), Some("2024-02-29"));
        assert_eq!(iso_date("20230229"), None);
        assert_eq!(iso_date("19000229"), None);
        assert_eq!(iso_date("20000229").as_deref(), Some("2000-02-29"));
        assert_eq!(iso_date("20240431"), None);
        assert_eq!(iso_date("20241301"), None);
        assert_eq!(iso_date("20240100"), None);
    }
}
