//! The relay: publishes the ledger to Kafka in global order after its checkpoint, and moves the checkpoint only
//! after the broker acknowledged delivery. A crash between the two gives duplicates (same `event_id`), never a gap.
//!
//! One relay publishes at a time, whatever the number of `tally serve` processes on a database: the one holding the
//! lease in the `relay` table. The holder renews it every second; when it dies, the lease runs out after
//! [`LEASE`] and another process takes it over. Commands never wait for the relay: it only reads the ledger and
//! writes its own row. While the broker is away, deliveries wait (the producer retries without a time limit) and the
//! relay catches up when it returns.

use std::{collections::VecDeque, time::Duration};

use chrono::Utc;
use rdkafka::{
    error::{KafkaError, RDKafkaErrorCode},
    message::{Header, OwnedHeaders},
    producer::{DeliveryFuture, FutureProducer, FutureRecord},
};
use tally_events::Envelope;
use tokio::sync::watch;
use uuid::Uuid;

use super::KafkaSettings;
use crate::store::{ledger, parse_timestamp, timestamp, Db, StoreError};

/// How long a lease lasts without renewal; another process takes over after this.
pub const LEASE: Duration = Duration::from_secs(5);
/// How often the holder renews its lease, and a waiting process tries to take it.
const RENEW: Duration = Duration::from_secs(1);
/// Events read from the ledger per page.
const PAGE: i64 = 5_000;
/// Pages handed to the producer before the oldest must be acknowledged.
const PAGES_IN_FLIGHT: usize = 4;
/// How often an idle relay looks for new events.
const POLL: Duration = Duration::from_millis(20);
/// Longest wait before trying again after an error.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
enum RelayError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("Kafka error: {0}")]
    Kafka(#[from] KafkaError),
    #[error("the lease was lost to another process")]
    LeaseLost,
}

/// This process's relay identity: host, process id and a random part.
pub fn holder_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "tally".into());
    format!("{host}-{}-{}", std::process::id(), &Uuid::new_v4().simple().to_string()[..8])
}

/// Runs the relay for as long as the process lives: waits for the lease, publishes while holding it, and starts
/// over after errors with a growing pause.
pub async fn run(db: Db, settings: KafkaSettings, holder: String) {
    let mut backoff = Duration::from_millis(200);
    loop {
        match hold_and_publish(&db, &settings, &holder).await {
            Ok(()) => backoff = Duration::from_millis(200),
            Err(error) => {
                metrics::counter!("tally_relay_errors_total").increment(1);
                tracing::warn!(%error, retry_in = ?backoff, "Kafka relay stopped; it will start again");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// Takes the lease if it is free or expired (or renews it when this process holds it). True when held.
async fn take_lease(db: &Db, holder: &str) -> Result<bool, sqlx::Error> {
    let now = Utc::now();
    let until = now + chrono::Duration::from_std(LEASE).expect("the lease fits");
    let taken = sqlx::query(
        "UPDATE relay SET holder = $1, lease_until = $2 WHERE name = 'kafka' AND (holder = $1 OR lease_until < $3)",
    )
    .bind(holder)
    .bind(timestamp(until))
    .bind(timestamp(now))
    .execute(&db.write)
    .await?;
    Ok(taken.rows_affected() == 1)
}

/// The published checkpoint.
async fn checkpoint(db: &Db) -> Result<i64, sqlx::Error> {
    let (position,): (i64,) =
        sqlx::query_as("SELECT position FROM relay WHERE name = 'kafka'").fetch_one(&db.read).await?;
    Ok(position)
}

/// How far the relay is: its checkpoint and the ledger's last position (equal when everything is published).
pub async fn progress(db: &Db) -> Result<(i64, i64), sqlx::Error> {
    let position = checkpoint(db).await?;
    let (last,): (Option<i64>,) = sqlx::query_as("SELECT MAX(global_position) FROM events").fetch_one(&db.read).await?;
    Ok((position, last.unwrap_or(0)))
}

/// Moves the checkpoint, if this process still holds the lease.
async fn advance(db: &Db, holder: &str, position: i64) -> Result<(), RelayError> {
    let moved = sqlx::query("UPDATE relay SET position = $1 WHERE name = 'kafka' AND holder = $2 AND position < $1")
        .bind(position)
        .bind(holder)
        .execute(&db.write)
        .await?;
    if moved.rows_affected() == 1 {
        Ok(())
    } else {
        Err(RelayError::LeaseLost)
    }
}

/// Waits for the lease, then publishes until the lease is lost or an error stops it.
async fn hold_and_publish(db: &Db, settings: &KafkaSettings, holder: &str) -> Result<(), RelayError> {
    while !take_lease(db, holder).await? {
        tokio::time::sleep(RENEW).await;
    }
    tracing::info!(%holder, "this process holds the Kafka relay lease");
    metrics::gauge!("tally_relay_lease_held", "holder" => holder.to_owned()).set(1.0);
    let (lost_tx, lost) = watch::channel(false);
    let keeper = tokio::spawn(keep_lease(db.clone(), holder.to_owned(), lost_tx));
    let result = tokio::select! {
        result = publish(db, settings, holder) => result,
        _ = wait_lost(lost) => Err(RelayError::LeaseLost),
    };
    keeper.abort();
    metrics::gauge!("tally_relay_lease_held", "holder" => holder.to_owned()).set(0.0);
    result
}

async fn wait_lost(mut lost: watch::Receiver<bool>) {
    let _ = lost.wait_for(|lost| *lost).await;
}

/// Renews the lease every second and keeps the lag gauges current; says so when the lease is lost.
async fn keep_lease(db: Db, holder: String, lost: watch::Sender<bool>) {
    let mut ticks = tokio::time::interval(RENEW);
    loop {
        ticks.tick().await;
        match take_lease(&db, &holder).await {
            Ok(true) => {}
            Ok(false) => {
                let _ = lost.send(true);
                return;
            }
            Err(error) => tracing::warn!(%error, "could not renew the relay lease; trying again"),
        }
        if let Err(error) = measure_lag(&db).await {
            tracing::warn!(%error, "could not measure the relay lag");
        }
    }
}

/// Sets `tally_relay_lag_events` (events in the ledger not yet published) and `tally_relay_lag_seconds` (the age
/// of the oldest of them).
async fn measure_lag(db: &Db) -> Result<(), sqlx::Error> {
    let (position, last) = progress(db).await?;
    let oldest: Option<(String,)> =
        sqlx::query_as("SELECT recorded_at FROM events WHERE global_position > $1 ORDER BY global_position LIMIT 1")
            .bind(position)
            .fetch_optional(&db.read)
            .await?;
    let age = match oldest {
        Some((recorded_at,)) => (Utc::now() - parse_timestamp(&recorded_at)?).num_milliseconds() as f64 / 1000.0,
        None => 0.0,
    };
    metrics::gauge!("tally_relay_lag_events").set((last - position).max(0) as f64);
    metrics::gauge!("tally_relay_lag_seconds").set(age.max(0.0));
    Ok(())
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

/// A page handed to the producer: its deliveries, its last position, and when each event was recorded.
struct InFlight {
    deliveries: Vec<DeliveryFuture>,
    last_position: i64,
    recorded_at: Vec<chrono::DateTime<Utc>>,
}

/// Publishes from the checkpoint on, keeping a few pages in flight, and moves the checkpoint page by page as the
/// broker acknowledges them, oldest first.
async fn publish(db: &Db, settings: &KafkaSettings, holder: &str) -> Result<(), RelayError> {
    settings.ensure_topics().await?;
    let producer = producer(settings)?;
    let mut next_after = checkpoint(db).await?;
    let mut in_flight: VecDeque<InFlight> = VecDeque::new();
    loop {
        if in_flight.len() < PAGES_IN_FLIGHT {
            let page = ledger::read_after(&mut *db.read.acquire().await?, next_after, PAGE).await?;
            if let Some(last) = page.last() {
                next_after = last.global_position;
                let sent = send_page(&producer, settings, &page, &mut in_flight, db, holder).await?;
                in_flight.push_back(sent);
                continue;
            }
        }
        match in_flight.pop_front() {
            Some(page) => acknowledge(page, db, holder).await?,
            None => tokio::time::sleep(POLL).await,
        }
    }
}

/// Hands a page to the producer. When the producer's queue is full, the oldest page in flight is acknowledged
/// first.
async fn send_page(
    producer: &FutureProducer,
    settings: &KafkaSettings,
    page: &[Envelope],
    in_flight: &mut VecDeque<InFlight>,
    db: &Db,
    holder: &str,
) -> Result<InFlight, RelayError> {
    let mut deliveries = Vec::with_capacity(page.len());
    for envelope in page {
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
                Ok(delivery) => {
                    deliveries.push(delivery);
                    break;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    record = returned;
                    match in_flight.pop_front() {
                        Some(oldest) => acknowledge(oldest, db, holder).await?,
                        None => tokio::time::sleep(Duration::from_millis(10)).await,
                    }
                }
                Err((error, _)) => return Err(error.into()),
            }
        }
    }
    let last_position = page.last().map_or(0, |e| e.global_position);
    Ok(InFlight { deliveries, last_position, recorded_at: page.iter().map(|e| e.recorded_at).collect() })
}

/// Waits until the broker acknowledged every event of a page, then moves the checkpoint past it.
async fn acknowledge(page: InFlight, db: &Db, holder: &str) -> Result<(), RelayError> {
    for delivery in page.deliveries {
        match delivery.await {
            Ok(Ok(_)) => {}
            Ok(Err((error, _))) => {
                metrics::counter!("tally_relay_delivery_errors_total").increment(1);
                return Err(error.into());
            }
            Err(_canceled) => {
                metrics::counter!("tally_relay_delivery_errors_total").increment(1);
                return Err(KafkaError::Canceled.into());
            }
        }
    }
    advance(db, holder, page.last_position).await?;
    let now = Utc::now();
    for recorded_at in &page.recorded_at {
        metrics::histogram!("tally_relay_delivery_lag_seconds")
            .record((now - *recorded_at).num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6);
    }
    metrics::counter!("tally_relay_published_total").increment(page.recorded_at.len() as u64);
    Ok(())
}
