//! Vending on Track: Tally as the member business that keeps the balance and the journal of purchases at vending
//! machines. A purchase is a saga on its own stream ([`crate::domain::vend`]); this module runs it:
//!
//! - [`start`] and the callbacks ([`select`], [`vended`], [`machine_unlocked`]) turn requests into steps;
//! - [`step`] decides a step together with what it does to the member's money account (the hold placed at an
//!   approval, captured after a dispense, released otherwise), all or none;
//! - the [`calls`] subscriber makes the calls a purchase waits for (`/api/lock`, `/api/paid`, `/api/unlock`, the
//!   gateway's charge and refund) after the commit, and records their answers as steps;
//! - the [`timers`] job settles purchases whose timers fell due, asking the platform about the machine when a
//!   dispense result never came.

pub mod calls;
pub mod gateway;
pub mod platform;
pub mod timers;

use std::time::Duration;

use chrono::Utc;
use rust_decimal::Decimal;
use tally_events::{stream, Actor, DeclineReason, Envelope, Event, MoneyAccountType, VendStarted};
use uuid::Uuid;

use crate::{
    app::App,
    commands::{Command, Outcome, Stream, Target},
    domain::{
        money::{MoneyAggregate, MoneyCommand, MoneyError},
        vend::{Selection, Vend, VendAggregate, VendCommand, VendError},
        Aggregate, Context, Refusal,
    },
    queries,
    store::{ledger, StoreError},
};
use gateway::{Gateway, GatewaySettings};
use platform::{Platform, PlatformSettings, UNKNOWN_BALANCE};

/// How long the saga waits, and how often the timers look.
#[derive(Debug, Clone)]
pub struct Timings {
    /// How long an unanswered `/api/lock` is waited for.
    pub lock_answer: Duration,
    /// How long after the approval the dispense result is expected.
    pub result: Duration,
    /// How long to wait before asking about a machine again when it was offline or busy.
    pub recheck: Duration,
    /// How many times a machine is asked about before an unconfirmed purchase is settled anyway.
    pub max_checks: u32,
    /// How often the timers job looks for purchases whose timer fell due.
    pub interval: Duration,
}

impl Default for Timings {
    fn default() -> Timings {
        Timings {
            lock_answer: Duration::from_secs(30),
            result: Duration::from_secs(120),
            recheck: Duration::from_secs(60),
            max_checks: 3,
            interval: Duration::from_secs(1),
        }
    }
}

/// How Tally reaches the platform and the payment gateway.
#[derive(Debug, Clone, Default)]
pub struct VendingSettings {
    /// None: vending is off (purchases are refused).
    pub platform: Option<PlatformSettings>,
    /// None: reference payment is off.
    pub gateway: Option<GatewaySettings>,
    pub timings: Timings,
}

/// The vending side of the core: the clients of the platform and the gateway.
pub struct Vending {
    pub platform: Option<Platform>,
    pub gateway: Option<Gateway>,
    pub timings: Timings,
}

impl Vending {
    pub fn new(settings: &VendingSettings) -> Vending {
        Vending {
            platform: settings.platform.as_ref().map(Platform::new),
            gateway: settings.gateway.as_ref().map(Gateway::new),
            timings: settings.timings.clone(),
        }
    }
}

/// The currencies without minor units (ISO 4217 exponent 0): the platform's amounts are whole units of them.
const ZERO_DECIMAL: &[&str] =
    &["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"];

/// The exponent of a currency's minor unit, for the ones a money account can hold (at most 2 decimal places).
fn exponent(currency: &str) -> u32 {
    if ZERO_DECIMAL.contains(&currency) {
        0
    } else {
        2
    }
}

/// An amount in the platform's minor units as money of `currency`.
pub fn money(minor: i64, currency: &str) -> Decimal {
    Decimal::new(minor, exponent(currency))
}

/// Money of `currency` in whole minor units (rounded down).
pub fn minor(amount: Decimal, currency: &str) -> i64 {
    use rust_decimal::prelude::ToPrimitive;
    (amount * Decimal::from(10i64.pow(exponent(currency)))).floor().to_i64().unwrap_or(i64::MAX)
}

/// A machine id as the streams take it: 1 to 64 visible ASCII characters, no `/`.
pub fn valid_vm_id(vm_id: &str) -> bool {
    (1..=64).contains(&vm_id.len()) && vm_id.bytes().all(|b| b.is_ascii_graphic() && b != b'/')
}

/// A new purchase, as the member's app asks for it.
#[derive(Debug, Clone)]
pub struct NewPurchase {
    pub vm_id: String,
    pub account_type: MoneyAccountType,
    pub account_id: String,
    pub payment_reference: Option<String>,
}

/// Why a purchase cannot start.
#[derive(Debug, Clone, PartialEq)]
pub enum StartError {
    /// No platform is configured.
    PlatformOff,
    /// Reference payment without a gateway configured.
    GatewayOff,
    AccountNotFound,
    /// Not a deposit or credit account.
    AccountNotForVending,
    PaymentReferenceNotFound,
}

/// The command that starts a purchase, with its fresh transaction reference.
pub async fn start(
    app: &App,
    tenant: &str,
    new: NewPurchase,
) -> Result<Result<(String, Target), StartError>, StoreError> {
    if app.vending.platform.is_none() {
        return Ok(Err(StartError::PlatformOff));
    }
    if new.payment_reference.is_some() && app.vending.gateway.is_none() {
        return Ok(Err(StartError::GatewayOff));
    }
    let Some(account) = queries::money_account(&app.db, tenant, new.account_type, &new.account_id).await? else {
        return Ok(Err(StartError::AccountNotFound));
    };
    if !matches!(account.account_type, MoneyAccountType::Deposit | MoneyAccountType::Credit) {
        return Ok(Err(StartError::AccountNotForVending));
    }
    if new.payment_reference.as_ref().is_some_and(|id| !account.payment_references.contains_key(id)) {
        return Ok(Err(StartError::PaymentReferenceNotFound));
    }
    let balance_minor = match new.payment_reference {
        Some(_) => UNKNOWN_BALANCE,
        None => minor(account.available(Utc::now()), &account.currency).min(UNKNOWN_BALANCE - 1),
    };
    let txn_ref = Uuid::now_v7().simple().to_string();
    let answer_due = Utc::now() + app.vending.timings.lock_answer;
    let started = VendStarted {
        vm_id: new.vm_id,
        account_type: new.account_type,
        account_id: new.account_id,
        payment_reference: new.payment_reference,
        balance_minor,
        answer_due,
    };
    Ok(Ok((txn_ref.clone(), VendAggregate::target(txn_ref, VendCommand::Start(started)))))
}

/// A purchase's state, folded from its stream.
pub async fn load(app: &App, tenant: &str, txn_ref: &str) -> Result<Vend, StoreError> {
    let events = ledger::read_stream(&mut *app.db.read.acquire().await?, &stream::vend(tenant, txn_ref), 0).await?;
    Ok(events.iter().map(|(_, event)| event).fold(Vend::default(), VendAggregate::evolve))
}

/// Who takes a step, and what caused it.
#[derive(Clone)]
pub struct By<'a> {
    pub tenant: &'a str,
    pub actor: Actor,
    pub cause: Option<&'a Envelope>,
}

/// What became of a step: the events it appended, or why it was refused.
#[derive(Debug)]
pub struct Stepped {
    pub result: Result<Vec<Envelope>, Refusal>,
}

/// How often a step is tried again when the purchase changed between reading it and deciding.
const STALE_RETRIES: usize = 5;

/// Takes a step of the purchase `txn_ref`: `make` builds the command from the purchase as it stands (None: nothing
/// to do), and [`VendCommand::read_on`] marks it with what it was read on; the money account's side (hold, capture, release) is derived from what the step decides, and both are
/// decided together, all or none.
pub async fn step(
    app: &App,
    by: &By<'_>,
    txn_ref: &str,
    make: impl Fn(&Vend) -> Option<VendCommand>,
) -> Result<Option<Stepped>, StoreError> {
    for _ in 0..STALE_RETRIES {
        let vend = load(app, by.tenant, txn_ref).await?;
        let Some(command) = make(&vend).map(|command| command.read_on(&vend)) else { return Ok(None) };
        let mut targets = vec![VendAggregate::target(txn_ref.to_owned(), command.clone())];
        if let Some((account, money)) = money_side(app, by, txn_ref, &vend, command).await? {
            targets.push(MoneyAggregate::target(account, money));
        }
        let mut command = Command::new(by.tenant, by.actor.clone(), Target::all(targets));
        if let Some(cause) = by.cause {
            command = command.caused_by(cause);
        }
        match app.executor.execute(command).await? {
            Outcome::Executed { result: Err(Refusal::Vend(VendError::Stale)), .. } => continue,
            Outcome::Executed { result, .. } => return Ok(Some(Stepped { result })),
            Outcome::Replayed(_) | Outcome::KeyReused => unreachable!("vend steps carry no idempotency key"),
        }
    }
    Ok(Some(Stepped { result: Err(Refusal::Vend(VendError::Stale)) }))
}

type AccountKey = (MoneyAccountType, String);

/// What a post-billing step does to the member's account: decided here on the purchase as read, so that the
/// money command goes with the step; the step's `holds` flag makes the writer refuse it if the purchase changed.
async fn money_side(
    app: &App,
    by: &By<'_>,
    txn_ref: &str,
    vend: &Vend,
    command: VendCommand,
) -> Result<Option<(AccountKey, MoneyCommand)>, StoreError> {
    let Some(started) = vend.started.as_ref().filter(|_| vend.post_billing()) else { return Ok(None) };
    let context = Context { now: Utc::now(), actor: by.actor.clone() };
    let Ok(events) = VendAggregate::decide(vend, command, &context) else { return Ok(None) };
    let account = (started.account_type, started.account_id.clone());
    let hold_id = txn_ref.to_owned();
    for event in &events {
        let money = match event {
            Event::VendApproved(approved) if approved.charged_minor > 0 => {
                let view = queries::money_account(&app.db, by.tenant, account.0, &account.1).await?;
                let currency = view.map(|v| v.currency).unwrap_or_default();
                MoneyCommand::Hold {
                    hold_id,
                    amount: money(approved.charged_minor, &currency),
                    reference: Some(format!("vend {txn_ref} at {}", started.vm_id)),
                }
            }
            Event::VendDispensed(_) if vend.holds_money() => {
                MoneyCommand::CaptureHold { hold_id, movement_id: Uuid::now_v7() }
            }
            Event::VendFailed(_) | Event::VendCancelled(_) if vend.holds_money() => {
                MoneyCommand::ReleaseHold { hold_id }
            }
            _ => continue,
        };
        return Ok(Some((account, money)));
    }
    Ok(None)
}

/// How a selection was answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Selected {
    /// Approved now or before (a repeated request): the platform is told to dispense.
    Approved,
    /// Reference payment: the charge is under way; the platform is told to dispense once it went through.
    Charging,
    Declined(DeclineReason),
    /// The purchase is over, or another selection was made for it.
    Refused(VendError),
}

/// The platform reports a selection (`/txn/request`): post billing holds the price (or declines for want of
/// funds), reference payment goes on to charge.
pub async fn select(app: &App, by: &By<'_>, txn_ref: &str, selection: Selection) -> Result<Selected, StoreError> {
    let result_due = Utc::now() + app.vending.timings.result;
    let select = |vend: &Vend| {
        let result_due = vend.post_billing().then_some(result_due);
        Some(VendCommand::Select { selection: selection.clone(), result_due, holds: false })
    };
    let Some(stepped) = step(app, by, txn_ref, select).await? else {
        return Ok(Selected::Refused(VendError::NotFound));
    };
    let reason = match &stepped.result {
        Ok(appended) => return Ok(selected_by(appended)),
        Err(Refusal::Vend(VendError::AlreadySelected { same: true })) => {
            // Selected before: the purchase as it stands now says how (the read `step` made may be older).
            return Ok(selected_state(&load(app, by.tenant, txn_ref).await?));
        }
        Err(Refusal::Money(MoneyError::InsufficientFunds { .. })) => DeclineReason::InsufficientFunds,
        Err(Refusal::Money(_)) => DeclineReason::AccountUnavailable,
        Err(Refusal::Vend(error)) => return Ok(Selected::Refused(error.clone())),
        Err(other) => {
            tracing::error!(?other, "a selection was refused by an aggregate it does not touch");
            return Ok(Selected::Refused(VendError::Stale));
        }
    };
    let decline = |_: &Vend| Some(VendCommand::Decline { selection: Some(selection.clone()), reason, message: None });
    match step(app, by, txn_ref, decline).await? {
        Some(Stepped { result: Ok(appended), .. }) => Ok(selected_by(&appended)),
        _ => Ok(selected_state(&load(app, by.tenant, txn_ref).await?)),
    }
}

/// How a selection's own events answer it.
fn selected_by(appended: &[Envelope]) -> Selected {
    let mut selected = Selected::Refused(VendError::Ended { same: false });
    for envelope in appended {
        selected = match envelope.event() {
            Ok(Event::VendSelected(_)) => Selected::Charging,
            Ok(Event::VendApproved(_)) => Selected::Approved,
            Ok(Event::VendDeclined(declined)) => Selected::Declined(declined.reason),
            _ => continue,
        };
    }
    selected
}

/// How the purchase as it stands answers a selection.
fn selected_state(vend: &Vend) -> Selected {
    use crate::domain::vend::{Ending, Phase};
    match &vend.phase {
        Phase::Approved { .. } | Phase::Ended(Ending::Dispensed | Ending::Failed) => Selected::Approved,
        Phase::Charging { .. } => Selected::Charging,
        Phase::Ended(Ending::Declined(reason)) => Selected::Declined(*reason),
        _ => Selected::Refused(VendError::Ended { same: false }),
    }
}

/// The platform reports the dispense result (`/txn/vend`).
pub async fn vended(
    app: &App,
    by: &By<'_>,
    txn_ref: &str,
    success: bool,
    code: String,
) -> Result<Option<Stepped>, StoreError> {
    step(app, by, txn_ref, |_| Some(VendCommand::Vended { success, code: code.clone(), holds: false })).await
}

/// The platform reports that the machine unlocked (`/txn/unlock`).
pub async fn machine_unlocked(
    app: &App,
    by: &By<'_>,
    txn_ref: &str,
    code: String,
) -> Result<Option<Stepped>, StoreError> {
    step(app, by, txn_ref, |_| Some(VendCommand::MachineUnlocked { code: code.clone(), holds: false })).await
}
