//! Tenders reserved on a bonus account during a till sale, until the till completes or cancels them, or they lapse
//! at their expiry. (What sales and refunds may do is [`crate::domain::till`]'s.)

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use tally_events::{
    BonusReserved, BonusType, Event, LotAllocation, ReleaseReason, ReservationCompleted, ReservationReleased, TillSale,
    TillTransaction,
};
use uuid::Uuid;

use super::{take, Account, AccountError};

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
        .till
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
            account.till.reserve(transaction.clone(), e.reservation_id);
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
                account.till.complete(&reservation.transaction, e.amount);
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
