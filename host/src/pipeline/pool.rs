//! A route's plugin threads: wasmtime calls are synchronous and CPU-bound, so each route runs its mapper on its
//! own few threads, each with its own [`Session`](crate::invoke::Session) (and warm instance, when the route
//! reuses instances), and the async pipeline awaits the answers.

use std::sync::{Arc, Mutex, mpsc};

use serde_json::Value;
use tokio::sync::oneshot;

use crate::invoke::{Envelope, Event, InvokeError, Mapper, OutboundDocument};

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

/// What the plugin answered.
pub enum Answer {
    /// Canonical events.
    Events(Vec<Event>),
    /// Documents for the target.
    Documents(Vec<OutboundDocument>),
}

type Reply = oneshot::Sender<Result<Answer, InvokeError>>;

/// The threads running one route's plugin.
pub struct Pool {
    jobs: mpsc::Sender<(Job, Reply)>,
    mapper: Arc<Mapper>,
    label: Arc<str>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("plugin", &self.mapper.label())
            .finish()
    }
}

impl Pool {
    /// Starts `workers` threads for `mapper`; they end when the pool is dropped.
    pub fn new(mapper: Mapper, workers: usize, name: &str) -> std::io::Result<Self> {
        let mapper = Arc::new(mapper);
        let (jobs, queue) = mpsc::channel::<(Job, Reply)>();
        let queue = Arc::new(Mutex::new(queue));
        for index in 0..workers.max(1) {
            let mapper = mapper.clone();
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("{name}#{index}"))
                .spawn(move || {
                    let mut session = mapper.session();
                    loop {
                        // The lock is held only while waiting for the next job.
                        let next = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        let Ok((job, reply)) = next else { return };
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
                        let _ = reply.send(answer);
                    }
                })?;
        }
        let label = Arc::from(mapper.label());
        Ok(Self {
            jobs,
            mapper,
            label,
        })
    }

    /// The plugin's `name@version+sha`.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The label, shared cheaply with the tasks that settle a message.
    pub fn label_arc(&self) -> Arc<str> {
        self.label.clone()
    }

    /// The mapper the threads run.
    pub fn mapper(&self) -> &Mapper {
        &self.mapper
    }

    /// Runs `job` on a free thread.
    pub async fn run(&self, job: Job) -> Result<Answer, InvokeError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send((job, reply))
            .map_err(|_| InvokeError::Host("the route's plugin threads have stopped".into()))?;
        answer
            .await
            .map_err(|_| InvokeError::Host("the route's plugin thread stopped mid-call".into()))?
    }
}
