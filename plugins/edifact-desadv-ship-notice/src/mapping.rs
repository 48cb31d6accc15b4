//! One document in, its ship notices out: parse, check that every message is a DESADV, read the BGM, then let
//! `header` read the heading section and `packing` the CPS groups, and check the CNT line count.

use millwright_sdk::edi::Standard;
use millwright_sdk::edi::view::{Document, Segment, Transaction};
use millwright_sdk::edifact::{self, Units};
use millwright_sdk::host;
use millwright_sdk::types::{
    CanonicalEvent, Envelope, EventHeader, MappingError, Position, Purpose, Reference, ShipNotice,
};
use millwright_sdk::x12;

use crate::{header, packing};

/// What every part of one message's mapping shares: where errors point, the unit cache, the partner's zone,
/// and the references collected on the way.
pub(crate) struct Ctx<'a> {
    pub(crate) tx: Transaction<'a>,
    pub(crate) units: Units,
    /// The partner's zone from the profile, or `None` when the profile sets none.
    pub(crate) zone: Option<&'a str>,
    pub(crate) references: Vec<Reference>,
}

impl Ctx<'_> {
    /// The position of component `m` of element `n` of a segment.
    pub(crate) fn at(&self, segment: Segment<'_>, n: u32, m: u32) -> Position {
        self.tx.at(segment, n).with_component(m)
    }

    /// An `invalid-document` error at component `m` of element `n` (`m` = 0: the whole element).
    pub(crate) fn invalid(
        &self,
        segment: Segment<'_>,
        n: u32,
        m: u32,
        code: &str,
        message: impl Into<String>,
    ) -> MappingError {
        let at = match m {
            0 => self.tx.at(segment, n),
            m => self.at(segment, n, m),
        };
        MappingError::invalid(message, at).with_code(code)
    }

    /// Component `m` of element `n`, which the sender must have filled.
    pub(crate) fn required<'s>(
        &self,
        segment: Segment<'s>,
        n: usize,
        m: usize,
        name: &str,
    ) -> Result<&'s str, MappingError> {
        Some(segment.component(n, m))
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                self.invalid(
                    segment,
                    n as u32,
                    m as u32,
                    "missing-element",
                    format!("{} {name} is required but empty", segment.id()),
                )
            })
    }

    /// A number in component `m` of element `n`, as a canonical decimal (either decimal mark read, `.` written).
    pub(crate) fn decimal(
        &self,
        segment: Segment<'_>,
        n: usize,
        m: usize,
        name: &str,
    ) -> Result<String, MappingError> {
        let value = self.required(segment, n, m, name)?;
        edifact::decimal(value).ok_or_else(|| {
            self.invalid(
                segment,
                n as u32,
                m as u32,
                "invalid-quantity",
                format!("{} {name} `{value}` is not a number", segment.id()),
            )
        })
    }

    /// The Rec 20 code of the measure unit in component `m` of element `n`, or of `default` when it is empty.
    pub(crate) fn unit(
        &mut self,
        segment: Segment<'_>,
        n: usize,
        m: usize,
        default: Option<&str>,
        name: &str,
    ) -> Result<String, MappingError> {
        let code = match (segment.component(n, m), default) {
            ("", Some(default)) => default,
            _ => self.required(segment, n, m, name)?,
        };
        let tx = self.tx;
        self.units
            .resolve_with(code, || tx.at(segment, n as u32).with_component(m as u32))
            .map_err(|e| match e {
                MappingError::Transient(_) => e.with_code("lookup-unavailable"),
                other => other,
            })
    }
}

/// Maps a document holding one or more DESADV messages.
pub(crate) fn map(envelope: &Envelope) -> Result<Vec<CanonicalEvent>, MappingError> {
    let document = Document::parse(&envelope.payload)?;
    let zone = host::config(x12::TIMEZONE_KEY);
    let mut events = Vec::new();
    for tx in document.transactions() {
        check_is_desadv(tx)?;
        events.push(CanonicalEvent::ShipNotice(ship_notice(
            envelope,
            tx,
            zone.as_deref(),
        )?));
    }
    Ok(events)
}

fn check_is_desadv(tx: Transaction<'_>) -> Result<(), MappingError> {
    let (standard, header) = match tx.interchange().standard() {
        Standard::X12 => ("X12", "ST"),
        Standard::Edifact => ("EDIFACT", "UNH"),
    };
    if tx.interchange().standard() == Standard::Edifact && tx.code() == "DESADV" {
        return Ok(());
    }
    let at = Position::new()
        .with_transaction(tx.control_number().to_owned())
        .with_segment(1, header)
        .with_element(if standard == "X12" { 1 } else { 2 });
    Err(MappingError::invalid(
        format!(
            "expected an EDIFACT DESADV despatch advice, got {} ({standard}); this route maps only DESADV",
            tx.code()
        ),
        at,
    )
    .with_code("wrong-transaction"))
}

fn ship_notice(
    envelope: &Envelope,
    tx: Transaction<'_>,
    zone: Option<&str>,
) -> Result<ShipNotice, MappingError> {
    let mut ctx = Ctx {
        tx,
        units: Units::new(),
        zone,
        references: Vec::new(),
    };
    let segments = tx.segments();
    let detail_start = segments
        .iter()
        .position(|s| matches!(s.id(), "CPS" | "LIN" | "UNS" | "CNT"))
        .unwrap_or(segments.len());
    let summary_start = segments
        .iter()
        .position(|s| matches!(s.id(), "UNS" | "CNT"))
        .unwrap_or(segments.len())
        .max(detail_start);
    let heading = segments.range(0, detail_start);

    let bgm = heading.find("BGM").ok_or_else(|| {
        MappingError::invalid(
            format!(
                "DESADV {} has no BGM segment (beginning of message) before its detail",
                tx.control_number()
            ),
            Position::new()
                .with_transaction(tx.control_number().to_owned())
                .with_segment(2, "BGM"),
        )
        .with_code("missing-segment")
    })?;
    let name = bgm.component(1, 1);
    if !matches!(name, "" | "351") {
        return Err(ctx.invalid(
            bgm,
            1,
            1,
            "wrong-document",
            format!("BGM document name code `{name}` is not 351 (despatch advice)"),
        ));
    }
    let shipment_id = ctx
        .required(bgm, 2, 1, "document number (1004)")?
        .to_owned();
    let purpose = match bgm.el(3) {
        "" => Purpose::Original,
        code => edifact::purpose(code).ok_or_else(|| {
            ctx.invalid(
                bgm,
                3,
                0,
                "unknown-purpose",
                format!(
                    "BGM message function code (1225) `{code}` is not one of 9 original, 1 cancellation, \
                     3 deletion, 4 change, 5 replace, 6 confirmation, 7 duplicate, 31 copy"
                ),
            )
        })?,
    };

    let mut facts = header::read(&mut ctx, heading)?;
    let detail = segments.range(detail_start, summary_start);
    let orders = packing::orders(&mut ctx, detail, &mut facts)?;
    check_line_count(&ctx, segments.range(summary_start, segments.len()), detail)?;

    let event_time = match (&facts.shipped_at, &facts.document_at) {
        (Some(at), _) | (None, Some(at)) => at.clone(),
        (None, None) => envelope.received_at.clone(),
    };
    Ok(ShipNotice {
        header: EventHeader::for_edifact(envelope, tx, event_time),
        shipment_id,
        purpose,
        shipped_at: facts.shipped_at,
        expected_at: facts.expected_at,
        carrier: facts.carrier,
        bill_of_lading: facts.bill_of_lading,
        tracking: facts.tracking,
        ship_from: facts.ship_from,
        ship_to: facts.ship_to,
        gross_weight: facts.gross_weight,
        net_weight: facts.net_weight,
        lading_quantity: facts.lading_quantity,
        orders,
        references: ctx.references,
    })
}

/// CNT+2 (number of line items) must count the message's LIN segments.
fn check_line_count(
    ctx: &Ctx<'_>,
    summary: millwright_sdk::edi::view::Segments<'_>,
    detail: millwright_sdk::edi::view::Segments<'_>,
) -> Result<(), MappingError> {
    let Some(cnt) = summary.all("CNT").find(|s| s.component(1, 1) == "2") else {
        return Ok(());
    };
    let stated = ctx.required(cnt, 1, 2, "number of line items (6066)")?;
    let lines = detail.all("LIN").count();
    match stated.parse::<usize>() {
        Ok(n) if n == lines => Ok(()),
        Ok(_) => Err(ctx.invalid(
            cnt,
            1,
            2,
            "total-mismatch",
            format!(
                "CNT+2 says the message has {stated} line items, but it has {lines} LIN segments; the despatch \
                 advice contradicts itself, ask the supplier to resend it"
            ),
        )),
        Err(_) => Err(ctx.invalid(
            cnt,
            1,
            2,
            "invalid-quantity",
            format!("CNT+2 `{stated}` is not a count of lines"),
        )),
    }
}
