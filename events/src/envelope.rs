//! The envelope: what the ledger records around every event payload.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Event;

/// The role of an authenticated principal. Roles come from the CashDesk card service; `operator` is a network
/// operator who is not bound to one merchant's data rules (it still acts within one tenant per request).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Client,
    CcOperator,
    Marketer,
    SeniorEmployee,
    Director,
    Administrator,
    /// The system itself: jobs such as the expiry run and the demo seeding.
    System,
}

impl Role {
    /// Every role a principal can be given, in the order of the seed.
    pub const ALL: [Role; 7] = [
        Role::Client,
        Role::CcOperator,
        Role::Marketer,
        Role::SeniorEmployee,
        Role::Director,
        Role::Administrator,
        Role::System,
    ];

    /// The role's wire name (`cc_operator`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Client => "client",
            Role::CcOperator => "cc_operator",
            Role::Marketer => "marketer",
            Role::SeniorEmployee => "senior_employee",
            Role::Director => "director",
            Role::Administrator => "administrator",
            Role::System => "system",
        }
    }

    /// Parses a wire name.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == name)
    }
}

/// Who caused an event: the authenticated principal (an API client id) and its role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Actor {
    pub principal: String,
    pub role: Role,
}

/// An event with everything the ledger records about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Envelope {
    /// UUID v7, unique across the ledger; consumers de-duplicate by it.
    pub event_id: Uuid,
    pub stream_id: String,
    /// 1 for a stream's first event, then +1 per event.
    pub stream_version: i64,
    /// The ledger-wide order, strictly increasing in commit order.
    pub global_position: i64,
    pub event_type: String,
    pub schema_version: u32,
    /// When it happened, as the caller says where its dialect gives a time; else when it was recorded.
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    /// The merchant (business) whose data this is.
    pub tenant: String,
    pub actor: Actor,
    pub correlation_id: Uuid,
    pub causation_id: Option<Uuid>,
    pub idempotency_key: Option<String>,
    #[schemars(with = "serde_json::Value")]
    pub payload: serde_json::Value,
}

impl Envelope {
    /// The typed event inside this envelope.
    pub fn event(&self) -> Result<Event, crate::DecodeError> {
        crate::decode(&self.event_type, self.schema_version, self.payload.clone())
    }
}
