//! A quality hold or decision as the QMS sends it (`README.md` documents every member) to a canonical
//! `quality-hold`. A message holds one decision or a list of them.

use millwright_sdk::host;
use millwright_sdk::types::{
    CanonicalEvent, Disposition, Envelope, EventHeader, HoldScope, Identifier, ItemRef, LotKey,
    MappingError, QualityHold, Quantity, SerialKey,
};

use crate::json::{At, Document, Object, Units, Value};

/// The profile key naming the site when a decision names none.
pub const SITE_KEY: &str = "site";

/// Units a QMS writes, and their Rec 20 codes; a tenant's `units` table overrides any of them.
pub const BUILT_IN_UNITS: &[(&str, &str)] = &[
    ("EA", "H87"),
    ("PC", "H87"),
    ("PCE", "H87"),
    ("KG", "KGM"),
    ("G", "GRM"),
    ("T", "TNE"),
    ("LB", "LBR"),
    ("M", "MTR"),
    ("L", "LTR"),
    ("H87", "H87"),
    ("C62", "C62"),
    ("KGM", "KGM"),
    ("GRM", "GRM"),
    ("TNE", "TNE"),
    ("LBR", "LBR"),
    ("MTR", "MTR"),
    ("LTR", "LTR"),
];

/// The QMS's dispositions and the canonical decision each is.
pub const DISPOSITIONS: &[(&str, Disposition)] = &[
    ("hold", Disposition::Hold),
    ("release", Disposition::Release),
    ("use-as-is", Disposition::Release),
    ("scrap", Disposition::Scrap),
    ("rework", Disposition::Rework),
    ("repair", Disposition::Rework),
];

/// Maps one message.
pub fn map(envelope: &Envelope) -> Result<Vec<CanonicalEvent>, MappingError> {
    let doc = Document::parse(&envelope.payload)?;
    let root = doc.root();
    let decisions = match &root.node.value {
        Value::Array(_) => root.items()?,
        Value::Object(_) => vec![root],
        other => {
            return Err(root.invalid(format!(
                "expected a quality hold object or a list of them, found {}",
                other.kind()
            )));
        }
    };
    let mut units = Units::new(BUILT_IN_UNITS);
    decisions
        .iter()
        .enumerate()
        .map(|(i, at)| hold(at, i + 1, envelope, &mut units))
        .collect()
}

fn hold(
    at: &At,
    n: usize,
    envelope: &Envelope,
    units: &mut Units,
) -> Result<CanonicalEvent, MappingError> {
    let hold = at.object()?;
    if !hold.has("holdId") {
        let looks_like = ["ManufacturingOrder", "PurchaseOrder", "receiptId"]
            .into_iter()
            .find(|k| hold.has(k))
            .map(|k| format!(" (it has `{k}`: another kind of document)"))
            .unwrap_or_default();
        return Err(at.invalid(format!(
            "has no `holdId`; expected a quality hold or decision{looks_like}"
        )));
    }
    let hold_id = hold.string("holdId")?;
    let disposition_at = hold.required("disposition")?;
    let disposition_text = disposition_at.text()?.unwrap_or_default();
    let Some((_, disposition)) = DISPOSITIONS
        .iter()
        .find(|(name, _)| *name == disposition_text)
    else {
        let names: Vec<&str> = DISPOSITIONS.iter().map(|(n, _)| *n).collect();
        return Err(disposition_at.invalid(format!(
            "`{disposition_text}` is not a disposition; expected one of {}",
            names.join(", ")
        )));
    };
    let scope = scope(&hold.required("scope")?.object()?)?;
    let reason = reason(&hold)?;
    let decided_by = decided_by(&hold)?;
    let quantity = match hold.opt("quantity") {
        Some(q) => {
            let q = q.object()?;
            let value = q.required("value")?.decimal(false)?;
            let unit = units.resolve(&q.required("unit")?)?;
            Some(Quantity::new(value, unit))
        }
        None => None,
    };
    let decided_at = hold.required("decidedAt")?.timestamp()?;
    let site = match hold.opt_string("site")? {
        Some(site) => Some(site),
        None => host::config(SITE_KEY).filter(|s| !s.trim().is_empty()),
    };
    let header = EventHeader {
        id: format!("json:{}:{n}", envelope.message_id),
        source_system: envelope.source.clone(),
        tenant: envelope.tenant.clone(),
        site,
        event_time: decided_at.clone(),
        correlation_id: envelope.correlation_id.clone(),
        idempotency_key: format!(
            "{}:{hold_id}:{disposition_text}:{}",
            envelope.source, decided_at.utc
        ),
    };
    Ok(CanonicalEvent::QualityHold(QualityHold {
        header,
        hold_id,
        scope,
        reason,
        disposition: *disposition,
        quantity,
        at: decided_at,
        decided_by,
    }))
}

/// What the decision covers, by `scope.type`.
fn scope(scope: &Object) -> Result<HoldScope, MappingError> {
    let kind_at = scope.required("type")?;
    let kind = kind_at.text()?.unwrap_or_default();
    let item = |scope: &Object| -> Result<ItemRef, MappingError> {
        let number = scope.string("item")?;
        Ok(ItemRef {
            ids: vec![
                Identifier::internal(number.clone()),
                Identifier::buyer_part(number),
            ],
            description: scope.opt_string("itemDescription")?,
        })
    };
    Ok(match kind.as_str() {
        "item" => HoldScope::Item(item(scope)?),
        "lot" => HoldScope::Lot(LotKey {
            item: item(scope)?,
            lot: scope.string("lot")?,
        }),
        "serial" => HoldScope::Serial(SerialKey {
            item: item(scope)?,
            serial: scope.string("serial")?,
        }),
        "location" => HoldScope::Location(Identifier::internal(scope.string("location")?)),
        "handling-unit" => HoldScope::HandlingUnit(scope.string("handlingUnit")?),
        _ => {
            return Err(kind_at.invalid(format!(
                "`{kind}` is not a scope type; expected item, lot, serial, location or handling-unit"
            )));
        }
    })
}

/// The canonical reason: `<code>: <text>`, or the one of them that is sent:
/// `DIM-RUNOUT: Rotor runout above 0.05 mm`.
fn reason(hold: &Object) -> Result<String, MappingError> {
    let reason_at = hold.required("reason")?;
    let reason = reason_at.object()?;
    let code = reason.opt_string("code")?;
    let text = reason.opt_string("text")?;
    let out = match (code, text) {
        (Some(code), Some(text)) => format!("{code}: {text}"),
        (Some(one), None) | (None, Some(one)) => one,
        (None, None) => {
            return Err(reason_at.invalid("has neither `code` nor `text`; a hold needs a reason"));
        }
    };
    Ok(out)
}

/// Who decided, from `decidedBy`: `"<name> (<id>)"`, or the one of them that is sent.
fn decided_by(hold: &Object) -> Result<Option<String>, MappingError> {
    let Some(by) = hold.opt("decidedBy") else {
        return Ok(None);
    };
    let by = by.object()?;
    let id = by.opt_string("id")?;
    let name = by.opt_string("name")?;
    match (name, id) {
        (Some(name), Some(id)) => Ok(Some(format!("{name} ({id})"))),
        (Some(one), None) | (None, Some(one)) => Ok(Some(one)),
        (None, None) => Err(by.at.invalid("has neither `id` nor `name`")),
    }
}
