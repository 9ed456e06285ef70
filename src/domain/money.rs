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

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use tally_events::{period_key, Event, MoneyAccountOpened, MoneyAccountType, MoneyMovement, TillSale, TillTransaction};
use uuid::Uuid;

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
}

impl MoneyAccount {
    /// Employee accounts: the allowance period `now` falls in.
    pub fn period(&self, now: DateTime<Utc>) -> Option<String> {
        let opened = self.opened.as_ref().filter(|o| o.account_type == MoneyAccountType::Employee)?;
        opened.period.map(|period| period_key(period, now))
    }

    /// What may be paid out now, by the account's rule.
    pub fn available(&self, now: DateTime<Utc>) -> Decimal {
        let Some(opened) = &self.opened else { return Decimal::ZERO };
        match opened.account_type {
            MoneyAccountType::Deposit | MoneyAccountType::CreditNote => self.balance,
            MoneyAccountType::Credit => self.balance + opened.credit_limit.unwrap_or_default(),
            MoneyAccountType::Employee => {
                let spent = self.period(now).and_then(|period| self.spent.get(&period).copied());
                opened.allowance.unwrap_or_default() - spent.unwrap_or_default()
            }
        }
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
            _ => {}
        }
        account
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};
    use tally_events::{AllowancePeriod, TillTransaction};

    use super::*;
    use crate::domain::given::{context_as, given, Then};

    fn dec(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    fn opened(account_type: MoneyAccountType) -> MoneyAccountOpened {
        let employee = account_type == MoneyAccountType::Employee;
        MoneyAccountOpened {
            account_type,
            account_id: "A-1".into(),
            contact_id: None,
            currency: "GBP".into(),
            credit_limit: (account_type == MoneyAccountType::Credit).then(|| dec("100")),
            allowance: employee.then(|| dec("150")),
            period: employee.then_some(AllowancePeriod::Monthly),
        }
    }

    fn pay_in(amount: &str, sale: Option<TillSale>) -> MoneyCommand {
        MoneyCommand::PayIn { movement_id: Uuid::from_u128(1), amount: dec(amount), reference: None, sale }
    }

    fn pay_out(amount: &str, sale: Option<TillSale>) -> MoneyCommand {
        MoneyCommand::PayOut { movement_id: Uuid::from_u128(2), amount: dec(amount), reference: None, sale }
    }

    fn issue_note(amount: &str) -> MoneyCommand {
        MoneyCommand::IssueCreditNote {
            opened: opened(MoneyAccountType::CreditNote),
            movement_id: Uuid::from_u128(3),
            amount: dec(amount),
            reference: None,
            sale: None,
        }
    }

    /// Till transaction `transaction` of device `pos1`, refunding `refund_of` when given.
    fn sale(transaction: &str, refund_of: Option<&str>) -> TillSale {
        TillSale {
            device_id: "pos1".into(),
            location_id: None,
            transaction_id: transaction.into(),
            refund_of: refund_of.map(|id| TillTransaction { device_id: "pos1".into(), transaction_id: id.into() }),
        }
    }

    /// The events after `history` and each command in turn, all decided at `now` (failing on a refusal).
    fn after(history: Vec<Event>, commands: Vec<MoneyCommand>) -> Vec<Event> {
        commands.into_iter().fold(history, |mut events, command| {
            let decided = given::<MoneyAggregate>(&events).when(command).unwrap();
            events.extend(decided);
            events
        })
    }

    #[test]
    fn a_deposit_never_goes_below_zero_and_a_credit_account_never_below_its_limit() {
        let deposit =
            after(vec![Event::MoneyAccountOpened(opened(MoneyAccountType::Deposit))], vec![pay_in("30", None)]);
        given::<MoneyAggregate>(&deposit)
            .when(pay_out("30.01", None))
            .then_err(MoneyError::InsufficientFunds { requested: dec("30.01"), available: dec("30") });
        let credit =
            after(vec![Event::MoneyAccountOpened(opened(MoneyAccountType::Credit))], vec![pay_out("60", None)]);
        given::<MoneyAggregate>(&credit)
            .when(pay_out("40.01", None))
            .then_err(MoneyError::InsufficientFunds { requested: dec("40.01"), available: dec("40") });
        assert_eq!(given::<MoneyAggregate>(&credit).when(pay_out("40", None)).unwrap().len(), 1);
        given::<MoneyAggregate>(&deposit)
            .when(pay_in("1.001", None))
            .then_err(MoneyError::InvalidAmount(AmountProblem::TooPrecise));
        given::<MoneyAggregate>(&[]).when(pay_in("1", None)).then_err(MoneyError::NotFound);
        let mut bad = opened(MoneyAccountType::Deposit);
        bad.credit_limit = Some(dec("5"));
        given::<MoneyAggregate>(&[]).when(MoneyCommand::Open(bad)).then_err(MoneyError::InvalidTerms);
    }

    #[test]
    fn a_credit_note_is_issued_once_and_redeemed_down_to_zero() {
        let issue = issue_note("25");
        let note = after(vec![], vec![issue.clone(), pay_out("20", None)]);
        given::<MoneyAggregate>(&note).when(issue).then_err(MoneyError::AlreadyOpened);
        given::<MoneyAggregate>(&note).when(pay_in("5", None)).then_err(MoneyError::CreditNoteIssued);
        given::<MoneyAggregate>(&note)
            .when(pay_out("5.01", None))
            .then_err(MoneyError::InsufficientFunds { requested: dec("5.01"), available: dec("5") });
    }

    #[test]
    fn an_employee_allowance_is_spent_per_period_and_starts_afresh() {
        let now = context_as(tally_events::Role::System).now;
        let spent =
            after(vec![Event::MoneyAccountOpened(opened(MoneyAccountType::Employee))], vec![pay_out("100", None)]);
        given::<MoneyAggregate>(&spent)
            .when(pay_out("50.01", None))
            .then_err(MoneyError::InsufficientFunds { requested: dec("50.01"), available: dec("50") });
        // Paying back restores this period's allowance, never beyond what was spent.
        given::<MoneyAggregate>(&spent)
            .when(pay_in("100.01", None))
            .then_err(MoneyError::AllowanceExceeded { restorable: dec("100") });
        let next_month = Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).unwrap();
        assert!(next_month > now + Duration::days(29));
        let fresh = given::<MoneyAggregate>(&spent).at(next_month).when(pay_out("150", None)).unwrap();
        assert!(matches!(&fresh[0], Event::MoneyPaidOut(e) if e.period.as_deref() == Some("2026-07")));
        given::<MoneyAggregate>(&spent)
            .at(next_month)
            .when(pay_in("1", None))
            .then_err(MoneyError::AllowanceExceeded { restorable: dec("0") });
    }

    #[test]
    fn a_refund_restores_the_allowance_of_its_own_period_only() {
        let (s1, refund) = (sale("S-1", None), sale("R-1", Some("S-1")));
        // June: the whole allowance spent by sale S-1. July: spent again; S-1 refunded.
        let june =
            after(vec![Event::MoneyAccountOpened(opened(MoneyAccountType::Employee))], vec![pay_out("150", Some(s1))]);
        let july = Utc.with_ymd_and_hms(2026, 7, 2, 0, 0, 0).unwrap();
        let spent_in_july = given::<MoneyAggregate>(&june).at(july).when(pay_out("150", None)).unwrap();
        let history = [june, spent_in_july].concat();
        let refunded = given::<MoneyAggregate>(&history).at(july).when(pay_in("150", Some(refund))).unwrap();
        assert!(matches!(&refunded[0], Event::MoneyPaidIn(e) if e.period.is_none()), "{refunded:?}");
        // July's allowance stays spent: the June refund does not make room for another July purchase.
        let history = [history, refunded].concat();
        given::<MoneyAggregate>(&history)
            .at(july)
            .when(pay_out("0.01", None))
            .then_err(MoneyError::InsufficientFunds { requested: dec("0.01"), available: dec("0") });
    }

    #[test]
    fn a_refund_gives_back_to_a_credit_note_what_its_sale_took() {
        let issue = issue_note("25");
        let (s1, refund) = (sale("S-1", None), sale("R-1", Some("S-1")));
        let spent = after(vec![], vec![issue, pay_out("20", Some(s1))]);
        given::<MoneyAggregate>(&spent)
            .when(pay_in("20.01", Some(refund.clone())))
            .then_err(MoneyError::Till(TillError::RefundExceedsSale { refundable: dec("20") }));
        assert_eq!(given::<MoneyAggregate>(&spent).when(pay_in("20", Some(refund))).unwrap().len(), 1);
        given::<MoneyAggregate>(&[])
            .when(MoneyCommand::Open(opened(MoneyAccountType::CreditNote)))
            .then_err(MoneyError::InvalidTerms);
    }

    #[test]
    fn a_refund_gives_back_at_most_what_its_sale_paid_out() {
        let history = after(
            vec![Event::MoneyAccountOpened(opened(MoneyAccountType::Deposit))],
            vec![pay_in("50", None), pay_out("20", Some(sale("S-1", None)))],
        );
        given::<MoneyAggregate>(&history)
            .when(pay_out("1", Some(sale("S-1", None))))
            .then_err(MoneyError::Till(TillError::Repeated { added: false }));
        given::<MoneyAggregate>(&history)
            .when(pay_in("20.01", Some(sale("R-1", Some("S-1")))))
            .then_err(MoneyError::Till(TillError::RefundExceedsSale { refundable: dec("20") }));
        let refunded = after(history, vec![pay_in("20", Some(sale("R-1", Some("S-1"))))]);
        given::<MoneyAggregate>(&refunded)
            .when(pay_in("1", Some(sale("R-2", Some("S-1")))))
            .then_err(MoneyError::Till(TillError::RefundExceedsSale { refundable: dec("0") }));
    }
}
