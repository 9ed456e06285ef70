//! The projection runner (`tally projections follow`): keeps the read models of a database of its own up to date
//! from the topics, as a member of a consumer group, so that read models can run on other machines.
//!
//! Exactly once per event: each batch is applied in one transaction that also stores, per partition, the next
//! offset, and per stream, the last applied version. Messages below a partition's stored offset were applied
//! already (Kafka's own committed offsets are only a hint, committed after the transaction); a stream version at or
//! below the stored one is a relay duplicate. The offset update is a compare-and-set on what the batch read, so two
//! runners that briefly own the same partition during a rebalance cannot both apply it.

use std::{
    collections::{hash_map::Entry, HashMap},
    time::Duration,
};

use rdkafka::{
    consumer::{CommitMode, Consumer, StreamConsumer},
    error::KafkaError,
    Message, Offset, TopicPartitionList,
};
use tally_events::{Envelope, Event};
use tally_projections::{apply_batch, Source};

use super::{consume, KafkaSettings};
use crate::{
    store::{follow as bookkeeping, ledger, Db},
    vault::KeyRing,
};

/// Messages applied per transaction, at most.
const BATCH: usize = 1_000;

#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    #[error("this database has a ledger of its own; the runner builds read models in a database of their own")]
    HasLedger,
    #[error(transparent)]
    Consume(#[from] consume::ConsumeError),
    #[error("Kafka error: {0}")]
    Kafka(#[from] KafkaError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// One message taken off a partition.
struct Received {
    topic: String,
    partition: i32,
    offset: i64,
    envelope: Envelope,
}

/// Consumes the topics in `group` and applies every event to this database's read models, until an error. The
/// customers' keys, which open the personal data the contact view keeps, are read from `keys` (the ledger's
/// database); without it, contacts are followed without their personal data.
pub async fn follow(db: &Db, settings: &KafkaSettings, group: &str, keys: Option<&Db>) -> Result<(), FollowError> {
    if ledger::end(&mut *db.read.acquire().await?).await? > 0 {
        return Err(FollowError::HasLedger);
    }
    let consumer: StreamConsumer = settings
        .client_config()
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()?;
    let topics = settings.topics();
    consumer.subscribe(&topics.iter().map(String::as_str).collect::<Vec<_>>())?;
    loop {
        let mut batch = Vec::new();
        let first = consumer.recv().await?;
        batch.push(received(&first)?);
        while batch.len() < BATCH {
            match tokio::time::timeout(Duration::from_millis(10), consumer.recv()).await {
                Ok(message) => batch.push(received(&message?)?),
                Err(_idle) => break,
            }
        }
        while !apply(db, &batch, keys).await? {
            tracing::info!("another runner moved a partition meanwhile; reading the offsets again");
        }
        let mut hint = TopicPartitionList::new();
        for message in &batch {
            hint.add_partition_offset(&message.topic, message.partition, Offset::Offset(message.offset + 1))?;
        }
        consumer.commit(&hint, CommitMode::Async)?;
    }
}

fn received(message: &rdkafka::message::BorrowedMessage<'_>) -> Result<Received, consume::ConsumeError> {
    Ok(Received {
        topic: message.topic().to_owned(),
        partition: message.partition(),
        offset: message.offset(),
        envelope: consume::envelope_of(message)?,
    })
}

/// Applies a batch in one transaction; false (and nothing written) when a partition's stored offset changed under
/// it.
async fn apply(db: &Db, batch: &[Received], keys: Option<&Db>) -> Result<bool, FollowError> {
    let mut tx = db.write.begin().await?;
    let mut offsets: HashMap<(&str, i32), (Option<i64>, i64)> = HashMap::new();
    let mut versions: HashMap<&str, (Option<i64>, i64)> = HashMap::new();
    let mut events: Vec<(&Envelope, Event)> = Vec::new();
    for message in batch {
        let at = (message.topic.as_str(), message.partition);
        if let Entry::Vacant(slot) = offsets.entry(at) {
            let stored = bookkeeping::next_offset(&mut tx, at.0, at.1).await?;
            slot.insert((stored, stored.unwrap_or(0)));
        }
        let next = &mut offsets.get_mut(&at).expect("loaded above").1;
        if message.offset < *next {
            continue;
        }
        *next = message.offset + 1;
        let envelope = &message.envelope;
        let stream = envelope.stream_id.as_str();
        if let Entry::Vacant(slot) = versions.entry(stream) {
            let stored = bookkeeping::stream_version(&mut tx, stream).await?;
            slot.insert((stored, stored.unwrap_or(0)));
        }
        let version = &mut versions.get_mut(stream).expect("loaded above").1;
        if envelope.stream_version <= *version {
            continue;
        }
        if envelope.stream_version != *version + 1 {
            tracing::error!(stream, after = *version, got = envelope.stream_version, "a stream skipped versions");
        }
        *version = envelope.stream_version;
        let event =
            envelope.event().map_err(|source| consume::ConsumeError::Decode { event_id: envelope.event_id, source })?;
        events.push((envelope, event));
    }
    let sealed = KeyRing::sealed_in(events.iter().map(|(envelope, event)| (envelope.tenant.as_str(), event)));
    let keys = match keys {
        Some(keys) => KeyRing::for_sealed(&mut *keys.read.acquire().await?, &sealed).await?,
        None => KeyRing::default(),
    };
    let sources: Vec<(Source<'_>, &[Event])> = events
        .iter()
        .map(|(envelope, event)| {
            let occurred_at = envelope.occurred_at;
            (
                Source { tenant: &envelope.tenant, stream_id: &envelope.stream_id, occurred_at, keys: &keys },
                std::slice::from_ref(event),
            )
        })
        .collect();
    apply_batch(&mut tx, &sources).await?;
    for (stream, (stored, version)) in &versions {
        if *stored != Some(*version) {
            bookkeeping::save_stream_version(&mut tx, stream, *version).await?;
        }
    }
    for ((topic, partition), (stored, next)) in &offsets {
        if !bookkeeping::move_offset(&mut tx, topic, *partition, *stored, *next).await? {
            tx.rollback().await?;
            return Ok(false);
        }
    }
    tx.commit().await?;
    metrics::counter!("tally_follow_applied_total").increment(events.len() as u64);
    Ok(true)
}
