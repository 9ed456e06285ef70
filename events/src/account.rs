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
    /// The till transaction that earned the points, or gave spent points back on a refund (since version 2).
    pub sale: Option<TillSale>,
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
    /// The till transaction that spent the points as a tender, or took earned points back on a refund (since
    /// version 2).
    pub sale: Option<TillSale>,
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

/// A point-of-sale transaction, as a till names it: the device and its transaction id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
pub struct TillTransaction {
    pub device_id: String,
    pub transaction_id: String,
}

/// The till transaction behind a movement: where it happened and, for a refund, the sale it refunds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TillSale {
    pub device_id: String,
    pub location_id: Option<String>,
    pub transaction_id: String,
    /// The original sale of a refund: what was earned in it is taken back, what was spent in it is given back.
    pub refund_of: Option<TillTransaction>,
}

impl TillSale {
    /// The transaction itself, without its location.
    pub fn transaction(&self) -> TillTransaction {
        TillTransaction { device_id: self.device_id.clone(), transaction_id: self.transaction_id.clone() }
    }
}

/// Points were set aside as a tender during a till sale, taken from the listed lots: spent when the till completes
/// the sale, given back when it cancels, or when `expires_at` passes first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BonusReserved {
    pub reservation_id: Uuid,
    pub bonus_type: BonusType,
    #[serde(with = "rust_decimal::serde::str")]
    #[schemars(with = "String")]
    pub amount: Decimal,
    pub allocations: Vec<LotAllocation>,
    pub expires_at: DateTime<Utc>,
    pub sale: TillSale,
}

/// The till completed the sale: the reserved points are spent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReservationCompleted {
    pub reservation_id: Uuid,
    pub bonus_type: BonusType,
    #[serde(with = "rust_decimal::serde::str")]
    #[schemars(with = "String")]
    pub amount: Decimal,
}

/// Why reserved points went back to their lots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseReason {
    /// The till cancelled the tender.
    Cancelled,
    /// Nobody completed or cancelled it before its expiry.
    Lapsed,
}

/// Reserved points went back to the lots they were taken from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReservationReleased {
    pub reservation_id: Uuid,
    pub bonus_type: BonusType,
    #[serde(with = "rust_decimal::serde::str")]
    #[schemars(with = "String")]
    pub amount: Decimal,
    pub allocations: Vec<LotAllocation>,
    pub reason: ReleaseReason,
}
