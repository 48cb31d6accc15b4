//! The circuit breaker of each slot: a version whose plugin fails input after input is **suspended**, so it
//! stops burning the host's threads and the messages' attempts, and is tried again now and then.
//!
//! A [`Breaker`] judges the version its slot runs on this host. Every plugin call gives a [`Verdict`]: the
//! plugin's own faults (a deadline, a trap, the memory cap, an output over its limits, an unusable output) count
//! against it; an answer — events, or a verdict on the document such as `invalid-document` — clears the count;
//! what is not the plugin's doing (`transient`, the host, publishing, delivery) counts neither way. Each input
//! counts once, however often it is retried, so one poisonous document that is retried to its dead letter
//! does not suspend a slot that maps everything else.
//!
//! After `suspend_after` inputs in a row have failed (a route setting; 0 turns the breaker off) the slot is
//! suspended: its routes fetch nothing more and hold what they had fetched, unacknowledged and kept alive with
//! "in progress" acknowledgments, so JetStream neither redelivers them nor counts a delivery (see
//! [`super::run`]). After `probe_backoff` one message is let through as a probe: an answer lifts the
//! suspension, a fault doubles the wait, up to `max_probe_backoff`. Activating another version lifts it
//! ([`Breaker::serve`]), and so does an admin ([`Breaker::resume`]).
//!
//! The state is this host's: each host of a fleet judges what its own calls saw, and a restart starts afresh.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::watch;

use crate::invoke::FailureClass;
use crate::names::{Sha256, Slot, Tenant};

/// How many inputs in a row may fail before a slot is suspended, unless a route says otherwise.
pub const DEFAULT_SUSPEND_AFTER: u32 = 5;
/// The first wait before a suspended slot is probed, unless a route says otherwise.
pub const DEFAULT_PROBE_BACKOFF: Duration = Duration::from_secs(30);
/// The longest wait between two probes, unless a route says otherwise.
pub const DEFAULT_MAX_PROBE_BACKOFF: Duration = Duration::from_secs(600);

/// When a slot is suspended and how it is probed: a route's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Inputs in a row failed by the plugin's fault before the slot is suspended; 0 never suspends it.
    pub suspend_after: u32,
    /// The wait before the first probe; each failed probe doubles it.
    pub probe_backoff: Duration,
    /// The longest wait between probes.
    pub max_probe_backoff: Duration,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        Self {
            suspend_after: DEFAULT_SUSPEND_AFTER,
            probe_backoff: DEFAULT_PROBE_BACKOFF,
            max_probe_backoff: DEFAULT_MAX_PROBE_BACKOFF,
        }
    }
}

/// What one plugin call says about the plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// It answered: events or documents, or a verdict on its input.
    Healthy,
    /// It failed by its own doing.
    Fault,
    /// Nothing about the plugin: something outside it failed.
    Neutral,
}

impl Verdict {
    /// The verdict of a call that succeeded (`None`) or failed with `class`.
    pub fn of(class: Option<FailureClass>) -> Self {
        match class {
            None => Verdict::Healthy,
            // The document's fault, or master data missing: the plugin did its work.
            Some(FailureClass::InvalidDocument | FailureClass::UnknownReference) => {
                Verdict::Healthy
            }
            Some(
                FailureClass::Deadline
                | FailureClass::Trap
                | FailureClass::MemoryLimit
                | FailureClass::OutputLimit
                | FailureClass::BadOutput,
            ) => Verdict::Fault,
            // `transient` says, by the contract, that something outside the document failed; the rest are the
            // host's, the input's or the bus's.
            Some(_) => Verdict::Neutral,
        }
    }
}

/// Whether a message may go through the slot's plugin now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// The slot is not suspended.
    Open,
    /// The slot is suspended and this message is its probe.
    Probe,
    /// The slot is suspended: the message waits.
    Closed,
}

/// A suspended slot, as the API, the CLI and `/readyz` show it.
#[derive(Debug, Clone, Serialize)]
pub struct Suspension {
    /// The tenant.
    pub tenant: Tenant,
    /// The slot.
    pub slot: Slot,
    /// The version suspended.
    pub version: Sha256,
    /// Its `name@version+sha`.
    pub plugin: String,
    /// When it was suspended.
    pub since: jiff::Timestamp,
    /// Inputs in a row that failed by the plugin's fault (probes included).
    pub failures: u32,
    /// The class of the last failure.
    pub last_class: Option<FailureClass>,
    /// The last failure, as its dead letter says it.
    pub last_error: Option<String>,
    /// When the next probe may run (now or past while one runs).
    pub next_probe: jiff::Timestamp,
    /// The wait before the next probe; doubled by each failed probe.
    pub probe_backoff: Duration,
}

#[derive(Debug)]
struct Suspended {
    since: jiff::Timestamp,
    backoff: Duration,
    next_probe: Instant,
    /// The input let through as the probe, while it runs.
    probe: Option<String>,
}

#[derive(Debug, Default)]
struct State {
    version: Option<Sha256>,
    plugin: String,
    settings: BreakerSettings,
    failures: u32,
    /// The inputs of the current run of failures, so a retried input counts once (the last few are enough).
    failed: Vec<String>,
    last: Option<(FailureClass, String)>,
    suspended: Option<Suspended>,
}

/// How many failed inputs a breaker remembers to count each once.
const REMEMBERED: usize = 64;

/// The breaker of one slot on this host.
#[derive(Debug)]
pub struct Breaker {
    tenant: Tenant,
    slot: Slot,
    state: Mutex<State>,
    changed: watch::Sender<u64>,
}

impl Breaker {
    fn new(tenant: Tenant, slot: Slot) -> Self {
        Self {
            tenant,
            slot,
            state: Mutex::default(),
            changed: watch::channel(0).0,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn notify(&self) {
        self.changed.send_modify(|generation| *generation += 1);
    }

    /// Changes of the breaker's state: a suspension, a probe's end, a lift.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// A route serves `version` of the slot with `settings`: a version other than the one judged so far starts
    /// with a clean record, which lifts a suspension (activating another version is one way out of it).
    pub fn serve(&self, version: &Sha256, plugin: &str, settings: BreakerSettings) {
        let mut state = self.state();
        state.settings = settings;
        if state.version.as_ref() == Some(version) {
            return;
        }
        if state.suspended.is_some() {
            tracing::info!(tenant = %self.tenant, slot = %self.slot, plugin, "suspension lifted: another version is active");
        }
        *state = State {
            version: Some(version.clone()),
            plugin: plugin.to_string(),
            settings,
            ..State::default()
        };
        drop(state);
        self.notify();
    }

    /// Whether the message `input` may run now; a suspended slot lets one through as its probe once the wait
    /// is over.
    pub fn gate(&self, input: &str) -> Gate {
        let mut state = self.state();
        let Some(suspended) = state.suspended.as_mut() else {
            return Gate::Open;
        };
        match &suspended.probe {
            Some(probe) if probe == input => Gate::Probe,
            Some(_) => Gate::Closed,
            None if Instant::now() >= suspended.next_probe => {
                suspended.probe = Some(input.to_string());
                Gate::Probe
            }
            None => Gate::Closed,
        }
    }

    /// Whether `input` may run on the plugin's threads: checked again there, since a call queued before the
    /// slot was suspended must not run after.
    pub fn may_run(&self, input: &str) -> bool {
        match &self.state().suspended {
            None => true,
            Some(suspended) => suspended.probe.as_deref() == Some(input),
        }
    }

    /// How long until a held message may be tried: `None` when the slot is not suspended, zero when a probe may
    /// start now, else the wait for the next probe (long while a probe runs: its end is notified).
    pub fn wait(&self) -> Option<Duration> {
        let state = self.state();
        let suspended = state.suspended.as_ref()?;
        Some(match suspended.probe {
            Some(_) => Duration::from_secs(3600),
            None => suspended
                .next_probe
                .saturating_duration_since(Instant::now()),
        })
    }

    /// Records the verdict of a call of `version` on `input` (`failure`: its class and error, when it failed).
    /// Calls of a version the breaker no longer judges (finishing after a switch) are ignored.
    pub fn record(
        &self,
        version: &Sha256,
        input: &str,
        verdict: Verdict,
        failure: Option<(FailureClass, String)>,
    ) {
        let mut state = self.state();
        if state.version.as_ref() != Some(version) {
            return;
        }
        let plugin = state.plugin.clone();
        match verdict {
            Verdict::Healthy => {
                state.failures = 0;
                state.failed.clear();
                if state.suspended.take().is_some() {
                    tracing::info!(tenant = %self.tenant, slot = %self.slot, %plugin, "suspension lifted: a message went through the plugin");
                    drop(state);
                    self.notify();
                }
            }
            Verdict::Neutral => {
                if let Some(suspended) = state.suspended.as_mut()
                    && suspended.probe.as_deref() == Some(input)
                {
                    // Nothing learnt about the plugin: the next probe after the same wait.
                    suspended.probe = None;
                    suspended.next_probe = Instant::now() + suspended.backoff;
                    drop(state);
                    self.notify();
                }
            }
            Verdict::Fault => {
                if let Some(failure) = failure {
                    state.last = Some(failure);
                }
                if !state.failed.iter().any(|f| f == input) {
                    state.failures = state.failures.saturating_add(1);
                    if state.failed.len() == REMEMBERED {
                        state.failed.remove(0);
                    }
                    state.failed.push(input.to_string());
                }
                let settings = state.settings;
                let failures = state.failures;
                let reason = state
                    .last
                    .as_ref()
                    .map(|(_, error)| error.clone())
                    .unwrap_or_default();
                match state.suspended.as_mut() {
                    Some(suspended) if suspended.probe.as_deref() == Some(input) => {
                        suspended.probe = None;
                        suspended.backoff = suspended
                            .backoff
                            .saturating_mul(2)
                            .min(settings.max_probe_backoff);
                        suspended.next_probe = Instant::now() + suspended.backoff;
                        tracing::warn!(tenant = %self.tenant, slot = %self.slot, %plugin, next_probe = ?suspended.backoff, "the suspended slot's probe failed, probing again later: {reason}");
                        drop(state);
                        self.notify();
                    }
                    Some(_) => {}
                    None if settings.suspend_after > 0 && failures >= settings.suspend_after => {
                        let backoff = settings.probe_backoff.min(settings.max_probe_backoff);
                        state.suspended = Some(Suspended {
                            since: jiff::Timestamp::now(),
                            backoff,
                            next_probe: Instant::now() + backoff,
                            probe: None,
                        });
                        tracing::error!(tenant = %self.tenant, slot = %self.slot, %plugin, failures, probe_in = ?backoff, "slot suspended: {failures} inputs in a row failed by the plugin's fault; its messages wait in the stream until a probe succeeds, another version is activated or an admin resumes it (millwright plugin resume --tenant {} --slot {}); the last failure: {reason}", self.tenant, self.slot);
                        drop(state);
                        self.notify();
                    }
                    None => {}
                }
            }
        }
    }

    /// The probe `input` ended without reaching the plugin (it failed a check first): another message may probe
    /// at once.
    pub fn done(&self, input: &str) {
        let mut state = self.state();
        if let Some(suspended) = state.suspended.as_mut()
            && suspended.probe.as_deref() == Some(input)
        {
            suspended.probe = None;
            drop(state);
            self.notify();
        }
    }

    /// Lifts a suspension by an admin's word; whether the slot was suspended.
    pub fn resume(&self, by: &str) -> bool {
        let mut state = self.state();
        state.failures = 0;
        state.failed.clear();
        let was = state.suspended.take().is_some();
        if was {
            tracing::info!(tenant = %self.tenant, slot = %self.slot, plugin = %state.plugin, by, "suspension lifted by an admin");
            drop(state);
            self.notify();
        }
        was
    }

    /// The suspension, while the slot is suspended.
    pub fn suspension(&self) -> Option<Suspension> {
        let state = self.state();
        let suspended = state.suspended.as_ref()?;
        let now = Instant::now();
        let wait = suspended.next_probe.saturating_duration_since(now);
        Some(Suspension {
            tenant: self.tenant.clone(),
            slot: self.slot.clone(),
            version: state.version.clone()?,
            plugin: state.plugin.clone(),
            since: suspended.since,
            failures: state.failures,
            last_class: state.last.as_ref().map(|(class, _)| *class),
            last_error: state.last.as_ref().map(|(_, error)| error.clone()),
            next_probe: jiff::Timestamp::now()
                .checked_add(wait)
                .unwrap_or_else(|_| jiff::Timestamp::now()),
            probe_backoff: suspended.backoff,
        })
    }
}

/// The breakers of every slot this host's routes run.
#[derive(Debug, Default)]
pub struct Breakers {
    slots: Mutex<HashMap<(Tenant, Slot), Arc<Breaker>>>,
}

impl Breakers {
    fn slots(&self) -> MutexGuard<'_, HashMap<(Tenant, Slot), Arc<Breaker>>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The breaker of `tenant`/`slot`, made on first use.
    pub fn slot(&self, tenant: &Tenant, slot: &Slot) -> Arc<Breaker> {
        self.slots()
            .entry((tenant.clone(), slot.clone()))
            .or_insert_with(|| Arc::new(Breaker::new(tenant.clone(), slot.clone())))
            .clone()
    }

    /// The breaker of `tenant`/`slot`, if a route ran it.
    pub fn get(&self, tenant: &Tenant, slot: &Slot) -> Option<Arc<Breaker>> {
        self.slots().get(&(tenant.clone(), slot.clone())).cloned()
    }

    /// Every suspended slot, by tenant and slot.
    pub fn suspended(&self) -> Vec<Suspension> {
        let breakers: Vec<Arc<Breaker>> = self.slots().values().cloned().collect();
        let mut out: Vec<Suspension> = breakers.iter().filter_map(|b| b.suspension()).collect();
        out.sort_by(|a, b| (&a.tenant, &a.slot).cmp(&(&b.tenant, &b.slot)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judged(suspend_after: u32, probe_backoff: Duration) -> (Breaker, Sha256) {
        let breaker = Breaker::new(
            Tenant::new("acme").expect("tenant"),
            Slot::new("s").expect("slot"),
        );
        let sha = Sha256::of(b"v1");
        breaker.serve(
            &sha,
            "p@1",
            BreakerSettings {
                suspend_after,
                probe_backoff,
                max_probe_backoff: probe_backoff * 4,
            },
        );
        (breaker, sha)
    }

    fn fault(breaker: &Breaker, sha: &Sha256, input: &str) {
        breaker.record(
            sha,
            input,
            Verdict::Fault,
            Some((
                FailureClass::Deadline,
                "the plugin ran past its deadline".into(),
            )),
        );
    }

    #[test]
    fn a_slot_is_suspended_after_n_inputs_in_a_row_fail_and_a_retry_counts_once() {
        let (breaker, sha) = judged(3, Duration::from_secs(60));
        for _ in 0..5 {
            fault(&breaker, &sha, "a");
        }
        fault(&breaker, &sha, "b");
        assert_eq!(breaker.gate("c"), Gate::Open, "two inputs, however retried");
        breaker.record(&sha, "c", Verdict::Healthy, None);
        fault(&breaker, &sha, "d");
        fault(&breaker, &sha, "e");
        assert_eq!(
            breaker.gate("x"),
            Gate::Open,
            "a success starts the count again"
        );
        fault(&breaker, &sha, "f");
        assert_eq!(breaker.gate("x"), Gate::Closed);
        assert!(!breaker.may_run("x"));
        let suspension = breaker.suspension().expect("suspended");
        assert_eq!(suspension.failures, 3);
        assert_eq!(suspension.last_class, Some(FailureClass::Deadline));
    }

    #[test]
    fn what_is_not_the_plugins_fault_never_trips_it_and_zero_turns_it_off() {
        let (breaker, sha) = judged(2, Duration::from_secs(60));
        for (i, class) in [
            FailureClass::Transient,
            FailureClass::Host,
            FailureClass::DeliveryFailed,
            FailureClass::PublishFailed,
        ]
        .into_iter()
        .enumerate()
        {
            breaker.record(&sha, &i.to_string(), Verdict::of(Some(class)), None);
        }
        assert_eq!(
            Verdict::of(Some(FailureClass::InvalidDocument)),
            Verdict::Healthy
        );
        assert_eq!(breaker.gate("x"), Gate::Open);
        let (off, sha) = judged(0, Duration::from_secs(60));
        for i in 0..100 {
            fault(&off, &sha, &i.to_string());
        }
        assert_eq!(off.gate("x"), Gate::Open);
    }

    #[test]
    fn one_probe_at_a_time_a_failed_one_doubles_the_wait_and_a_success_lifts_it() {
        let (breaker, sha) = judged(1, Duration::ZERO);
        fault(&breaker, &sha, "a");
        assert_eq!(breaker.gate("b"), Gate::Probe, "no wait: probe at once");
        assert_eq!(breaker.gate("c"), Gate::Closed, "one probe at a time");
        assert!(breaker.may_run("b") && !breaker.may_run("c"));
        fault(&breaker, &sha, "b");
        assert_eq!(breaker.gate("c"), Gate::Probe, "zero doubled is zero");
        breaker.done("c");
        assert_eq!(
            breaker.gate("d"),
            Gate::Probe,
            "a probe that never ran frees the way"
        );
        breaker.record(&sha, "d", Verdict::Healthy, None);
        assert_eq!(breaker.gate("e"), Gate::Open);

        let (slow, sha) = breaker_with_wait();
        fault(&slow, &sha, "a");
        let first = slow.suspension().expect("suspended").probe_backoff;
        assert_eq!(slow.gate("b"), Gate::Closed, "not before its wait");
        assert!(slow.wait().is_some_and(|w| w > Duration::ZERO));
        assert!(slow.resume("admin"));
        assert_eq!(slow.gate("b"), Gate::Open);
        assert_eq!(first, Duration::from_secs(60));
    }

    fn breaker_with_wait() -> (Breaker, Sha256) {
        judged(1, Duration::from_secs(60))
    }

    #[test]
    fn another_version_lifts_the_suspension_and_late_calls_of_the_old_one_are_ignored() {
        let (breaker, old) = judged(1, Duration::from_secs(60));
        fault(&breaker, &old, "a");
        assert_eq!(breaker.gate("b"), Gate::Closed);
        let new = Sha256::of(b"v2");
        breaker.serve(&new, "p@2", BreakerSettings::default());
        assert_eq!(breaker.gate("b"), Gate::Open);
        for i in 0..10 {
            fault(&breaker, &old, &i.to_string());
        }
        assert_eq!(
            breaker.gate("b"),
            Gate::Open,
            "the old version's calls count no more"
        );
    }
}
