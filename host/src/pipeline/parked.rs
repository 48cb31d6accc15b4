//! Messages parked for missing master data, and how they come back on their own.
//!
//! A plugin that answers `unknown-reference` has its input dead-lettered as parked, naming in
//! `Mw-Parked-Tables` the tables its call looked up and missed, each with the version the call saw (`units@3`; a
//! table the tenant did not have is named alone). When a table changes, every host replays the tenant's parked
//! dead letters that wait for it (`service::lookups`). Two races are closed here, on the host that parks:
//!
//! - a message can reach a host whose tables are behind the store — the replay of a parked letter, fetched before
//!   the host's watch brought it the new version. Before parking, the host compares the versions the call saw
//!   with the store's; where they differ it reads the store's version into its tables and tries the message again
//!   instead of parking it ([`changed_since`]);
//! - a table can be loaded after that check but before the dead letter is stored, when the other hosts have
//!   already looked for letters to replay. Once the letter is stored the host compares again, and replays it
//!   itself if a table changed meanwhile ([`after_parking`]).

use std::fmt::Write as _;

use super::{Route, dlq};
use crate::host_api::Miss;
use crate::names::TableName;

/// `Mw-Parked-Tables` for the tables a call missed: `units@3,packaging`.
pub fn tables_header(missed: &[Miss]) -> String {
    let mut header = String::new();
    for miss in missed {
        if !header.is_empty() {
            header.push(',');
        }
        header.push_str(&miss.table);
        if let Some(version) = miss.version {
            let _ = write!(header, "@{version}");
        }
    }
    header
}

/// The tables a parked dead letter's `Mw-Parked-Tables` names; an item that is not `table` or `table@version`
/// is left out.
pub fn parse_tables(header: &str) -> Vec<Miss> {
    header
        .split(',')
        .filter_map(|item| {
            let (table, version) = match item.trim().split_once('@') {
                Some((table, version)) => (table, Some(version.parse().ok()?)),
                None => (item.trim(), None),
            };
            TableName::new(table).ok()?;
            Some(Miss {
                table: table.to_string(),
                version,
            })
        })
        .collect()
}

/// Whether a dead letter parked waiting for `waits` is worth replaying now that the tables are at the versions
/// `current` gives (`None`: no such table): when a table it names is at another version than the one its call
/// saw. A letter that names no table (parked before tables were named, or by a plugin that missed no lookup) is
/// replayed on any change of the tenant's tables (`any_change`).
pub fn wants_replay(
    waits: &[Miss],
    current: impl Fn(&str) -> Option<u64>,
    any_change: bool,
) -> bool {
    if waits.is_empty() {
        return any_change;
    }
    waits
        .iter()
        .any(|miss| current(&miss.table) != miss.version)
}

/// Whether a table the call missed is at another version in the store than the call saw. Each such table is
/// read into this host's tables first, so a message tried again sees what the store holds. A store that cannot
/// be read counts as unchanged: the message is parked, and a later change replays it.
pub(super) async fn changed_since(route: &Route, missed: &[Miss]) -> bool {
    let mut changed = false;
    for miss in missed {
        let Ok(table) = TableName::new(&miss.table) else {
            continue;
        };
        match route.lookups.refresh(&table).await {
            Ok(current) if current != miss.version => {
                tracing::info!(tenant = %route.tenant, route = %route.common.name, %table, seen = ?miss.version, now = ?current, "the table changed while the message was mapped");
                changed = true;
            }
            Ok(_) => {}
            Err(err) => {
                tracing::warn!(tenant = %route.tenant, route = %route.common.name, %table, "reading the table's version from the store: {err:#}");
            }
        }
    }
    changed
}

/// Once a parked dead letter (`sequence` in the tenant's dead letters) is stored: replays it at once if a table
/// its call missed changed meanwhile, since the hosts that replay on a change may have looked before it was
/// there.
pub(super) async fn after_parking(route: &Route, missed: &[Miss], sequence: u64) {
    if missed.is_empty() || !changed_since(route, missed).await {
        return;
    }
    match dlq::replay(&route.bus, &route.tenant, sequence).await {
        dlq::ReplayOutcome::Replayed { id, subject, .. } => {
            tracing::info!(tenant = %route.tenant, route = %route.common.name, dead_letter = %id, "replayed the parked message to {subject}: a table it waits for changed while it was parked");
        }
        dlq::ReplayOutcome::NotFound { .. } => {}
        dlq::ReplayOutcome::Failed { id, error } => {
            tracing::warn!(tenant = %route.tenant, route = %route.common.name, dead_letter = %id, "replaying the parked message after a table changed: {error}; it stays parked until the next change or a replay");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn miss(table: &str, version: Option<u64>) -> Miss {
        Miss {
            table: table.into(),
            version,
        }
    }

    #[test]
    fn the_parked_tables_header_reads_back() {
        let missed = [miss("units", Some(3)), miss("packaging", None)];
        let header = tables_header(&missed);
        assert_eq!(header, "units@3,packaging");
        assert_eq!(parse_tables(&header), missed);
        assert_eq!(
            parse_tables(" units@2 , bad name,items@x,,x.y@1,items"),
            [miss("units", Some(2)), miss("items", None)],
            "what is not a table's name or a version is left out"
        );
        assert!(parse_tables("").is_empty());
    }

    #[test]
    fn a_letter_is_replayed_when_a_table_it_waits_for_is_at_another_version() {
        let current = |table: &str| match table {
            "units" => Some(4),
            "items" => Some(1),
            _ => None,
        };
        let waits = |items: &[Miss]| wants_replay(items, current, false);
        assert!(waits(&[miss("units", Some(3))]), "loaded since");
        assert!(waits(&[miss("units", Some(5))]), "rolled back since");
        assert!(
            !waits(&[miss("units", Some(4))]),
            "still the version it missed in"
        );
        assert!(waits(&[miss("items", None)]), "a table that now exists");
        assert!(!waits(&[miss("packaging", None)]), "still no such table");
        assert!(waits(&[miss("units", Some(4)), miss("items", Some(0))]));
        assert!(!wants_replay(&[], current, false));
        assert!(
            wants_replay(&[], current, true),
            "a letter naming none is replayed on any change"
        );
    }
}
