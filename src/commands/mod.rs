//! Command handling: every command is decided against the current state of its streams and appended with an
//! expected version, together with its inline view updates and its idempotency record, in one transaction.
//!
//! One writer task owns the write connection and commits commands in groups (group commit): it takes every command
//! waiting when it becomes free, decides them all in memory against cached stream states, writes the group with a
//! few multi-row statements and makes it durable with one commit. When that fails (a race with another instance, a
//! view's unique constraint, a key committed meanwhile), the group is rolled back and replayed one savepoint per
//! command, so that a failure fails only its command. On a shared PostgreSQL the cache is caught up from the ledger
//! before every decision, and the `events_stream_version` constraint arbitrates races between instances (the loser
//! re-reads and decides again).

mod aggregates;
mod target;
mod writer;

use chrono::{DateTime, Utc};
use tally_events::{Actor, Envelope};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

pub use target::{Stream, Target};

use crate::{
    domain::Refusal,
    store::{
        idempotency::{IdempotencyKey, StoredResponse},
        Db, StoreError,
    },
};

/// Renders the outcome as the response the caller will get (and a retry will get again).
pub type Render = Box<dyn Fn(&Result<Vec<Envelope>, Refusal>) -> StoredResponse + Send + Sync>;

/// A command with everything the ledger records about it.
pub struct Command {
    pub tenant: String,
    pub actor: Actor,
    pub target: Target,
    /// When it happened, if the caller says; else when it is recorded.
    pub occurred_at: Option<DateTime<Utc>>,
    pub correlation_id: Uuid,
    pub causation_id: Option<Uuid>,
    pub idempotency: Option<IdempotencyKey>,
    pub render: Option<Render>,
}

impl Command {
    /// A command with a fresh correlation id, no idempotency key and no rendering: for jobs and tools.
    pub fn new(tenant: &str, actor: Actor, target: Target) -> Command {
        Command {
            tenant: tenant.to_owned(),
            actor,
            target,
            occurred_at: None,
            correlation_id: Uuid::now_v7(),
            causation_id: None,
            idempotency: None,
            render: None,
        }
    }

    /// This command as a consequence of `cause`: its events record `cause`'s event id as their causation id and
    /// join `cause`'s correlation. A ledger subscriber that issues commands in response to events builds them with
    /// this, so that everything a request set off, however indirectly, can be traced back to it.
    pub fn caused_by(self, cause: &Envelope) -> Command {
        Command { correlation_id: cause.correlation_id, causation_id: Some(cause.event_id), ..self }
    }
}

/// What became of a command.
#[derive(Debug)]
pub enum Outcome {
    /// Decided now: the appended events or the rule that refused it, and the rendered response.
    Executed { result: Result<Vec<Envelope>, Refusal>, response: Option<StoredResponse> },
    /// The same key with the same request was seen before: the first response.
    Replayed(StoredResponse),
    /// The same key came with a different request.
    KeyReused,
}

struct Job {
    command: Command,
    reply: oneshot::Sender<Result<Outcome, StoreError>>,
}

/// The handle to submit commands to the writer.
#[derive(Clone)]
pub struct Executor {
    jobs: mpsc::Sender<Job>,
}

impl Executor {
    /// Starts the writer task on `db`.
    pub fn start(db: Db) -> Executor {
        let (jobs, queue) = mpsc::channel(8 * writer::MAX_BATCH);
        tokio::spawn(writer::supervise(db, queue));
        Executor { jobs }
    }

    /// Submits a command and waits until it is durably committed (or refused).
    pub async fn execute(&self, command: Command) -> Result<Outcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.jobs.send(Job { command, reply }).await.map_err(|_| StoreError::WriterStopped)?;
        answer.await.map_err(|_| StoreError::WriterStopped)?
    }
}
