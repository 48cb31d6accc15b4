//! X12 knowledge every X12 mapper needs: purpose codes, qualifiers to id schemes, unit codes to UN/ECE
//! Recommendation 20, dates in the partner's time zone and the event header of a transaction.
//!
//! These live in the SDK rather than in each plugin so that two partners' 856 mappings agree on what `VN` or
//! `LB` means; a plugin that needs a partner's own reading overrides one case and keeps the rest.

use crate::edi::TransactionRef;
use crate::host::{self, LookupError};
use crate::types::{Envelope, EventHeader, IdScheme, MappingError, Position, Purpose, Timestamp};

/// The purpose of a document from BSN01 / BEG01 (element 353).
///
/// `00` original, `01` cancel, `04` change, `05` replace, `06` confirmation, `07` duplicate; `14` (advance
/// notification, which some suppliers send on every ASN) reads as original. Any other code is `None`.
pub fn purpose(code: &str) -> Option<Purpose> {
    Some(match code {
        "00" | "14" => Purpose::Original,
        "01" => Purpose::Cancel,
        "04" => Purpose::Change,
        "05" => Purpose::Replace,
        "06" => Purpose::Confirmation,
        "07" => Purpose::Duplicate,
        _ => return None,
    })
}

/// The scheme of a product id from its qualifier (element 235: LIN, PO1, PID): `BP` buyer part, `VP`/`VN`
/// vendor part, `MG` manufacturer part, `UP`/`UK`/`EN` GTIN, `EC` engineering change; any other qualifier is
/// kept as [`IdScheme::Other`].
///
/// ```
/// use millwright_sdk::{types::IdScheme, x12};
/// assert_eq!(x12::product_id_scheme("VN"), IdScheme::VendorPart);
/// assert_eq!(x12::product_id_scheme("CB"), IdScheme::Other("CB".into()));
/// ```
pub fn product_id_scheme(qualifier: &str) -> IdScheme {
    match qualifier {
        "BP" => IdScheme::BuyerPart,
        "VP" | "VN" => IdScheme::VendorPart,
        "MG" => IdScheme::ManufacturerPart,
        "UP" | "UK" | "EN" => IdScheme::Gtin,
        "EC" => IdScheme::EngineeringChange,
        other => IdScheme::Other(other.to_owned()),
    }
}

/// The scheme of a party id from its qualifier (element 66: N103): `1`/`9` D-U-N-S, `UL` GLN, `92`/`ZZ`
/// mutually defined; any other qualifier is kept as [`IdScheme::Other`].
pub fn party_id_scheme(qualifier: &str) -> IdScheme {
    match qualifier {
        "1" | "9" => IdScheme::Duns,
        "UL" => IdScheme::Gln,
        "92" | "ZZ" => IdScheme::MutuallyDefined,
        other => IdScheme::Other(other.to_owned()),
    }
}

/// The built-in table of X12 unit codes (element 355) and their UN/ECE Recommendation 20 codes.
///
/// Only codes whose meaning is the same for every partner are here; a tenant's `units` table overrides any of
/// them (an automotive buyer may want `EA` as `C62`).
pub const BUILT_IN_UNITS: &[(&str, &str)] = &[
    ("EA", "H87"), // each
    ("PC", "H87"), // piece
    ("UN", "C62"), // unit
    ("LB", "LBR"), // pound
    ("KG", "KGM"), // kilogram
    ("GR", "GRM"), // gram
    ("OZ", "ONZ"), // ounce
    ("CA", "CS"),  // case
    ("CT", "CT"),  // carton
    ("PK", "PK"),  // package
    ("BX", "BX"),  // box
    ("DZ", "DZN"), // dozen
    ("PR", "PR"),  // pair
    ("FT", "FOT"), // foot
    ("IN", "INH"), // inch
    ("YD", "YRD"), // yard
    ("MR", "MTR"), // meter
    ("CM", "CMT"), // centimeter
    ("MM", "MMT"), // millimeter
    ("SF", "FTK"), // square foot
    ("GA", "GLL"), // US gallon
    ("LT", "LTR"), // liter
    ("ML", "MLT"), // milliliter
];

/// The Rec 20 code of an X12 unit code from [`BUILT_IN_UNITS`].
pub fn built_in_unit(x12_code: &str) -> Option<&'static str> {
    BUILT_IN_UNITS
        .iter()
        .find(|(code, _)| *code == x12_code)
        .map(|(_, rec20)| *rec20)
}

/// Resolves X12 unit codes to UN/ECE Recommendation 20 codes, asking the host once per code per document.
///
/// The tenant's master-data table `units` (X12 code → Rec 20 code) wins; a code it does not hold, or a tenant
/// without that table, falls back to [`BUILT_IN_UNITS`]. A code in neither is `unknown-reference` at the given
/// position, so the document is parked until the table is loaded; master data that cannot be read is
/// `transient`.
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

    /// The Rec 20 code of `code`, or the error to return for the element at `at`.
    pub fn resolve(&mut self, code: &str, at: &Position) -> Result<String, MappingError> {
        self.resolve_with(code, || at.clone())
    }

    /// [`Units::resolve`] with the element's position made only when there is an error to return: a mapping
    /// resolves a unit for every quantity, and a position holds strings of its own.
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
                        "unit `{code}` is not a known X12 unit; add it to the tenant's `units` table \
                         with its UN/ECE Rec 20 code"
                    ),
                    at(),
                )
            })?;
        self.resolved.push((code.to_owned(), rec20.clone()));
        Ok(rec20)
    }
}

/// Whether a value is an X12 decimal (`R` type) as sent: an optional `-`, digits, and at most one decimal point
/// with a digit somewhere (`"12.5"`, `"-3"`, `".5"`). Mappings keep such values as strings, unchanged.
///
/// ```
/// use millwright_sdk::x12::is_decimal;
/// assert!(is_decimal("60.310") && is_decimal("-3") && is_decimal(".5"));
/// assert!(!is_decimal("") && !is_decimal("1.2.3") && !is_decimal("12 EA") && !is_decimal("-"));
/// ```
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

/// The partner profile key holding the partner's time zone.
pub const TIMEZONE_KEY: &str = "timezone";

/// The partner's time zone from the profile (`timezone`: an IANA name or a fixed offset), `UTC` when the
/// profile does not set one.
pub fn partner_zone() -> String {
    host::config(TIMEZONE_KEY).unwrap_or_else(|| "UTC".to_owned())
}

/// An X12 date and time (`DTM02`/`DTM03`, `BSN03`/`BSN04`) in the partner's zone as a UTC timestamp; a date the
/// host cannot read is `invalid-document` at `at`. See [`host::local_to_utc`] for the rules.
pub fn timestamp(
    date: &str,
    time: &str,
    zone: &str,
    at: &Position,
) -> Result<Timestamp, MappingError> {
    host::local_to_utc(date, time, zone).map_err(|why| MappingError::invalid(why, at.clone()))
}

/// A calendar date `CCYYMMDD` or `YYMMDD` as ISO 8601 `YYYY-MM-DD`, with the century rule of
/// [`host::local_to_utc`]; `None` when it is not a plausible date.
///
/// ```
/// use millwright_sdk::x12::iso_date;
/// assert_eq!(iso_date("20040808").as_deref(), Some("2004-08-08"));
/// assert_eq!(iso_date("030619").as_deref(), Some("2003-06-19"));
/// assert_eq!(iso_date("20041308"), None);
/// ```
pub fn iso_date(date: &str) -> Option<String> {
    if !date.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (year, rest) = match date.len() {
        8 => (date[..4].to_owned(), &date[4..]),
        6 => {
            let yy: u32 = date[..2].parse().ok()?;
            let century = if yy < 50 { 20 } else { 19 };
            (format!("{century}{yy:02}"), &date[2..])
        }
        _ => return None,
    };
    let month: u32 = rest[..2].parse().ok()?;
    let day: u32 = rest[2..].parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    Some(format!("{year}-{month:02}-{day:02}"))
}

impl EventHeader {
    /// The header of the event made from one X12 transaction.
    ///
    /// - `id`: `x12:<ISA06 trimmed>:<ISA13>:<GS06>:<ST02>`;
    /// - `idempotency-key`: `<ISA06 trimmed>:<ISA13>:<GS06>:<ST02>`, equal when the partner sends the same
    ///   transaction twice;
    /// - `source-system`: the envelope's source (the route's source name); `tenant` and `correlation-id`: the
    ///   envelope's, which the host fills in; `site`: none.
    ///
    /// `doc` is a transaction of either form of a parse result: a [`TransactionRef`] of the owned tree, or a
    /// [`view::Transaction`](crate::edi::view::Transaction).
    pub fn for_x12(envelope: &Envelope, doc: impl ControlNumbers, event_time: Timestamp) -> Self {
        let [sender, isa13, gs06, st02] = doc.control_numbers();
        let key = format!("{}:{isa13}:{gs06}:{st02}", sender.trim());
        EventHeader {
            id: format!("x12:{key}"),
            source_system: envelope.source.clone(),
            tenant: envelope.tenant.clone(),
            site: None,
            event_time,
            correlation_id: envelope.correlation_id.clone(),
            idempotency_key: key,
        }
    }
}

/// What names one X12 transaction among everything a partner sends: ISA06 (the sender), ISA13, GS06 and ST02.
pub trait ControlNumbers {
    /// `[ISA06, ISA13, GS06, ST02]`.
    fn control_numbers(&self) -> [&str; 4];
}

impl ControlNumbers for TransactionRef<'_> {
    fn control_numbers(&self) -> [&str; 4] {
        [
            &self.interchange.sender_id,
            &self.interchange.control_number,
            &self.group.control_number,
            &self.transaction.control_number,
        ]
    }
}

impl ControlNumbers for crate::edi::view::Transaction<'_> {
    fn control_numbers(&self) -> [&str; 4] {
        [
            self.interchange().sender_id(),
            self.interchange().control_number(),
            self.group().control_number(),
            self.control_number(),
        ]
    }
}
