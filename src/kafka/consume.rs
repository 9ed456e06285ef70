//! Reading the topics back: `tally tail` for people, and a complete read of every topic for replays.

use std::{
    collections::{HashMap, HashSet},
    io::Write,
    time::Duration,
};

use rdkafka::{
    consumer::{Consumer, StreamConsumer},
    error::KafkaError,
    message::BorrowedMessage,
    Message, Offset, TopicPartitionList,
};
use tally_events::Envelope;
use tally_projections::{rebuild::Views, Keys, Source};
use uuid::Uuid;

use super::KafkaSettings;

const METADATA_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ConsumeError {
    #[error("Kafka error: {0}")]
    Kafka(#[from] KafkaError),
    #[error("a message at {topic}/{partition}@{offset} is not an event envelope: {source}")]
    NotAnEnvelope { topic: String, partition: i32, offset: i64, source: serde_json::Error },
    #[error("event {event_id} cannot be decoded: {source}")]
    Decode { event_id: Uuid, source: tally_events::DecodeError },
    #[error("unknown event family {0:?}; known: {1}")]
    UnknownFamily(String, String),
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}

/// A consumer of its own, never committing offsets: a read that leaves no trace in consumer groups.
fn reader(settings: &KafkaSettings, from_beginning: bool) -> Result<StreamConsumer, KafkaError> {
    settings
        .client_config()
        .set("group.id", format!("tally-reader-{}", Uuid::new_v4().simple()))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", if from_beginning { "earliest" } else { "latest" })
        .create()
}

/// The topics of `families` (every family when empty).
pub fn topics_of(settings: &KafkaSettings, families: &[String]) -> Result<Vec<String>, ConsumeError> {
    let known = super::families();
    if let Some(unknown) = families.iter().find(|family| !known.contains(family.as_str())) {
        let known: Vec<&str> = known.into_iter().collect();
        return Err(ConsumeError::UnknownFamily(unknown.clone(), known.join(", ")));
    }
    Ok(match families {
        [] => settings.topics(),
        some => some.iter().map(|family| settings.topic(family)).collect(),
    })
}

/// Prints the events of `topics` as JSON lines (the envelopes as published) until `limit` were printed, or forever.
pub async fn tail(
    settings: &KafkaSettings,
    topics: &[String],
    from_beginning: bool,
    limit: Option<u64>,
    out: &mut impl Write,
) -> Result<(), ConsumeError> {
    let consumer = reader(settings, from_beginning)?;
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer.subscribe(&names)?;
    let mut printed = 0;
    while limit.is_none_or(|limit| printed < limit) {
        let message = consumer.recv().await?;
        out.write_all(message.payload().unwrap_or_default())?;
        out.write_all(b"\n")?;
        out.flush()?;
        printed += 1;
    }
    Ok(())
}

/// Reads every topic from its beginning up to where it ended when the read started, handing each message to `each`
/// in partition order. Returns how many messages were read.
pub async fn read_topics(
    settings: &KafkaSettings,
    mut each: impl FnMut(&BorrowedMessage<'_>) -> Result<(), ConsumeError>,
) -> Result<u64, ConsumeError> {
    let consumer = reader(settings, true)?;
    let mut assignment = TopicPartitionList::new();
    let mut remaining: HashMap<(String, i32), i64> = HashMap::new();
    for topic in settings.topics() {
        let metadata = consumer.fetch_metadata(Some(&topic), METADATA_TIMEOUT)?;
        for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
            let (low, high) = consumer.fetch_watermarks(&topic, partition.id(), METADATA_TIMEOUT)?;
            if high > low {
                assignment.add_partition_offset(&topic, partition.id(), Offset::Offset(low))?;
                remaining.insert((topic.clone(), partition.id()), high);
            }
        }
    }
    consumer.assign(&assignment)?;
    let mut messages = 0u64;
    while !remaining.is_empty() {
        let message = consumer.recv().await?;
        let at = (message.topic().to_owned(), message.partition());
        let Some(&end) = remaining.get(&at) else { continue };
        if message.offset() >= end {
            continue;
        }
        if message.offset() + 1 >= end {
            remaining.remove(&at);
        }
        messages += 1;
        each(&message)?;
    }
    Ok(messages)
}

/// The envelope a message carries.
pub fn envelope_of(message: &BorrowedMessage<'_>) -> Result<Envelope, ConsumeError> {
    serde_json::from_slice(message.payload().unwrap_or_default()).map_err(|source| ConsumeError::NotAnEnvelope {
        topic: message.topic().to_owned(),
        partition: message.partition(),
        offset: message.offset(),
        source,
    })
}

/// Folds every event on the topics (each once) into fresh read models, as `tally replay --source kafka` does.
/// Returns the views, the messages read and the distinct events folded.
pub async fn replay(settings: &KafkaSettings, keys: &dyn Keys) -> Result<(Views, u64, u64), ConsumeError> {
    let (mut views, mut seen) = (Views::default(), HashSet::new());
    let messages = read_topics(settings, |message| {
        let envelope = envelope_of(message)?;
        if seen.insert(envelope.event_id) {
            let event =
                envelope.event().map_err(|source| ConsumeError::Decode { event_id: envelope.event_id, source })?;
            let source = Source {
                tenant: &envelope.tenant,
                stream_id: &envelope.stream_id,
                occurred_at: envelope.occurred_at,
                keys,
            };
            views.apply(&source, &event);
        }
        Ok(())
    })
    .await?;
    Ok((views, messages, seen.len() as u64))
}
