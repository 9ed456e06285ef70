//! A purchase at a vending machine: the saga between the member's app, Tally and the Vending on Track platform.
//!
//! The stream decides every step, so callbacks that come twice, late or out of order change nothing twice. Steps
//! that call the platform or the payment gateway are not decided here: [`Vend::next_call`] says which call is due,
//! a ledger subscriber makes it after the commit, and its answer comes back as a command. Post billing holds the
//! price on the member's money account at the selection; every step out of [`Phase::Approved`] then settles that
//! hold in the same command (captured after a dispense, released otherwise), which the command's `holds` flag
//! makes explicit: a step whose flag does not match the stream is refused as [`VendError::Stale`], and its issuer
//! reads the stream again.

use chrono::{DateTime, Duration, Utc};
use tally_events::{
    CancelReason, DeclineReason, Event, VendApproved, VendCancelled, VendDeclined, VendDispensed, VendFailed,
    VendLockRefused, VendLocked, VendPaidAcknowledged, VendPaymentCharged, VendPaymentDeclined, VendPaymentRefunded,
    VendReconciled, VendResultLate, VendSelected, VendStarted, VendUnlockSent,
};

use super::{Aggregate, Context};

/// How long after the lock lapses a purchase without a selection is given up.
pub const LOCK_GRACE: Duration = Duration::seconds(tally_events::LOCK_GRACE_SECONDS);

/// Where a purchase stands.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Phase {
    #[default]
    Unknown,
    /// The lock is asked for, until `answer_due`.
    Started { answer_due: DateTime<Utc> },
    /// The machine is locked until `until`; a selection may come.
    Locked { until: DateTime<Utc> },
    /// Reference payment: selected, the gateway charge is due.
    Charging { until: DateTime<Utc> },
    /// Approved: the platform is told to dispense; the result is expected by `result_due`.
    Approved { result_due: DateTime<Utc> },
    /// Over.
    Ended(Ending),
}

/// How a purchase ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    LockRefused,
    Declined(DeclineReason),
    Dispensed,
    Failed,
    Cancelled(CancelReason),
}

/// A call to the platform or the gateway that a purchase waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// `/api/lock`.
    Lock,
    /// The gateway charge of the payment reference.
    Charge,
    /// `/api/paid`.
    Paid,
    /// `/api/unlock`.
    Unlock,
    /// The gateway refund of the charge.
    Refund,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Vend {
    pub started: Option<VendStarted>,
    pub phase: Phase,
    pub selection: Option<VendSelected>,
    pub approved: Option<VendApproved>,
    pub charge: Option<VendPaymentCharged>,
    /// The gateway declined the charge: nothing is owed back.
    pub charge_declined: bool,
    pub refunded: bool,
    pub paid_acknowledged: bool,
    pub unlock_sent: bool,
    pub reconciled: u32,
}

impl Vend {
    /// Whether the member's money account holds the price for this purchase now (nothing is held for a free item).
    pub fn holds_money(&self) -> bool {
        let priced = self.approved.as_ref().is_some_and(|a| a.charged_minor > 0);
        self.post_billing() && priced && matches!(self.phase, Phase::Approved { .. })
    }

    /// Post billing (the member's balance pays) rather than reference payment.
    pub fn post_billing(&self) -> bool {
        self.started.as_ref().is_some_and(|s| s.payment_reference.is_none())
    }

    /// The call this purchase waits for, if any.
    pub fn next_call(&self) -> Option<Call> {
        match &self.phase {
            Phase::Started { .. } => Some(Call::Lock),
            Phase::Charging { .. } => Some(Call::Charge),
            Phase::Approved { .. } if !self.paid_acknowledged => Some(Call::Paid),
            Phase::Ended(ending) => {
                let unlock = match ending {
                    Ending::Declined(_) => true,
                    Ending::Cancelled(reason) => matches!(
                        reason,
                        CancelReason::LockTimedOut | CancelReason::SelectionTimedOut | CancelReason::PaidRefused
                    ),
                    _ => false,
                };
                if self.charge_unknown(ending) {
                    // The charge may have gone through with its answer lost: asked again under the same idempotency
                    // key, the gateway answers with it (then it is refunded) or declines.
                    Some(Call::Charge)
                } else if self.charge.is_some() && !self.refunded && *ending != Ending::Dispensed {
                    Some(Call::Refund)
                } else if unlock && !self.unlock_sent {
                    Some(Call::Unlock)
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    /// Reference payment: whether an ended purchase was selected (so a charge may have been asked for) without Tally
    /// learning how the charge went.
    fn charge_unknown(&self, ending: &Ending) -> bool {
        let reference = self.started.as_ref().is_some_and(|s| s.payment_reference.is_some());
        let declined = self.charge_declined || *ending == Ending::Declined(DeclineReason::PaymentDeclined);
        reference && self.selection.is_some() && self.charge.is_none() && !declined
    }

    /// When a timer of the purchase falls due: the lock's answer, the lock's lapse, or the dispense result.
    pub fn due_at(&self) -> Option<DateTime<Utc>> {
        match &self.phase {
            Phase::Started { answer_due } => Some(*answer_due),
            Phase::Locked { until } | Phase::Charging { until } => Some(*until + LOCK_GRACE),
            Phase::Approved { result_due } => Some(*result_due),
            Phase::Unknown | Phase::Ended(_) => None,
        }
    }
}

/// A price as the platform states it, and what the member pays.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    pub selection: String,
    pub price_minor: i64,
    pub new_txn_ref: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum VendCommand {
    Start(VendStarted),
    /// The platform's answer to `/api/lock`: the seconds it locked for, or its refusal.
    Locked(Result<u32, String>),
    /// A selection at the machine: approved at once (post billing, paired with the hold; `result_due` set), or
    /// awaiting the charge of the payment reference (`result_due` none).
    Select {
        selection: Selection,
        result_due: Option<DateTime<Utc>>,
        holds: bool,
    },
    /// A selection Tally declines.
    Decline {
        selection: Option<Selection>,
        reason: DeclineReason,
        message: Option<String>,
    },
    /// The gateway charged the payment reference.
    Charged {
        charge_id: String,
        amount_minor: i64,
        result_due: DateTime<Utc>,
    },
    /// The gateway refunded the charge.
    Refunded {
        refund_id: String,
    },
    /// The platform's answer to `/api/paid`: accepted, or refused with its message. `acknowledged` is whether the
    /// purchase read had an accepted answer already (another is [`VendError::Stale`]): a refusal then changes nothing,
    /// so it must not release the hold.
    Paid {
        accepted: Result<(), String>,
        holds: bool,
        acknowledged: bool,
    },
    /// The dispense result (`/txn/vend`).
    Vended {
        success: bool,
        code: String,
        holds: bool,
    },
    /// The platform reported that the machine unlocked (`/txn/unlock`).
    MachineUnlocked {
        code: String,
        holds: bool,
    },
    /// Tally's `/api/unlock` was sent.
    UnlockSent {
        success: bool,
    },
    /// A timer fell due: the lock was never answered, or no selection came while it lasted.
    Expire,
    /// No result came by `result_due`: the platform's view of the machine, and when to look again. `attempt` is
    /// this look's number, one after the purchase's last; another number is [`VendError::Stale`].
    Reconcile {
        online: bool,
        busy: bool,
        attempt: u32,
        next_check: DateTime<Utc>,
        max_attempts: u32,
        holds: bool,
    },
}

impl VendCommand {
    /// This command for the purchase as read: its `holds` flag (and a reconciliation's attempt number) set from
    /// `vend`, so that the writer refuses it as [`VendError::Stale`] if the purchase changed before the decision.
    pub fn read_on(mut self, vend: &Vend) -> VendCommand {
        match &mut self {
            VendCommand::Select { holds, .. } => *holds = vend.post_billing() && !matches!(vend.phase, Phase::Ended(_)),
            VendCommand::Paid { holds, acknowledged, .. } => {
                *holds = vend.holds_money();
                *acknowledged = vend.paid_acknowledged;
            }
            VendCommand::Vended { holds, .. } | VendCommand::MachineUnlocked { holds, .. } => {
                *holds = vend.holds_money()
            }
            VendCommand::Reconcile { holds, attempt, .. } => {
                *holds = vend.holds_money();
                *attempt = vend.reconciled + 1;
            }
            _ => {}
        }
        self
    }
}

/// Why a vend command is refused, in precedence order.
#[derive(Debug, Clone, PartialEq)]
pub enum VendError {
    /// No purchase with that reference.
    NotFound,
    AlreadyStarted,
    /// The command was built for another state of the purchase (its `holds` flag): read it again.
    Stale,
    /// The purchase is over; `same` when it ended just as this command would have it (a repeated callback).
    Ended {
        same: bool,
    },
    /// A selection came before, `same` when it was this one.
    AlreadySelected {
        same: bool,
    },
    /// A dispense result for a purchase that was never approved.
    NotApproved,
    /// A price below zero.
    InvalidPrice,
}

impl VendError {
    pub fn code(&self) -> &'static str {
        match self {
            VendError::NotFound => "VendNotFound",
            VendError::AlreadyStarted => "VendExists",
            VendError::Stale => "VendStale",
            VendError::Ended { .. } => "VendEnded",
            VendError::AlreadySelected { .. } => "VendAlreadySelected",
            VendError::NotApproved => "VendNotApproved",
            VendError::InvalidPrice => "InvalidPrice",
        }
    }
}

pub struct VendAggregate;

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

#[cfg(test)]
mod tests;
