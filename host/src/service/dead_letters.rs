//! Dead letters as verbs: list them, show one, replay some or all, discard one with a reason.
//!
//! A replay names its dead letters by sequence (`ids`) or asks for `all` (of one route). The request is checked
//! whole first — a malformed one replays nothing — and then each dead letter is replayed on its own, since
//! several hosts act on the same dead letters and a replay can fail halfway: each id gets its outcome.

use super::{Service, ServiceError};
use crate::names::{RouteName, Tenant};
use crate::pipeline::dlq::{self, DeadLetter, Discarded, ReplayOutcome};

/// The most dead letters one replay names.
pub const MAX_REPLAY_IDS: usize = 10_000;

/// Which dead letters to replay.
#[derive(Debug, Clone)]
pub enum Replay {
    /// These sequence numbers (the number after the tenant in a dead letter's id).
    Ids(Vec<u64>),
    /// Every one, of one route when given.
    All {
        /// Only this route's (`_unrouted` for documents no route took).
        route: Option<RouteName>,
    },
}

impl Replay {
    /// Checks what a request asked for: `ids`, or `all` with an optional `route`, not both; ids from 1, at most
    /// [`MAX_REPLAY_IDS`], each once (repeats dropped).
    pub fn checked(ids: Vec<u64>, all: bool, route: Option<&str>) -> Result<Self, ServiceError> {
        let route = route.map(RouteName::dead_letter_route).transpose()?;
        match (all, ids.is_empty()) {
            (true, true) => Ok(Replay::All { route }),
            (false, false) => {
                if route.is_some() {
                    return Err(ServiceError::invalid(
                        "bad_request",
                        "\"route\" narrows {\"all\": true}; with \"ids\" leave it out",
                    ));
                }
                if ids.len() > MAX_REPLAY_IDS {
                    return Err(ServiceError::invalid(
                        "bad_request",
                        format!("{} ids in one request; at most {MAX_REPLAY_IDS}", ids.len()),
                    ));
                }
                if let Some(zero) = ids.iter().position(|&id| id == 0) {
                    return Err(ServiceError::invalid(
                        "invalid_id",
                        format!("ids[{zero}] is 0; dead letters are numbered from 1"),
                    ));
                }
                let mut seen = std::collections::HashSet::new();
                Ok(Replay::Ids(
                    ids.into_iter().filter(|id| seen.insert(*id)).collect(),
                ))
            }
            _ => Err(ServiceError::invalid(
                "bad_request",
                "say which: {\"ids\": [sequence, ...]} or {\"all\": true} (with an optional \"route\"), not both",
            )),
        }
    }
}

impl Service {
    /// The tenant's dead letters, oldest first, of one route or all.
    pub async fn dead_letters(
        &self,
        tenant: &Tenant,
        route: Option<&RouteName>,
    ) -> Result<Vec<DeadLetter>, ServiceError> {
        self.tenant(tenant)?;
        Ok(dlq::list(&self.bus.js, tenant, route.map(|r| r.as_str())).await?)
    }

    /// One dead letter.
    pub async fn dead_letter(
        &self,
        tenant: &Tenant,
        sequence: u64,
    ) -> Result<DeadLetter, ServiceError> {
        let wanted = format!("{tenant}/{sequence}");
        self.dead_letters(tenant, None)
            .await?
            .into_iter()
            .find(|d| d.id == wanted)
            .ok_or_else(|| {
                ServiceError::not_found("dead_letter_not_found", format!("no dead letter {wanted}"))
            })
    }

    /// Replays dead letters into their routes' inputs; every id's outcome, in the order asked.
    pub async fn replay(
        &self,
        tenant: &Tenant,
        which: Replay,
    ) -> Result<Vec<ReplayOutcome>, ServiceError> {
        self.tenant(tenant)?;
        let sequences: Vec<u64> = match which {
            Replay::Ids(ids) => ids,
            Replay::All { route } => {
                dlq::list(&self.bus.js, tenant, route.as_ref().map(|r| r.as_str()))
                    .await?
                    .iter()
                    .filter_map(|d| d.id.rsplit('/').next()?.parse().ok())
                    .collect()
            }
        };
        let mut outcomes = Vec::with_capacity(sequences.len());
        for sequence in sequences {
            outcomes.push(dlq::replay(&self.bus, tenant, sequence).await);
        }
        Ok(outcomes)
    }

    /// Discards dead letter `sequence`: it leaves the dead letters for good, with `reason` (required) on
    /// record — in the trace of its flow and as the resolution of its `dead-letter-aged` alert.
    pub async fn discard_dead_letter(
        &self,
        tenant: &Tenant,
        sequence: u64,
        by: &str,
        reason: &str,
    ) -> Result<Discarded, ServiceError> {
        self.tenant(tenant)?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(ServiceError::invalid(
                "reason_required",
                "say why (`reason`): a dead letter is discarded with its reason on record",
            ));
        }
        let Some(discarded) = dlq::discard(&self.bus, tenant, sequence, reason, by).await? else {
            return Err(ServiceError::not_found(
                "dead_letter_not_found",
                format!(
                    "no dead letter {tenant}/{sequence} (replayed or discarded already, or never there)"
                ),
            ));
        };
        if let Some(trace) = self.traces.get(tenant) {
            trace.write(discarded.step()).await;
        }
        Ok(discarded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replay_request_is_checked_whole() {
        assert!(matches!(
            Replay::checked(vec![3, 1, 3], false, None),
            Ok(Replay::Ids(ids)) if ids == [3, 1]
        ));
        assert!(matches!(
            Replay::checked(vec![], true, Some("_unrouted")),
            Ok(Replay::All { route: Some(r) }) if r == RouteName::unrouted()
        ));
        for (ids, all, route) in [
            (vec![0], false, None),
            (vec![1], true, None),
            (vec![1], false, Some("r")),
            (vec![], false, None),
            (vec![], true, Some("a.b")),
            (vec![1; MAX_REPLAY_IDS + 1], false, None),
        ] {
            let err = Replay::checked(ids.clone(), all, route).expect_err("refused");
            assert_eq!(err.http_status(), 400, "{ids:?} {all} {route:?}: {err}");
        }
    }
}
