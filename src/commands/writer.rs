//! The writer task: one per process, owning the write connection, committing commands in groups.

use std::{collections::HashMap, sync::Arc, time::Instant};

use chrono::{DateTime, SubsecRound, Utc};
use sqlx::{Acquire, Any, AnyConnection, Transaction};
use tally_events::{Envelope, Event};
use tally_projections::{apply_batch, Source};
use tokio::sync::mpsc;

use super::{
    target::{StreamCommand, StreamState},
    Command, Job, Outcome,
};
use crate::{
    domain::{Context, Refusal},
    store::{
        idempotency::{self, IdempotencyKey, Prior, StoredResponse},
        ledger::{self, Append, CommandMeta},
        violated_constraint, Db, StoreError,
    },
    vault::KeyRing,
};

/// Stream states by stream id, with the version each is at.
type Streams = HashMap<String, (i64, Box<dyn StreamState>)>;

/// Commands committed together at most.
pub(super) const MAX_BATCH: usize = 256;
/// Attempts at a command whose stream another instance changed meanwhile.
const MAX_ATTEMPTS: usize = 5;
/// Cached stream states at most; the cache is emptied when it grows past this.
const MAX_CACHED_STREAMS: usize = 500_000;

/// Runs the writer, and a fresh one (with an empty cache) should it ever panic: the commands of the group in flight
/// then fail (their transaction is rolled back), and every later command is served again.
pub(super) async fn supervise(db: Db, queue: mpsc::Receiver<Job>) {
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
    cache: Streams,
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
        // The ledger keeps microseconds: the inline views see the times a rebuild will read back.
        let now = Utc::now().trunc_subsecs(6);
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

    /// Every command of the group in one transaction, or an error and nothing written: keys seen before are
    /// answered from the idempotency records (one look-up for the group), the rest are decided (each against the
    /// states the earlier ones left) and then written together.
    async fn fast_batch(&mut self, jobs: &[Job], now: DateTime<Utc>) -> Result<Vec<Outcome>, StoreError> {
        let mut staged = HashMap::new();
        let mut tx = self.db.begin_append().await?;
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
        self.db.appended.notify_waiters();
        Ok(outcomes)
    }

    /// The group again, each command in its own savepoint, so that one failure fails only its command.
    async fn careful_batch(&mut self, jobs: &[Job], now: DateTime<Utc>) -> Vec<Result<Outcome, StoreError>> {
        let mut staged = HashMap::new();
        let mut outcomes = Vec::with_capacity(jobs.len());
        let committed = async {
            let mut tx = self.db.begin_append().await?;
            for job in jobs {
                outcomes.push(self.run_job(&mut tx, &mut staged, &job.command, now).await);
            }
            tx.commit().await
        }
        .await;
        match committed {
            Ok(()) => {
                self.remember(staged);
                self.db.appended.notify_waiters();
                outcomes
            }
            Err(error) => {
                tracing::error!(%error, "commit failed; the group's commands were not applied");
                jobs.iter().map(|_| Err(StoreError::Database(sqlx::Error::Protocol(error.to_string())))).collect()
            }
        }
    }

    /// Takes the states of a committed group into the cache.
    fn remember(&mut self, staged: Streams) {
        if self.cache.len() + staged.len() > MAX_CACHED_STREAMS {
            self.cache.clear();
        }
        self.cache.extend(staged);
    }

    /// Runs one command in a savepoint of the batch transaction, retrying when another instance won a race.
    async fn run_job(
        &mut self,
        tx: &mut Transaction<'static, Any>,
        staged: &mut Streams,
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
                            let refusal = command.target.refusal_for(constraint).ok_or(StoreError::Database(error))?;
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
        refusal: Refusal,
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
        staged: &mut Streams,
        command: &Command,
        now: DateTime<Utc>,
    ) -> Result<Result<Vec<Decision>, Refusal>, sqlx::Error> {
        let context = Context { now, actor: command.actor.clone() };
        let mut verdicts = Vec::with_capacity(command.target.streams().len());
        for stream in command.target.streams() {
            let stream_id = stream.stream_id(&command.tenant);
            let (version, state) = self.load(tx, staged, &stream_id, stream.as_ref()).await?;
            let verdict = stream.decide(state.as_ref(), &context);
            verdicts.push((Loaded { stream_id, version, state }, verdict));
        }
        let refusal = verdicts.iter().find_map(|(_, verdict)| verdict.as_ref().err().cloned());
        let mut decisions = Vec::new();
        for (loaded, verdict) in verdicts {
            let Loaded { stream_id, version, state } = loaded;
            match (&refusal, verdict) {
                (None, Ok(events)) if !events.is_empty() => {
                    let after = events.iter().fold(state, |state, event| state.evolve(event));
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
                occurred_at: command.occurred_at.map(|at| at.trunc_subsecs(6)).unwrap_or(now),
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
        let sealed =
            KeyRing::sealed_in(items.iter().flat_map(|a| a.events.iter().map(|event| (a.meta.tenant.as_str(), event))));
        let keys = KeyRing::for_sealed(tx, &sealed).await?;
        let sources: Vec<(Source<'_>, &[Event])> = items
            .iter()
            .map(|a| {
                let (tenant, stream_id, occurred_at) = (&a.meta.tenant, a.stream_id, a.meta.occurred_at);
                (Source { tenant, stream_id, occurred_at, keys: &keys }, a.events)
            })
            .collect();
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
        staged: &mut Streams,
        command: &Command,
        now: DateTime<Utc>,
    ) -> Result<Result<Vec<Envelope>, Refusal>, sqlx::Error> {
        match self.decide_command(tx, staged, command, now).await? {
            Err(refusal) => Ok(Err(refusal)),
            Ok(decisions) => Ok(Ok(Self::write(tx, &[(command, &decisions)], now).await?.pop().unwrap_or_default())),
        }
    }

    /// The stream's current version and state, taken out of this group's staging or the cache (a state is moved,
    /// never copied; the decision puts it back), caught up from the ledger unless this process is the only writer.
    async fn load(
        &mut self,
        tx: &mut AnyConnection,
        staged: &mut Streams,
        stream_id: &str,
        command: &dyn StreamCommand,
    ) -> Result<(i64, Box<dyn StreamState>), sqlx::Error> {
        let known = staged.remove(stream_id).or_else(|| self.cache.remove(stream_id));
        let (mut version, mut state) = match known {
            Some((version, state)) if command.owns(state.as_ref()) => {
                if self.db.exclusive_writer() {
                    return Ok((version, state));
                }
                (version, state)
            }
            _ => (0, command.empty()),
        };
        let newer = ledger::read_stream(tx, stream_id, version).await.map_err(|e| match e {
            StoreError::Database(e) => e,
            other => sqlx::Error::Decode(Box::new(other)),
        })?;
        for (event_version, event) in newer {
            state = state.evolve(&event);
            version = event_version;
        }
        Ok((version, state))
    }
}

/// A stream's state as loaded for a decision.
struct Loaded {
    stream_id: String,
    version: i64,
    state: Box<dyn StreamState>,
}

/// A decision about one stream, not yet written: the events to append after `version`.
struct Decision {
    stream_id: String,
    version: i64,
    events: Vec<Event>,
}
