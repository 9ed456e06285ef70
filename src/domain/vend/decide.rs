//! The vend decider: how each command moves a purchase on, and how its events change the purchase.

use chrono::{DateTime, Duration, Utc};
use tally_events::{
    CancelReason, DeclineReason, Event, VendApproved, VendCancelled, VendDeclined, VendDispensed, VendFailed,
    VendLockRefused, VendLocked, VendPaidAcknowledged, VendPaymentCharged, VendPaymentDeclined, VendPaymentRefunded,
    VendReconciled, VendResultLate, VendSelected, VendUnlockSent,
};

use super::{Ending, Phase, Selection, Vend, VendAggregate, VendCommand, VendError};
use crate::domain::{Aggregate, Context};

/// The approval of `price_minor`: Tally adds no surcharge and gives no discount.
fn approved(price_minor: i64, result_due: DateTime<Utc>) -> VendApproved {
    VendApproved { price_minor, surcharge_minor: 0, discount_minor: 0, charged_minor: price_minor, result_due }
}

fn cancelled(reason: CancelReason, detail: Option<String>) -> Event {
    Event::VendCancelled(VendCancelled { reason, detail })
}

fn selected(selection: Selection) -> VendSelected {
    VendSelected {
        selection: selection.selection,
        price_minor: selection.price_minor,
        new_txn_ref: selection.new_txn_ref,
    }
}

impl Aggregate for VendAggregate {
    type State = Vend;
    type Command = VendCommand;
    type Error = VendError;

    fn decide(vend: &Vend, command: VendCommand, context: &Context) -> Result<Vec<Event>, VendError> {
        if let VendCommand::Start(started) = command {
            return match vend.phase {
                Phase::Unknown => Ok(vec![Event::VendStarted(started)]),
                _ => Err(VendError::AlreadyStarted),
            };
        }
        if vend.phase == Phase::Unknown {
            return Err(VendError::NotFound);
        }
        // Only these commands place or settle a hold; they say whether they were built for a purchase that holds.
        let holds = match &command {
            VendCommand::Select { holds, .. }
            | VendCommand::Paid { holds, .. }
            | VendCommand::Vended { holds, .. }
            | VendCommand::MachineUnlocked { holds, .. }
            | VendCommand::Reconcile { holds, .. } => Some(*holds),
            _ => None,
        };
        // A Select that holds is built for a purchase that holds nothing yet.
        let expected = match &command {
            VendCommand::Select { .. } => vend.post_billing() && !matches!(vend.phase, Phase::Ended(_)),
            _ => vend.holds_money(),
        };
        if holds.is_some_and(|holds| holds != expected) {
            return Err(VendError::Stale);
        }
        decide_step(vend, command, context.now)
    }

    fn evolve(mut vend: Vend, event: &Event) -> Vend {
        match event {
            Event::VendStarted(e) => {
                vend.phase = Phase::Started { answer_due: e.answer_due };
                vend.started = Some(e.clone());
            }
            Event::VendLocked(e) => vend.phase = Phase::Locked { until: e.locked_until },
            Event::VendLockRefused(_) => vend.phase = Phase::Ended(Ending::LockRefused),
            Event::VendSelected(e) => {
                let until = match vend.phase {
                    Phase::Locked { until } => until,
                    Phase::Started { answer_due } => answer_due,
                    _ => DateTime::<Utc>::MIN_UTC,
                };
                vend.phase = Phase::Charging { until };
                vend.selection = Some(e.clone());
            }
            Event::VendApproved(e) => {
                vend.phase = Phase::Approved { result_due: e.result_due };
                vend.approved = Some(e.clone());
            }
            Event::VendDeclined(e) => vend.phase = Phase::Ended(Ending::Declined(e.reason)),
            Event::VendPaymentCharged(e) => vend.charge = Some(e.clone()),
            Event::VendPaymentRefunded(_) => vend.refunded = true,
            Event::VendPaymentDeclined(_) => vend.charge_declined = true,
            Event::VendPaidAcknowledged(_) => vend.paid_acknowledged = true,
            Event::VendDispensed(_) => vend.phase = Phase::Ended(Ending::Dispensed),
            Event::VendFailed(_) => vend.phase = Phase::Ended(Ending::Failed),
            Event::VendCancelled(e) => vend.phase = Phase::Ended(Ending::Cancelled(e.reason)),
            Event::VendUnlockSent(_) => vend.unlock_sent = true,
            Event::VendReconciled(e) => {
                vend.reconciled = e.attempt;
                if let (Phase::Approved { result_due }, Some(next)) = (&mut vend.phase, e.next_check) {
                    *result_due = next;
                }
            }
            _ => {}
        }
        vend
    }
}

/// The decision of every step after the start, for a command whose `holds` flag matches the purchase.
fn decide_step(vend: &Vend, command: VendCommand, now: DateTime<Utc>) -> Result<Vec<Event>, VendError> {
    let ended = |same: bool| Err(VendError::Ended { same });
    match (command, &vend.phase) {
        (VendCommand::Start(_), _) | (_, Phase::Unknown) => Err(VendError::AlreadyStarted),
        (VendCommand::Locked(answer), Phase::Started { .. }) => Ok(vec![match answer {
            Ok(timeout_seconds) => Event::VendLocked(VendLocked {
                timeout_seconds,
                locked_until: now + Duration::seconds(i64::from(timeout_seconds)),
            }),
            Err(message) => Event::VendLockRefused(VendLockRefused { message }),
        }]),
        // The answer to a lock comes after the selection it made possible, or after the purchase ended: nothing to
        // change.
        (VendCommand::Locked(_), _) => Ok(vec![]),
        (VendCommand::Select { selection, result_due, .. }, Phase::Started { .. } | Phase::Locked { .. }) => {
            if selection.price_minor < 0 {
                return Err(VendError::InvalidPrice);
            }
            let price = selection.price_minor;
            let mut events = vec![Event::VendSelected(selected(selection))];
            if let Some(result_due) = result_due {
                events.push(Event::VendApproved(approved(price, result_due)));
            }
            Ok(events)
        }
        (VendCommand::Select { selection, .. }, _) => {
            let same = vend
                .selection
                .as_ref()
                .is_some_and(|s| s.selection == selection.selection && s.price_minor == selection.price_minor);
            match vend.phase {
                Phase::Ended(_) if !same => ended(false),
                _ => Err(VendError::AlreadySelected { same }),
            }
        }
        (VendCommand::Decline { selection, reason, message }, phase) => {
            let mut events = Vec::new();
            match (phase, selection) {
                (Phase::Started { .. } | Phase::Locked { .. }, Some(selection)) => {
                    events.push(Event::VendSelected(selected(selection)))
                }
                (Phase::Charging { .. }, _) => {}
                (Phase::Ended(ending), None)
                    if reason == DeclineReason::PaymentDeclined && vend.charge_unknown(ending) =>
                {
                    return Ok(vec![Event::VendPaymentDeclined(VendPaymentDeclined { message })]);
                }
                (Phase::Ended(Ending::Declined(declined)), _) => return ended(*declined == reason),
                (Phase::Ended(_), _) => return ended(false),
                _ => return Err(VendError::AlreadySelected { same: false }),
            }
            events.push(Event::VendDeclined(VendDeclined { reason, message }));
            Ok(events)
        }
        (VendCommand::Charged { charge_id, amount_minor, result_due }, phase) => {
            if vend.charge.is_some() {
                return Ok(vec![]);
            }
            let mut events = vec![Event::VendPaymentCharged(VendPaymentCharged { charge_id, amount_minor })];
            // A charge that comes after the purchase ended is recorded, and refunded next.
            if matches!(phase, Phase::Charging { .. }) {
                events.push(Event::VendApproved(approved(amount_minor, result_due)));
            }
            Ok(events)
        }
        (VendCommand::Refunded { refund_id }, _) => match &vend.charge {
            Some(charge) if !vend.refunded => Ok(vec![Event::VendPaymentRefunded(VendPaymentRefunded {
                charge_id: charge.charge_id.clone(),
                refund_id,
                amount_minor: charge.amount_minor,
            })]),
            _ => Ok(vec![]),
        },
        (VendCommand::Paid { acknowledged, .. }, _) if acknowledged != vend.paid_acknowledged => Err(VendError::Stale),
        (VendCommand::Paid { accepted, .. }, Phase::Approved { .. }) if !vend.paid_acknowledged => {
            Ok(vec![match accepted {
                Ok(()) => Event::VendPaidAcknowledged(VendPaidAcknowledged {}),
                Err(message) => cancelled(CancelReason::PaidRefused, Some(message)),
            }])
        }
        (VendCommand::Paid { .. }, _) => Ok(vec![]),
        (VendCommand::Vended { success, code, .. }, Phase::Approved { .. }) => {
            let charged_minor = vend.approved.as_ref().map_or(0, |a| a.charged_minor);
            Ok(vec![if success {
                Event::VendDispensed(VendDispensed { charged_minor })
            } else {
                Event::VendFailed(VendFailed { code })
            }])
        }
        (VendCommand::Vended { success, code, .. }, Phase::Ended(ending)) => match ending {
            Ending::Dispensed if success => ended(true),
            Ending::Failed if !success => ended(true),
            // A result after a cancellation (an unconfirmed vend), or contradicting the first one: kept for the
            // operator, nothing charged or given back.
            Ending::Dispensed | Ending::Failed | Ending::Cancelled(_) => {
                Ok(vec![Event::VendResultLate(VendResultLate { success, code })])
            }
            Ending::LockRefused | Ending::Declined(_) => Err(VendError::NotApproved),
        },
        (VendCommand::Vended { .. }, _) => Err(VendError::NotApproved),
        (VendCommand::MachineUnlocked { .. }, Phase::Ended(_)) => Ok(vec![]),
        (VendCommand::MachineUnlocked { code, .. }, _) => {
            Ok(vec![cancelled(CancelReason::MachineUnlocked, Some(code).filter(|c| !c.is_empty()))])
        }
        (VendCommand::UnlockSent { success }, _) if !vend.unlock_sent => {
            Ok(vec![Event::VendUnlockSent(VendUnlockSent { success })])
        }
        (VendCommand::UnlockSent { .. }, _) => Ok(vec![]),
        (VendCommand::Expire, phase) => match vend.due_at() {
            Some(due) if due <= now => match phase {
                Phase::Started { .. } => Ok(vec![cancelled(CancelReason::LockTimedOut, None)]),
                Phase::Locked { .. } | Phase::Charging { .. } => {
                    Ok(vec![cancelled(CancelReason::SelectionTimedOut, None)])
                }
                _ => Ok(vec![]),
            },
            _ => Ok(vec![]),
        },
        (
            VendCommand::Reconcile { online, busy, attempt, next_check, max_attempts, .. },
            Phase::Approved { result_due },
        ) => {
            if attempt != vend.reconciled + 1 {
                return Err(VendError::Stale);
            }
            if *result_due > now {
                return Ok(vec![]);
            }
            // An idle machine that is online has finished whatever it was doing: the result is not coming. A
            // machine that is offline or busy may still report it, until the attempts run out.
            let settle = (online && !busy) || attempt >= max_attempts;
            let next_check = (!settle).then_some(next_check);
            let mut events = vec![Event::VendReconciled(VendReconciled { online, busy, attempt, next_check })];
            if settle {
                events.push(cancelled(CancelReason::Unconfirmed, None));
            }
            Ok(events)
        }
        (VendCommand::Reconcile { .. }, _) => Ok(vec![]),
    }
}
