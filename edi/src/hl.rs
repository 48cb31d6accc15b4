//! The HL hierarchy check for transactions that carry HL loops (the 856 ship notice above all).
//!
//! An ASN's meaning lives in its hierarchy (shipment → order → tare → pack → item); a pack that points at a
//! missing order would silently attach items to nothing, so the parser refuses it. Partners vary the layout
//! (S/O/I, S/O/P/I, S/O/T/P/I, packs without parents), so only the structural rules are checked: HL01 increases,
//! and HL02, when given, names an earlier HL01. Some senders omit HL02 on every HL (a flat hierarchy); that is
//! accepted, because the levels are still in order and HL03 still names each one.

use crate::error::EdiError;
use crate::model::{Position, Segment, Transaction};

/// Checks the HL segments of one transaction, if it has any.
pub(crate) fn check_hierarchy(transaction: &Transaction) -> Result<(), EdiError> {
    // The HL01s seen so far. Numeric ones must increase (checked below), so they are kept in ascending order
    // for a binary search; the rare non-numeric ones are searched as text.
    let mut numbers: Vec<u64> = Vec::new();
    let mut texts: Vec<&str> = Vec::new();
    let mut previous: Option<(u64, &str)> = None;
    for hl in transaction.segments.iter().filter(|s| s.id == "HL") {
        let id = hl.value(1).trim();
        let parent = hl.value(2).trim();
        let number = id.parse::<u64>().ok();
        let at = |element: usize| {
            Position::of_segment(hl)
                .element(element)
                .in_transaction(Some(&transaction.control_number))
        };
        if id.is_empty() {
            return Err(EdiError::new(
                format!(
                    "HL at byte {} in transaction set {} {} has no HL01 (hierarchical id): every level needs \
                     a number its children can point to; ask the sender to correct and resend it",
                    hl.byte_offset, transaction.code, transaction.control_number
                ),
                at(1),
                None,
            ));
        }
        if let Some(number) = number {
            if let Some((last, last_text)) = previous
                && number <= last
            {
                return Err(EdiError::new(
                    format!(
                        "HL01 {id} does not increase: it follows HL {last_text} in transaction set {} {}; HL01 \
                         numbers the levels in order, so a repeated or lower number means levels were \
                         duplicated or reordered; ask the sender to correct and resend it",
                        transaction.code, transaction.control_number
                    ),
                    at(1),
                    None,
                ));
            }
            previous = Some((number, id));
        } else if texts.contains(&id) {
            return Err(duplicate(transaction, hl, id));
        }
        if !parent.is_empty() && !has_parent(&numbers, &texts, parent) {
            return Err(EdiError::new(
                format!(
                    "HL {id} names parent {parent} in HL02, but no earlier HL has HL01 {parent} in transaction \
                     set {} {}: the parent level is missing or the numbers are wrong; ask the sender to correct \
                     and resend it",
                    transaction.code, transaction.control_number
                ),
                at(2),
                None,
            ));
        }
        match number {
            Some(number) => numbers.push(number),
            None => texts.push(id),
        }
    }
    Ok(())
}

/// Whether an earlier HL01 names `parent`: the same text, or the same number (`2` and `02`). A numeric parent
/// can only match a numeric HL01 (equal text parses to the same number), a non-numeric one only the same text.
/// `numbers` is in ascending order.
fn has_parent(numbers: &[u64], texts: &[&str], parent: &str) -> bool {
    match parent.parse::<u64>() {
        Ok(number) => numbers.binary_search(&number).is_ok(),
        Err(_) => texts.contains(&parent),
    }
}

fn duplicate(transaction: &Transaction, hl: &Segment, id: &str) -> EdiError {
    EdiError::new(
        format!(
            "HL01 {id} is used twice in transaction set {} {}: each level needs its own number; ask the sender \
             to correct and resend it",
            transaction.code, transaction.control_number
        ),
        Position::of_segment(hl)
            .element(1)
            .in_transaction(Some(&transaction.control_number)),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Element;

    fn hl(index: u32, id: &str, parent: &str, level: &str) -> Segment {
        Segment {
            id: "HL".to_owned(),
            elements: vec![
                Element::simple(id),
                Element::simple(parent),
                Element::simple(level),
            ],
            index,
            byte_offset: u64::from(index) * 10,
        }
    }

    fn asn(segments: Vec<Segment>) -> Transaction {
        Transaction {
            code: "856".to_owned(),
            control_number: "0001".to_owned(),
            version: None,
            segments,
        }
    }

    #[test]
    fn shipment_order_pack_item_hierarchy_passes() {
        let t = asn(vec![
            hl(3, "1", "", "S"),
            hl(4, "2", "1", "O"),
            hl(5, "3", "2", "P"),
            hl(6, "4", "3", "I"),
            hl(7, "5", "2", "P"),
        ]);
        assert_eq!(check_hierarchy(&t), Ok(()));
    }

    #[test]
    fn omitted_parents_on_every_level_are_accepted() {
        let t = asn(vec![
            hl(3, "1", "", "S"),
            hl(4, "2", "", "O"),
            hl(5, "3", "", "I"),
        ]);
        assert_eq!(check_hierarchy(&t), Ok(()));
    }

    #[test]
    fn parent_that_does_not_exist_is_named_with_the_child() {
        let t = asn(vec![
            hl(3, "1", "", "S"),
            hl(4, "2", "1", "O"),
            hl(5, "3", "9", "I"),
        ]);
        let err = check_hierarchy(&t).expect_err("missing parent");
        assert!(
            err.message.contains("HL 3 names parent 9"),
            "{}",
            err.message
        );
        assert_eq!(err.at.segment_index, Some(5));
        assert_eq!(err.at.element, Some(2));
        assert_eq!(err.at.transaction.as_deref(), Some("0001"));
    }

    #[test]
    fn parent_that_comes_later_is_rejected() {
        let t = asn(vec![hl(3, "1", "2", "S"), hl(4, "2", "", "O")]);
        let err = check_hierarchy(&t).expect_err("forward parent");
        assert!(
            err.message.contains("HL 1 names parent 2"),
            "{}",
            err.message
        );
    }

    #[test]
    fn hl01_that_does_not_increase_is_rejected() {
        let t = asn(vec![
            hl(3, "1", "", "S"),
            hl(4, "2", "1", "O"),
            hl(5, "2", "1", "O"),
        ]);
        let err = check_hierarchy(&t).expect_err("repeated id");
        assert!(
            err.message.contains("HL01 2 does not increase"),
            "{}",
            err.message
        );
        assert_eq!(err.at.element, Some(1));
    }
}
