//! Kafka: the relay that publishes every ledger event (the transactional-outbox pattern), the topic
//! contract, and the consumers built on it (`tally tail`, `tally replay --source kafka`, `tally projections follow`).
//!
//! The topic contract: one topic per event family (`Event::CATALOGUE`), named `<prefix><family>`; the key is the
//! stream id, so a stream's events stay in order on one partition; the value is the JSON envelope; the headers are
//! `event_id`, `event_type`, `schema_version`, `tenant` and `correlation_id`. Delivery is at least once: consumers
//! de-duplicate by `event_id`.

pub mod consume;
pub mod follow;
pub mod relay;

use std::{collections::BTreeSet, time::Duration};

use rdkafka::{
    admin::{AdminClient, AdminOptions, NewTopic, TopicReplication},
    client::DefaultClientContext,
    error::KafkaError,
    types::RDKafkaErrorCode,
    ClientConfig,
};
use tally_events::Event;

/// Where the brokers are and how topics are named and created.
#[derive(Debug, Clone)]
pub struct KafkaSettings {
    /// Bootstrap servers, `host:port[,host:port…]`.
    pub brokers: String,
    /// Prefix of every topic name (`tally.` by default).
    pub topic_prefix: String,
    /// Partitions of a topic the relay creates.
    pub partitions: i32,
}

impl KafkaSettings {
    /// The topic of an event family.
    pub fn topic(&self, family: &str) -> String {
        format!("{}{family}", self.topic_prefix)
    }

    /// Every family's topic, in name order.
    pub fn topics(&self) -> Vec<String> {
        families().into_iter().map(|family| self.topic(family)).collect()
    }

    /// The settings every client shares.
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.brokers)
            .set("client.id", "tally")
            // Reconnect quickly once a broker is back: the relay's lag is bounded by this after an outage.
            .set("reconnect.backoff.max.ms", "1000");
        config
    }

    /// Creates the topics that are missing, with the configured partition count (replication 1 when the cluster
    /// has one broker, otherwise the broker's default).
    pub async fn ensure_topics(&self) -> Result<(), KafkaError> {
        let admin: AdminClient<DefaultClientContext> = self.client_config().create()?;
        let topics = self.topics();
        let new: Vec<NewTopic<'_>> =
            topics.iter().map(|name| NewTopic::new(name, self.partitions, TopicReplication::Fixed(-1))).collect();
        let options = AdminOptions::new().request_timeout(Some(Duration::from_secs(10)));
        for result in admin.create_topics(&new, &options).await? {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((topic, code)) => {
                    return Err(KafkaError::AdminOp(code)).inspect_err(|_| tracing::warn!(%topic, "topic not created"))
                }
            }
        }
        Ok(())
    }
}

/// The event families, each a topic.
pub fn families() -> BTreeSet<&'static str> {
    Event::CATALOGUE.iter().map(|(_, _, family)| *family).collect()
}
