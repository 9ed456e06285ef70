//! Command handling: every command is decided against the current state of its stream and appended with an
//! expected version, together with its inline projection updates and its idempotency record, in one transaction.
//!
//! One writer task owns the write connection and commits commands in groups (group commit): it takes every command
//! waiting when it becomes free, runs each inside a savepoint, and commits them with one durable commit. A command
//! that fails rolls back only its savepoint. Stream states are cached in memory; on a shared PostgreSQL the cache is
//! caught up from the ledger before every decision, and the `events_stream_version` constraint arbitrates races
//! between instances (the loser re-reads and decides again).

use std::{collections::HashMap, sync::Arc, time::Instant};

use chrono::{DateTime, Utc};
use sqlx::{Acquire, Any, AnyConnection, Transaction};
use tally_events::{Actor, BillingMode, BusinessRegistered, Envelope};
use tally_projections::{apply_batch, stream, Source, APPEND_LOCK};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::{
    domain::{
        account::{Account, AccountAggregate, AccountCommand},
        card::{Card, CardAggregate, CardCommand},
        contact::{Contact, ContactAggregate, ContactCommand},
        promotion::{
            BillingAggregate, Business, BusinessAggregate, Promotion, PromotionAggregate, PromotionCommand,
            ReportedThroughScanTrack,
        },
        Aggregate, Context, DomainError,
    },
    store::{
        idempotency::{self, IdempotencyKey, Prior, StoredResponse},
        ledger::{self, Append, CommandMeta},
        violated_constraint, Db, Dialect, StoreError,
    },
};

/// Commands committed together at most.
const MAX_BATCH: usize = 256;
/// Attempts at a command whose stream another instance changed meanwhile.
const MAX_ATTEMPTS: usize = 5;
/// Cached stream states at most; the cache is emptied when it grows past this.
const MAX_CACHED_STREAMS: usize = 500_000;

/// A command for one stream.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Card {
        number: String,
        command: CardCommand,
    },
    Contact {
        contact_id: Uuid,
        command: ContactCommand,
    },
    Account {
        contact_id: Uuid,
        command: AccountCommand,
    },
    /// Registers many cards at once, all or none.
    RegisterCards(Vec<CardCommand>),
    Business {
        business_id: String,
        command: BusinessRegistered,
    },
    Promotion {
        business_id: String,
        promotion_id: String,
        command: PromotionCommand,
    },
    /// The merchant of the command reported a use through ScanTrack.
    Billing(ReportedThroughScanTrack),
}

impl Target {
    /// Every stream the command decides on.
    fn stream_ids(&self, tenant: &str) -> Vec<String> {
        match self {
            Target::Card { number, .. } => vec![stream::card(tenant, number)],
            Target::Contact { contact_id, .. } => vec![stream::contact(tenant, *contact_id)],
            Target::Account { contact_id, .. } => vec![stream::account(tenant, *contact_id)],
            Target::RegisterCards(cards) => cards
                .iter()
                .filter_map(|card| match card {
                    CardCommand::Register { number, .. } => Some(stream::card(tenant, number)),
                    _ => None,
                })
                .collect(),
            Target::Business { business_id, .. } => vec![stream::business(business_id)],
            Target::Promotion { business_id, promotion_id, .. } => vec![stream::promotion(business_id, promotion_id)],
            Target::Billing(_) => vec![stream::billing(tenant)],
        }
    }
}

/// Renders the outcome as the response the caller will get (and a retry will get again).
pub type Render = Box<dyn Fn(&Result<Vec<Envelope>, DomainError>) -> StoredResponse + Send + Sync>;

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
    Executed { result: Result<Vec<Envelope>, DomainError>, response: Option<StoredResponse> },
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
        let (jobs, queue) = mpsc::channel(8 * MAX_BATCH);
        tokio::spawn(supervise(db, queue));
        Executor { jobs }
    }

    /// Submits a command and waits until it is durably committed (or refused).
    pub async fn execute(&self, command: Command) -> Result<Outcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.jobs.send(Job { command, reply }).await.map_err(|_| StoreError::WriterStopped)?;
        answer.await.map_err(|_| StoreError::WriterStopped)?
    }
}

/// A cached stream state.
#[derive(Clone)]
enum State {
    Card(Option<Card>),
    Contact(Option<Contact>),
    Account(Account),
    Promotion(Option<Promotion>),
    Business(Option<Business>),
    Billing(Option<BillingMode>),
}

/// An aggregate whose state can sit in the cache.
trait Cached: Aggregate {
    fn wrap(state: Self::State) -> State;
    fn unwrap(state: State) -> Option<Self::State>;
}

macro_rules! cached {
    ($aggregate:ty, $variant:ident) => {
        impl Cached for $aggregate {
            fn wrap(state: Self::State) -> State {
                State::$variant(state)
            }
            fn unwrap(state: State) -> Option<Self::State> {
                match state {
                    State::$variant(state) => Some(state),
                    _ => None,
                }
            }
        }
    };
}
cached!(CardAggregate, Card);
cached!(ContactAggregate, Contact);
cached!(AccountAggregate, Account);
cached!(PromotionAggregate, Promotion);
cached!(BusinessAggregate, Business);
cached!(BillingAggregate, Billing);

/// Runs the writer, and a fresh one (with an empty cache) should it ever panic: the commands of the group in flight
/// then fail (their transaction is rolled back), and every later command is served again.
async fn supervise(db: Db, queue: mpsc::Receiver<Job>) {
    let queue = Arc::new(tokio::sync::Mutex::new(queue));
    loop {
        let writer = Writer { db: db.clone(), cache: HashMap::new() };
        match tokio::spawn(writer.run(queue.clone())).await {
            Ok(()) => return,
            Err(failure) => {
                tracing::error!(%failure, "the command writer failed; starting a new one");
                metrics::counter!("tally_writer_restarts_total").increment(1);
            }
        }
    }
}

struct Writer {
    db: Db,
    /// stream id -> (version, state), as of the last commit.
    cache: HashMap<String, (i64, State)>,
}

impl Writer {
    async fn run(mut self, queue: Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>) {
        let mut queue = queue.lock().await;
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
            let started = Instant::now();
            let size = batch.len();
            self.commit_batch(std::mem::take(&mut batch)).await;
            metrics::histogram!("tally_commit_batch_size").record(size as f64);
            metrics::histogram!("tally_commit_batch_seconds").record(started.elapsed().as_secs_f64());
        }
    }

    /// Commits a group of commands. The fast path runs them all in one transaction with no savepoints; any
    /// database error there (a race with another instance, a view constraint, an idempotency key committed
    /// meanwhile) rolls the group back and replays it on the careful path, one savepoint per command.
    async fn commit_batch(&mut self, jobs: Vec<Job>) {
        let now = Utc::now();
        let outcomes = match self.fast_batch(&jobs, now).await {
            Ok(outcomes) => outcomes.into_iter().map(Ok).collect(),
            Err(error) => {
                tracing::debug!(%error, "group commit fell back to one savepoint per command");
                metrics::counter!("tally_commit_fallbacks_total").increment(1);
                self.careful_batch(&jobs, now).await
            }
        };
        for (job, outcome) in jobs.into_iter().zip(outcomes) {
            let _ = job.reply.send(outcome);
        }
    }

    async fn begin(&self) -> Result<Transaction<'static, Any>, sqlx::Error> {
        let mut tx = self.db.write.begin().await?;
        if self.db.dialect == Dialect::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(APPEND_LOCK).execute(&mut *tx).await?;
        }
        Ok(tx)
    }

    /// Every command of the group in one transaction, or an error and nothing written: keys seen before are
    /// answered from the idempotency records (one look-up for the group), the rest are decided (each against the
    /// states the earlier ones left) and then written together.
    async fn fast_batch(&mut self, jobs: &[Job], now: DateTime<Utc>) -> Result<Vec<Outcome>, StoreError> {
        let mut staged = HashMap::new();
        let mut tx = self.begin().await?;
        let keys: Vec<&IdempotencyKey> = jobs.iter().filter_map(|job| job.command.idempotency.as_ref()).collect();
        let mut known = idempotency::lookup_many(&mut tx, &keys).await?.into_iter();
        let mut priors = Vec::with_capacity(jobs.len());
        let mut decided = Vec::with_capacity(jobs.len());
        for job in jobs {
            let prior = match job.command.idempotency {
                Some(_) => known.next().expect("one answer per key"),
                None => Prior::None,
            };
            decided.push(match prior {
                Prior::None => Some(self.decide_command(&mut tx, &mut staged, &job.command, now).await?),
                _ => None,
            });
            priors.push(prior);
        }
        let accepted: Vec<(&Command, &[Decision])> = jobs
            .iter()
            .zip(&decided)
            .filter_map(|(job, decision)| match decision {
                Some(Ok(decisions)) => Some((&job.command, decisions.as_slice())),
                _ => None,
            })
            .collect();
        let mut written = Self::write(&mut tx, &accepted, now).await?.into_iter();
        let mut outcomes = Vec::with_capacity(jobs.len());
        for ((job, prior), decision) in jobs.iter().zip(priors).zip(decided) {
            outcomes.push(match (prior, decision) {
                (Prior::Same(response), _) => Outcome::Replayed(response),
                (Prior::Different, _) => Outcome::KeyReused,
                (Prior::None, decision) => {
                    let result = decision
                        .expect("decided when the key is new")
                        .map(|_| written.next().expect("one envelope list per accepted command"));
                    let response = job.command.render.as_ref().map(|render| render(&result));
                    Outcome::Executed { result, response }
                }
            });
        }
        let records: Vec<(&IdempotencyKey, &StoredResponse)> = jobs
            .iter()
            .zip(&outcomes)
            .filter_map(|(job, outcome)| match outcome {
                Outcome::Executed { response: Some(response), .. } => {
                    Some((job.command.idempotency.as_ref()?, response))
                }
                _ => None,
            })
            .collect();
        idempotency::save_many(&mut tx, &records).await?;
        tx.commit().await?;
        self.remember(staged);
        Ok(outcomes)
    }

    /// The group again, each command in its own savepoint, so that one failure fails only its command.
    async fn careful_batch(&mut self, jobs: &[Job], now: DateTime<Utc>) -> Vec<Result<Outcome, StoreError>> {
        let mut staged = HashMap::new();
        let mut outcomes = Vec::with_capacity(jobs.len());
        let committed = async {
            let mut tx = self.begin().await?;
            for job in jobs {
                outcomes.push(self.run_job(&mut tx, &mut staged, &job.command, now).await);
            }
            tx.commit().await
        }
        .await;
        match committed {
            Ok(()) => {
                self.remember(staged);
                outcomes
            }
            Err(error) => {
                tracing::error!(%error, "commit failed; the group's commands were not applied");
                jobs.iter().map(|_| Err(StoreError::Database(sqlx::Error::Protocol(error.to_string())))).collect()
            }
        }
    }

    /// Takes the states of a committed group into the cache.
    fn remember(&mut self, staged: HashMap<String, (i64, State)>) {
        if self.cache.len() + staged.len() > MAX_CACHED_STREAMS {
            self.cache.clear();
        }
        self.cache.extend(staged);
    }

    /// Runs one command in a savepoint of the batch transaction, retrying when another instance won a race.
    async fn run_job(
        &mut self,
        tx: &mut Transaction<'static, Any>,
        staged: &mut HashMap<String, (i64, State)>,
        command: &Command,
        now: DateTime<Utc>,
    ) -> Result<Outcome, StoreError> {
        for _ in 0..MAX_ATTEMPTS {
            let mut savepoint = tx.begin().await?;
            if let Some(key) = &command.idempotency {
                match idempotency::lookup(&mut savepoint, key).await? {
                    Prior::None => {}
                    Prior::Same(response) => return Ok(Outcome::Replayed(response)),
                    Prior::Different => return Ok(Outcome::KeyReused),
                }
            }
            let attempt = self.attempt_one(&mut savepoint, staged, command, now).await;
            match attempt {
                Ok(result) => {
                    let response = command.render.as_ref().map(|render| render(&result));
                    if let (Some(key), Some(response)) = (&command.idempotency, &response) {
                        idempotency::save(&mut savepoint, key, response).await?;
                    }
                    savepoint.commit().await?;
                    return Ok(Outcome::Executed { result, response });
                }
                Err(error) => {
                    savepoint.rollback().await?;
                    // What was staged for the command's streams was not written: they are read again when needed.
                    for stream_id in command.target.stream_ids(&command.tenant) {
                        staged.remove(&stream_id);
                    }
                    match violated_constraint(&error) {
                        Some("events_stream_version") => {
                            // Another instance appended to the stream: decide again on what the ledger says now.
                            metrics::counter!("tally_command_conflicts_total").increment(1);
                            continue;
                        }
                        Some(constraint) => {
                            let refusal =
                                refusal_for(constraint, &command.target).ok_or(StoreError::Database(error))?;
                            return self.refuse(tx, command, refusal).await;
                        }
                        None => return Err(StoreError::Database(error)),
                    }
                }
            }
        }
        Err(StoreError::Contention)
    }

    /// Records a refusal found by a constraint after the decision (a race the lookups could not see).
    async fn refuse(
        &self,
        tx: &mut Transaction<'static, Any>,
        command: &Command,
        refusal: DomainError,
    ) -> Result<Outcome, StoreError> {
        let result = Err(refusal);
        let response = command.render.as_ref().map(|render| render(&result));
        if let (Some(key), Some(response)) = (&command.idempotency, &response) {
            let mut savepoint = tx.begin().await?;
            idempotency::save(&mut savepoint, key, response).await?;
            savepoint.commit().await?;
        }
        Ok(Outcome::Executed { result, response })
    }

    /// Decides a command against the current state of every stream it touches, reading but not writing, and
    /// stages the states after it. All or nothing: the first refusal refuses the whole command and leaves every state
    /// as it was. Returns the decisions that append events.
    async fn decide_command(
        &mut self,
        tx: &mut AnyConnection,
        staged: &mut HashMap<String, (i64, State)>,
        command: &Command,
        now: DateTime<Utc>,
    ) -> Result<Result<Vec<Decision>, DomainError>, sqlx::Error> {
        let context = Context { now, actor: command.actor.clone() };
        let streams = command.target.stream_ids(&command.tenant);
        let mut verdicts = Vec::with_capacity(streams.len());
        match &command.target {
            Target::Card { command: c, .. } => {
                verdicts.push(self.decide::<CardAggregate>(tx, staged, &streams[0], c.clone(), &context).await?)
            }
            Target::Contact { command: c, .. } => {
                verdicts.push(self.decide::<ContactAggregate>(tx, staged, &streams[0], c.clone(), &context).await?)
            }
            Target::Account { command: c, .. } => {
                verdicts.push(self.decide::<AccountAggregate>(tx, staged, &streams[0], c.clone(), &context).await?)
            }
            Target::Business { command: c, .. } => {
                verdicts.push(self.decide::<BusinessAggregate>(tx, staged, &streams[0], c.clone(), &context).await?)
            }
            Target::Promotion { command: c, .. } => {
                verdicts.push(self.decide::<PromotionAggregate>(tx, staged, &streams[0], c.clone(), &context).await?)
            }
            Target::Billing(c) => {
                verdicts.push(self.decide::<BillingAggregate>(tx, staged, &streams[0], c.clone(), &context).await?)
            }
            Target::RegisterCards(cards) => {
                for (card, stream_id) in cards.iter().zip(&streams) {
                    verdicts.push(self.decide::<CardAggregate>(tx, staged, stream_id, card.clone(), &context).await?);
                }
            }
        }
        let refusal = verdicts.iter().find_map(|(_, verdict)| verdict.as_ref().err().cloned());
        let mut decisions = Vec::new();
        for (loaded, verdict) in verdicts {
            let Loaded { stream_id, version, state } = loaded;
            match (&refusal, verdict) {
                (None, Ok(events)) if !events.is_empty() => {
                    let after = events.iter().fold(state, State::evolve);
                    staged.insert(stream_id.clone(), (version + events.len() as i64, after));
                    decisions.push(Decision { stream_id, version, events });
                }
                _ => {
                    staged.insert(stream_id, (version, state));
                }
            }
        }
        Ok(match refusal {
            Some(refusal) => Err(refusal),
            None => Ok(decisions),
        })
    }

    /// Writes decided commands: their events in one multi-row append and the inline views in a few statements,
    /// however many commands there are. Returns each command's envelopes.
    async fn write(
        tx: &mut AnyConnection,
        decided: &[(&Command, &[Decision])],
        now: DateTime<Utc>,
    ) -> Result<Vec<Vec<Envelope>>, sqlx::Error> {
        let metas: Vec<CommandMeta> = decided
            .iter()
            .map(|(command, _)| CommandMeta {
                tenant: command.tenant.clone(),
                actor: command.actor.clone(),
                correlation_id: command.correlation_id,
                causation_id: command.causation_id,
                idempotency_key: command.idempotency.as_ref().map(|k| k.key.clone()),
                occurred_at: command.occurred_at.unwrap_or(now),
                recorded_at: now,
            })
            .collect();
        let mut owners = Vec::new();
        let mut items = Vec::new();
        for (index, ((_, decisions), meta)) in decided.iter().zip(&metas).enumerate() {
            for d in decisions.iter() {
                owners.push(index);
                items.push(Append { stream_id: &d.stream_id, expected_version: d.version, events: &d.events, meta });
            }
        }
        let appended = ledger::append_batch(tx, &items).await?;
        let sources: Vec<(Source<'_>, &[tally_events::Event])> =
            items.iter().map(|a| (Source { tenant: &a.meta.tenant, stream_id: a.stream_id }, a.events)).collect();
        apply_batch(tx, &sources).await?;
        let mut per_command = vec![Vec::new(); decided.len()];
        for (index, envelopes) in owners.into_iter().zip(appended) {
            per_command[index].extend(envelopes);
        }
        Ok(per_command)
    }

    /// Decides and writes one command.
    async fn attempt_one(
        &mut self,
        tx: &mut AnyConnection,
        staged: &mut HashMap<String, (i64, State)>,
        command: &Command,
        now: DateTime<Utc>,
    ) -> Result<Result<Vec<Envelope>, DomainError>, sqlx::Error> {
        match self.decide_command(tx, staged, command, now).await? {
            Err(refusal) => Ok(Err(refusal)),
            Ok(decisions) => Ok(Ok(Self::write(tx, &[(command, &decisions)], now).await?.pop().unwrap_or_default())),
        }
    }

    /// The stream's current version and state, taken out of this group's staging or the cache (a state is moved,
    /// never copied; the decision puts it back), caught up from the ledger unless this process is the only writer.
    async fn load<A: Cached>(
        &mut self,
        tx: &mut AnyConnection,
        staged: &mut HashMap<String, (i64, State)>,
        stream_id: &str,
    ) -> Result<(i64, A::State), sqlx::Error> {
        let known = staged.remove(stream_id).or_else(|| self.cache.remove(stream_id));
        let (mut version, mut state) = match known.and_then(|(v, s)| A::unwrap(s).map(|s| (v, s))) {
            Some((version, state)) if self.db.exclusive_writer() => return Ok((version, state)),
            Some(known) => known,
            None => (0, A::State::default()),
        };
        let newer = ledger::read_stream(tx, stream_id, version).await.map_err(|e| match e {
            StoreError::Database(e) => e,
            other => sqlx::Error::Decode(Box::new(other)),
        })?;
        for (event_version, event) in newer {
            state = A::evolve(state, &event);
            version = event_version;
        }
        Ok((version, state))
    }

    /// Decides a command against its stream: the state as it was, and the events or the refusal.
    async fn decide<A: Cached>(
        &mut self,
        tx: &mut AnyConnection,
        staged: &mut HashMap<String, (i64, State)>,
        stream_id: &str,
        command: A::Command,
        context: &Context,
    ) -> Result<(Loaded, Result<Vec<tally_events::Event>, DomainError>), sqlx::Error> {
        let (version, state) = self.load::<A>(tx, staged, stream_id).await?;
        let verdict = A::decide(&state, command, context);
        Ok((Loaded { stream_id: stream_id.to_owned(), version, state: A::wrap(state) }, verdict))
    }
}

/// A stream's state as loaded for a decision.
struct Loaded {
    stream_id: String,
    version: i64,
    state: State,
}

impl State {
    fn evolve(self, event: &tally_events::Event) -> State {
        match self {
            State::Card(state) => State::Card(CardAggregate::evolve(state, event)),
            State::Contact(state) => State::Contact(ContactAggregate::evolve(state, event)),
            State::Account(state) => State::Account(AccountAggregate::evolve(state, event)),
            State::Promotion(state) => State::Promotion(PromotionAggregate::evolve(state, event)),
            State::Business(state) => State::Business(BusinessAggregate::evolve(state, event)),
            State::Billing(state) => State::Billing(BillingAggregate::evolve(state, event)),
        }
    }
}

/// A decision about one stream, not yet written: the events to append after `version`.
struct Decision {
    stream_id: String,
    version: i64,
    events: Vec<tally_events::Event>,
}

/// The refusal a violated view constraint stands for.
fn refusal_for(constraint: &str, target: &Target) -> Option<DomainError> {
    match (constraint, target) {
        ("card_view_one_live_card", Target::Card { .. }) => {
            Some(DomainError::ContactHasAnotherCard("another card (bound concurrently)".into()))
        }
        ("contact_view_mobile", _) => Some(DomainError::MobileNumberTaken),
        ("contact_view_code", _) => Some(DomainError::ContactCodeTaken),
        _ => None,
    }
}
