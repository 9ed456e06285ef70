//! The money account view: each deposit, credit and employee account and credit note with its balance, and for an
//! employee account what was spent in its latest period, so that what may be paid out now can be computed.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tally_events::{period_key, stream, AllowancePeriod, Event, MoneyAccountType};
use uuid::Uuid;

use crate::{Source, View};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MoneyAccountView {
    pub tenant: String,
    pub account_type: MoneyAccountType,
    pub account_id: String,
    pub contact_id: Option<Uuid>,
    pub currency: String,
    pub balance: Decimal,
    pub credit_limit: Option<Decimal>,
    pub allowance: Option<Decimal>,
    pub period: Option<AllowancePeriod>,
    /// Employee accounts: what was spent in the latest period with movements (earlier periods are let go).
    pub spent: BTreeMap<String, Decimal>,
    /// Open holds (vends between selection and dispense), by id.
    #[serde(default)]
    pub holds: BTreeMap<String, Decimal>,
    /// Stored payment references, by id.
    #[serde(default)]
    pub payment_references: BTreeMap<String, PaymentReferenceView>,
}

/// A stored payment reference: the gateway's token and what the member sees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentReferenceView {
    pub token: String,
    pub label: Option<String>,
}

impl MoneyAccountView {
    /// What is held for payments not yet due.
    pub fn held(&self) -> Decimal {
        self.holds.values().sum()
    }

    /// What may be paid out at `now`, by the account's rule, less what is held.
    pub fn available(&self, now: DateTime<Utc>) -> Decimal {
        let available = match self.account_type {
            MoneyAccountType::Deposit | MoneyAccountType::CreditNote => self.balance,
            MoneyAccountType::Credit => self.balance + self.credit_limit.unwrap_or_default(),
            MoneyAccountType::Employee => self.allowance.unwrap_or_default() - self.spent_in(now),
        };
        (available - self.held()).max(Decimal::ZERO)
    }

    /// Employee accounts: what was spent in the period `now` falls in.
    pub fn spent_in(&self, now: DateTime<Utc>) -> Decimal {
        let current = self.period.map(|period| period_key(period, now));
        current.and_then(|key| self.spent.get(&key).copied()).unwrap_or_default()
    }

    fn spend(&mut self, period: &Option<String>, amount: Decimal) {
        if let Some(period) = period {
            *self.spent.entry(period.clone()).or_default() += amount;
            // Periods only move forward: keep the latest.
            while self.spent.len() > 1 {
                self.spent.pop_first();
            }
        }
    }
}

/// The account type and id of a money stream `money/{tenant}/{type}/{id}`.
fn account_of(stream_id: &str) -> Option<(MoneyAccountType, &str)> {
    let (kind, id) = stream::entity_id(stream_id, "money")?.split_once('/')?;
    let kind = MoneyAccountType::ALL.into_iter().find(|t| t.as_str() == kind)?;
    Some((kind, id))
}

impl View for MoneyAccountView {
    fn key(source: &Source<'_>, event: &Event) -> Option<Vec<String>> {
        match event {
            Event::MoneyAccountOpened(_)
            | Event::MoneyPaidIn(_)
            | Event::MoneyPaidOut(_)
            | Event::MoneyHeld(_)
            | Event::MoneyHoldCaptured(_)
            | Event::MoneyHoldReleased(_)
            | Event::PaymentReferenceStored(_) => {
                let (kind, id) = account_of(source.stream_id)?;
                Some(vec![source.tenant.to_owned(), kind.as_str().to_owned(), id.to_owned()])
            }
            _ => None,
        }
    }

    fn apply(row: Option<Self>, source: &Source<'_>, event: &Event) -> Option<Self> {
        match (row, event) {
            (None, Event::MoneyAccountOpened(e)) => Some(MoneyAccountView {
                tenant: source.tenant.to_owned(),
                account_type: e.account_type,
                account_id: e.account_id.clone(),
                contact_id: e.contact_id,
                currency: e.currency.clone(),
                balance: Decimal::ZERO,
                credit_limit: e.credit_limit,
                allowance: e.allowance,
                period: e.period,
                spent: BTreeMap::new(),
                holds: BTreeMap::new(),
                payment_references: BTreeMap::new(),
            }),
            (Some(mut account), Event::MoneyPaidIn(e)) => {
                account.balance += e.amount;
                account.spend(&e.period, -e.amount);
                Some(account)
            }
            (Some(mut account), Event::MoneyPaidOut(e)) => {
                account.balance -= e.amount;
                account.spend(&e.period, e.amount);
                Some(account)
            }
            (Some(mut account), Event::MoneyHeld(e)) => {
                account.holds.insert(e.hold_id.clone(), e.amount);
                Some(account)
            }
            (Some(mut account), Event::MoneyHoldCaptured(e)) => {
                account.holds.remove(&e.hold_id);
                account.balance -= e.amount;
                Some(account)
            }
            (Some(mut account), Event::MoneyHoldReleased(e)) => {
                account.holds.remove(&e.hold_id);
                Some(account)
            }
            (Some(mut account), Event::PaymentReferenceStored(e)) => {
                let reference = PaymentReferenceView { token: e.token.clone(), label: e.label.clone() };
                account.payment_references.insert(e.reference_id.clone(), reference);
                Some(account)
            }
            (row, _) => row,
        }
    }
}
