//! Vending events: the purchase saga with the Vending on Track platform (stream `vend/{tenant}/{txn_ref}`) and the
//! machines' own feed (stream `machine/{tenant}/{vm_id}`).
//!
//! A purchase is started by a member in an app, locks the machine, is selected at the machine, is decided by Tally
//! (approved with the price held on the member's money account or charged to a stored payment reference, or
//! declined), is acknowledged by the platform, and is settled by the dispense result, a cancellation, or the
//! reconciliation of a result that never came. Amounts are the platform's: whole minor units of the member's
//! currency (cents; yen in Japan).

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::MoneyAccountType;

/// How long after the machine's lock lapses a purchase without a selection is given up (the platform's own
/// `/txn/unlock` usually comes first).
pub const LOCK_GRACE_SECONDS: i64 = 5;

/// A member started a purchase at a machine; Tally will lock it for them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VendStarted {
    /// The platform's machine id.
    pub vm_id: String,
    /// The member's money account that pays (post billing) or that holds the payment reference.
    pub account_type: MoneyAccountType,
    pub account_id: String,
    /// Reference payment: the stored payment reference charged before the platform is told to dispense. Post
    /// billing when absent.
    pub payment_reference: Option<String>,
    /// What the machine may show as the member's balance, in minor units (65535 when unknown, as the platform
    /// reads it).
    pub balance_minor: i64,
    /// When Tally stops waiting for the platform to answer the lock.
    pub answer_due: DateTime<Utc>,
}

/// The platform locked the machine for the purchase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VendLocked {
    /// How long the platform keeps the machine locked, as it answered.
    pub timeout_seconds: u32,
    /// When the lock lapses; a purchase without a selection by then is cancelled.
    pub locked_until: DateTime<Utc>,
}

/// The platform did not lock the machine (offline, busy, unknown): the purchase is over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VendLockRefused {
    pub message: String,
}

/// The member chose an item at the machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VendSelected {
    /// The item number, as the platform sent it.
    pub selection: String,
    pub price_minor: i64,
    /// The platform renamed the transaction: its callbacks use this reference from now on.
    pub new_txn_ref: Option<String>,
}

/// Tally approved the selection: the price is held on the member's account (post billing) or was charged to the
/// payment reference. The platform is told to dispense next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VendApproved {
    pub price_minor: i64,
    pub surcharge_minor: i64,
    pub discount_minor: i64,
    /// What the member pays: price + surcharge − discount.
    pub charged_minor: i64,
    /// When the dispense result is expected; without one by then, Tally asks the platform about the machine.
    pub result_due: DateTime<Utc>,
}

/// Why Tally declined a selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DeclineReason {
    /// The member's account (with its overdraft limit, less what is held) does not cover the price.
    InsufficientFunds,
    /// The payment gateway declined the charge.
    PaymentDeclined,
    /// The member's account is not open, or not one that pays at machines.
    AccountUnavailable,
}

/// Tally declined the selection; the machine is unlocked next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VendDeclined {
    pub reason: DeclineReason,
    pub message: Option<String>,
}

/// Reference payment: the gateway charged the member's payment reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VendPaymentCharged {
    /// The gateway's id of the charge.
    pub charge_id: String,
    pub amount_minor: i64,
}

/// Reference payment: the gateway declined a charge asked for after the purchase ended (Tally asks again when it
/// never learnt how a charge went): nothing was charged, so nothing is to be refunded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VendPaymentDeclined {
    pub message: Option<String>,
}

/// Reference payment: the gateway refunded the charge (the vend failed or was cancelled after the charge).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VendPaymentRefunded {
    pub charge_id: String,
    /// The gateway's id of the refund.
    pub refund_id: String,
    pub amount_minor: i64,
}

/// The platform accepted `/api/paid`: the machine dispenses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VendPaidAcknowledged {}

/// The machine dispensed the item: the purchase is charged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VendDispensed {
    pub charged_minor: i64,
}

/// The machine did not dispense: the hold is released, or the charge refunded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VendFailed {
    /// The platform's failure code (`1` … `6`, `1000`), as text.
    pub code: String,
}

/// Why a purchase was cancelled before it was dispensed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CancelReason {
    /// The platform reported that the machine unlocked (`/txn/unlock`).
    MachineUnlocked,
    /// The platform never answered the lock.
    LockTimedOut,
    /// No selection came while the machine was locked.
    SelectionTimedOut,
    /// The platform refused `/api/paid`.
    PaidRefused,
    /// No dispense result came, and the platform's view of the machine did not confirm one: the member is not
    /// charged.
    Unconfirmed,
}

/// The purchase was cancelled: whatever was held is released, whatever was charged is refunded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VendCancelled {
    pub reason: CancelReason,
    /// The platform's code or message, when it gave one.
    pub detail: Option<String>,
}

/// Tally told the platform to unlock the machine (after a decline or a cancellation of its own).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VendUnlockSent {
    /// Whether the platform answered `success`; after a lapse it may no longer know the transaction.
    pub success: bool,
}

/// No dispense result came in time: Tally asked the platform about the machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VendReconciled {
    pub online: bool,
    pub busy: bool,
    /// How many times the machine was asked about, this one included.
    pub attempt: u32,
    /// When to ask again; none when the purchase was settled on this answer.
    pub next_check: Option<DateTime<Utc>>,
}

/// A dispense result came after the purchase was settled: recorded for the operator, nothing charged or released.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VendResultLate {
    pub success: bool,
    pub code: String,
}

/// A coil of a machine's planogram, as the platform reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Coil {
    pub code: i64,
    pub formatted_code: Option<String>,
    pub name: Option<String>,
    pub price: Option<i64>,
    pub placeholder: Option<bool>,
    pub capacity: Option<i64>,
    pub restock_count: Option<i64>,
    pub current_stock: Option<i64>,
}

/// A machine dispensed (`/feed/transactions`), whether or not the sale went through Tally.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MachineDispensed {
    pub time: DateTime<Utc>,
    pub dispense_quantity: i64,
    pub cash_value: i64,
    pub cashless_value: i64,
    /// The raw coil code.
    pub code: String,
    pub planogram: Vec<Coil>,
}

/// One coil's refill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RefillDetail {
    pub refill_quantity: i64,
    pub code: String,
}

/// A machine was refilled (`/feed/refills`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MachineRefilled {
    pub time: DateTime<Utc>,
    pub refill_detail: Vec<RefillDetail>,
    pub planogram: Vec<Coil>,
}

/// An alert's level, as the platform names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AlertLevel {
    Low,
    Medium,
    High,
}

/// A machine raised an alert (`/feed/alerts`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MachineAlerted {
    pub time: DateTime<Utc>,
    pub message: String,
    pub level: AlertLevel,
}

/// A button of a machine's telemetry box was pressed (`/feed/button_actions`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MachineButtonPressed {
    pub time: DateTime<Utc>,
    /// 1, 2 or 3.
    pub button: u8,
}
