//! One document in, its goods receipts out: parse, check that every transaction is an X12 944, read the W17 and
//! the header's N1 and N9, then make one goods receipt of every W07 loop, with its exceptions (W13) rejected or
//! noted, and check the W14 total against the lines. The rules are written out in `README.md`.

use millwright_sdk::edi::Standard;
use millwright_sdk::edi::view::{Document, Segment, Segments, Transaction};
use millwright_sdk::host;
use millwright_sdk::types::{
    CanonicalEvent, Envelope, EventHeader, GoodsReceipt, IdScheme, Identifier, ItemRef, LotRef,
    MappingError, OrderRef, Position, Quantity, Timestamp,
};
use millwright_sdk::x12::{self, Units};

use crate::conditions::{self, Effect};
use crate::decimal::Decimal;

/// The partner profile key naming the receiving location when the 944 does not carry one.
pub(crate) const DOCK_LOCATION_KEY: &str = "dock-location";

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

    /// A quantity in element `n`: an X12 decimal, not negative. Returns the value as sent and as a number.
    fn quantity<'s>(
        &self,
        segment: Segment<'s>,
        n: usize,
    ) -> Result<(&'s str, Decimal), MappingError> {
        let value = self.required(segment, n)?;
        match Decimal::parse(value) {
            Some(number) if !number.is_negative() => Ok((value, number)),
            _ => Err(self.invalid(
                segment,
                n as u32,
                "invalid-quantity",
                format!(
                    "{}{n:02} `{value}` is not a quantity (a decimal number, not negative)",
                    segment.id()
                ),
            )),
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

    /// The date in element `n` at midnight in the partner's zone; with no zone in the profile it is read as
    /// UTC and no original offset is claimed.
    fn timestamp(&self, segment: Segment<'_>, n: usize) -> Result<Timestamp, MappingError> {
        self.required(segment, n)?;
        let at = self.tx.at(segment, n as u32);
        let mut timestamp = x12::timestamp(segment.el(n), "", self.zone.unwrap_or("UTC"), &at)
            .map_err(|e| e.with_code("invalid-date"))?;
        if self.zone.is_none() {
            timestamp.original_offset_minutes = None;
        }
        Ok(timestamp)
    }
}

/// Maps a document holding one or more X12 944 transactions.
pub(crate) fn map(envelope: &Envelope) -> Result<Vec<CanonicalEvent>, MappingError> {
    let document = Document::parse(&envelope.payload)?;
    let zone = host::config(x12::TIMEZONE_KEY);
    let mut events = Vec::new();
    for tx in document.transactions() {
        check_is_944(tx)?;
        let receipts = receipts(envelope, tx, zone.as_deref())?;
        events.extend(receipts.into_iter().map(CanonicalEvent::GoodsReceipt));
    }
    Ok(events)
}

fn check_is_944(tx: Transaction<'_>) -> Result<(), MappingError> {
    let (standard, header) = match tx.interchange().standard() {
        Standard::X12 => ("X12", "ST"),
        Standard::Edifact => ("EDIFACT", "UNH"),
    };
    if tx.interchange().standard() == Standard::X12 && tx.code() == "944" {
        return Ok(());
    }
    let at = Position::new()
        .with_transaction(tx.control_number().to_owned())
        .with_segment(1, header)
        // ST01, or UNH's message identifier (S009).
        .with_element(if standard == "X12" { 1 } else { 2 });
    Err(MappingError::invalid(
        format!(
            "expected an X12 944 warehouse stock transfer receipt advice, got transaction {} ({standard}); \
             this route maps only X12 944",
            tx.code()
        ),
        at,
    )
    .with_code("wrong-transaction"))
}

/// What the header says about every line.
struct Receipt {
    receipt_number: String,
    order_ref: OrderRef,
    ship_notice_ref: Option<String>,
    received_at: Timestamp,
    location: Identifier,
    /// Lots from the header's N9*LT, for lines that name none of their own.
    lots: Vec<String>,
}

fn receipts(
    envelope: &Envelope,
    tx: Transaction<'_>,
    zone: Option<&str>,
) -> Result<Vec<GoodsReceipt>, MappingError> {
    let mut ctx = Ctx {
        tx,
        units: Units::new(),
        zone,
    };
    let segments = tx.segments();
    let w07s: Vec<usize> = segments
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is("W07"))
        .map(|(i, _)| i)
        .collect();
    let first_line = segments
        .iter()
        .position(|s| s.is("W07") || s.is("LX"))
        .unwrap_or(segments.len());
    let header_segments = segments.range(0, first_line);
    let receipt = header(&ctx, header_segments)?;
    if w07s.is_empty() {
        return Err(MappingError::invalid(
            format!(
                "944 {} has no W07 (item detail for stock receipt): it reports nothing received",
                tx.control_number()
            ),
            Position::new()
                .with_transaction(tx.control_number().to_owned())
                .with_segment(first_line as u32 + 2, "W07"),
        )
        .with_code("missing-segment"));
    }

    let several = w07s.len() > 1;
    let posted_at = host::now();
    let mut total = Decimal::ZERO;
    let mut lines = Vec::with_capacity(w07s.len());
    for (n, &start) in w07s.iter().enumerate() {
        let end = (start + 1..segments.len())
            .find(|&j| {
                segments
                    .get(j)
                    .is_some_and(|s| matches!(s.id(), "W07" | "LX" | "W14"))
            })
            .unwrap_or(segments.len());
        let w07 = segments.get(start).expect("a W07 found above");
        let (line, received) = line(&mut ctx, &receipt, w07, segments.range(start + 1, end))?;
        total = total.checked_add(received).ok_or_else(|| {
            ctx.invalid(
                w07,
                1,
                "invalid-quantity",
                "the sum of the W0701 quantities is too large",
            )
        })?;
        // One transaction, several events: each line's id and idempotency key end in its position.
        let suffix = several.then(|| (n + 1).to_string());
        let mut header = EventHeader::for_x12(envelope, tx, receipt.received_at.clone());
        if let Some(n) = &suffix {
            header.id = format!("{}:{n}", header.id);
            header.idempotency_key = format!("{}:{n}", header.idempotency_key);
        }
        lines.push(goods_receipt(
            header,
            &receipt,
            line,
            suffix.as_deref(),
            posted_at.clone(),
        ));
    }
    if let Some(w14) = segments.find("W14") {
        check_total(&ctx, w14, total)?;
    }
    Ok(lines)
}

/// W17, N1*WH and the N9s before the first line.
fn header(ctx: &Ctx<'_>, header: Segments<'_>) -> Result<Receipt, MappingError> {
    let tx = ctx.tx;
    let w17 = header.find("W17").ok_or_else(|| {
        MappingError::invalid(
            format!(
                "944 {} has no W17 segment (warehouse receipt identification) before its first line",
                tx.control_number()
            ),
            Position::new()
                .with_transaction(tx.control_number().to_owned())
                .with_segment(2, "W17"),
        )
        .with_code("missing-segment")
    })?;
    let received_at = ctx.timestamp(w17, 2)?;
    let receipt_number = ctx.required(w17, 3)?.to_owned();
    let order_ref = OrderRef {
        order_id: ctx.required(w17, 4)?.to_owned(),
        release: None,
        order_date: None,
    };
    let n9 = |qualifier: &'static str| {
        header
            .all("N9")
            .filter(move |s| s.el(1) == qualifier)
            .filter_map(|s| s.opt(2))
    };
    let ship_notice_ref = w17.opt(5).or_else(|| n9("SI").next()).map(str::to_owned);
    let lots = n9("LT").fold(Vec::new(), |mut lots, lot| {
        push_new(&mut lots, lot);
        lots
    });
    let warehouse_id = header
        .all("N1")
        .find(|s| s.el(1) == "WH")
        .and_then(|n1| n1.opt(4).map(|id| (n1.el(3), id)));
    let location = match warehouse_id {
        Some((qualifier, id)) => Identifier::new(x12::party_id_scheme(qualifier), id),
        None => match host::config(DOCK_LOCATION_KEY).filter(|v| !v.trim().is_empty()) {
            Some(dock) => Identifier::new(IdScheme::Internal, dock),
            None => {
                return Err(MappingError::unknown_reference(
                    format!(
                        "the 944 names no receiving location (no N1*WH with an id in N104) and the partner \
                         profile sets no `{DOCK_LOCATION_KEY}`; set it to the dock this warehouse receives at"
                    ),
                    tx.position(w17),
                )
                .with_code("unknown-location"));
            }
        },
    };
    Ok(Receipt {
        receipt_number,
        order_ref,
        ship_notice_ref,
        received_at,
        location,
        lots,
    })
}

/// One W07 loop read: everything of a goods receipt but the header's.
struct Line {
    order_line: Option<String>,
    item: ItemRef,
    received: Quantity,
    accepted: Quantity,
    rejected: Quantity,
    discrepancy: Option<String>,
    lots: Vec<String>,
}

/// A W07 and its loop; also returns the received quantity, for the W14 total.
fn line(
    ctx: &mut Ctx<'_>,
    receipt: &Receipt,
    w07: Segment<'_>,
    body: Segments<'_>,
) -> Result<(Line, Decimal), MappingError> {
    let (received_text, received) = ctx.quantity(w07, 1)?;
    let unit = ctx.unit(w07, 2)?;

    let mut ids = Vec::new();
    if let Some(case_code) = w07.opt(3) {
        ids.push(Identifier::gtin(case_code));
    }
    for (q, v) in [(4, 5), (6, 7), (10, 11)] {
        if let Some(value) = w07.opt(v) {
            ids.push(Identifier::new(x12::product_id_scheme(w07.el(q)), value));
        }
    }
    let description = body
        .find("G69")
        .and_then(|g69| g69.opt(1))
        .map(str::to_owned);

    let mut lots = Vec::new();
    if let Some(lot) = w07.opt(8) {
        push_new(&mut lots, lot);
    }
    let mut order_line = None;
    for n9 in body.all("N9") {
        match (n9.el(1), n9.opt(2)) {
            ("LT", Some(lot)) => push_new(&mut lots, lot),
            ("LI", Some(number)) if order_line.is_none() => order_line = Some(number.to_owned()),
            _ => {}
        }
    }
    if lots.is_empty() {
        lots.clone_from(&receipt.lots);
    }

    let mut rejected = Decimal::ZERO;
    let mut scale = received.scale();
    let mut notes = Vec::new();
    for w13 in body.all("W13") {
        let (amount_text, amount) = ctx.quantity(w13, 1)?;
        let w13_unit = ctx.unit(w13, 2)?;
        let code = ctx.required(w13, 3)?;
        let (name, effect) = conditions::condition(code).ok_or_else(|| {
            ctx.invalid(
                w13,
                3,
                "unknown-condition",
                format!(
                    "W1303 `{code}` is not a receiving condition code this mapping reads ({})",
                    conditions::codes()
                ),
            )
        })?;
        if effect == Effect::None {
            continue;
        }
        if w13_unit != unit {
            return Err(ctx.invalid(
                w13,
                2,
                "unit-mismatch",
                format!(
                    "W1302 `{}` ({w13_unit}) differs from the line's W0702 `{}` ({unit}); the exception must \
                     count in the unit the line was received in",
                    w13.el(2),
                    w07.el(2)
                ),
            ));
        }
        let mut note = format!("{name} ({code}): {amount_text} {unit}");
        if let Some(reason) = w13.opt(5) {
            note.push_str(&format!(", damage reason {reason}"));
        }
        notes.push(note);
        if effect == Effect::Reject {
            rejected = rejected
                .checked_add(amount)
                .ok_or_else(|| ctx.invalid(w13, 1, "invalid-quantity", "W1301 is too large"))?;
            scale = scale.max(amount.scale());
            if rejected.compare(received) == Some(std::cmp::Ordering::Greater) {
                return Err(ctx.invalid(
                    w13,
                    1,
                    "rejected-exceeds-received",
                    format!(
                        "the W13 exceptions reject more than the {received_text} {} W0701 says were received",
                        w07.el(2)
                    ),
                ));
            }
        }
    }
    let write = |value: Decimal| {
        value
            .to_string_with_scale(scale)
            .ok_or_else(|| ctx.invalid(w07, 1, "invalid-quantity", "W0701 is too large"))
    };
    let accepted = received
        .checked_sub(rejected)
        .ok_or_else(|| ctx.invalid(w07, 1, "invalid-quantity", "W0701 is too large"))?;
    let line = Line {
        order_line,
        item: ItemRef { ids, description },
        received: Quantity::new(received_text, unit.clone()),
        accepted: Quantity::new(write(accepted)?, unit.clone()),
        rejected: Quantity::new(write(rejected)?, unit),
        discrepancy: (!notes.is_empty()).then(|| notes.join("; ")),
        lots,
    };
    Ok((line, received))
}

fn goods_receipt(
    header: EventHeader,
    receipt: &Receipt,
    line: Line,
    suffix: Option<&str>,
    posted_at: Timestamp,
) -> GoodsReceipt {
    GoodsReceipt {
        header,
        receipt_id: match suffix {
            Some(n) => format!("{}-{n}", receipt.receipt_number),
            None => receipt.receipt_number.clone(),
        },
        ship_notice_ref: receipt.ship_notice_ref.clone(),
        order_ref: Some(receipt.order_ref.clone()),
        order_line: line.order_line,
        item: line.item,
        quantity_received: line.received,
        quantity_accepted: line.accepted,
        quantity_rejected: line.rejected,
        discrepancy_reason: line.discrepancy,
        lots: line
            .lots
            .into_iter()
            .map(|lot| LotRef {
                supplier_lot: Some(lot),
                internal_lot: None,
                quantity: None,
                expiry: None,
                serials: Vec::new(),
                sub_lot: None,
            })
            .collect(),
        location: receipt.location.clone(),
        received_at: receipt.received_at.clone(),
        posted_at,
    }
}

/// W1401 must equal the sum of the lines' W0701.
fn check_total(ctx: &Ctx<'_>, w14: Segment<'_>, total: Decimal) -> Result<(), MappingError> {
    let (stated_text, stated) = ctx.quantity(w14, 1)?;
    if stated.compare(total) == Some(std::cmp::Ordering::Equal) {
        return Ok(());
    }
    let sum = total
        .to_string_with_scale(total.scale())
        .unwrap_or_else(|| "too large".to_owned());
    Err(ctx.invalid(
        w14,
        1,
        "total-mismatch",
        format!(
            "W14 says {stated_text} units were received in all (W1401), but the W07 lines add up to {sum}; \
             the receipt advice contradicts itself, ask the warehouse to resend it"
        ),
    ))
}

fn push_new(values: &mut Vec<String>, value: &str) {
    if !values.iter().any(|v| v == value) {
        values.push(value.to_owned());
    }
}
