//! The bonus account of one contact: lots accrued with activation and expiry dates, redemptions that spend the lots
//! nearest expiry first, freezing, expiry burns, and reversals by compensating events. Tenders reserved at the till
//! are in [`reservations`]; what till sales and refunds may do is [`crate::domain::till`]'s.

mod reservations;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use tally_events::{
    AccrualReversed, BonusAccrued, BonusExpired, BonusRedeemed, BonusType, BonusesFrozen, BonusesUnfrozen, Event,
    LotAllocation, RedemptionReversed, TillSale, TillTransaction,
};

use super::till::{Sales, TillError};
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
    /// Earned (or given back) by a till transaction: undone by a refund from the till, never reversed.
    pub till: bool,
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
    /// Spent (or taken back) by a till transaction: undone by a refund from the till, never reversed.
    pub till: bool,
}

pub use reservations::{Reservation, ReservationStatus};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Account {
    pub lots: BTreeMap<Uuid, Lot>,
    pub redemptions: BTreeMap<Uuid, Redemption>,
    pub frozen: bool,
    /// What each till transaction earned and spent on this account, and what its refunds took and gave back.
    pub till: Sales,
    pub reservations: BTreeMap<Uuid, Reservation>,
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
        /// Points earned by a till transaction, or spent points given back by a refund.
        sale: Option<TillSale>,
    },
    Redeem {
        redemption_id: Uuid,
        amount: Decimal,
        bonus_type: BonusType,
        reference: Option<String>,
        /// Points spent as a tender in a till transaction, or earned points taken back by a refund.
        sale: Option<TillSale>,
    },
    /// Sets points aside as a tender until the till completes or cancels the sale, or `expires_at` passes.
    Reserve {
        reservation_id: Uuid,
        amount: Decimal,
        bonus_type: BonusType,
        expires_at: DateTime<Utc>,
        sale: TillSale,
    },
    /// The till completes (spends) or cancels (gives back) the reservation of its transaction; `amount` is what
    /// it believes was reserved.
    Settle {
        transaction: TillTransaction,
        amount: Decimal,
        complete: bool,
    },
    Freeze {
        reason: Option<String>,
    },
    Unfreeze {
        reason: Option<String>,
    },
    /// Let every reservation past its expiry lapse, then burn what is left of every lot whose expiry has passed.
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
    /// The movement came from a till: a refund from the till undoes it (within its sale), not a reversal.
    TillMovement,
    /// A till transaction repeated, or a refund beyond its sale.
    Till(TillError),
    /// No reservation was made by this till transaction.
    NoReservation,
    /// The reservation was completed, cancelled or lapsed already.
    ReservationClosed {
        status: ReservationStatus,
    },
    /// The reservation's expiry passed: it can no longer be completed.
    ReservationExpired,
    /// The till settles an amount other than the one it reserved.
    ReservationMismatch {
        reserved: Decimal,
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
            AccountError::TillMovement => "TillMovement",
            AccountError::Till(error) => error.code(),
            AccountError::NoReservation => "NoReservation",
            AccountError::ReservationClosed { .. } => "ReservationClosed",
            AccountError::ReservationExpired => "ReservationExpired",
            AccountError::ReservationMismatch { .. } => "ReservationMismatch",
        }
    }
}

/// What is wrong with a movement's amount, if anything: it must be positive, at most [`MAX_AMOUNT`], and carry at
/// most `scale` decimal places.
pub fn amount_problem(amount: Decimal, scale: u32) -> Option<AmountProblem> {
    if amount <= Decimal::ZERO {
        Some(AmountProblem::NotPositive)
    } else if amount > MAX_AMOUNT {
        Some(AmountProblem::TooLarge)
    } else if amount.normalize().scale() > scale {
        Some(AmountProblem::TooPrecise)
    } else {
        None
    }
}

fn check_amount(amount: Decimal) -> Result<(), AccountError> {
    amount_problem(amount, MAX_SCALE).map_or(Ok(()), |problem| Err(AccountError::InvalidAmount(problem)))
}

impl Aggregate for AccountAggregate {
    type State = Account;
    type Command = AccountCommand;
    type Error = AccountError;

    fn decide(account: &Account, command: AccountCommand, context: &Context) -> Result<Vec<Event>, AccountError> {
        match command {
            AccountCommand::Accrue { lot_id, amount, bonus_type, active_from, expires_at, reference, sale } => {
                check_amount(amount)?;
                let starts = active_from.unwrap_or(context.now);
                if expires_at.is_some_and(|until| until <= starts) {
                    return Err(AccountError::ExpiryNotAfterActivation);
                }
                if let Some(sale) = &sale {
                    account.till.check(sale, true, amount).map_err(AccountError::Till)?;
                }
                Ok(vec![Event::BonusAccrued(BonusAccrued {
                    lot_id,
                    amount,
                    bonus_type,
                    active_from,
                    expires_at,
                    reference,
                    sale,
                })])
            }
            AccountCommand::Redeem { redemption_id, amount, bonus_type, reference, sale } => {
                check_amount(amount)?;
                // Taking back what a refunded sale earned is a correction, not a spend: a freeze does not stop it.
                let take_back = sale.as_ref().is_some_and(|sale| sale.refund_of.is_some());
                if account.frozen && !take_back {
                    return Err(AccountError::Frozen);
                }
                if let Some(sale) = &sale {
                    account.till.check(sale, false, amount).map_err(AccountError::Till)?;
                }
                let allocations = allocate(account, amount, bonus_type, context.now)?;
                Ok(vec![Event::BonusRedeemed(BonusRedeemed {
                    redemption_id,
                    bonus_type,
                    amount,
                    allocations,
                    reference,
                    sale,
                })])
            }
            AccountCommand::Reserve { reservation_id, amount, bonus_type, expires_at, sale } => {
                check_amount(amount)?;
                if expires_at <= context.now {
                    return Err(AccountError::ExpiryNotAfterActivation);
                }
                if account.frozen {
                    return Err(AccountError::Frozen);
                }
                account.till.check(&sale, false, amount).map_err(AccountError::Till)?;
                let allocations = allocate(account, amount, bonus_type, context.now)?;
                Ok(reservations::reserved(reservation_id, bonus_type, amount, allocations, expires_at, sale))
            }
            AccountCommand::Settle { transaction, amount, complete } => {
                reservations::settle(account, &transaction, amount, complete, context.now)
            }
            AccountCommand::Freeze { reason } if !account.frozen => {
                Ok(vec![Event::BonusesFrozen(BonusesFrozen { reason })])
            }
            AccountCommand::Freeze { .. } => Err(AccountError::Frozen),
            AccountCommand::Unfreeze { reason } if account.frozen => {
                Ok(vec![Event::BonusesUnfrozen(BonusesUnfrozen { reason })])
            }
            AccountCommand::Unfreeze { .. } => Err(AccountError::NotFrozen),
            AccountCommand::ExpireDue => {
                let mut events = reservations::lapse_due(account, context.now);
                let released;
                let account = if events.is_empty() {
                    account
                } else {
                    released = events.iter().fold(account.clone(), Self::evolve);
                    &released
                };
                events.extend(
                    account
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
                        }),
                );
                Ok(events)
            }
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
                        till: e.sale.is_some(),
                    },
                );
                if let Some(sale) = &e.sale {
                    account.till.record(sale, true, e.amount);
                }
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
                        till: e.sale.is_some(),
                    },
                );
                if let Some(sale) = &e.sale {
                    account.till.record(sale, false, e.amount);
                }
            }
            Event::BonusReserved(_) | Event::ReservationCompleted(_) | Event::ReservationReleased(_) => {
                reservations::evolve(&mut account, event)
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
            if lot.till {
                return Err(AccountError::TillMovement);
            }
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
            if redemption.till {
                return Err(AccountError::TillMovement);
            }
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
mod tests;
