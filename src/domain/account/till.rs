//! The till's side of a bonus account: what each sale earned and spent, tenders reserved during a sale until the
//! till completes or cancels them (or they lapse), and refunds that name their original sale.
//!
//! The rules: a till transaction earns once and spends once per account; a refund takes back at most what its sale
//! earned and gives back at most what it spent, counting every refund before it, and the same refund transaction
//! is never applied twice.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use tally_events::{
    BonusReserved, BonusType, Event, LotAllocation, ReleaseReason, ReservationCompleted, ReservationReleased, TillSale,
    TillTransaction,
};
use uuid::Uuid;

use super::{take, Account, AccountError};

/// What one till transaction did to the account.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sale {
    pub earned: Option<Decimal>,
    /// Spent as a tender: directly, or by completing its reservation.
    pub spent: Option<Decimal>,
    pub reservation: Option<Uuid>,
    /// Taken back from what it earned, by refunds.
    pub taken_back: Decimal,
    /// Given back from what it spent, by refunds.
    pub given_back: Decimal,
}

/// The two things a refund can do to its sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RefundPart {
    TakeBack,
    GiveBack,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReservationStatus {
    Open,
    Completed,
    Released(ReleaseReason),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reservation {
    pub bonus_type: BonusType,
    pub amount: Decimal,
    pub allocations: Vec<LotAllocation>,
    pub expires_at: DateTime<Utc>,
    pub transaction: TillTransaction,
    pub status: ReservationStatus,
}

/// Whether `sale` may earn (`earned`) or spend `amount`: once per transaction, and for a refund within what its
/// original sale earned or spent.
pub(super) fn check(account: &Account, sale: &TillSale, earned: bool, amount: Decimal) -> Result<(), AccountError> {
    let Some(original) = &sale.refund_of else {
        let repeated = account.sales.get(&sale.transaction()).is_some_and(|done| {
            if earned {
                done.earned.is_some()
            } else {
                done.spent.is_some() || done.reservation.is_some()
            }
        });
        return if repeated { Err(AccountError::TillTransactionRepeated { earned }) } else { Ok(()) };
    };
    // A refund that gives back (earns) undoes what its sale spent; one that takes back (spends) undoes what it
    // earned.
    let part = if earned { RefundPart::GiveBack } else { RefundPart::TakeBack };
    if account.refunds.contains(&(sale.transaction(), part)) {
        return Err(AccountError::TillTransactionRepeated { earned });
    }
    let done = account.sales.get(original);
    let (total, refunded) = match (part, done) {
        (RefundPart::GiveBack, Some(Sale { spent: Some(spent), given_back, .. })) => (*spent, *given_back),
        (RefundPart::TakeBack, Some(Sale { earned: Some(earned), taken_back, .. })) => (*earned, *taken_back),
        _ => return Err(AccountError::SaleNotFound { earned: part == RefundPart::TakeBack }),
    };
    let refundable = total - refunded;
    if amount > refundable {
        return Err(AccountError::RefundExceedsSale { refundable });
    }
    Ok(())
}

/// Records an accrual (`earned`) or redemption of a till transaction in the account's sales.
pub(super) fn record(account: &mut Account, sale: &TillSale, earned: bool, amount: Decimal) {
    match &sale.refund_of {
        None => {
            let done = account.sales.entry(sale.transaction()).or_default();
            let total = if earned { &mut done.earned } else { &mut done.spent };
            *total = Some(total.unwrap_or_default() + amount);
        }
        Some(original) => {
            let part = if earned { RefundPart::GiveBack } else { RefundPart::TakeBack };
            account.refunds.insert((sale.transaction(), part));
            let done = account.sales.entry(original.clone()).or_default();
            *(if earned { &mut done.given_back } else { &mut done.taken_back }) += amount;
        }
    }
}

pub(super) fn reserved(
    reservation_id: Uuid,
    bonus_type: BonusType,
    amount: Decimal,
    allocations: Vec<LotAllocation>,
    expires_at: DateTime<Utc>,
    sale: TillSale,
) -> Vec<Event> {
    vec![Event::BonusReserved(BonusReserved { reservation_id, bonus_type, amount, allocations, expires_at, sale })]
}

/// Completes or cancels the reservation of `transaction`.
pub(super) fn settle(
    account: &Account,
    transaction: &TillTransaction,
    amount: Decimal,
    complete: bool,
    now: DateTime<Utc>,
) -> Result<Vec<Event>, AccountError> {
    let (reservation_id, reservation) = account
        .sales
        .get(transaction)
        .and_then(|sale| sale.reservation)
        .and_then(|id| Some((id, account.reservations.get(&id)?)))
        .ok_or(AccountError::NoReservation)?;
    if reservation.status != ReservationStatus::Open {
        return Err(AccountError::ReservationClosed { status: reservation.status });
    }
    if amount != reservation.amount {
        return Err(AccountError::ReservationMismatch { reserved: reservation.amount });
    }
    if !complete {
        return Ok(vec![released(reservation_id, reservation, ReleaseReason::Cancelled)]);
    }
    if reservation.expires_at <= now {
        return Err(AccountError::ReservationExpired);
    }
    Ok(vec![Event::ReservationCompleted(ReservationCompleted {
        reservation_id,
        bonus_type: reservation.bonus_type,
        amount: reservation.amount,
    })])
}

/// A lapse of every open reservation whose expiry has passed.
pub(super) fn lapse_due(account: &Account, now: DateTime<Utc>) -> Vec<Event> {
    account
        .reservations
        .iter()
        .filter(|(_, reservation)| reservation.status == ReservationStatus::Open && reservation.expires_at <= now)
        .map(|(id, reservation)| released(*id, reservation, ReleaseReason::Lapsed))
        .collect()
}

fn released(reservation_id: Uuid, reservation: &Reservation, reason: ReleaseReason) -> Event {
    Event::ReservationReleased(ReservationReleased {
        reservation_id,
        bonus_type: reservation.bonus_type,
        amount: reservation.amount,
        allocations: reservation.allocations.clone(),
        reason,
    })
}

/// Applies a reservation event.
pub(super) fn evolve(account: &mut Account, event: &Event) {
    match event {
        Event::BonusReserved(e) => {
            take(account, &e.allocations, -Decimal::ONE);
            let transaction = e.sale.transaction();
            account.sales.entry(transaction.clone()).or_default().reservation = Some(e.reservation_id);
            account.reservations.insert(
                e.reservation_id,
                Reservation {
                    bonus_type: e.bonus_type,
                    amount: e.amount,
                    allocations: e.allocations.clone(),
                    expires_at: e.expires_at,
                    transaction,
                    status: ReservationStatus::Open,
                },
            );
        }
        Event::ReservationCompleted(e) => {
            if let Some(reservation) = account.reservations.get_mut(&e.reservation_id) {
                reservation.status = ReservationStatus::Completed;
                let done = account.sales.entry(reservation.transaction.clone()).or_default();
                done.spent = Some(done.spent.unwrap_or_default() + e.amount);
            }
        }
        Event::ReservationReleased(e) => {
            take(account, &e.allocations, Decimal::ONE);
            if let Some(reservation) = account.reservations.get_mut(&e.reservation_id) {
                reservation.status = ReservationStatus::Released(e.reason);
            }
        }
        _ => {}
    }
}
