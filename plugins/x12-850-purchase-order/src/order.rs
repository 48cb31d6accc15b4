//! The purchase order to the segments of one 850 transaction set, between ST and SE: BEG, CUR, REF, the header
//! N1 loops (BY, BT, ST, SU, SF with N3/N4), one PO1 loop per line (PO1, CTP, PID, DTM, N1 ST) and CTT. Every
//! value goes through [`Separators::check`] with the JSON path of the canonical field it came from. `README.md`
//! has the element-by-element table this code implements.

use millwright_sdk::host::{self, LogLevel, LookupError};
use millwright_sdk::types::{
    IdScheme, Identifier, MappingError, OrderKind, OrderLine, Party, PartyRole, PurchaseOrder,
    Purpose,
};

use crate::calendar;
use crate::decimal;
use crate::element::{Separators, Spec};
use crate::path::Path;
use crate::profile::Profile;
use crate::units::Units;

/// The master-data table from the canonical model's reference qualifiers (`purchasing-group`) to X12 REF01
/// qualifiers, for qualifiers that are not X12 codes already.
pub const REFERENCE_QUALIFIERS_TABLE: &str = "x12-reference-qualifiers";

/// The most product id pairs a PO1 holds: PO106/PO107 to PO124/PO125.
const MAX_ITEM_IDS: usize = 10;
/// The most PID segments one description is written in (80 characters each).
const MAX_DESCRIPTION_PIDS: usize = 10;

const BEG03: Spec = Spec::text("BEG03", 1, 22);
const BEG04: Spec = Spec::text("BEG04", 1, 30);
const CUR02: Spec = Spec::code("CUR02", 3, 3);
const REF01: Spec = Spec::code("REF01", 2, 3);
const REF02: Spec = Spec::text("REF02", 1, 30);
const REF03: Spec = Spec::text("REF03", 1, 80);
const N102: Spec = Spec::text("N102", 1, 60);
const N104: Spec = Spec::text("N104", 2, 80);
const N301: Spec = Spec::text("N301", 1, 55);
const N401: Spec = Spec::text("N401", 2, 30);
const N402: Spec = Spec::code("N402", 2, 2);
const N403: Spec = Spec::text("N403", 3, 15);
const N404: Spec = Spec::code("N404", 2, 3);
const PO101: Spec = Spec::text("PO101", 1, 20);
const PO102: Spec = Spec::decimal("PO102", 1, 15);
const PO104: Spec = Spec::decimal("PO104", 1, 17);
const PO107: Spec = Spec::text("PO107", 1, 48);
const CTP03: Spec = Spec::decimal("CTP03", 1, 17);
const PID05: Spec = Spec::text("PID05", 1, 80);

/// One segment of the transaction: its tag and its elements, trailing empty ones already dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub id: &'static str,
    pub elements: Vec<String>,
}

/// The segments of the 850 for one purchase order (ST and SE excluded: the renderer writes them).
pub fn segments(po: &PurchaseOrder, profile: &Profile) -> Result<Vec<Segment>, MappingError> {
    let mut order = Order {
        seps: profile.separators,
        units: Units::default(),
        segments: Vec::new(),
    };
    order.write(po, profile)?;
    Ok(order.segments)
}

/// The transaction being written.
struct Order {
    seps: Separators,
    units: Units,
    segments: Vec<Segment>,
}

impl Order {
    fn push(&mut self, id: &'static str, elements: Vec<String>) {
        let mut elements = elements;
        while elements.last().is_some_and(String::is_empty) {
            elements.pop();
        }
        self.segments.push(Segment { id, elements });
    }

    fn check(&self, value: &str, spec: Spec, at: &Path) -> Result<String, MappingError> {
        self.seps.check(value, spec, at)
    }

    fn optional(&self, value: &str, spec: Spec, at: &Path) -> Result<String, MappingError> {
        Ok(self.seps.optional(value, spec, at)?.unwrap_or_default())
    }

    fn write(&mut self, po: &PurchaseOrder, profile: &Profile) -> Result<(), MappingError> {
        let at = Path::event();
        if po.lines.is_empty() {
            return Err(at.field("lines").invalid(
                "no-lines",
                "the purchase order has no lines, and an 850 needs at least one PO1",
            ));
        }

        // BEG, with BEG04 taken from the first `RE` reference; the other references follow as REF.
        let number = self.check(&po.order_id, BEG03, &at.field("order-id"))?;
        let (release, references) = self.references(po, &at)?;
        let date = match &po.order_date {
            Some(date) => calendar::ccyymmdd(date).ok_or_else(|| {
                at.field("order-date").invalid(
                    "invalid-date",
                    format!("order date `{date}` is not an ISO 8601 day such as 2024-06-10"),
                )
            })?,
            None => event_day(po, &at)?,
        };
        let order_type = match po.kind {
            OrderKind::Standard => profile.standard_order_type.clone(),
            OrderKind::Release => "RL".to_owned(),
            OrderKind::Blanket => "BK".to_owned(),
        };
        self.push(
            "BEG",
            vec![
                purpose_code(po.purpose).to_owned(),
                order_type,
                number,
                release,
                date,
            ],
        );

        if let Some(currency) = &po.currency {
            let currency = self.check(currency, CUR02, &at.field("currency"))?;
            self.push("CUR", vec!["BY".to_owned(), currency]);
        }
        for reference in references {
            self.push("REF", reference);
        }

        // The header N1 loops. A ship-to every line shares is said once here; otherwise each line says its own.
        let lines = at.field("lines");
        let shared_ship_to = match po.lines.first().and_then(|l| l.ship_to.as_ref()) {
            Some(first) if po.lines.iter().all(|l| l.ship_to.as_ref() == Some(first)) => {
                Some(first)
            }
            _ => None,
        };
        self.party("BY", &po.buyer, &at.field("buyer"))?;
        if po.buyer.roles.contains(&PartyRole::BillTo) {
            self.party("BT", &po.buyer, &at.field("buyer"))?;
        }
        if let Some(ship_to) = shared_ship_to {
            self.location("ST", ship_to, &lines.index(0).field("ship-to"))?;
        } else if po.lines.iter().all(|l| l.ship_to.is_none())
            && po.buyer.roles.contains(&PartyRole::ShipTo)
        {
            self.party("ST", &po.buyer, &at.field("buyer"))?;
        }
        self.party("SU", &po.supplier, &at.field("supplier"))?;
        if po.supplier.roles.contains(&PartyRole::ShipFrom) {
            self.party("SF", &po.supplier, &at.field("supplier"))?;
        }

        let mut quantities = Vec::with_capacity(po.lines.len());
        for (i, line) in po.lines.iter().enumerate() {
            let quantity = self.line(line, &lines.index(i), shared_ship_to.is_none())?;
            quantities.push(quantity);
        }

        if po.lines.len() > 999_999 {
            return Err(lines.invalid(
                "too-many-lines",
                "the order has more lines than CTT01 can count (999999)",
            ));
        }
        let hash = decimal::hash_total(quantities.iter().map(String::as_str)).unwrap_or_default();
        self.push("CTT", vec![po.lines.len().to_string(), hash]);
        Ok(())
    }

    /// BEG04 (the first reference qualified `RE`, the release number) and the REF segments of the other
    /// references and the revision.
    fn references(
        &self,
        po: &PurchaseOrder,
        at: &Path,
    ) -> Result<(String, Vec<Vec<String>>), MappingError> {
        let mut release = None;
        let mut segments = Vec::new();
        for (k, reference) in po.references.iter().enumerate() {
            let at = at.field("references").index(k);
            let qualifier = reference.qualifier.trim();
            if qualifier == "RE" && release.is_none() {
                release = Some(self.check(&reference.value, BEG04, &at.field("value"))?);
                continue;
            }
            let Some(qualifier) = self.reference_qualifier(qualifier, &at.field("qualifier"))?
            else {
                host::log(
                    LogLevel::Info,
                    &format!(
                        "purchase order {}: reference `{}` has no X12 REF qualifier (add one to the \
                         `{REFERENCE_QUALIFIERS_TABLE}` table); it is left out of the 850",
                        po.order_id, reference.qualifier
                    ),
                );
                continue;
            };
            let value = self.optional(&reference.value, REF02, &at.field("value"))?;
            let description = match &reference.description {
                Some(d) => self.optional(d, REF03, &at.field("description"))?,
                None => String::new(),
            };
            if value.is_empty() && description.is_empty() {
                continue;
            }
            segments.push(vec![qualifier, value, description]);
        }
        if let Some(revision) = &po.revision {
            let revision = self.optional(revision, REF02, &at.field("revision"))?;
            if !revision.is_empty() {
                // REF*PP: purchase order revision number.
                segments.push(vec!["PP".to_owned(), revision]);
            }
        }
        Ok((release.unwrap_or_default(), segments))
    }

    /// The X12 REF01 for a canonical reference qualifier: the qualifier itself when it is already an X12 code
    /// (two or three upper-case letters or digits), else the tenant's `x12-reference-qualifiers` row, else none.
    fn reference_qualifier(
        &self,
        qualifier: &str,
        at: &Path,
    ) -> Result<Option<String>, MappingError> {
        if is_code(qualifier, 2, 3) {
            return self.check(qualifier, REF01, at).map(Some);
        }
        match host::lookup(REFERENCE_QUALIFIERS_TABLE, qualifier) {
            Ok(Some(row)) => {
                let code = row.trim();
                if is_code(code, 2, 3) {
                    Ok(Some(code.to_owned()))
                } else {
                    Err(at.unknown(
                        "invalid-table-value",
                        format!(
                            "the `{REFERENCE_QUALIFIERS_TABLE}` table maps `{qualifier}` to `{row}`, which is \
                             not an X12 REF qualifier (two or three upper-case letters or digits); correct the \
                             row"
                        ),
                    ))
                }
            }
            Ok(None) | Err(LookupError::NoSuchTable(_)) => Ok(None),
            Err(LookupError::Unavailable(why)) => Err(at.transient(
                "lookup-unavailable",
                format!("the `{REFERENCE_QUALIFIERS_TABLE}` table could not be read: {why}"),
            )),
        }
    }

    /// An N1 loop for a party: N1 with its name and its preferred id, then N3 and N4 from its address.
    fn party(&mut self, code: &str, party: &Party, at: &Path) -> Result<(), MappingError> {
        let name = match &party.name {
            Some(name) => self.optional(name, N102, &at.field("name"))?,
            None => String::new(),
        };
        let (qualifier, id) = match preferred_id(&party.ids) {
            Some((k, qualifier)) => {
                let at = at.field("ids").index(k).field("value");
                (qualifier, self.check(&party.ids[k].value, N104, &at)?)
            }
            None => (String::new(), String::new()),
        };
        if name.is_empty() && id.is_empty() {
            return Err(at.invalid(
                "unnamed-party",
                format!(
                    "N1*{code} needs a name or an id, and this party has neither a name nor a GLN, DUNS, \
                     internal or mutually defined id"
                ),
            ));
        }
        self.push("N1", vec![code.to_owned(), name, qualifier, id]);

        let Some(address) = &party.address else {
            return Ok(());
        };
        let at = at.field("address");
        let mut lines = Vec::new();
        for (k, line) in address.lines.iter().enumerate() {
            let line = self.optional(line, N301, &at.field("lines").index(k))?;
            if !line.is_empty() {
                lines.push(line);
            }
        }
        if lines.len() > 4 {
            return Err(at.field("lines").invalid(
                "too-many-address-lines",
                format!(
                    "the address has {} lines; the 850 holds four (two N3 segments of two)",
                    lines.len()
                ),
            ));
        }
        for pair in lines.chunks(2) {
            self.push("N3", pair.to_vec());
        }
        let field = |value: &Option<String>, spec: Spec, name: &str| match value {
            Some(v) => self.optional(v, spec, &at.field(name)),
            None => Ok(String::new()),
        };
        let n4 = vec![
            field(&address.city, N401, "city")?,
            field(&address.region, N402, "region")?,
            field(&address.postal_code, N403, "postal-code")?,
            field(&address.country, N404, "country")?,
        ];
        if n4.iter().any(|e| !e.is_empty()) {
            self.push("N4", n4);
        }
        Ok(())
    }

    /// An N1 loop for a place known only by its id (a line's ship-to).
    fn location(&mut self, code: &str, id: &Identifier, at: &Path) -> Result<(), MappingError> {
        let Some(qualifier) = party_qualifier(&id.scheme) else {
            return Err(at.field("scheme").invalid(
                "unsupported-scheme",
                format!(
                    "N1*{code} names a place by a GLN, DUNS, internal, mutually defined or X12-qualified id, \
                     and this one is a {} id",
                    scheme_name(&id.scheme)
                ),
            ));
        };
        let value = self.check(&id.value, N104, &at.field("value"))?;
        self.push("N1", vec![code.to_owned(), String::new(), qualifier, value]);
        Ok(())
    }

    /// One PO1 loop. Returns PO102, for the hash total.
    fn line(
        &mut self,
        line: &OrderLine,
        at: &Path,
        own_ship_to: bool,
    ) -> Result<String, MappingError> {
        let number = self.optional(&line.line_number, PO101, &at.field("line-number"))?;

        let quantity_at = at.field("quantity");
        if line.quantity.value.trim().starts_with('-') {
            return Err(quantity_at.field("value").invalid(
                "negative-quantity",
                format!(
                    "quantity `{}` is negative, and an order line orders a quantity",
                    line.quantity.value
                ),
            ));
        }
        let quantity = self.check(&line.quantity.value, PO102, &quantity_at.field("value"))?;
        let unit = self
            .units
            .resolve(&line.quantity.unit, &quantity_at.field("unit"))?;

        // The unit price: PO104/PO105 when it is per the line's unit, else a CTP with the unit it is per.
        let mut price = (String::new(), String::new());
        let mut ctp = None;
        if let Some(p) = &line.price {
            let price_at = at.field("price");
            if p.amount.trim().starts_with('-') {
                return Err(price_at.field("amount").invalid(
                    "negative-price",
                    format!("unit price `{}` is negative", p.amount),
                ));
            }
            match p.per_unit.as_deref() {
                Some(per) if per != line.quantity.unit => {
                    let amount = self.check(&p.amount, CTP03, &price_at.field("amount"))?;
                    let per = self.units.resolve(per, &price_at.field("per-unit"))?;
                    // CTP02 UCP: unit cost price; CTP04/CTP05: per 1 of that unit.
                    ctp = Some(vec![
                        String::new(),
                        "UCP".to_owned(),
                        amount,
                        "1".to_owned(),
                        per,
                    ]);
                }
                _ => {
                    let amount = self.check(&p.amount, PO104, &price_at.field("amount"))?;
                    // PO105 PE: price per each unit of PO103.
                    price = (amount, "PE".to_owned());
                }
            }
        }

        let ids = self.item_ids(line, &at.field("item"))?;
        let mut po1 = vec![number, quantity.clone(), unit, price.0, price.1];
        for (qualifier, id) in ids {
            po1.push(qualifier);
            po1.push(id);
        }
        self.push("PO1", po1);
        if let Some(ctp) = ctp {
            self.push("CTP", ctp);
        }

        if let Some(description) = &line.item.description {
            let at = at.field("item").field("description");
            let whole = self
                .seps
                .check(description, Spec::text("PID05", 0, usize::MAX), &at)?;
            let pieces = split_description(&whole, PID05.max);
            if pieces.len() > MAX_DESCRIPTION_PIDS {
                return Err(at.invalid(
                    "too-long",
                    format!(
                        "the description has {} characters; the 850 carries at most {MAX_DESCRIPTION_PIDS} \
                         PID segments of {} characters",
                        whole.len(),
                        PID05.max
                    ),
                ));
            }
            for piece in pieces {
                // PID01 F: a free-form description.
                self.push(
                    "PID",
                    vec![
                        "F".to_owned(),
                        String::new(),
                        String::new(),
                        String::new(),
                        piece,
                    ],
                );
            }
        }

        if let Some(date) = &line.requested_date {
            let day = calendar::ccyymmdd(date).ok_or_else(|| {
                at.field("requested-date").invalid(
                    "invalid-date",
                    format!("requested date `{date}` is not an ISO 8601 day such as 2024-06-18"),
                )
            })?;
            // DTM01 002: delivery requested.
            self.push("DTM", vec!["002".to_owned(), day]);
        }

        if own_ship_to && let Some(ship_to) = &line.ship_to {
            self.location("ST", ship_to, &at.field("ship-to"))?;
        }
        Ok(quantity)
    }

    /// The PO1 product id pairs: the buyer's part number (`BP`, or the internal number when the item has no
    /// buyer part), the vendor's (`VP`), then the other ids in the order the event gives them.
    fn item_ids(&self, line: &OrderLine, at: &Path) -> Result<Vec<(String, String)>, MappingError> {
        let ids = &line.item.ids;
        let has_buyer_part = ids.iter().any(|id| id.scheme == IdScheme::BuyerPart);
        let rank = |scheme: &IdScheme| match scheme {
            IdScheme::BuyerPart => 0,
            IdScheme::Internal => 0,
            IdScheme::VendorPart => 1,
            _ => 2,
        };
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|&k| rank(&ids[k].scheme));

        let mut pairs: Vec<(String, String)> = Vec::new();
        for k in order {
            let id = &ids[k];
            let id_at = at.field("ids").index(k);
            let qualifier = match &id.scheme {
                IdScheme::BuyerPart => "BP".to_owned(),
                // The tenant's own item number is the buyer's part number, unless the item carries one.
                IdScheme::Internal if !has_buyer_part => "BP".to_owned(),
                IdScheme::Internal => continue,
                IdScheme::VendorPart => "VP".to_owned(),
                IdScheme::ManufacturerPart => "MG".to_owned(),
                IdScheme::EngineeringChange => "EC".to_owned(),
                IdScheme::MutuallyDefined => "ZZ".to_owned(),
                IdScheme::Gtin => {
                    let (qualifier, gtin) = gtin(&id.value).ok_or_else(|| {
                        id_at.field("value").invalid(
                            "invalid-gtin",
                            format!("GTIN `{}` is not 8, 12, 13 or 14 digits", id.value),
                        )
                    })?;
                    pairs.push((qualifier.to_owned(), gtin));
                    continue;
                }
                IdScheme::Other(q) if is_code(q, 2, 2) => q.clone(),
                IdScheme::Sscc | IdScheme::Duns | IdScheme::Gln | IdScheme::Other(_) => {
                    host::log(
                        LogLevel::Info,
                        &format!(
                            "{}: the {} id has no PO1 product id qualifier; it is left out",
                            id_at.as_str(),
                            scheme_name(&id.scheme)
                        ),
                    );
                    continue;
                }
            };
            let value = self.check(&id.value, PO107, &id_at.field("value"))?;
            if !pairs.iter().any(|(q, v)| *q == qualifier && *v == value) {
                pairs.push((qualifier, value));
            }
        }
        if pairs.is_empty() {
            return Err(at.field("ids").invalid(
                "no-item-id",
                "the item has no id a PO1 can carry (buyer part, internal, vendor part, manufacturer part, GTIN, \
                 engineering change, mutually defined or an X12 qualifier), so the supplier could not tell what \
                 is ordered",
            ));
        }
        if pairs.len() > MAX_ITEM_IDS {
            return Err(at.field("ids").invalid(
                "too-many-item-ids",
                format!(
                    "the item has {} ids; a PO1 holds {MAX_ITEM_IDS} (PO106/PO107 to PO124/PO125)",
                    pairs.len()
                ),
            ));
        }
        Ok(pairs)
    }
}

/// BEG01 (element 353) for a purpose.
fn purpose_code(purpose: Purpose) -> &'static str {
    match purpose {
        Purpose::Original => "00",
        Purpose::Cancel => "01",
        Purpose::Change => "04",
        Purpose::Replace => "05",
        Purpose::Confirmation => "06",
        Purpose::Duplicate => "07",
    }
}

/// The order date when the event gives none: the day of its event time where the sender was (its original
/// offset), else in UTC.
fn event_day(po: &PurchaseOrder, at: &Path) -> Result<String, MappingError> {
    let time = &po.header.event_time;
    let minutes = calendar::utc_minutes(&time.utc).ok_or_else(|| {
        at.field("header").field("event-time").field("utc").invalid(
            "invalid-date",
            format!(
                "the order has no order date, and its event time `{}` is not an RFC 3339 UTC instant",
                time.utc
            ),
        )
    })?;
    let offset = i64::from(time.original_offset_minutes.unwrap_or(0));
    Ok(calendar::date8(minutes + offset))
}

/// Whether `text` is an X12 code of `min` to `max` upper-case letters or digits.
fn is_code(text: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// The N103 qualifier (element 66) of a party id scheme: `UL` GLN, `1` DUNS, `92` assigned by the buyer (the
/// tenant's internal ids), `ZZ` mutually defined, or the X12 qualifier an `other` id was read with (`91`
/// assigned by the seller ...).
fn party_qualifier(scheme: &IdScheme) -> Option<String> {
    Some(match scheme {
        IdScheme::Gln => "UL".to_owned(),
        IdScheme::Duns => "1".to_owned(),
        IdScheme::Internal => "92".to_owned(),
        IdScheme::MutuallyDefined => "ZZ".to_owned(),
        IdScheme::Other(q) if is_code(q, 1, 2) => q.clone(),
        _ => return None,
    })
}

/// The id a party is named by in N103/N104, by preference: GLN, DUNS, internal, mutually defined, any other
/// id with an X12 qualifier. Returns its index and qualifier.
fn preferred_id(ids: &[Identifier]) -> Option<(usize, String)> {
    let rank = |scheme: &IdScheme| match scheme {
        IdScheme::Gln => 0,
        IdScheme::Duns => 1,
        IdScheme::Internal => 2,
        IdScheme::MutuallyDefined => 3,
        _ => 4,
    };
    ids.iter()
        .enumerate()
        .filter_map(|(k, id)| party_qualifier(&id.scheme).map(|q| (rank(&id.scheme), k, q)))
        .min_by_key(|(rank, k, _)| (*rank, *k))
        .map(|(_, k, q)| (k, q))
}

/// The PO1 qualifier and value of a GTIN: `UP` for 12 digits, `EN` for 13, `UK` for 14, and a GTIN-8 written
/// as its 14-digit form under `UK`.
fn gtin(value: &str) -> Option<(&'static str, String)> {
    let value = value.trim();
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match value.len() {
        8 => Some(("UK", format!("{value:0>14}"))),
        12 => Some(("UP", value.to_owned())),
        13 => Some(("EN", value.to_owned())),
        14 => Some(("UK", value.to_owned())),
        _ => None,
    }
}

/// A description in pieces of at most `max` characters, broken after a space where there is one.
fn split_description(text: &str, max: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        if rest.len() <= max {
            pieces.push(rest.to_owned());
            break;
        }
        // The text is ASCII (checked before), so byte positions are character positions.
        let cut = rest[..=max].rfind(' ').filter(|&i| i > 0).unwrap_or(max);
        pieces.push(rest[..cut].trim_end().to_owned());
        rest = rest[cut..].trim_start();
    }
    pieces
}

/// The canonical (WIT) name of a scheme, for messages.
fn scheme_name(scheme: &IdScheme) -> String {
    match scheme {
        IdScheme::BuyerPart => "buyer-part".to_owned(),
        IdScheme::VendorPart => "vendor-part".to_owned(),
        IdScheme::ManufacturerPart => "manufacturer-part".to_owned(),
        IdScheme::Gtin => "gtin".to_owned(),
        IdScheme::EngineeringChange => "engineering-change".to_owned(),
        IdScheme::Sscc => "sscc".to_owned(),
        IdScheme::Duns => "duns".to_owned(),
        IdScheme::Gln => "gln".to_owned(),
        IdScheme::MutuallyDefined => "mutually-defined".to_owned(),
        IdScheme::Internal => "internal".to_owned(),
        IdScheme::Other(q) => format!("other `{q}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_descriptions_break_between_words() {
        let text = "HEX BOLT M10X40 8.8 ZINC FLAKE COATED, DIN 933, PACKED IN CARTONS OF 500 PIECES FOR PLANT P2 LINE 3";
        let pieces = split_description(text, 40);
        assert!(pieces.iter().all(|p| p.len() <= 40), "{pieces:?}");
        assert_eq!(pieces.join(" "), text);
        assert_eq!(split_description(&"X".repeat(90), 80).len(), 2);
        assert_eq!(split_description("  ", 80), Vec::<String>::new());
    }

    #[test]
    fn gtins_take_the_qualifier_of_their_length() {
        assert_eq!(
            gtin("036000291452"),
            Some(("UP", "036000291452".to_owned()))
        );
        assert_eq!(
            gtin("4006381333931"),
            Some(("EN", "4006381333931".to_owned()))
        );
        assert_eq!(gtin("96385074"), Some(("UK", "00000096385074".to_owned())));
        assert_eq!(gtin("12345"), None);
        assert_eq!(gtin("40063813339X1"), None);
    }

    #[test]
    fn parties_are_named_by_gln_before_duns_before_internal_ids() {
        let ids = vec![
            Identifier::internal("ACME"),
            Identifier::duns("123456789"),
            Identifier::gln("5412345000013"),
        ];
        assert_eq!(preferred_id(&ids), Some((2, "UL".to_owned())));
        assert_eq!(preferred_id(&ids[..2]), Some((1, "1".to_owned())));
        assert_eq!(
            preferred_id(&[Identifier::other("91", "V-77")]),
            Some((0, "91".to_owned()))
        );
        assert_eq!(preferred_id(&[Identifier::buyer_part("X")]), None);
    }
}
