//! The bonus account decider: lots, redemptions, expiry, freezing, reversals.

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
        sale: None,
    })
}

fn redeem(amount: Decimal) -> AccountCommand {
    AccountCommand::Redeem { redemption_id: lot(100), amount, bonus_type: BonusType::Cash, reference: None, sale: None }
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
        sale: None,
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
    given::<AccountAggregate>(&[]).when(accrue(dec("5"), Some(now()))).then_err(AccountError::ExpiryNotAfterActivation);
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
        sale: None,
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
        sale: None,
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
    given::<AccountAggregate>(&history).at(later).when(redeem(dec("1"))).then_err(AccountError::InsufficientBonuses {
        requested: dec("1"),
        available: dec("0"),
        bonus_type: BonusType::Cash,
    });
    given::<AccountAggregate>(&history)
        .at(later)
        .when(AccountCommand::ExpireDue)
        .then(&[Event::BonusExpired(BonusExpired { lot_id: lot(1), bonus_type: BonusType::Cash, amount: dec("7") })]);
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
    given::<AccountAggregate>(&[]).when(AccountCommand::Unfreeze { reason: None }).then_err(AccountError::NotFrozen);
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
        sale: None,
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
        sale: None,
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

fn till(transaction: &str, refund_of: Option<&str>) -> TillSale {
    TillSale {
        device_id: "pos1".into(),
        location_id: None,
        transaction_id: transaction.into(),
        refund_of: refund_of
            .map(|original| TillTransaction { device_id: "pos1".into(), transaction_id: original.into() }),
    }
}

/// Lot `n` of `amount` points, earned by till transaction `transaction`.
fn earned_at_till(n: u128, amount: Decimal, transaction: &str) -> Event {
    Event::BonusAccrued(BonusAccrued {
        lot_id: lot(n),
        amount,
        bonus_type: BonusType::Cash,
        active_from: None,
        expires_at: None,
        reference: None,
        sale: Some(till(transaction, None)),
    })
}

#[test]
fn a_lapsing_reservation_returns_to_a_lot_that_expired_meanwhile_and_the_same_pass_burns_it() {
    let lot_expiry = now() + Duration::days(1);
    let history = [
        accrued(1, dec("10"), Some(1)),
        Event::BonusReserved(tally_events::BonusReserved {
            reservation_id: lot(50),
            bonus_type: BonusType::Cash,
            amount: dec("4"),
            allocations: vec![LotAllocation {
                lot_id: lot(1),
                amount: dec("4"),
                active_from: None,
                expires_at: Some(lot_expiry),
            }],
            expires_at: now() + Duration::hours(1),
            sale: till("T-1", None),
        }),
    ];
    let later = now() + Duration::days(2);
    let events = given::<AccountAggregate>(&history).at(later).when(AccountCommand::ExpireDue).unwrap();
    assert!(matches!(&events[0], Event::ReservationReleased(e) if e.reason == tally_events::ReleaseReason::Lapsed));
    assert_eq!(
        events[1],
        Event::BonusExpired(BonusExpired { lot_id: lot(1), bonus_type: BonusType::Cash, amount: dec("10") })
    );
    let after = history.iter().chain(&events).fold(Account::default(), AccountAggregate::evolve);
    assert_eq!(after.lots[&lot(1)].remaining, dec("0"));
    let settle =
        AccountCommand::Settle { transaction: till("T-1", None).transaction(), amount: dec("4"), complete: true };
    let lapsed = ReservationStatus::Released(tally_events::ReleaseReason::Lapsed);
    given::<AccountAggregate>(&[history.as_slice(), &events].concat())
        .when(settle)
        .then_err(AccountError::ReservationClosed { status: lapsed });
}

#[test]
fn a_refund_takes_back_earned_points_even_from_a_frozen_account_but_a_sale_cannot_spend_there() {
    let earned = earned_at_till(1, dec("10"), "S-1");
    let history = [earned, Event::BonusesFrozen(BonusesFrozen { reason: None })];
    let redeem = |sale| AccountCommand::Redeem {
        redemption_id: lot(100),
        amount: dec("3"),
        bonus_type: BonusType::Cash,
        reference: None,
        sale: Some(sale),
    };
    given::<AccountAggregate>(&history).when(redeem(till("S-2", None))).then_err(AccountError::Frozen);
    let events = given::<AccountAggregate>(&history).when(redeem(till("R-1", Some("S-1")))).unwrap();
    let after = history.iter().chain(&events).fold(Account::default(), AccountAggregate::evolve);
    let sale = after.till.get(&till("S-1", None).transaction()).unwrap();
    assert_eq!((sale.added, sale.taken_back), (Some(dec("10")), dec("3")));
    given::<AccountAggregate>(&[history.as_slice(), &events].concat())
        .when(redeem(till("R-1", Some("S-1"))))
        .then_err(AccountError::Till(crate::domain::till::TillError::Repeated { added: false }));
}

#[test]
fn a_till_movement_is_undone_by_a_refund_not_reversed() {
    let earned = earned_at_till(1, dec("10"), "S-1");
    let reverse = AccountCommand::Reverse {
        original_event_id: lot(900),
        original: Original::Accrual { lot_id: lot(1) },
        reason: None,
    };
    given::<AccountAggregate>(&[earned]).when(reverse).then_err(AccountError::TillMovement);
}
