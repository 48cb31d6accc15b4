//! A route's plugin threads: wasmtime calls are synchronous and CPU-bound, so each route runs its mapper on its
//! own few threads, each with its own [`Session`](crate::invoke::Session) (and warm instance, when the route
//! reuses instances), and the async pipeline awaits the answers.

use std::sync::{Arc, Mutex, mpsc};

use serde_json::Value;
use tokio::sync::oneshot;

use super::breaker::{Breaker, Verdict};
use crate::host_api::Miss;
use crate::invoke::{Envelope, Event, InvokeError, Limits, Mapper, OutboundDocument};

/// What a route asks its plugin.
pub enum Job {
    /// Map a document into canonical events.
    Map(Envelope),
    /// Render a canonical event for a target.
    Render {
        /// The event as canonical JSON.
        event: Value,
        /// The target's name.
        target: String,
        /// The correlation id the documents carry.
        correlation_id: String,
        /// The input the documents are made for (its stream position), which keys the numbers the plugin
        /// takes from `sequences.next`.
        input_key: String,
    },
}

impl Job {
    /// The input the job is for, as the slot's breaker counts it: the document's message id, or the event's
    /// place in its stream.
    pub fn input(&self) -> &str {
        match self {
            Job::Map(envelope) => &envelope.message_id,
            Job::Render { input_key, .. } => input_key,
        }
    }
}

/// What the plugin answered.
pub enum Answer {
    /// Canonical events.
    Events(Vec<Event>),
    /// Documents for the target.
    Documents(Vec<OutboundDocument>),
}

/// The answer, and the master-data tables the call looked up and missed.
type Reply = oneshot::Sender<(Result<Answer, InvokeError>, Vec<Miss>)>;

/// What a pool's threads run.
#[derive(Debug)]
enum Runs {
    /// A plugin.
    Plugin(Arc<Mapper>),
    /// The built-in canonical mapper, for a tenant.
    Canonical { tenant: String, limits: Limits },
}

/// The threads running one route's plugin.
pub struct Pool {
    jobs: mpsc::Sender<(Job, Reply)>,
    runs: Arc<Runs>,
    label: Arc<str>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("runs", &self.label).finish()
    }
}

impl Pool {
    /// Starts `workers` threads for `mapper`; they end when the pool is dropped. With a `breaker`, every call's
    /// verdict is recorded with it, and a call is not made while it holds the slot suspended (unless it is the
    /// probe).
    pub fn new(
        mapper: Mapper,
        workers: usize,
        name: &str,
        breaker: Option<Arc<Breaker>>,
    ) -> std::io::Result<Self> {
        let label = Arc::from(mapper.label());
        Self::start(
            Runs::Plugin(Arc::new(mapper)),
            label,
            workers,
            name,
            breaker,
        )
    }

    /// Starts `workers` threads for the built-in canonical mapper of `tenant`.
    pub fn canonical(tenant: &str, workers: usize, name: &str) -> std::io::Result<Self> {
        let runs = Runs::Canonical {
            tenant: tenant.to_string(),
            limits: Limits::default(),
        };
        Self::start(
            runs,
            Arc::from(crate::canonical::mapper::LABEL),
            workers,
            name,
            None,
        )
    }

    fn start(
        runs: Runs,
        label: Arc<str>,
        workers: usize,
        name: &str,
        breaker: Option<Arc<Breaker>>,
    ) -> std::io::Result<Self> {
        let runs = Arc::new(runs);
        let (jobs, queue) = mpsc::channel::<(Job, Reply)>();
        let queue = Arc::new(Mutex::new(queue));
        for index in 0..workers.max(1) {
            let runs = runs.clone();
            let queue = queue.clone();
            let breaker = breaker.clone();
            std::thread::Builder::new()
                .name(format!("{name}#{index}"))
                .spawn(move || {
                    let mapper = match &*runs {
                        Runs::Plugin(mapper) => mapper,
                        Runs::Canonical { tenant, limits } => {
                            return serve_canonical(&queue, tenant, limits);
                        }
                    };
                    let mut session = mapper.session();
                    loop {
                        // The lock is held only while waiting for the next job.
                        let next = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        let Ok((job, reply)) = next else { return };
                        let input = job.input().to_string();
                        let sha = &mapper.plugin().sha256;
                        if let Some(breaker) = &breaker
                            && !breaker.may_run(&input)
                        {
                            // Queued before the slot was suspended: it waits with the others, untried.
                            let held = InvokeError::Suspended(
                                "the slot is suspended: the message waits in the stream".into(),
                            );
                            let _ = reply.send((Err(held), Vec::new()));
                            continue;
                        }
                        let answer = match job {
                            Job::Map(envelope) => session.map(&envelope).map(Answer::Events),
                            Job::Render {
                                event,
                                target,
                                correlation_id,
                                input_key,
                            } => session
                                .render(&event, &target, &correlation_id, &input_key)
                                .map(Answer::Documents),
                        };
                        if let Some(breaker) = &breaker {
                            let failure = answer.as_ref().err().map(|e| (e.class(), e.to_string()));
                            let verdict = Verdict::of(failure.as_ref().map(|(class, _)| *class));
                            breaker.record(sha, &input, verdict, failure);
                        }
                        let _ = reply.send((answer, session.take_misses()));
                    }
                })?;
        }
        Ok(Self { jobs, runs, label })
    }

    /// The plugin's `name@version+sha`.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The label, shared cheaply with the tasks that settle a message.
    pub fn label_arc(&self) -> Arc<str> {
        self.label.clone()
    }

    /// The plugin the threads run; `None` for a built-in mapper.
    pub fn mapper(&self) -> Option<&Mapper> {
        match &*self.runs {
            Runs::Plugin(mapper) => Some(mapper),
            Runs::Canonical { .. } => None,
        }
    }

    /// The sha256 of the plugin the threads run; `None` for a built-in mapper.
    pub fn sha256(&self) -> Option<&crate::names::Sha256> {
        self.mapper().map(|m| &m.plugin().sha256)
    }

    /// Runs `job` on a free thread: the answer, and the master-data tables the call looked up and missed.
    pub async fn run(&self, job: Job) -> (Result<Answer, InvokeError>, Vec<Miss>) {
        let (reply, answer) = oneshot::channel();
        if self.jobs.send((job, reply)).is_err() {
            let stopped = InvokeError::Host("the route's plugin threads have stopped".into());
            return (Err(stopped), Vec::new());
        }
        answer.await.unwrap_or_else(|_| {
            let stopped = InvokeError::Host("the route's plugin thread stopped mid-call".into());
            (Err(stopped), Vec::new())
        })
    }
}

/// A thread of the built-in canonical mapper: documents in, canonical events out; it renders nothing.
fn serve_canonical(queue: &Mutex<mpsc::Receiver<(Job, Reply)>>, tenant: &str, limits: &Limits) {
    loop {
        let next = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        let Ok((job, reply)) = next else { return };
        let answer = match job {
            Job::Map(envelope) => {
                crate::canonical::mapper::map(tenant, &envelope, limits).map(Answer::Events)
            }
            Job::Render { .. } => Err(InvokeError::Host(
                "the canonical mapper maps inbound documents; it renders nothing".into(),
            )),
        };
        let _ = reply.send((answer, Vec::new()));
    }
}
