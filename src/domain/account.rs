//! The bonus account of one contact: lots accrued with activation and expiry dates, redemptions that spend the lots
//! nearest expiry first, freezing, expiry burns, and reversals by compensating events.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use tally_events::{
    AccrualReversed, BonusAccrued, BonusExpired, BonusRedeemed, BonusType, BonusesFrozen, BonusesUnfrozen, Event,
    LotAllocation, RedemptionReversed,
};
use uuid::Uuid;

use super::{Aggregate, Context};

/// The largest number of decimal places an amount may carry.
pub const MAX_SCALE: u32 = 4;
/// The largest amount one movement may carry. Far above any real accrual, and far enough below `Decimal::MAX` that
/// no sum over an account can overflow.
pub const MAX_AMOUNT: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);

#[derive(Debug, Clone, PartialEq)]
pub struct Lot {
    pub bonus_type: BonusType,
    pub original: Decimal,
    pub remaining: Decimal,
    pub active_from: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub reversed: bool,
}

impl Lot {
    /// Spendable at `now`: activated, not expired, something left.
    pub fn spendable_at(&self, now: DateTime<Utc>) -> bool {
        self.remaining > Decimal::ZERO
            && self.active_from.is_none_or(|from| from <= now)
            && self.expires_at.is_none_or(|until| now < until)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Redemption {
    pub bonus_type: BonusType,
    pub amount: Decimal,
    pub allocations: Vec<LotAllocation>,
    pub reversed: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Account {
    pub lots: BTreeMap<Uuid, Lot>,
    pub redemptions: BTreeMap<Uuid, Redemption>,
    pub frozen: bool,
}

impl Account {
    /// The spendable amount of one bonus type at `now`.
    pub fn active(&self, bonus_type: BonusType, now: DateTime<Utc>) -> Decimal {
        self.lots
            .values()
            .filter(|lot| lot.bonus_type == bonus_type && lot.spendable_at(now))
            .map(|lot| lot.remaining)
            .sum()
    }
}

/// A movement to compensate, found by the handler from the event id the caller names.
#[derive(Debug, Clone, PartialEq)]
pub enum Original {
    Accrual { lot_id: Uuid },
    Redemption { redemption_id: Uuid },
}

#[derive(Debug, Clone, PartialEq)]
pub enum AccountCommand {
    Accrue {
        lot_id: Uuid,
        amount: Decimal,
        bonus_type: BonusType,
        active_from: Option<DateTime<Utc>>,
        expires_at: Option<DateTime<Utc>>,
        reference: Option<String>,
    },
    Redeem {
        redemption_id: Uuid,
        amount: Decimal,
        bonus_type: BonusType,
        reference: Option<String>,
    },
    Freeze {
        reason: Option<String>,
    },
    Unfreeze {
        reason: Option<String>,
    },
    /// Burn what is left of every lot whose expiry has passed.
    ExpireDue,
    Reverse {
        original_event_id: Uuid,
        original: Original,
        reason: Option<String>,
    },
}

pub struct AccountAggregate;

/// What is wrong with an amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmountProblem {
    NotPositive,
    /// Above [`MAX_AMOUNT`].
    TooLarge,
    /// More than [`MAX_SCALE`] decimal places.
    TooPrecise,
}

/// Why an account command is refused, in precedence order.
#[derive(Debug, Clone, PartialEq)]
pub enum AccountError {
    InvalidAmount(AmountProblem),
    /// The expiry is not after the activation date (or now, without one).
    ExpiryNotAfterActivation,
    Frozen,
    NotFrozen,
    /// A redemption larger than the active balance.
    InsufficientBonuses {
        requested: Decimal,
        available: Decimal,
        bonus_type: BonusType,
    },
    /// The event to reverse is not an accrual or redemption of this account.
    NothingToReverse {
        event_id: Uuid,
    },
    AlreadyReversed,
    /// Part of the accrual was spent or burnt; the redemptions must be reversed first.
    AccrualPartlySpent {
        original: Decimal,
        remaining: Decimal,
    },
}

impl AccountError {
    /// The stable name of the refusal.
    pub fn code(&self) -> &'static str {
        match self {
            AccountError::InvalidAmount(_) => "InvalidAmount",
            AccountError::ExpiryNotAfterActivation => "InvalidDates",
            AccountError::Frozen => "AccountFrozen",
            AccountError::NotFrozen => "AccountNotFrozen",
            AccountError::InsufficientBonuses { .. } => "InsufficientBonuses",
            AccountError::NothingToReverse { .. } => "NothingToReverse",
            AccountError::AlreadyReversed => "AlreadyReversed",
            AccountError::AccrualPartlySpent { .. } => "AccrualPartlySpent",
        }
    }
}

fn check_amount(amount: Decimal) -> Result<(), AccountError> {
    let problem = if amount <= Decimal::ZERO {
        AmountProblem::NotPositive
    } else if amount > MAX_AMOUNT {
        AmountProblem::TooLarge
    } else if amount.normalize().scale() > MAX_SCALE {
        AmountProblem::TooPrecise
    } else {
        return Ok(());
    };
    Err(AccountError::InvalidAmount(problem))
}

impl Aggregate for AccountAggregate {
    type State = Account;
    type Command = AccountCommand;
    type Error = AccountError;

    fn decide(account: &Account, command: AccountCommand, context: &Context) -> Result<Vec<Event>, AccountError> {
        match command {
            AccountCommand::Accrue { lot_id, amount, bonus_type, active_from, expires_at, reference } => {
                check_amount(amount)?;
                let starts = active_from.unwrap_or(context.now);
                if expires_at.is_some_and(|until| until <= starts) {
                    return Err(AccountError::ExpiryNotAfterActivation);
                }
                Ok(vec![Event::BonusAccrued(BonusAccrued {
                    lot_id,
                    amount,
                    bonus_type,
                    active_from,
                    expires_at,
                    reference,
                })])
            }
            AccountCommand::Redeem { redemption_id, amount, bonus_type, reference } => {
                check_amount(amount)?;
                if account.frozen {
                    return Err(AccountError::Frozen);
                }
                let allocations = allocate(account, amount, bonus_type, context.now)?;
                Ok(vec![Event::BonusRedeemed(BonusRedeemed {
                    redemption_id,
                    bonus_type,
                    amount,
                    allocations,
                    reference,
                })])
            }
            AccountCommand::Freeze { reason } if !account.frozen => {
                Ok(vec![Event::BonusesFrozen(BonusesFrozen { reason })])
            }
            AccountCommand::Freeze { .. } => Err(AccountError::Frozen),
            AccountCommand::Unfreeze { reason } if account.frozen => {
                Ok(vec![Event::BonusesUnfrozen(BonusesUnfrozen { reason })])
            }
            AccountCommand::Unfreeze { .. } => Err(AccountError::NotFrozen),
            AccountCommand::ExpireDue => Ok(account
                .lots
                .iter()
                .filter(|(_, lot)| {
                    lot.remaining > Decimal::ZERO && lot.expires_at.is_some_and(|until| until <= context.now)
                })
                .map(|(lot_id, lot)| {
                    Event::BonusExpired(BonusExpired {
                        lot_id: *lot_id,
                        bonus_type: lot.bonus_type,
                        amount: lot.remaining,
                    })
                })
                .collect()),
            AccountCommand::Reverse { original_event_id, original, reason } => {
                reverse(account, original_event_id, original, reason)
            }
        }
    }

    fn evolve(mut account: Account, event: &Event) -> Account {
        match event {
            Event::BonusAccrued(e) => {
                account.lots.insert(
                    e.lot_id,
                    Lot {
                        bonus_type: e.bonus_type,
                        original: e.amount,
                        remaining: e.amount,
                        active_from: e.active_from,
                        expires_at: e.expires_at,
                        reversed: false,
                    },
                );
            }
            Event::BonusRedeemed(e) => {
                take(&mut account, &e.allocations, -Decimal::ONE);
                account.redemptions.insert(
                    e.redemption_id,
                    Redemption {
                        bonus_type: e.bonus_type,
                        amount: e.amount,
                        allocations: e.allocations.clone(),
                        reversed: false,
                    },
                );
            }
            Event::BonusesFrozen(_) => account.frozen = true,
            Event::BonusesUnfrozen(_) => account.frozen = false,
            Event::BonusExpired(e) => {
                if let Some(lot) = account.lots.get_mut(&e.lot_id) {
                    lot.remaining -= e.amount;
                }
            }
            Event::AccrualReversed(e) => {
                if let Some(lot) = account.lots.get_mut(&e.lot_id) {
                    lot.remaining -= e.amount;
                    lot.reversed = true;
                }
            }
            Event::RedemptionReversed(e) => {
                take(&mut account, &e.allocations, Decimal::ONE);
                if let Some(redemption) = account.redemptions.get_mut(&e.redemption_id) {
                    redemption.reversed = true;
                }
            }
            _ => {}
        }
        account
    }
}

/// Adds `sign * amount` of each allocation to its lot.
fn take(account: &mut Account, allocations: &[LotAllocation], sign: Decimal) {
    for allocation in allocations {
        if let Some(lot) = account.lots.get_mut(&allocation.lot_id) {
            lot.remaining += sign * allocation.amount;
        }
    }
}

/// Spends lots nearest expiry first (lots that never expire last), then by activation, then by id.
fn allocate(
    account: &Account,
    amount: Decimal,
    bonus_type: BonusType,
    now: DateTime<Utc>,
) -> Result<Vec<LotAllocation>, AccountError> {
    let available = account.active(bonus_type, now);
    if amount > available {
        return Err(AccountError::InsufficientBonuses { requested: amount, available, bonus_type });
    }
    let mut lots: Vec<(&Uuid, &Lot)> =
        account.lots.iter().filter(|(_, lot)| lot.bonus_type == bonus_type && lot.spendable_at(now)).collect();
    lots.sort_by_key(|(id, lot)| (lot.expires_at.is_none(), lot.expires_at, lot.active_from, **id));
    let mut left = amount;
    let mut allocations = Vec::new();
    for (lot_id, lot) in lots {
        if left.is_zero() {
            break;
        }
        let part = left.min(lot.remaining);
        allocations.push(LotAllocation {
            lot_id: *lot_id,
            amount: part,
            active_from: lot.active_from,
            expires_at: lot.expires_at,
        });
        left -= part;
    }
    Ok(allocations)
}

fn reverse(
    account: &Account,
    original_event_id: Uuid,
    original: Original,
    reason: Option<String>,
) -> Result<Vec<Event>, AccountError> {
    let not_found = || AccountError::NothingToReverse { event_id: original_event_id };
    match original {
        Original::Accrual { lot_id } => {
            let lot = account.lots.get(&lot_id).ok_or_else(not_found)?;
            if lot.reversed {
                return Err(AccountError::AlreadyReversed);
            }
            if lot.remaining != lot.original {
                return Err(AccountError::AccrualPartlySpent { original: lot.original, remaining: lot.remaining });
            }
            Ok(vec![Event::AccrualReversed(AccrualReversed {
                lot_id,
                original_event_id,
                bonus_type: lot.bonus_type,
                amount: lot.original,
                reason,
            })])
        }
        Original::Redemption { redemption_id } => {
            let redemption = account.redemptions.get(&redemption_id).ok_or_else(not_found)?;
            if redemption.reversed {
                return Err(AccountError::AlreadyReversed);
            }
            Ok(vec![Event::RedemptionReversed(RedemptionReversed {
                redemption_id,
                original_event_id,
                bonus_type: redemption.bonus_type,
                amount: redemption.amount,
                allocations: redemption.allocations.clone(),
                reason,
            })])
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;
    use crate::domain::given::{context_as, given, Then};

    fn dec(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    fn now() -> DateTime<Utc> {
        context_as(tally_events::Role::System).now
    }

    fn lot(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn accrued(n: u128, amount: Decimal, expires_in_days: Option<i64>) -> Event {
        Event::BonusAccrued(BonusAccrued {
            lot_id: lot(n),
            amount,
            bonus_type: BonusType::Cash,
            active_from: None,
            expires_at: expires_in_days.map(|days| now() + Duration::days(days)),
            reference: None,
        })
    }

    fn redeem(amount: Decimal) -> AccountCommand {
        AccountCommand::Redeem { redemption_id: lot(100), amount, bonus_type: BonusType::Cash, reference: None }
    }

    #[test]
    fn accrual_records_a_lot_and_refuses_bad_amounts_and_dates() {
        let accrue = |amount, expires_at| AccountCommand::Accrue {
            lot_id: lot(1),
            amount,
            bonus_type: BonusType::Cash,
            active_from: None,
            expires_at,
            reference: None,
        };
        given::<AccountAggregate>(&[]).when(accrue(dec("10"), Some(now() + Duration::days(30)))).then(&[accrued(
            1,
            dec("10"),
            Some(30),
        )]);
        given::<AccountAggregate>(&[])
            .when(accrue(dec("0"), None))
            .then_err(AccountError::InvalidAmount(AmountProblem::NotPositive));
        given::<AccountAggregate>(&[])
            .when(accrue(dec("1.00001"), None))
            .then_err(AccountError::InvalidAmount(AmountProblem::TooPrecise));
        given::<AccountAggregate>(&[])
            .when(accrue(MAX_AMOUNT + dec("0.0001"), None))
            .then_err(AccountError::InvalidAmount(AmountProblem::TooLarge));
        given::<AccountAggregate>(&[])
            .when(accrue(dec("5"), Some(now())))
            .then_err(AccountError::ExpiryNotAfterActivation);
    }

    #[test]
    fn redemption_spends_the_lots_nearest_expiry_first() {
        let history = [accrued(1, dec("10"), None), accrued(2, dec("5"), Some(60)), accrued(3, dec("4"), Some(10))];
        given::<AccountAggregate>(&history).when(redeem(dec("12"))).then(&[Event::BonusRedeemed(BonusRedeemed {
            redemption_id: lot(100),
            bonus_type: BonusType::Cash,
            amount: dec("12"),
            allocations: vec![
                LotAllocation {
                    lot_id: lot(3),
                    amount: dec("4"),
                    active_from: None,
                    expires_at: Some(now() + Duration::days(10)),
                },
                LotAllocation {
                    lot_id: lot(2),
                    amount: dec("5"),
                    active_from: None,
                    expires_at: Some(now() + Duration::days(60)),
                },
                LotAllocation { lot_id: lot(1), amount: dec("3"), active_from: None, expires_at: None },
            ],
            reference: None,
        })]);
    }

    #[test]
    fn redemption_never_exceeds_the_active_amount() {
        let inactive = Event::BonusAccrued(BonusAccrued {
            lot_id: lot(2),
            amount: dec("100"),
            bonus_type: BonusType::Cash,
            active_from: Some(now() + Duration::days(1)),
            expires_at: None,
            reference: None,
        });
        given::<AccountAggregate>(&[accrued(1, dec("10"), None), inactive]).when(redeem(dec("10.01"))).then_err(
            AccountError::InsufficientBonuses {
                requested: dec("10.01"),
                available: dec("10"),
                bonus_type: BonusType::Cash,
            },
        );
    }

    #[test]
    fn expired_lots_are_not_spendable_and_expire_due_burns_them() {
        let history = [accrued(1, dec("7"), Some(1))];
        let later = Utc.with_ymd_and_hms(2026, 6, 3, 0, 0, 0).unwrap();
        given::<AccountAggregate>(&history).at(later).when(redeem(dec("1"))).then_err(
            AccountError::InsufficientBonuses { requested: dec("1"), available: dec("0"), bonus_type: BonusType::Cash },
        );
        given::<AccountAggregate>(&history).at(later).when(AccountCommand::ExpireDue).then(&[Event::BonusExpired(
            BonusExpired { lot_id: lot(1), bonus_type: BonusType::Cash, amount: dec("7") },
        )]);
        given::<AccountAggregate>(&history).when(AccountCommand::ExpireDue).then(&[]);
    }

    #[test]
    fn a_frozen_account_cannot_redeem_until_unfrozen() {
        let frozen = Event::BonusesFrozen(BonusesFrozen { reason: None });
        given::<AccountAggregate>(&[accrued(1, dec("10"), None), frozen.clone()])
            .when(redeem(dec("1")))
            .then_err(AccountError::Frozen);
        given::<AccountAggregate>(std::slice::from_ref(&frozen))
            .when(AccountCommand::Freeze { reason: None })
            .then_err(AccountError::Frozen);
        given::<AccountAggregate>(&[frozen])
            .when(AccountCommand::Unfreeze { reason: None })
            .then(&[Event::BonusesUnfrozen(BonusesUnfrozen { reason: None })]);
        given::<AccountAggregate>(&[])
            .when(AccountCommand::Unfreeze { reason: None })
            .then_err(AccountError::NotFrozen);
    }

    #[test]
    fn reversing_an_accrual_takes_it_back_whole_once() {
        let original_event_id = lot(900);
        let reverse =
            AccountCommand::Reverse { original_event_id, original: Original::Accrual { lot_id: lot(1) }, reason: None };
        let reversed = Event::AccrualReversed(AccrualReversed {
            lot_id: lot(1),
            original_event_id,
            bonus_type: BonusType::Cash,
            amount: dec("10"),
            reason: None,
        });
        given::<AccountAggregate>(&[accrued(1, dec("10"), None)])
            .when(reverse.clone())
            .then(std::slice::from_ref(&reversed));
        given::<AccountAggregate>(&[accrued(1, dec("10"), None), reversed])
            .when(reverse.clone())
            .then_err(AccountError::AlreadyReversed);
        let spent = Event::BonusRedeemed(BonusRedeemed {
            redemption_id: lot(100),
            bonus_type: BonusType::Cash,
            amount: dec("4"),
            allocations: vec![LotAllocation { lot_id: lot(1), amount: dec("4"), active_from: None, expires_at: None }],
            reference: None,
        });
        given::<AccountAggregate>(&[accrued(1, dec("10"), None), spent])
            .when(reverse)
            .then_err(AccountError::AccrualPartlySpent { original: dec("10"), remaining: dec("6") });
    }

    #[test]
    fn reversing_a_redemption_gives_the_lots_back() {
        let spent = Event::BonusRedeemed(BonusRedeemed {
            redemption_id: lot(100),
            bonus_type: BonusType::Cash,
            amount: dec("4"),
            allocations: vec![LotAllocation { lot_id: lot(1), amount: dec("4"), active_from: None, expires_at: None }],
            reference: None,
        });
        let reverse = AccountCommand::Reverse {
            original_event_id: lot(901),
            original: Original::Redemption { redemption_id: lot(100) },
            reason: Some("receipt voided".into()),
        };
        let history = [accrued(1, dec("10"), None), spent];
        let events = given::<AccountAggregate>(&history).when(reverse).unwrap();
        let after = history.iter().chain(&events).fold(Account::default(), AccountAggregate::evolve);
        assert_eq!(after.active(BonusType::Cash, now()), dec("10"));
        given::<AccountAggregate>(&[accrued(1, dec("10"), None)])
            .when(AccountCommand::Reverse {
                original_event_id: lot(902),
                original: Original::Redemption { redemption_id: lot(5) },
                reason: None,
            })
            .then_err(AccountError::NothingToReverse { event_id: lot(902) });
    }
}
