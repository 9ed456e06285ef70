//! Coupon and promotion events (ScanTrack): businesses, promotions with a size cap, wallet clips, uses reported by
//! the merchant's POS or the network's mobile device, refused scans, voids, and the merchant's billing mode.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which device reported a use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScanChannel {
    /// The merchant's point of sale, through ScanTrack.
    Pos,
    /// The network's mobile device, through its app.
    Mobile,
}

/// Why a scan was not counted as a use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefusalReason {
    /// The promotion has reached its size cap.
    CapReached,
    /// The promotion's end date has passed.
    Ended,
}

/// How the network bills a merchant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BillingMode {
    /// Per coupon saved to a wallet: until the merchant reports uses itself.
    PayPerClip,
    /// Per coupon used: once the merchant reports through ScanTrack.
    PayPerUse,
}

/// A business (the `src` of its barcodes) was registered to the merchant of the envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BusinessRegistered {
    pub business_id: String,
    pub name: String,
}

/// A promotion was published: the network item `promotion_id` of `business_id`, usable `cap` times until `ends_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PromotionPublished {
    pub business_id: String,
    pub promotion_id: String,
    pub title: String,
    pub cap: u32,
    pub ends_at: DateTime<Utc>,
    #[serde(with = "rust_decimal::serde::str")]
    #[schemars(with = "String")]
    pub price_per_use: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    #[schemars(with = "String")]
    pub price_per_clip: Decimal,
}

/// A promotion's terms as published and changed since. Not an event: the value deciders and read models fold the
/// publication and its changes into.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromotionTerms {
    pub cap: u32,
    pub ends_at: DateTime<Utc>,
    pub price_per_use: Decimal,
    pub price_per_clip: Decimal,
}

impl PromotionPublished {
    /// The terms the promotion is published with.
    pub fn terms(&self) -> PromotionTerms {
        PromotionTerms {
            cap: self.cap,
            ends_at: self.ends_at,
            price_per_use: self.price_per_use,
            price_per_clip: self.price_per_clip,
        }
    }
}

impl PromotionChanged {
    /// `terms` with every field present in this change overlaid: how a `PromotionChanged` applies.
    pub fn overlay(&self, terms: &PromotionTerms) -> PromotionTerms {
        PromotionTerms {
            cap: self.cap.unwrap_or(terms.cap),
            ends_at: self.ends_at.unwrap_or(terms.ends_at),
            price_per_use: self.price_per_use.unwrap_or(terms.price_per_use),
            price_per_clip: self.price_per_clip.unwrap_or(terms.price_per_clip),
        }
    }
}

/// A promotion's terms changed; absent fields are unchanged. Prices apply to clips and uses from now on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PromotionChanged {
    pub cap: Option<u32>,
    pub ends_at: Option<DateTime<Utc>>,
    #[serde(with = "rust_decimal::serde::str_option")]
    #[schemars(with = "Option<String>")]
    pub price_per_use: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str_option")]
    #[schemars(with = "Option<String>")]
    pub price_per_clip: Option<Decimal>,
}

/// A customer saved the promotion's coupon to the wallet as item `wallet_item_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CouponClipped {
    pub wallet_item_id: String,
    pub customer_key: Option<String>,
    /// The merchant's business day, in its time zone, when the clip was recorded.
    pub business_day: NaiveDate,
    #[serde(with = "rust_decimal::serde::str")]
    #[schemars(with = "String")]
    pub price: Decimal,
    /// What this adds to the merchant's bill: the price when billed per clip, else 0.
    #[serde(with = "rust_decimal::serde::str")]
    #[schemars(with = "String")]
    pub receivable: Decimal,
}

/// A use was counted against the cap; `use_id` is its identity (see the README), `price` what the merchant owes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CouponUsed {
    pub use_id: String,
    pub channel: ScanChannel,
    pub wallet_item_id: Option<String>,
    pub customer_key: Option<String>,
    /// The merchant's own reference of the sale (ScanTrack `iid`).
    pub internal_id: Option<String>,
    /// The merchant's business day, in its time zone, when the use was recorded.
    pub business_day: NaiveDate,
    #[serde(with = "rust_decimal::serde::str")]
    #[schemars(with = "String")]
    pub price: Decimal,
    /// What this adds to the merchant's bill: the price when billed per use, else 0.
    #[serde(with = "rust_decimal::serde::str")]
    #[schemars(with = "String")]
    pub receivable: Decimal,
}

/// A scan was refused and not counted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CouponScanRefused {
    pub channel: ScanChannel,
    pub reason: RefusalReason,
    pub wallet_item_id: Option<String>,
    pub customer_key: Option<String>,
    pub internal_id: Option<String>,
    pub business_day: NaiveDate,
}

/// A counted use was voided (the sale was cancelled): it leaves the cap and the tally.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CouponUseVoided {
    pub use_id: String,
    pub reason: Option<String>,
    /// The business day of the void (the adjustment is tallied on its own day).
    pub business_day: NaiveDate,
    /// What this takes off the merchant's bill: minus what the use added.
    #[serde(with = "rust_decimal::serde::str")]
    #[schemars(with = "String")]
    pub receivable: Decimal,
}

/// The promotion stopped accepting uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PromotionTurnedOff {
    pub reason: RefusalReason,
}

/// A promotion turned off by its cap accepts uses again: a void freed room before its end date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PromotionTurnedOn {
    pub used: u32,
    pub cap: u32,
}

/// The merchant's billing mode changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BillingModeChanged {
    pub mode: BillingMode,
}
