//! What a balance update asks of an account, checked: the action (earn, spend, reserve, settle), and the command it
//! becomes on a loyalty or a money account.

use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use tally_events::{BonusType, MoneyAccountOpened, MoneyAccountType, TillSale, TillTransaction};
use uuid::Uuid;

use super::{BalanceUpdate, Step};
use crate::{
    domain::{account::AccountCommand, money::MoneyCommand},
    http::enactor::Refused,
};

/// The latest epoch millisecond a date may carry (the year 3000, as the OpenAPI document says).
const LATEST_MILLIS: i64 = 32_503_680_000_000;

/// How long a `PENDING` update reserves without an `expiryTime`, and the furthest ahead one may reserve.
const DEFAULT_RESERVATION: Duration = Duration::minutes(15);
const LONGEST_RESERVATION: Duration = Duration::days(7);

/// What an update asks of the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    Earn,
    Spend,
    Reserve { expires_at: DateTime<Utc> },
    Settle { complete: bool },
}

impl Action {
    /// The part of the till's key that tells a sale's updates apart.
    pub(super) fn key(self, refund: bool) -> &'static str {
        match (self, refund) {
            (Action::Earn, false) => "earn",
            (Action::Earn, true) => "give-back",
            (Action::Spend, false) | (Action::Reserve { .. }, _) => "spend",
            (Action::Spend, true) => "take-back",
            (Action::Settle { complete: true }, _) => "complete",
            (Action::Settle { complete: false }, _) => "cancel",
        }
    }

    /// The money account's command, or none when it does not exist (a credit note is issued by paying in).
    pub(super) fn money_command(
        self,
        update: &BalanceUpdate,
        account_type: MoneyAccountType,
        account_id: &str,
        exists: bool,
    ) -> Result<Option<MoneyCommand>, Refused> {
        let invalid = |text: &str| Refused::new(StatusCode::UNPROCESSABLE_ENTITY, "InvalidRequest", text);
        let (sale, reference) = (Some(sale(update)), Some(reference(update)));
        let (movement_id, amount) = (Uuid::now_v7(), update.update_amount.abs());
        Ok(Some(match (self, exists) {
            (Action::Reserve { .. } | Action::Settle { .. }, _) => {
                return Err(invalid("PENDING updates reserve loyalty points only"))
            }
            (Action::Earn, true) => MoneyCommand::PayIn { movement_id, amount, reference, sale },
            (Action::Spend, true) => MoneyCommand::PayOut { movement_id, amount, reference, sale },
            (Action::Earn, false) if account_type == MoneyAccountType::CreditNote => {
                let currency = update
                    .currency_id
                    .clone()
                    .ok_or_else(|| invalid("issuing a credit note needs its currencyId (ISO 4217, e.g. GBP)"))?;
                let opened = MoneyAccountOpened {
                    account_type,
                    account_id: account_id.to_owned(),
                    contact_id: None,
                    currency,
                    credit_limit: None,
                    allowance: None,
                    period: None,
                };
                MoneyCommand::IssueCreditNote { opened, movement_id, amount, reference, sale }
            }
            (_, false) => return Ok(None),
        }))
    }

    pub(super) fn command(self, update: &BalanceUpdate) -> AccountCommand {
        let sale = sale(update);
        let reference = Some(reference(update));
        let amount = update.update_amount.abs();
        let bonus_type = BonusType::Cash;
        match self {
            Action::Earn => AccountCommand::Accrue {
                lot_id: Uuid::now_v7(),
                amount,
                bonus_type,
                active_from: None,
                expires_at: None,
                reference,
                sale: Some(sale),
            },
            Action::Spend => AccountCommand::Redeem {
                redemption_id: Uuid::now_v7(),
                amount,
                bonus_type,
                reference,
                sale: Some(sale),
            },
            Action::Reserve { expires_at } => {
                AccountCommand::Reserve { reservation_id: Uuid::now_v7(), amount, bonus_type, expires_at, sale }
            }
            Action::Settle { complete } => AccountCommand::Settle { transaction: sale.transaction(), amount, complete },
        }
    }
}

/// The till transaction of an update.
fn sale(update: &BalanceUpdate) -> TillSale {
    let refund_of = update.original_transaction_id.clone().map(|transaction_id| TillTransaction {
        device_id: update.original_transaction_device_id.clone().unwrap_or_default(),
        transaction_id,
    });
    TillSale {
        device_id: update.device_id.id.clone(),
        location_id: update.location_id.clone(),
        transaction_id: update.transaction_id.clone(),
        refund_of,
    }
}

/// The till's `referenceId`, else the device and transaction.
fn reference(update: &BalanceUpdate) -> String {
    let own = || format!("enactor {} {}", update.device_id.id, update.transaction_id);
    update.reference_id.clone().filter(|r| !r.trim().is_empty()).unwrap_or_else(own)
}

/// What the update asks, or why it cannot be applied as written.
pub(super) fn action(update: &BalanceUpdate, step: Step) -> Result<Action, &'static str> {
    let blank = |text: &str| text.trim().is_empty();
    let too_long = |text: &Option<String>| text.as_deref().is_some_and(|t| t.chars().count() > 64);
    if update.kind != "accountBalanceUpdate" || update.device_id.kind != "deviceKey" {
        return Err("@type must be accountBalanceUpdate, and deviceId's deviceKey");
    }
    if blank(&update.transaction_id) || update.transaction_id.chars().count() > 64 {
        return Err("transactionId must be 1 to 64 characters");
    }
    if blank(&update.device_id.id) || update.device_id.id.chars().count() > 64 {
        return Err("deviceId.id must be 1 to 64 characters");
    }
    if too_long(&update.location_id) || update.reference_id.as_deref().is_some_and(|r| r.chars().count() > 200) {
        return Err("locationId is at most 64 characters, referenceId at most 200");
    }
    if update.update_amount.is_zero() {
        return Err("updateAmount must not be zero");
    }
    let millis = |ms: Option<i64>| ms.is_some_and(|ms| !(0..=LATEST_MILLIS).contains(&ms));
    if millis(update.date_time_updated) || millis(update.expiry_time) {
        return Err("dateTimeUpdated and expiryTime must be epoch milliseconds, before the year 3000");
    }
    let longer = |text: &Option<String>, most: usize| text.as_deref().is_some_and(|t| t.chars().count() > most);
    if longer(&update.account_id, 64) || longer(&update.card_number, 64) || longer(&update.account_type, 64) {
        return Err("accountId, cardNumber and accountType are at most 64 characters");
    }
    if update.currency_id.as_deref().is_some_and(|c| c.len() != 3 || !c.chars().all(|c| c.is_ascii_uppercase())) {
        return Err("currencyId must be three capital letters (ISO 4217)");
    }
    let refund = match (&update.original_transaction_id, &update.original_transaction_device_id) {
        (None, None) => false,
        (Some(id), Some(device)) if !blank(id) && !blank(device) => {
            if id.chars().count() > 64 || device.chars().count() > 64 {
                return Err("originalTransactionId and originalTransactionDeviceId are at most 64 characters");
            }
            true
        }
        _ => return Err("a refund gives both originalTransactionId and originalTransactionDeviceId"),
    };
    let earns = update.update_amount > Decimal::ZERO;
    match (step, update.status.as_deref()) {
        (Step::Post, None | Some("COMPLETE" | "COMPLETED")) => Ok(if earns { Action::Earn } else { Action::Spend }),
        (Step::Post, Some("PENDING")) if refund || earns => {
            Err("PENDING reserves a tender: a negative updateAmount, and not on a refund")
        }
        (Step::Post, Some("PENDING")) => {
            let expires_at = match update.expiry_time.and_then(DateTime::from_timestamp_millis) {
                Some(at) if at > Utc::now() + LONGEST_RESERVATION => return Err("expiryTime is at most 7 days ahead"),
                Some(at) => at,
                None => Utc::now() + DEFAULT_RESERVATION,
            };
            Ok(Action::Reserve { expires_at })
        }
        (Step::Post, Some(_)) => Err("status must be COMPLETE or PENDING"),
        (Step::Settle, _) if refund || earns => {
            Err("only a PENDING tender is settled: a negative updateAmount, and not a refund")
        }
        (Step::Settle, Some("COMPLETE" | "COMPLETED")) => Ok(Action::Settle { complete: true }),
        (Step::Settle, Some("CANCELLED" | "CANCELED")) => Ok(Action::Settle { complete: false }),
        (Step::Settle, _) => Err("status must be COMPLETE or CANCELLED"),
    }
}
