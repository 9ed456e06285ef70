//! The vend saga decider: every step, the repeated and out-of-order callbacks, and the timers.

use tally_events::{
    Event, MoneyAccountType, Role, VendCancelled, VendDeclined, VendDispensed, VendFailed, VendLockRefused, VendLocked,
    VendPaidAcknowledged, VendPaymentDeclined, VendPaymentRefunded, VendReconciled, VendResultLate, VendUnlockSent,
};

use super::*;
use crate::domain::{
    given::{context_as, given, Then},
    Aggregate,
};

fn now() -> DateTime<Utc> {
    context_as(Role::System).now
}

fn started(reference: Option<&str>) -> Event {
    Event::VendStarted(VendStarted {
        vm_id: "VM-1".into(),
        account_type: MoneyAccountType::Deposit,
        account_id: "DEP-1".into(),
        payment_reference: reference.map(str::to_owned),
        balance_minor: 1000,
        answer_due: now() + Duration::seconds(30),
    })
}

fn locked() -> Event {
    Event::VendLocked(VendLocked { timeout_seconds: 60, locked_until: now() + Duration::seconds(60) })
}

fn selection(price_minor: i64) -> Selection {
    Selection { selection: "11".into(), price_minor, new_txn_ref: None }
}

fn selected(price_minor: i64) -> Event {
    Event::VendSelected(VendSelected { selection: "11".into(), price_minor, new_txn_ref: None })
}

fn result_due() -> DateTime<Utc> {
    now() + Duration::seconds(120)
}

fn approved(price_minor: i64) -> Event {
    Event::VendApproved(VendApproved {
        price_minor,
        surcharge_minor: 0,
        discount_minor: 0,
        charged_minor: price_minor,
        result_due: result_due(),
    })
}

fn select(holds: bool) -> VendCommand {
    VendCommand::Select { selection: selection(150), result_due: holds.then(result_due), holds }
}

fn vended(success: bool, holds: bool) -> VendCommand {
    VendCommand::Vended { success, code: if success { String::new() } else { "5".into() }, holds }
}

/// A post-billing purchase approved for 150.
fn approved_post_billing() -> Vec<Event> {
    vec![started(None), locked(), selected(150), approved(150)]
}

#[test]
fn a_purchase_starts_once_and_waits_for_the_lock() {
    given::<VendAggregate>(&[]).when(VendCommand::Expire).then_err(VendError::NotFound);
    let Event::VendStarted(start) = started(None) else { unreachable!() };
    given::<VendAggregate>(&[]).when(VendCommand::Start(start.clone())).then(&[started(None)]);
    given::<VendAggregate>(&[started(None)]).when(VendCommand::Start(start)).then_err(VendError::AlreadyStarted);
    let state = [started(None)].iter().fold(Vend::default(), VendAggregate::evolve);
    assert_eq!(state.next_call(), Some(Call::Lock));
    assert_eq!(state.due_at(), Some(now() + Duration::seconds(30)));
}

#[test]
fn the_lock_answer_locks_or_ends_the_purchase_and_a_late_one_changes_nothing() {
    given::<VendAggregate>(&[started(None)]).when(VendCommand::Locked(Ok(60))).then(&[locked()]);
    given::<VendAggregate>(&[started(None)])
        .when(VendCommand::Locked(Err("offline".into())))
        .then(&[Event::VendLockRefused(VendLockRefused { message: "offline".into() })]);
    given::<VendAggregate>(&approved_post_billing()).when(VendCommand::Locked(Ok(60))).then(&[]);
}

#[test]
fn post_billing_approves_a_selection_at_once_and_says_it_holds() {
    given::<VendAggregate>(&[started(None), locked()]).when(select(true)).then(&[selected(150), approved(150)]);
    // A selection that beats the lock's answer is taken too.
    given::<VendAggregate>(&[started(None)]).when(select(true)).then(&[selected(150), approved(150)]);
    given::<VendAggregate>(&[started(None), locked()]).when(select(false)).then_err(VendError::Stale);
    let state = approved_post_billing().iter().fold(Vend::default(), VendAggregate::evolve);
    assert!(state.holds_money());
    assert_eq!(state.next_call(), Some(Call::Paid));
}

#[test]
fn a_repeated_selection_is_recognised_and_a_different_one_refused() {
    given::<VendAggregate>(&approved_post_billing())
        .when(select(true))
        .then_err(VendError::AlreadySelected { same: true });
    let other = VendCommand::Select { selection: selection(90), result_due: Some(result_due()), holds: true };
    given::<VendAggregate>(&approved_post_billing()).when(other).then_err(VendError::AlreadySelected { same: false });
    let negative = VendCommand::Select { selection: selection(-1), result_due: Some(result_due()), holds: true };
    given::<VendAggregate>(&[started(None), locked()]).when(negative).then_err(VendError::InvalidPrice);
}

#[test]
fn a_declined_selection_ends_the_purchase_and_asks_for_an_unlock_once() {
    let decline =
        |selection| VendCommand::Decline { selection, reason: DeclineReason::InsufficientFunds, message: None };
    let declined = Event::VendDeclined(VendDeclined { reason: DeclineReason::InsufficientFunds, message: None });
    given::<VendAggregate>(&[started(None), locked()])
        .when(decline(Some(selection(150))))
        .then(&[selected(150), declined.clone()]);
    let history = [started(None), locked(), selected(150), declined];
    given::<VendAggregate>(&history).when(decline(Some(selection(150)))).then_err(VendError::Ended { same: true });
    let state = history.iter().fold(Vend::default(), VendAggregate::evolve);
    assert_eq!(state.next_call(), Some(Call::Unlock));
    given::<VendAggregate>(&history)
        .when(VendCommand::UnlockSent { success: true })
        .then(&[Event::VendUnlockSent(VendUnlockSent { success: true })]);
    let unlocked: Vec<Event> =
        history.iter().cloned().chain([Event::VendUnlockSent(VendUnlockSent { success: true })]).collect();
    let state = unlocked.iter().fold(Vend::default(), VendAggregate::evolve);
    assert_eq!(state.next_call(), None);
    given::<VendAggregate>(&unlocked).when(VendCommand::UnlockSent { success: true }).then(&[]);
}

#[test]
fn the_dispense_result_settles_once_and_a_repeat_is_recognised() {
    let history = approved_post_billing();
    given::<VendAggregate>(&history)
        .when(vended(true, true))
        .then(&[Event::VendDispensed(VendDispensed { charged_minor: 150 })]);
    given::<VendAggregate>(&history)
        .when(vended(false, true))
        .then(&[Event::VendFailed(VendFailed { code: "5".into() })]);
    given::<VendAggregate>(&history).when(vended(true, false)).then_err(VendError::Stale);
    let dispensed: Vec<Event> =
        history.iter().cloned().chain([Event::VendDispensed(VendDispensed { charged_minor: 150 })]).collect();
    given::<VendAggregate>(&dispensed).when(vended(true, false)).then_err(VendError::Ended { same: true });
    // A contradicting second result is kept for the operator and changes nothing else.
    given::<VendAggregate>(&dispensed)
        .when(vended(false, false))
        .then(&[Event::VendResultLate(VendResultLate { success: false, code: "5".into() })]);
    given::<VendAggregate>(&[started(None), locked()]).when(vended(true, false)).then_err(VendError::NotApproved);
}

#[test]
fn a_result_before_the_paid_acknowledgement_is_taken_and_the_late_acknowledgement_changes_nothing() {
    let mut history = approved_post_billing();
    history.push(Event::VendDispensed(VendDispensed { charged_minor: 150 }));
    let paid = VendCommand::Paid { accepted: Ok(()), holds: false, acknowledged: false };
    given::<VendAggregate>(&history).when(paid).then(&[]);
    let state = history.iter().fold(Vend::default(), VendAggregate::evolve);
    assert_eq!(state.next_call(), None, "nothing is due after a dispense, not even the paid call");
}

#[test]
fn a_refused_paid_call_cancels_and_asks_for_an_unlock() {
    given::<VendAggregate>(&approved_post_billing())
        .when(VendCommand::Paid { accepted: Err("transaction not found".into()), holds: true, acknowledged: false })
        .then(&[Event::VendCancelled(VendCancelled {
            reason: CancelReason::PaidRefused,
            detail: Some("transaction not found".into()),
        })]);
}

#[test]
fn the_machine_unlocking_cancels_an_open_purchase_and_nothing_after_it_ended() {
    let unlock = |holds| VendCommand::MachineUnlocked { code: "timeout".into(), holds };
    let cancelled =
        Event::VendCancelled(VendCancelled { reason: CancelReason::MachineUnlocked, detail: Some("timeout".into()) });
    given::<VendAggregate>(&[started(None), locked()]).when(unlock(false)).then(std::slice::from_ref(&cancelled));
    given::<VendAggregate>(&approved_post_billing()).when(unlock(true)).then(std::slice::from_ref(&cancelled));
    given::<VendAggregate>(&[started(None), locked(), cancelled]).when(unlock(false)).then(&[]);
}

#[test]
fn timers_cancel_a_lock_never_answered_and_a_selection_never_made_but_only_when_due() {
    let at = |seconds| now() + Duration::seconds(seconds);
    given::<VendAggregate>(&[started(None)]).at(at(29)).when(VendCommand::Expire).then(&[]);
    given::<VendAggregate>(&[started(None)])
        .at(at(30))
        .when(VendCommand::Expire)
        .then(&[Event::VendCancelled(VendCancelled { reason: CancelReason::LockTimedOut, detail: None })]);
    given::<VendAggregate>(&[started(None), locked()]).at(at(64)).when(VendCommand::Expire).then(&[]);
    given::<VendAggregate>(&[started(None), locked()])
        .at(at(65))
        .when(VendCommand::Expire)
        .then(&[Event::VendCancelled(VendCancelled { reason: CancelReason::SelectionTimedOut, detail: None })]);
}

#[test]
fn a_missing_result_is_reconciled_with_the_machines_state() {
    let late = result_due() + Duration::seconds(1);
    let next_check = late + Duration::seconds(60);
    let reconcile = |online, busy, attempt| VendCommand::Reconcile {
        online,
        busy,
        attempt,
        next_check,
        max_attempts: 3,
        holds: true,
    };
    given::<VendAggregate>(&approved_post_billing()).when(reconcile(true, false, 1)).then(&[]);
    given::<VendAggregate>(&approved_post_billing()).at(late).when(reconcile(true, false, 1)).then(&[
        Event::VendReconciled(VendReconciled { online: true, busy: false, attempt: 1, next_check: None }),
        Event::VendCancelled(VendCancelled { reason: CancelReason::Unconfirmed, detail: None }),
    ]);
    let waiting =
        Event::VendReconciled(VendReconciled { online: false, busy: false, attempt: 1, next_check: Some(next_check) });
    given::<VendAggregate>(&approved_post_billing())
        .at(late)
        .when(reconcile(false, false, 1))
        .then(std::slice::from_ref(&waiting));
    let mut history = approved_post_billing();
    history.push(waiting);
    given::<VendAggregate>(&history).at(late).when(reconcile(false, false, 1)).then_err(VendError::Stale);
    given::<VendAggregate>(&history).at(late).when(reconcile(false, false, 2)).then(&[]);
    let state = history.iter().fold(Vend::default(), VendAggregate::evolve);
    assert_eq!(state.due_at(), Some(next_check));
}

#[test]
fn reference_payment_charges_before_approving_and_refunds_what_did_not_dispense() {
    let history = [started(Some("card-1")), locked(), selected(150)];
    given::<VendAggregate>(&[started(Some("card-1")), locked()]).when(select(false)).then(&[selected(150)]);
    let state = history.iter().fold(Vend::default(), VendAggregate::evolve);
    assert_eq!(state.next_call(), Some(Call::Charge));
    let charged = Event::VendPaymentCharged(VendPaymentCharged { charge_id: "ch_1".into(), amount_minor: 150 });
    let charge = VendCommand::Charged { charge_id: "ch_1".into(), amount_minor: 150, result_due: result_due() };
    given::<VendAggregate>(&history).when(charge.clone()).then(&[charged.clone(), approved(150)]);
    let mut failed: Vec<Event> = history.iter().cloned().chain([charged.clone(), approved(150)]).collect();
    failed.push(Event::VendFailed(VendFailed { code: "5".into() }));
    let state = failed.iter().fold(Vend::default(), VendAggregate::evolve);
    assert_eq!(state.next_call(), Some(Call::Refund));
    given::<VendAggregate>(&failed).when(VendCommand::Refunded { refund_id: "re_1".into() }).then(&[
        Event::VendPaymentRefunded(VendPaymentRefunded {
            charge_id: "ch_1".into(),
            refund_id: "re_1".into(),
            amount_minor: 150,
        }),
    ]);
    // A charge that lands after the purchase was cancelled is recorded, then refunded.
    let cancelled = Event::VendCancelled(VendCancelled { reason: CancelReason::MachineUnlocked, detail: None });
    let late: Vec<Event> = history.iter().cloned().chain([cancelled]).collect();
    given::<VendAggregate>(&late).when(charge).then(std::slice::from_ref(&charged));
    let state = late.iter().chain([&charged]).fold(Vend::default(), VendAggregate::evolve);
    assert_eq!(state.next_call(), Some(Call::Refund));
}

#[test]
fn a_refused_paid_answer_after_an_accepted_one_is_stale_and_never_releases_the_hold() {
    let mut history = approved_post_billing();
    history.push(Event::VendPaidAcknowledged(VendPaidAcknowledged {}));
    // Built on the purchase before the first answer was recorded: refused, so its release of the hold never lands.
    let refused = VendCommand::Paid { accepted: Err("already paid".into()), holds: true, acknowledged: false };
    given::<VendAggregate>(&history).when(refused).then_err(VendError::Stale);
    let refused = VendCommand::Paid { accepted: Err("already paid".into()), holds: true, acknowledged: true };
    given::<VendAggregate>(&history).when(refused).then(&[]);
}

#[test]
fn a_charge_whose_answer_was_lost_is_asked_for_again_after_the_purchase_ended() {
    let cancelled = Event::VendCancelled(VendCancelled { reason: CancelReason::SelectionTimedOut, detail: None });
    let history = [started(Some("card-1")), locked(), selected(150), cancelled];
    let state = history.iter().fold(Vend::default(), VendAggregate::evolve);
    assert_eq!(state.next_call(), Some(Call::Charge), "the gateway may have charged");
    let declined = VendCommand::Decline { selection: None, reason: DeclineReason::PaymentDeclined, message: None };
    let nothing = Event::VendPaymentDeclined(VendPaymentDeclined { message: None });
    given::<VendAggregate>(&history).when(declined).then(std::slice::from_ref(&nothing));
    let state = history.iter().chain([&nothing]).fold(Vend::default(), VendAggregate::evolve);
    assert_eq!(state.next_call(), Some(Call::Unlock), "nothing to refund; the machine is unlocked");
    // Post billing never asks a gateway.
    let post_billing = [started(None), locked(), selected(150), history[3].clone()];
    let state = post_billing.iter().fold(Vend::default(), VendAggregate::evolve);
    assert_eq!(state.next_call(), Some(Call::Unlock));
}
