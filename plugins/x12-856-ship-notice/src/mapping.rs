//! One document in, its ship notices out: parse, check that every transaction is an X12 856, read the BSN,
//! build the HL tree (`hierarchy`), then let `shipment` and `contents` fill in the rest through one `Ctx`
//! (`context`) per transaction. This is the top of the plugin: nothing else in it uses this module but `lib`.

use millwright_sdk::edi::Standard;
use millwright_sdk::edi::view::{Document, Transaction};
use millwright_sdk::host;
use millwright_sdk::types::{
    CanonicalEvent, Envelope, EventHeader, MappingError, Position, ShipNotice,
};
use millwright_sdk::x12;

use crate::context::Ctx;
use crate::{contents, hierarchy, shipment};

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
    let mut ctx = Ctx::new(tx, zone);

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
