//! The relay: the ledger subscriber `kafka-relay`, which publishes the ledger to Kafka in global order. Its
//! checkpoint moves only after the broker acknowledged delivery, so a crash between the two gives duplicates (same
//! `event_id`), never a gap.
//!
//! One relay publishes at a time, whatever the number of `tally serve` processes on a database: the holder of the
//! subscriber's lease (see [`crate::subscriber`]). Commands never wait for the relay: it only reads the ledger and
//! writes its own row. While the broker is away, deliveries wait (the producer retries without a time limit) and the
//! relay catches up when it returns.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rdkafka::{
    error::{KafkaError, RDKafkaErrorCode},
    message::{Header, OwnedHeaders},
    producer::{DeliveryFuture, FutureProducer, FutureRecord},
};
use tally_events::Envelope;

use super::KafkaSettings;
use crate::{
    store::Db,
    subscriber::{self, BoxError, Options, Subscriber, Ticket},
};

/// The relay's subscriber name: its row in `subscriptions`.
pub const NAME: &str = "kafka-relay";
/// Events read from the ledger per page.
const PAGE: i64 = 5_000;
/// Pages handed to the producer before the oldest must be acknowledged: the producer keeps sending while earlier
/// pages wait for their acknowledgements.
const PAGES_IN_FLIGHT: usize = 4;

/// Runs the relay for as long as the task lives, as a fresh lease holder.
pub async fn run(db: Db, settings: KafkaSettings) {
    let options = Options { page: PAGE, pages_in_flight: PAGES_IN_FLIGHT, ..Options::default() };
    subscriber::run(db, Relay { settings, producer: None }, options).await
}

/// The relay as a subscriber: the producer exists while the relay holds the lease.
struct Relay {
    settings: KafkaSettings,
    producer: Option<FutureProducer>,
}

impl Subscriber for Relay {
    fn name(&self) -> &str {
        NAME
    }

    /// The relay's metrics keep the names they had before it was a subscriber.
    fn metrics_prefix(&self) -> &'static str {
        "tally_relay"
    }

    async fn open(&mut self) -> Result<(), BoxError> {
        self.settings.ensure_topics().await?;
        self.producer = Some(producer(&self.settings)?);
        Ok(())
    }

    /// Hands the page to the producer; the ticket waits for the broker's acknowledgements.
    async fn handle(&mut self, page: &[Envelope]) -> Result<Ticket, BoxError> {
        let producer = self.producer.as_ref().expect("the runner opens the relay before handing it pages");
        let mut deliveries = Vec::with_capacity(page.len());
        for envelope in page {
            deliveries.push(send(producer, &self.settings, envelope).await?);
        }
        let recorded_at = page.iter().map(|e| e.recorded_at).collect();
        Ok(Ticket::pending(acknowledged(deliveries, recorded_at)))
    }

    /// Drops the producer, which purges what it still holds: a page handed again must not be overtaken by a late
    /// delivery of a later page.
    fn close(&mut self) {
        self.producer = None;
    }
}

/// The idempotent producer: `acks=all`, and no delivery time limit, so that an outage delays deliveries and never
/// drops one (a dropped delivery followed by a later success would reorder a stream).
fn producer(settings: &KafkaSettings) -> Result<FutureProducer, KafkaError> {
    settings
        .client_config()
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("message.timeout.ms", "0")
        .set("linger.ms", "0")
        .set("queue.buffering.max.messages", "100000")
        .create()
}

/// Hands one envelope to the producer. The producer's queue holds more messages than the pages in flight add up to,
/// so this waits for room only should that ever change.
async fn send(
    producer: &FutureProducer,
    settings: &KafkaSettings,
    envelope: &Envelope,
) -> Result<DeliveryFuture, KafkaError> {
    let family = tally_events::family_of(&envelope.event_type).unwrap_or("unknown");
    let topic = settings.topic(family);
    let value = serde_json::to_vec(envelope).expect("envelopes serialize");
    let event_id = envelope.event_id.to_string();
    let schema_version = envelope.schema_version.to_string();
    let correlation_id = envelope.correlation_id.to_string();
    let headers = OwnedHeaders::new_with_capacity(5)
        .insert(Header { key: "event_id", value: Some(&event_id) })
        .insert(Header { key: "event_type", value: Some(&envelope.event_type) })
        .insert(Header { key: "schema_version", value: Some(&schema_version) })
        .insert(Header { key: "tenant", value: Some(&envelope.tenant) })
        .insert(Header { key: "correlation_id", value: Some(&correlation_id) });
    let mut record = FutureRecord::to(&topic)
        .key(&envelope.stream_id)
        .payload(&value)
        .headers(headers)
        .timestamp(envelope.recorded_at.timestamp_millis());
    loop {
        match producer.send_result(record) {
            Ok(delivery) => return Ok(delivery),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                record = returned;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err((error, _)) => return Err(error),
        }
    }
}

/// Waits until the broker acknowledged every event of a page, then records their delivery lag.
async fn acknowledged(deliveries: Vec<DeliveryFuture>, recorded_at: Vec<DateTime<Utc>>) -> Result<(), BoxError> {
    for delivery in deliveries {
        let failed = match delivery.await {
            Ok(Ok(_)) => continue,
            Ok(Err((error, _))) => error,
            Err(_canceled) => KafkaError::Canceled,
        };
        metrics::counter!("tally_relay_delivery_errors_total").increment(1);
        return Err(failed.into());
    }
    let now = Utc::now();
    for recorded_at in &recorded_at {
        metrics::histogram!("tally_relay_delivery_lag_seconds")
            .record((now - *recorded_at).num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6);
    }
    metrics::counter!("tally_relay_published_total").increment(recorded_at.len() as u64);
    Ok(())
}
