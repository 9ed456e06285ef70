//! A money account: a customer's deposit (prepaid) or credit account, an employee's allowance, or a credit note.
//! Money is paid in and paid out; each type keeps its rule whatever the order or concurrency of the commands, since
//! the stream decides them one at a time:
//!
//! - deposit and credit note: the balance never goes below zero (a credit note is paid into once, when issued);
//! - credit: the balance never goes below minus the credit limit;
//! - employee: what is paid out in a period (an ISO week or a calendar month, in UTC) never exceeds the allowance;
//!   money paid back in (a refund) restores the current period's allowance, never beyond it.
//!
//! Till movements carry their sale, and keep [`super::till`]'s rules: once per transaction, refunds within their
//! sale.
//!
//! Deposit and credit accounts also pay at vending machines: a hold sets the price aside at the selection (it counts
//! against what may be paid out by anyone), and is captured after the dispense or released ([`holds`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use tally_events::{period_key, Event, MoneyAccountOpened, MoneyAccountType, MoneyMovement, TillSale, TillTransaction};
use uuid::Uuid;

mod holds;

use super::{
    account::{amount_problem, AmountProblem},
    till::{Sales, TillError},
    Aggregate, Context,
};

/// Money amounts carry at most this many decimal places (the minor unit).
pub const MONEY_SCALE: u32 = 2;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct MoneyAccount {
    pub opened: Option<MoneyAccountOpened>,
    pub balance: Decimal,
    /// Employee accounts: what was paid out per period (`2026-12`, `2026-W49`).
    pub spent: BTreeMap<String, Decimal>,
    pub till: Sales,
    /// Employee accounts: the period each till sale paid out in, so that its refund restores that period's
    /// allowance only while it is the current one.
    pub sale_periods: BTreeMap<TillTransaction, String>,
    /// Open holds by id, with their amounts.
    pub holds: BTreeMap<String, Decimal>,
    /// Stored payment references by id, with the gateway's token.
    pub payment_references: BTreeMap<String, String>,
}

impl MoneyAccount {
    /// Employee accounts: the allowance period `now` falls in.
    pub fn period(&self, now: DateTime<Utc>) -> Option<String> {
        let opened = self.opened.as_ref().filter(|o| o.account_type == MoneyAccountType::Employee)?;
        opened.period.map(|period| period_key(period, now))
    }

    /// What may be paid out now, by the account's rule, less what is held.
    pub fn available(&self, now: DateTime<Utc>) -> Decimal {
        let Some(opened) = &self.opened else { return Decimal::ZERO };
        let held: Decimal = self.holds.values().sum();
        let by_rule = match opened.account_type {
            MoneyAccountType::Deposit | MoneyAccountType::CreditNote => self.balance,
            MoneyAccountType::Credit => self.balance + opened.credit_limit.unwrap_or_default(),
            MoneyAccountType::Employee => {
                let spent = self.period(now).and_then(|period| self.spent.get(&period).copied());
                opened.allowance.unwrap_or_default() - spent.unwrap_or_default()
            }
        };
        by_rule - held
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum MoneyCommand {
    Open(MoneyAccountOpened),
    /// Opens a credit note and pays its value in, in one decision.
    IssueCreditNote {
        opened: MoneyAccountOpened,
        movement_id: Uuid,
        amount: Decimal,
        reference: Option<String>,
        sale: Option<TillSale>,
    },
    PayIn {
        movement_id: Uuid,
        amount: Decimal,
        reference: Option<String>,
        sale: Option<TillSale>,
    },
    PayOut {
        movement_id: Uuid,
        amount: Decimal,
        reference: Option<String>,
        sale: Option<TillSale>,
    },
    /// Sets `amount` aside (deposit and credit accounts). Holding again under the same id with the same amount
    /// changes nothing.
    Hold {
        hold_id: String,
        amount: Decimal,
        reference: Option<String>,
    },
    /// Pays an open hold out.
    CaptureHold {
        hold_id: String,
        movement_id: Uuid,
    },
    /// Lets an open hold go.
    ReleaseHold {
        hold_id: String,
    },
    StorePaymentReference {
        reference_id: String,
        token: String,
        label: Option<String>,
    },
}

pub struct MoneyAggregate;

/// Why a money command is refused, in precedence order.
#[derive(Debug, Clone, PartialEq)]
pub enum MoneyError {
    InvalidAmount(AmountProblem),
    /// The opening's terms do not fit its type: a credit limit for credit accounts only, an allowance and period for
    /// employee accounts only, a currency of three capital letters.
    InvalidTerms,
    AlreadyOpened,
    NotFound,
    /// A credit note is paid into once, when it is issued.
    CreditNoteIssued,
    /// More than the account's rule allows to be paid out now.
    InsufficientFunds {
        requested: Decimal,
        available: Decimal,
    },
    /// More paid back into an employee account than was spent in the current period.
    AllowanceExceeded {
        restorable: Decimal,
    },
    Till(TillError),
    /// Only deposit and credit accounts hold money for a payment, or keep payment references.
    HoldsNotAllowed,
    /// The hold id is taken by an open hold of another amount.
    HoldConflict,
    /// No open hold of that id.
    NoSuchHold,
    /// A payment reference of that id is stored already.
    PaymentReferenceExists,
    /// The token looks like a card number: only the gateway's tokens are kept.
    CardNumberNotAllowed,
}

impl MoneyError {
    /// The stable name of the refusal.
    pub fn code(&self) -> &'static str {
        match self {
            MoneyError::InvalidAmount(_) => "InvalidAmount",
            MoneyError::InvalidTerms => "InvalidTerms",
            MoneyError::AlreadyOpened => "MoneyAccountExists",
            MoneyError::NotFound => "MoneyAccountNotFound",
            MoneyError::CreditNoteIssued => "CreditNoteIssued",
            MoneyError::InsufficientFunds { .. } => "InsufficientFunds",
            MoneyError::AllowanceExceeded { .. } => "AllowanceExceeded",
            MoneyError::Till(error) => error.code(),
            MoneyError::HoldsNotAllowed => "HoldsNotAllowed",
            MoneyError::HoldConflict => "HoldConflict",
            MoneyError::NoSuchHold => "NoSuchHold",
            MoneyError::PaymentReferenceExists => "PaymentReferenceExists",
            MoneyError::CardNumberNotAllowed => "CardNumberNotAllowed",
        }
    }
}

fn check_amount(amount: Decimal) -> Result<(), MoneyError> {
    amount_problem(amount, MONEY_SCALE).map_or(Ok(()), |problem| Err(MoneyError::InvalidAmount(problem)))
}

fn check_terms(opened: &MoneyAccountOpened) -> Result<(), MoneyError> {
    let limit_ok = match (opened.account_type, opened.credit_limit) {
        (MoneyAccountType::Credit, Some(limit)) => amount_problem(limit, MONEY_SCALE).is_none(),
        (_, limit) => limit.is_none(),
    };
    let allowance_ok = match (opened.account_type, opened.allowance, opened.period) {
        (MoneyAccountType::Employee, Some(allowance), Some(_)) => amount_problem(allowance, MONEY_SCALE).is_none(),
        (MoneyAccountType::Employee, _, _) => false,
        (_, allowance, period) => allowance.is_none() && period.is_none(),
    };
    let currency_ok = opened.currency.len() == 3 && opened.currency.chars().all(|c| c.is_ascii_uppercase());
    if limit_ok && allowance_ok && currency_ok {
        Ok(())
    } else {
        Err(MoneyError::InvalidTerms)
    }
}

impl Aggregate for MoneyAggregate {
    type State = MoneyAccount;
    type Command = MoneyCommand;
    type Error = MoneyError;

    fn decide(account: &MoneyAccount, command: MoneyCommand, context: &Context) -> Result<Vec<Event>, MoneyError> {
        match command {
            MoneyCommand::Open(opened) => {
                check_terms(&opened)?;
                // A credit note is opened by issuing it with its value.
                if opened.account_type == MoneyAccountType::CreditNote {
                    return Err(MoneyError::InvalidTerms);
                }
                if account.opened.is_some() {
                    return Err(MoneyError::AlreadyOpened);
                }
                Ok(vec![Event::MoneyAccountOpened(opened)])
            }
            MoneyCommand::IssueCreditNote { opened, movement_id, amount, reference, sale } => {
                check_amount(amount)?;
                check_terms(&opened)?;
                if opened.account_type != MoneyAccountType::CreditNote {
                    return Err(MoneyError::InvalidTerms);
                }
                if account.opened.is_some() {
                    return Err(MoneyError::AlreadyOpened);
                }
                let paid_in = MoneyMovement { movement_id, amount, reference, sale, period: None };
                Ok(vec![Event::MoneyAccountOpened(opened), Event::MoneyPaidIn(paid_in)])
            }
            MoneyCommand::PayIn { movement_id, amount, reference, sale } => {
                check_amount(amount)?;
                let opened = account.opened.as_ref().ok_or(MoneyError::NotFound)?;
                let refund_of = sale.as_ref().and_then(|sale| sale.refund_of.as_ref());
                // A refund gives back what a sale paid from a credit note; nothing else pays into one.
                if opened.account_type == MoneyAccountType::CreditNote && refund_of.is_none() {
                    return Err(MoneyError::CreditNoteIssued);
                }
                if let Some(sale) = &sale {
                    account.till.check(sale, true, amount).map_err(MoneyError::Till)?;
                }
                // A refund restores the allowance of the period its sale was paid in, and only while that period
                // lasts; a refund of an earlier period's sale is paid in without restoring this one's.
                let period = account.period(context.now).filter(|current| {
                    refund_of.is_none_or(|original| account.sale_periods.get(original) == Some(current))
                });
                if let Some(period) = &period {
                    let restorable = account.spent.get(period).copied().unwrap_or_default();
                    if amount > restorable {
                        return Err(MoneyError::AllowanceExceeded { restorable });
                    }
                }
                Ok(vec![Event::MoneyPaidIn(MoneyMovement { movement_id, amount, reference, sale, period })])
            }
            MoneyCommand::PayOut { movement_id, amount, reference, sale } => {
                check_amount(amount)?;
                account.opened.as_ref().ok_or(MoneyError::NotFound)?;
                if let Some(sale) = &sale {
                    account.till.check(sale, false, amount).map_err(MoneyError::Till)?;
                }
                let available = account.available(context.now);
                if amount > available {
                    let available = available.max(Decimal::ZERO);
                    return Err(MoneyError::InsufficientFunds { requested: amount, available });
                }
                let period = account.period(context.now);
                Ok(vec![Event::MoneyPaidOut(MoneyMovement { movement_id, amount, reference, sale, period })])
            }
            MoneyCommand::Hold { hold_id, amount, reference } => {
                check_amount(amount)?;
                holds::hold(account, hold_id, amount, reference, context.now)
            }
            MoneyCommand::CaptureHold { hold_id, movement_id } => holds::capture(account, hold_id, movement_id),
            MoneyCommand::ReleaseHold { hold_id } => holds::release(account, hold_id),
            MoneyCommand::StorePaymentReference { reference_id, token, label } => {
                holds::store_reference(account, reference_id, token, label)
            }
        }
    }

    fn evolve(mut account: MoneyAccount, event: &Event) -> MoneyAccount {
        match event {
            Event::MoneyAccountOpened(e) => account.opened = Some(e.clone()),
            Event::MoneyPaidIn(e) => {
                account.balance += e.amount;
                if let Some(period) = &e.period {
                    *account.spent.entry(period.clone()).or_default() -= e.amount;
                }
                if let Some(sale) = &e.sale {
                    account.till.record(sale, true, e.amount);
                }
            }
            Event::MoneyPaidOut(e) => {
                account.balance -= e.amount;
                if let Some(period) = &e.period {
                    *account.spent.entry(period.clone()).or_default() += e.amount;
                    if let Some(sale) = e.sale.as_ref().filter(|sale| sale.refund_of.is_none()) {
                        account.sale_periods.insert(sale.transaction(), period.clone());
                    }
                }
                if let Some(sale) = &e.sale {
                    account.till.record(sale, false, e.amount);
                }
            }
            Event::MoneyHeld(e) => {
                account.holds.insert(e.hold_id.clone(), e.amount);
            }
            Event::MoneyHoldCaptured(e) => {
                account.holds.remove(&e.hold_id);
                account.balance -= e.amount;
            }
            Event::MoneyHoldReleased(e) => {
                account.holds.remove(&e.hold_id);
            }
            Event::PaymentReferenceStored(e) => {
                account.payment_references.insert(e.reference_id.clone(), e.token.clone());
            }
            _ => {}
        }
        account
    }
}

#[cfg(test)]
mod tests;
