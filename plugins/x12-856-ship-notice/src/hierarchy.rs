//! The HL tree of an 856, as partners send it.
//!
//! The host's parser has already checked that HL01s increase and HL02s point backwards. What this module adds
//! is the meaning of the levels and two partner habits: parents left empty (`HL*3**I`, read as the nearest
//! earlier loop of a higher level) and layouts without some levels (S/I with no order, packs straight under
//! the shipment). A level the plugin does not know, or one under a level that cannot hold it, is an invalid
//! document: mapping it anyway would put goods in the wrong order or pack.

use millwright_sdk::edi::view::{HlLoop, Transaction};
use millwright_sdk::types::{MappingError, Position};

/// The HL03 levels this plugin maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    /// `S`: the shipment.
    Shipment,
    /// `O`: an order the shipment fills.
    Order,
    /// `T`: a pallet or other tare.
    Tare,
    /// `P`: a carton or other pack.
    Pack,
    /// `I`: an item shipped.
    Item,
}

impl Level {
    fn from_code(code: &str) -> Option<Level> {
        Some(match code {
            "S" => Level::Shipment,
            "O" => Level::Order,
            "T" => Level::Tare,
            "P" => Level::Pack,
            "I" => Level::Item,
            _ => return None,
        })
    }

    /// Outer levels have lower ranks; a level can only sit under a lower rank.
    fn rank(self) -> u8 {
        self as u8
    }

    fn may_hold(self, child: Level) -> bool {
        child != Level::Shipment && self != Level::Item && self.rank() < child.rank()
    }
}

/// One HL loop and its place in the tree.
pub(crate) struct Node<'a> {
    pub(crate) hl: HlLoop<'a>,
    pub(crate) level: Level,
    pub(crate) children: Vec<usize>,
}

/// The HL loops of one transaction as a tree whose roots are shipments.
pub(crate) struct Tree<'a> {
    pub(crate) nodes: Vec<Node<'a>>,
    pub(crate) shipments: Vec<usize>,
}

impl<'a> Tree<'a> {
    /// The children of a node, in document order.
    pub(crate) fn children(&self, node: usize) -> impl Iterator<Item = &Node<'a>> {
        self.nodes[node].children.iter().map(|&c| &self.nodes[c])
    }
}

/// Builds the tree, or says which HL is wrong.
pub(crate) fn build<'a>(tx: &Transaction<'a>) -> Result<Tree<'a>, MappingError> {
    let loops = tx.hl_loops();
    if loops.is_empty() {
        return Err(MappingError::invalid(
            format!(
                "856 {} has no HL loops, so it ships nothing",
                tx.control_number()
            ),
            Position::new()
                .with_transaction(tx.control_number().to_owned())
                .with_segment(3, "HL"),
        ));
    }

    let mut nodes: Vec<Node<'_>> = Vec::with_capacity(loops.len());
    let mut parents: Vec<Option<usize>> = Vec::with_capacity(loops.len());
    let mut ids = Ids::default();
    let mut shipments = Vec::new();
    for hl in loops {
        let level = Level::from_code(hl.level).ok_or_else(|| {
            MappingError::invalid(
                format!(
                    "HL {} has level code `{}`; this plugin maps S (shipment), O (order), T (tare), \
                     P (pack) and I (item)",
                    hl.id, hl.level
                ),
                tx.at(hl.hl, 3),
            )
        })?;
        let parent = match hl.parent {
            Some(parent_id) => Some(ids.find(parent_id).ok_or_else(|| {
                MappingError::invalid(
                    format!(
                        "HL {} names parent `{parent_id}`, which is no earlier HL",
                        hl.id
                    ),
                    tx.at(hl.hl, 2),
                )
            })?),
            None if level == Level::Shipment => None,
            // A partner that leaves HL02 empty means the nearest open loop that can hold this one.
            None => {
                let mut candidate = nodes.len().checked_sub(1);
                while let Some(c) = candidate {
                    if nodes[c].level.rank() < level.rank() {
                        break;
                    }
                    candidate = parents[c];
                }
                candidate
            }
        };

        let index = nodes.len();
        match parent {
            None if level == Level::Shipment => shipments.push(index),
            None => {
                return Err(MappingError::invalid(
                    format!(
                        "HL {} (level {}) is outside any shipment; an 856 hierarchy starts with HL03 S",
                        hl.id, hl.level
                    ),
                    tx.at(hl.hl, 2),
                ));
            }
            Some(p) if !nodes[p].level.may_hold(level) => {
                return Err(MappingError::invalid(
                    format!(
                        "HL {} (level {}) cannot sit under HL {} (level {}); expected the order \
                         S, O, T, P, I",
                        hl.id, hl.level, nodes[p].hl.id, nodes[p].hl.level
                    ),
                    tx.at(hl.hl, 2),
                ));
            }
            Some(p) => nodes[p].children.push(index),
        }
        ids.push(hl.id, index);
        nodes.push(Node {
            hl,
            level,
            children: Vec::new(),
        });
        parents.push(parent);
    }
    Ok(Tree { nodes, shipments })
}

/// The HL01s seen so far, for finding a parent by its HL02 as the host's parser matched it: the same number
/// (`2` and `02`) or, for the rare ids that are not numbers, the same text. The parser has checked that numeric
/// HL01s increase, so they are kept in ascending order and found by a binary search; a linear search would
/// make a large ship notice's hierarchy quadratic in its HL count.
#[derive(Default)]
struct Ids<'a> {
    numbers: Vec<(u64, usize)>,
    texts: Vec<(&'a str, usize)>,
}

impl<'a> Ids<'a> {
    fn push(&mut self, id: &'a str, node: usize) {
        let id = id.trim();
        match id.parse::<u64>() {
            // Kept sorted even if a document ever reached the plugin without the parser's check.
            Ok(number) => match self.numbers.binary_search_by_key(&number, |&(n, _)| n) {
                Ok(_) => {}
                Err(at) => self.numbers.insert(at, (number, node)),
            },
            Err(_) => self.texts.push((id, node)),
        }
    }

    fn find(&self, parent: &str) -> Option<usize> {
        let parent = parent.trim();
        match parent.parse::<u64>() {
            Ok(number) => self
                .numbers
                .binary_search_by_key(&number, |&(n, _)| n)
                .ok()
                .map(|i| self.numbers[i].1),
            Err(_) => self
                .texts
                .iter()
                .find(|&&(id, _)| id == parent)
                .map(|&(_, node)| node),
        }
    }
}
