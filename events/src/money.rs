//! Money account events: a customer's (or an employee's) deposit, credit and allowance accounts, and credit notes.
//! Each account is a stream of money paid in and paid out, in one currency, under its type's rule.

use chrono::{DateTime, Datelike, Utc};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::TillSale;

/// What kind of money account, and so which rule its balance keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum MoneyAccountType {
    /// Prepaid: never below zero.
    Deposit,
    /// Paid from up to a credit limit: never below minus the limit.
    Credit,
    /// An employee's allowance per period: what is spent in a period never exceeds it; each period starts afresh.
    Employee,
    /// Issued once (on a refund) with a serial number, then redeemed as a tender: never below zero.
    CreditNote,
}

impl MoneyAccountType {
    pub const ALL: [MoneyAccountType; 4] =
        [MoneyAccountType::Deposit, MoneyAccountType::Credit, MoneyAccountType::Employee, MoneyAccountType::CreditNote];

    /// The snake-case name, as in payloads and stream ids.
    pub fn as_str(self) -> &'static str {
        match self {
            MoneyAccountType::Deposit => "deposit",
            MoneyAccountType::Credit => "credit",
            MoneyAccountType::Employee => "employee",
            MoneyAccountType::CreditNote => "credit_note",
        }
    }
}

/// How often an employee allowance starts afresh (periods in UTC: ISO weeks from Monday, calendar months).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AllowancePeriod {
    Weekly,
    Monthly,
}

/// The allowance period `now` falls in: `2026-12` for a month, `2026-W49` for an ISO week.
pub fn period_key(period: AllowancePeriod, now: DateTime<Utc>) -> String {
    match period {
        AllowancePeriod::Monthly => format!("{}-{:02}", now.year(), now.month()),
        AllowancePeriod::Weekly => {
            let week = now.iso_week();
            format!("{}-W{:02}", week.year(), week.week())
        }
    }
}

/// A money account was opened (a credit note: issued, with the amount paid in by the event after it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MoneyAccountOpened {
    pub account_type: MoneyAccountType,
    /// The account number; a credit note's serial number.
    pub account_id: String,
    /// The customer (or employee) whose account it is, when known.
    pub contact_id: Option<Uuid>,
    /// ISO 4217, e.g. `GBP`.
    pub currency: String,
    /// Credit accounts: how far below zero the balance may go.
    #[serde(with = "rust_decimal::serde::str_option")]
    #[schemars(with = "Option<String>")]
    pub credit_limit: Option<Decimal>,
    /// Employee accounts: what may be spent per period.
    #[serde(with = "rust_decimal::serde::str_option")]
    #[schemars(with = "Option<String>")]
    pub allowance: Option<Decimal>,
    pub period: Option<AllowancePeriod>,
}

/// Money paid into or out of an account: `MoneyPaidIn` (a deposit, a repayment, a credit note's value, or a refund
/// giving back what a sale paid out) and `MoneyPaidOut` (a tender at the till, a withdrawal, or a refund taking back
/// what a sale paid in).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MoneyMovement {
    pub movement_id: Uuid,
    #[serde(with = "rust_decimal::serde::str")]
    #[schemars(with = "String")]
    pub amount: Decimal,
    pub reference: Option<String>,
    pub sale: Option<TillSale>,
    /// Employee accounts: the allowance period it is spent in, or whose spending it gives back (`2026-12`,
    /// `2026-W49`).
    pub period: Option<String>,
}

/// Money set aside on an account for a payment whose amount is known but not yet due (a vend between the
/// selection and the dispense): it counts against what may be paid out until it is captured or released.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MoneyHeld {
    /// Unique per account: the purchase that holds it.
    pub hold_id: String,
    #[serde(with = "rust_decimal::serde::str")]
    #[schemars(with = "String")]
    pub amount: Decimal,
    pub reference: Option<String>,
}

/// A hold was paid out: the balance goes down by its amount.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MoneyHoldCaptured {
    pub hold_id: String,
    pub movement_id: Uuid,
    #[serde(with = "rust_decimal::serde::str")]
    #[schemars(with = "String")]
    pub amount: Decimal,
}

/// A hold was let go: its amount may be paid out again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MoneyHoldReleased {
    pub hold_id: String,
}

/// A payment reference (a card-on-file token of the payment gateway, never a card number) was stored for the
/// account's owner, to be charged at vending machines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentReferenceStored {
    /// Tally's id of the reference, unique per account.
    pub reference_id: String,
    /// The gateway's token. It charges nothing without the merchant's gateway credentials, which Tally does not
    /// keep in the ledger.
    pub token: String,
    /// What the member sees, e.g. `Visa 4242`.
    pub label: Option<String>,
}
