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
use tally_events::{CancelReason, DeclineReason, VendApproved, VendPaymentCharged, VendSelected, VendStarted};

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

/// The purchase saga's aggregate: [`decide`] holds its decisions.
pub struct VendAggregate;

mod decide;
#[cfg(test)]
mod tests;
