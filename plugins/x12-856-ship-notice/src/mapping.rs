//! One document in, its ship notices out: parse, check that every transaction is an X12 856, read the BSN,
//! then let `shipment` and `contents` fill in the rest.

use millwright_sdk::edi::Standard;
use millwright_sdk::edi::view::{Document, Segment, Transaction};
use millwright_sdk::host;
use millwright_sdk::types::{
    CanonicalEvent, Envelope, EventHeader, MappingError, Position, Reference, ShipNotice, Timestamp,
};
use millwright_sdk::x12::{self, Units};

use crate::{contents, hierarchy, shipment};

/// What every part of one transaction's mapping shares: where errors point, the unit cache, the partner's
/// zone, and the references collected on the way.
pub(crate) struct Ctx<'a> {
    pub(crate) tx: Transaction<'a>,
    pub(crate) units: Units,
    /// The partner's zone from the profile, or `None` when the profile sets none and UTC is assumed.
    pub(crate) zone: Option<&'a str>,
    pub(crate) references: Vec<Reference>,
}

impl<'a> Ctx<'a> {
    /// The position of element `n` of a segment of this transaction.
    pub(crate) fn at(&self, segment: Segment<'_>, n: u32) -> Position {
        self.tx.at(segment, n)
    }

    /// An `invalid-document` error at element `n` of a segment.
    pub(crate) fn invalid(
        &self,
        segment: Segment<'_>,
        n: u32,
        message: impl Into<String>,
    ) -> MappingError {
        MappingError::invalid(message, self.at(segment, n))
    }

    /// Element `n` of a segment, which the sender must have filled.
    pub(crate) fn required<'s>(
        &self,
        segment: Segment<'s>,
        n: usize,
    ) -> Result<&'s str, MappingError> {
        segment.opt(n).ok_or_else(|| {
            self.invalid(
                segment,
                n as u32,
                format!("{}{n:02} is required but empty", segment.id()),
            )
        })
    }

    /// A date (element `date`) and optional time (element `time`) of a segment, in the partner's zone. With no
    /// zone in the profile the time is read as UTC, and no original offset is claimed for it.
    pub(crate) fn timestamp(
        &self,
        segment: Segment<'_>,
        date: usize,
        time: usize,
    ) -> Result<Timestamp, MappingError> {
        let at = self.at(segment, date as u32);
        let mut timestamp = x12::timestamp(
            segment.el(date),
            segment.el(time),
            self.zone.unwrap_or("UTC"),
            &at,
        )?;
        if self.zone.is_none() {
            timestamp.original_offset_minutes = None;
        }
        Ok(timestamp)
    }

    /// The Rec 20 code of the X12 unit in element `n`.
    pub(crate) fn unit(&mut self, segment: Segment<'_>, n: usize) -> Result<String, MappingError> {
        let code = self.required(segment, n)?;
        let tx = self.tx;
        self.units.resolve_with(code, || tx.at(segment, n as u32))
    }

    /// A decimal quantity in element `n`, kept exactly as sent.
    pub(crate) fn decimal<'s>(
        &self,
        segment: Segment<'s>,
        n: usize,
    ) -> Result<&'s str, MappingError> {
        let value = self.required(segment, n)?;
        if x12::is_decimal(value) {
            Ok(value)
        } else {
            Err(self.invalid(
                segment,
                n as u32,
                format!("{}{n:02} `{value}` is not a decimal number", segment.id()),
            ))
        }
    }
}

/// Maps a document holding one or more X12 856 transactions.
pub(crate) fn map(envelope: &Envelope) -> Result<Vec<CanonicalEvent>, MappingError> {
    let document = Document::parse(&envelope.payload)?;
    let zone = host::config(x12::TIMEZONE_KEY);
    let mut events = Vec::new();
    for doc in document.transactions() {
        check_is_856(doc)?;
        events.push(CanonicalEvent::ShipNotice(ship_notice(
            envelope,
            doc,
            zone.as_deref(),
        )?));
    }
    Ok(events)
}

fn check_is_856(tx: Transaction<'_>) -> Result<(), MappingError> {
    let standard = match tx.interchange().standard() {
        Standard::X12 => "X12",
        Standard::Edifact => "EDIFACT",
    };
    if tx.interchange().standard() == Standard::X12 && tx.code() == "856" {
        return Ok(());
    }
    let at = Position::new()
        .with_transaction(tx.control_number().to_owned())
        .with_segment(1, if standard == "X12" { "ST" } else { "UNH" })
        .with_element(1);
    Err(MappingError::invalid(
        format!(
            "transaction {} ({standard}) is not an X12 856 ship notice; this plugin maps only X12 856",
            tx.code()
        ),
        at,
    ))
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

    let bsn = tx.header_segments().find("BSN").ok_or_else(|| {
        MappingError::invalid(
            format!(
                "856 {} has no BSN segment (beginning segment for ship notice)",
                tx.control_number()
            ),
            Position::new()
                .with_transaction(tx.control_number().to_owned())
                .with_segment(2, "BSN"),
        )
    })?;
    let purpose_code = ctx.required(bsn, 1)?;
    let purpose = x12::purpose(purpose_code).ok_or_else(|| {
        ctx.invalid(
            bsn,
            1,
            format!("BSN01 purpose code `{purpose_code}` is not one of 00, 01, 04, 05, 06, 07, 14"),
        )
    })?;
    let shipment_id = ctx.required(bsn, 2)?.to_owned();

    let tree = hierarchy::build(&tx)?;
    let facts = shipment::facts(&mut ctx, tx.header_segments(), &tree)?;
    let orders = contents::orders(&mut ctx, &tree)?;

    let event_time = match &facts.shipped_at {
        Some(at) => at.clone(),
        None => match bsn.opt(3) {
            Some(_) => ctx.timestamp(bsn, 3, 4)?,
            None => envelope.received_at.clone(),
        },
    };

    Ok(ShipNotice {
        header: EventHeader::for_x12(envelope, tx, event_time),
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
