//! Bonus account events. A contact's bonuses live in lots: each accrual is a lot with its own activation and expiry
//! dates, redemptions spend lots nearest expiry first, and expiry burns what is left of a lot.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The bonus type codes of the CashDesk seed: cash 0, status 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum BonusType {
    Cash,
    Status,
}

/// An amount taken from, or given back to, one lot, with the lot's dates, so that a reader that has let go of an
/// emptied lot can bring it back when a reversal refills it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LotAllocation {
    pub lot_id: Uuid,
    #[serde(with = "rust_decimal::serde::str")]
    #[schemars(with = "String")]
    pub amount: Decimal,
    pub active_from: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Bonuses were accrued as a new lot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BonusAccrued {
    pub lot_id: Uuid,
    #[serde(with = "rust_decimal::serde::str")]
    #[schemars(with = "String")]
    pub amount: Decimal,
    pub bonus_type: BonusType,
    /// Inactive until then; active at once when absent.
    pub active_from: Option<DateTime<Utc>>,
    /// Burnt from then on; never when absent.
    pub expires_at: Option<DateTime<Utc>>,
    /// The caller's reference (a receipt number, a campaign).
    pub reference: Option<String>,
}

/// Active bonuses were spent, taken from the listed lots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BonusRedeemed {
    pub redemption_id: Uuid,
    pub bonus_type: BonusType,
    #[serde(with = "rust_decimal::serde::str")]
    #[schemars(with = "String")]
    pub amount: Decimal,
    pub allocations: Vec<LotAllocation>,
    pub reference: Option<String>,
}

/// The account's bonuses were frozen: they cannot be redeemed until unfrozen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BonusesFrozen {
    pub reason: Option<String>,
}

/// The account's bonuses were unfrozen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BonusesUnfrozen {
    pub reason: Option<String>,
}

/// What remained of a lot was burnt at its expiry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BonusExpired {
    pub lot_id: Uuid,
    pub bonus_type: BonusType,
    #[serde(with = "rust_decimal::serde::str")]
    #[schemars(with = "String")]
    pub amount: Decimal,
}

/// An accrual was taken back whole (compensating the event `original_event_id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AccrualReversed {
    pub lot_id: Uuid,
    pub original_event_id: Uuid,
    pub bonus_type: BonusType,
    #[serde(with = "rust_decimal::serde::str")]
    #[schemars(with = "String")]
    pub amount: Decimal,
    pub reason: Option<String>,
}

/// A redemption was undone: its allocations return to their lots (compensating `original_event_id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RedemptionReversed {
    pub redemption_id: Uuid,
    pub original_event_id: Uuid,
    pub bonus_type: BonusType,
    #[serde(with = "rust_decimal::serde::str")]
    #[schemars(with = "String")]
    pub amount: Decimal,
    pub allocations: Vec<LotAllocation>,
    pub reason: Option<String>,
}
