//! One document in, its order acknowledgments out: parse, check that every transaction is an X12 855, read the
//! BAK, then turn every ACK of every PO1 loop into a line (and a PO1 without an ACK into one line that takes the
//! answer of the whole acknowledgment). The rules are written out in `README.md`, table by table.

use millwright_sdk::edi::Standard;
use millwright_sdk::edi::view::Document;
use millwright_sdk::edi::view::{Segment, Segments, Transaction};
use millwright_sdk::host;
use millwright_sdk::types::{
    AcknowledgmentLine, AcknowledgmentStatus, CanonicalEvent, Envelope, EventHeader, Identifier,
    ItemRef, LineStatus, MappingError, OrderAcknowledgment, Position, Quantity, Timestamp,
};
use millwright_sdk::x12::{self, Units};

use crate::codes;

/// What one transaction's mapping shares: where errors point, the unit cache and the partner's zone.
struct Ctx<'a> {
    tx: Transaction<'a>,
    units: Units,
    /// The partner's zone from the profile, or `None` when the profile sets none and UTC is assumed.
    zone: Option<&'a str>,
}

impl Ctx<'_> {
    fn invalid(
        &self,
        segment: Segment<'_>,
        n: u32,
        code: &str,
        message: impl Into<String>,
    ) -> MappingError {
        MappingError::invalid(message, self.tx.at(segment, n)).with_code(code)
    }

    /// Element `n` of a segment, which the sender must have filled.
    fn required<'s>(&self, segment: Segment<'s>, n: usize) -> Result<&'s str, MappingError> {
        segment.opt(n).ok_or_else(|| {
            self.invalid(
                segment,
                n as u32,
                "missing-element",
                format!("{}{n:02} is required but empty", segment.id()),
            )
        })
    }

    /// A decimal quantity in element `n`, kept exactly as sent.
    fn decimal<'s>(&self, segment: Segment<'s>, n: usize) -> Result<&'s str, MappingError> {
        let value = self.required(segment, n)?;
        if x12::is_decimal(value) {
            Ok(value)
        } else {
            Err(self.invalid(
                segment,
                n as u32,
                "invalid-quantity",
                format!("{}{n:02} `{value}` is not a decimal number", segment.id()),
            ))
        }
    }

    /// The Rec 20 code of the X12 unit in element `n`.
    fn unit(&mut self, segment: Segment<'_>, n: usize) -> Result<String, MappingError> {
        let code = self.required(segment, n)?;
        let tx = self.tx;
        self.units
            .resolve_with(code, || tx.at(segment, n as u32))
            .map_err(|e| match e {
                MappingError::UnknownReference(_) => e.with_code("unknown-unit"),
                other => other.with_code("lookup-unavailable"),
            })
    }

    /// The quantity in elements `value` and `unit` of a segment.
    fn quantity(
        &mut self,
        segment: Segment<'_>,
        value: usize,
        unit: usize,
    ) -> Result<Quantity, MappingError> {
        let amount = self.decimal(segment, value)?;
        Ok(Quantity::new(amount, self.unit(segment, unit)?))
    }

    /// A CCYYMMDD (or YYMMDD) date in element `n` as ISO 8601.
    fn date(&self, segment: Segment<'_>, n: usize) -> Result<String, MappingError> {
        let value = self.required(segment, n)?;
        // `x12::iso_date` checks the form and that the day is 1 to 31; the host's calendar checks the rest
        // (no 30 February), so a promise is never a day that does not exist.
        let on_calendar = host::local_to_utc(value, "", "UTC").is_ok();
        x12::iso_date(value).filter(|_| on_calendar).ok_or_else(|| {
            self.invalid(
                segment,
                n as u32,
                "invalid-date",
                format!("{}{n:02} `{value}` is not a CCYYMMDD date", segment.id()),
            )
        })
    }

    /// The date in element `n` at midnight in the partner's zone; with no zone in the profile it is read as
    /// UTC and no original offset is claimed.
    fn timestamp(&self, segment: Segment<'_>, n: usize) -> Result<Timestamp, MappingError> {
        let at = self.tx.at(segment, n as u32);
        let mut timestamp = x12::timestamp(segment.el(n), "", self.zone.unwrap_or("UTC"), &at)
            .map_err(|e| e.with_code("invalid-date"))?;
        if self.zone.is_none() {
            timestamp.original_offset_minutes = None;
        }
        Ok(timestamp)
    }
}

/// Maps a document holding one or more X12 855 transactions.
pub(crate) fn map(envelope: &Envelope) -> Result<Vec<CanonicalEvent>, MappingError> {
    let document = Document::parse(&envelope.payload)?;
    let zone = host::config(x12::TIMEZONE_KEY);
    let mut events = Vec::new();
    for tx in document.transactions() {
        check_is_855(tx)?;
        events.push(CanonicalEvent::OrderAcknowledgment(acknowledgment(
            envelope,
            tx,
            zone.as_deref(),
        )?));
    }
    Ok(events)
}

fn check_is_855(tx: Transaction<'_>) -> Result<(), MappingError> {
    let (standard, header) = match tx.interchange().standard() {
        Standard::X12 => ("X12", "ST"),
        Standard::Edifact => ("EDIFACT", "UNH"),
    };
    if tx.interchange().standard() == Standard::X12 && tx.code() == "855" {
        return Ok(());
    }
    let at = Position::new()
        .with_transaction(tx.control_number().to_owned())
        .with_segment(1, header)
        // ST01, or UNH's message identifier (S009).
        .with_element(if standard == "X12" { 1 } else { 2 });
    Err(MappingError::invalid(
        format!(
            "expected an X12 855 purchase order acknowledgment, got transaction {} ({standard}); this route \
             maps only X12 855",
            tx.code()
        ),
        at,
    )
    .with_code("wrong-transaction"))
}

fn acknowledgment(
    envelope: &Envelope,
    tx: Transaction<'_>,
    zone: Option<&str>,
) -> Result<OrderAcknowledgment, MappingError> {
    let mut ctx = Ctx {
        tx,
        units: Units::new(),
        zone,
    };
    let segments = tx.segments();
    let first_po1 = segments
        .iter()
        .position(|s| s.is("PO1"))
        .unwrap_or(segments.len());
    let header = segments.range(0, first_po1);

    let bak = header.find("BAK").ok_or_else(|| {
        MappingError::invalid(
            format!(
                "855 {} has no BAK segment (beginning segment for purchase order acknowledgment) before its \
                 first PO1",
                tx.control_number()
            ),
            Position::new()
                .with_transaction(tx.control_number().to_owned())
                .with_segment(2, "BAK"),
        )
        .with_code("missing-segment")
    })?;
    let purpose = ctx.required(bak, 1)?;
    if let Some(name) = codes::name(codes::WITHDRAWING_PURPOSES, purpose) {
        return Err(ctx.invalid(
            bak,
            1,
            "withdrawn-acknowledgment",
            format!(
                "BAK01 `{purpose}` ({name}) withdraws an acknowledgment, which a canonical order \
                 acknowledgment cannot express; ask the supplier for a new 855 or handle it by hand"
            ),
        ));
    }
    let ack_type = ctx.required(bak, 2)?;
    let &(_, status, _) = codes::find(codes::ACKNOWLEDGMENT_TYPES, ack_type).ok_or_else(|| {
        ctx.invalid(
            bak,
            2,
            "unknown-acknowledgment-type",
            format!(
                "BAK02 `{ack_type}` is not an acknowledgment type this mapping reads ({})",
                codes::codes(codes::ACKNOWLEDGMENT_TYPES)
            ),
        )
    })?;
    let order_id = ctx.required(bak, 3)?.to_owned();
    // BAK04 is the order's date: required, and checked even when BAK09 dates the acknowledgment.
    ctx.date(bak, 4)?;
    let event_time = match bak.opt(9) {
        Some(_) => ctx.timestamp(bak, 9)?,
        None => ctx.timestamp(bak, 4)?,
    };
    let header_promise = promise_in(&ctx, header)?;

    let mut lines = Vec::new();
    let mut ordinal = 0;
    let mut i = first_po1;
    while let Some(po1) = segments.get(i) {
        if !po1.is("PO1") {
            i += 1;
            continue;
        }
        let end = (i + 1..segments.len())
            .find(|&j| segments.get(j).is_some_and(|s| s.is("PO1") || s.is("CTT")))
            .unwrap_or(segments.len());
        ordinal += 1;
        let po1_loop = segments.range(i + 1, end);
        order_lines(
            &mut ctx,
            po1,
            po1_loop,
            ordinal,
            status,
            header_promise.as_deref(),
            &mut lines,
        )?;
        i = end;
    }

    Ok(OrderAcknowledgment {
        header: EventHeader::for_x12(envelope, tx, event_time),
        order_id,
        status,
        lines,
    })
}

/// The lines of one PO1 loop: one per ACK, or one for the PO1 itself when it has no ACK.
fn order_lines(
    ctx: &mut Ctx<'_>,
    po1: Segment<'_>,
    po1_loop: Segments<'_>,
    ordinal: usize,
    status: AcknowledgmentStatus,
    header_promise: Option<&str>,
    lines: &mut Vec<AcknowledgmentLine>,
) -> Result<(), MappingError> {
    let line_number = po1
        .opt(1)
        .map_or_else(|| ordinal.to_string(), str::to_owned);
    let ids = po1
        .pairs(6)
        .filter(|(_, _, value)| !value.is_empty())
        .map(|(_, qualifier, value)| Identifier::new(x12::product_id_scheme(qualifier), value))
        .collect();
    let description = po1_loop
        .all("PID")
        .find_map(|pid| pid.opt(5))
        .map(str::to_owned);
    let item = ItemRef { ids, description };
    let loop_promise = promise_in(ctx, po1_loop)?;
    let fallback_promise = loop_promise.or_else(|| header_promise.map(str::to_owned));

    let mut acks = po1_loop.all("ACK").peekable();
    if acks.peek().is_none() {
        // No ACK: the line is answered by the acknowledgment as a whole, as ordered.
        let quantity = ordered(ctx, po1, po1, "PO1 has no ACK")?;
        let line_status = match status {
            AcknowledgmentStatus::Rejected => LineStatus::Rejected,
            AcknowledgmentStatus::Accepted | AcknowledgmentStatus::AcceptedWithChanges => {
                LineStatus::Accepted
            }
        };
        lines.push(AcknowledgmentLine {
            line_number,
            item,
            quantity,
            status: line_status,
            promised_date: fallback_promise.filter(|_| line_status != LineStatus::Rejected),
        });
        return Ok(());
    }
    for ack in acks {
        let code = ctx.required(ack, 1)?;
        let line_status = match codes::find(codes::LINE_STATUSES, code) {
            Some(&(_, line_status, _)) => line_status,
            None => {
                let message = match codes::name(codes::HOLD_STATUSES, code) {
                    Some(name) => format!(
                        "ACK01 `{code}` ({name}) has no canonical line status (accepted, changed, \
                         back-ordered, rejected); ask the supplier to answer the line when the hold ends"
                    ),
                    None => format!(
                        "ACK01 `{code}` is not a line item status this mapping reads ({})",
                        codes::codes(codes::LINE_STATUSES)
                    ),
                };
                return Err(ctx.invalid(ack, 1, "unknown-line-status", message));
            }
        };
        let quantity = match ack.opt(2) {
            Some(_) => ctx.quantity(ack, 2, 3)?,
            None if ack.opt(3).is_some() => {
                return Err(ctx.invalid(
                    ack,
                    2,
                    "missing-element",
                    "ACK03 names a unit but ACK02 has no quantity",
                ));
            }
            None => ordered(ctx, po1, ack, "ACK02 is empty")?,
        };
        // A date the ACK gives is the line's own; a date of the loop or the header is a promise for every line
        // that will ship, so a rejected line does not take it.
        let promised_date = match ack_promise(ctx, ack)? {
            Some(date) => Some(date),
            None if line_status == LineStatus::Rejected => None,
            None => fallback_promise.clone(),
        };
        lines.push(AcknowledgmentLine {
            line_number: line_number.clone(),
            item: item.clone(),
            quantity,
            status: line_status,
            promised_date,
        });
    }
    Ok(())
}

/// The ordered quantity (PO102/PO103), for a line whose answer gives none; refused at `at`'s quantity element
/// when the PO1 has none either.
fn ordered(
    ctx: &mut Ctx<'_>,
    po1: Segment<'_>,
    at: Segment<'_>,
    why: &str,
) -> Result<Quantity, MappingError> {
    if po1.opt(2).is_none() {
        return Err(ctx.invalid(
            at,
            2,
            "missing-element",
            format!("{why} and PO102 gives no ordered quantity either; the line has no quantity"),
        ));
    }
    ctx.quantity(po1, 2, 3)
}

/// ACK04/ACK05: the promised date when ACK04 is a promise qualifier.
fn ack_promise(ctx: &Ctx<'_>, ack: Segment<'_>) -> Result<Option<String>, MappingError> {
    match (ack.opt(4), ack.opt(5)) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(ctx.invalid(
            ack,
            4,
            "missing-element",
            "ACK05 gives a date but ACK04 does not say which (a date/time qualifier)",
        )),
        (Some(qualifier), _) if codes::name(codes::PROMISE_QUALIFIERS, qualifier).is_none() => {
            Ok(None)
        }
        (Some(_), _) => ctx.date(ack, 5).map(Some),
    }
}

/// The first DTM among `segments` whose qualifier (DTM01) is a promise, as an ISO date.
fn promise_in(ctx: &Ctx<'_>, segments: Segments<'_>) -> Result<Option<String>, MappingError> {
    match segments
        .all("DTM")
        .find(|dtm| codes::name(codes::PROMISE_QUALIFIERS, dtm.el(1)).is_some())
    {
        Some(dtm) => ctx.date(dtm, 2).map(Some),
        None => Ok(None),
    }
}
