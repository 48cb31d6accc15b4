//! The state one transaction's mapping carries, and the element readers every part of it uses.
//!
//! `mapping` makes one `Ctx` per transaction and hands it to `shipment` and `contents` in turn; they read
//! elements through it (required, decimal, unit, timestamp), so every error is located in that transaction,
//! each unit code is looked up once per transaction, dates are read in the partner's zone, and references the
//! ship notice has no field for are gathered in one list. It lives in its own module, using none of the
//! plugin's others, so that `shipment` and `contents` need not reach back up into `mapping` for it.

use millwright_sdk::edi::view::{Segment, Transaction};
use millwright_sdk::types::{MappingError, Position, Reference, Timestamp};
use millwright_sdk::x12::{self, Units};

/// What every part of one transaction's mapping shares: where errors point, the unit cache, the partner's
/// zone, and the references collected on the way.
pub(crate) struct Ctx<'a> {
    tx: Transaction<'a>,
    units: Units,
    /// The partner's zone from the profile, or `None` when the profile sets none and UTC is assumed.
    zone: Option<&'a str>,
    /// REFs the ship notice has no field of its own for, in the order they are read (the shipment level's,
    /// then the orders' and items'); `mapping` moves them into the event.
    pub(crate) references: Vec<Reference>,
}

impl<'a> Ctx<'a> {
    /// The context of one transaction, with an empty unit cache and no references yet.
    pub(crate) fn new(tx: Transaction<'a>, zone: Option<&'a str>) -> Self {
        Ctx {
            tx,
            units: Units::new(),
            zone,
            references: Vec::new(),
        }
    }

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
