//! Holds and payment references: what a deposit or credit account does for vending machines. A hold counts against
//! [`MoneyAccount::available`] until it is captured (paid out) or released, so two machines can never spend the
//! same money; the purchase that holds decides when, so a hold is settled exactly once.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use tally_events::{Event, MoneyAccountType, MoneyHeld, MoneyHoldCaptured, MoneyHoldReleased, PaymentReferenceStored};
use uuid::Uuid;

use super::{MoneyAccount, MoneyError};

/// The account, if it is open and of a type that holds money.
fn holding(account: &MoneyAccount) -> Result<(), MoneyError> {
    let opened = account.opened.as_ref().ok_or(MoneyError::NotFound)?;
    match opened.account_type {
        MoneyAccountType::Deposit | MoneyAccountType::Credit => Ok(()),
        MoneyAccountType::Employee | MoneyAccountType::CreditNote => Err(MoneyError::HoldsNotAllowed),
    }
}

pub(super) fn hold(
    account: &MoneyAccount,
    hold_id: String,
    amount: Decimal,
    reference: Option<String>,
    now: DateTime<Utc>,
) -> Result<Vec<Event>, MoneyError> {
    holding(account)?;
    match account.holds.get(&hold_id) {
        Some(held) if *held == amount => return Ok(vec![]),
        Some(_) => return Err(MoneyError::HoldConflict),
        None => {}
    }
    let available = account.available(now);
    if amount > available {
        return Err(MoneyError::InsufficientFunds { requested: amount, available: available.max(Decimal::ZERO) });
    }
    Ok(vec![Event::MoneyHeld(MoneyHeld { hold_id, amount, reference })])
}

pub(super) fn capture(account: &MoneyAccount, hold_id: String, movement_id: Uuid) -> Result<Vec<Event>, MoneyError> {
    holding(account)?;
    let amount = *account.holds.get(&hold_id).ok_or(MoneyError::NoSuchHold)?;
    Ok(vec![Event::MoneyHoldCaptured(MoneyHoldCaptured { hold_id, movement_id, amount })])
}

pub(super) fn release(account: &MoneyAccount, hold_id: String) -> Result<Vec<Event>, MoneyError> {
    holding(account)?;
    if !account.holds.contains_key(&hold_id) {
        return Err(MoneyError::NoSuchHold);
    }
    Ok(vec![Event::MoneyHoldReleased(MoneyHoldReleased { hold_id })])
}

pub(super) fn store_reference(
    account: &MoneyAccount,
    reference_id: String,
    token: String,
    label: Option<String>,
) -> Result<Vec<Event>, MoneyError> {
    holding(account)?;
    if looks_like_card_number(&token) {
        return Err(MoneyError::CardNumberNotAllowed);
    }
    if account.payment_references.contains_key(&reference_id) {
        return Err(MoneyError::PaymentReferenceExists);
    }
    Ok(vec![Event::PaymentReferenceStored(PaymentReferenceStored { reference_id, token, label })])
}

/// Whether `text` is 12 to 19 digits (spaces and dashes aside) that pass the Luhn check: a primary account number,
/// which Tally must never store.
pub fn looks_like_card_number(text: &str) -> bool {
    let digits: Vec<u32> = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .map(|c| c.to_digit(10))
        .collect::<Option<_>>()
        .unwrap_or_default();
    if !(12..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                if d * 2 > 9 {
                    d * 2 - 9
                } else {
                    d * 2
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}
