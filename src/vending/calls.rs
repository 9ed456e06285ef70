//! The `vending-calls` ledger subscriber: each purchase a page of the ledger touched is read again and the call it
//! waits for ([`Vend::next_call`]) is made — to the platform or the payment gateway — and its answer recorded as a
//! step caused by the purchase's last event in the page; then the purchase is read again, until it waits for no
//! call. Purchases are driven concurrently, and several pages are in flight at once; a purchase is driven by one
//! task at a time, and a page that touches a purchase already being driven marks it for another look before that
//! task lets it go, so no event's call is missed. A call that gets no answer fails the page, which is handed again
//! after a growing pause: calls are retried with backoff, and since each is chosen from the purchase as it stands, a
//! call whose answer was recorded is not made again.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
};

use chrono::Utc;
use tally_events::{stream, DeclineReason, Envelope};

use super::{
    gateway::{ChargeRequest, RefundRequest},
    platform::{LockRequest, PaidRequest, UnlockRequest},
    step, By,
};
use crate::outbound::CallError;
use crate::{
    app::App,
    domain::vend::{Call, Vend, VendCommand},
    jobs::system,
    queries,
    subscriber::{BoxError, Subscriber, Ticket},
};

/// Pages in flight at once.
pub const PAGES_IN_FLIGHT: usize = 8;

/// How many calls one task makes for a purchase before it lets it go (a purchase needs at most four in a row).
const MAX_CALLS: usize = 8;

/// The purchases being driven, by tenant and reference: whether a later page touched them meanwhile.
type Driving = Arc<Mutex<HashMap<(String, String), bool>>>;

pub struct VendingCalls {
    app: Arc<App>,
    driving: Driving,
}

impl VendingCalls {
    pub fn new(app: Arc<App>) -> VendingCalls {
        VendingCalls { app, driving: Driving::default() }
    }
}

impl Subscriber for VendingCalls {
    fn name(&self) -> &str {
        "vending-calls"
    }

    async fn handle(&mut self, page: &[Envelope]) -> Result<Ticket, BoxError> {
        // The last event of each purchase in the page: the cause of the step its call leads to.
        let mut touched: BTreeMap<(&str, &str), &Envelope> = BTreeMap::new();
        for envelope in page {
            if let Some(txn_ref) = stream::entity_id(&envelope.stream_id, "vend") {
                touched.insert((envelope.tenant.as_str(), txn_ref), envelope);
            }
        }
        let mut calls = tokio::task::JoinSet::new();
        for ((tenant, txn_ref), cause) in touched {
            let key = (tenant.to_owned(), txn_ref.to_owned());
            {
                let mut driving = self.driving.lock().expect("lock");
                if let Some(touched_again) = driving.get_mut(&key) {
                    *touched_again = true;
                    continue;
                }
                driving.insert(key.clone(), false);
            }
            let (app, driving, cause) = (self.app.clone(), self.driving.clone(), cause.clone());
            calls.spawn(async move { drive(&app, &driving, key, &cause).await });
        }
        Ok(Ticket::pending(async move {
            let mut failure = None;
            while let Some(done) = calls.join_next().await {
                match done {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => failure = Some(error),
                    Err(panicked) => failure = Some(panicked.to_string().into()),
                }
            }
            failure.map_or(Ok(()), Err)
        }))
    }

    /// The pages in flight were dropped, and with them the tasks driving their purchases.
    fn close(&mut self) {
        self.driving.lock().expect("lock").clear();
    }
}

/// Makes the calls the purchase waits for, one after the other, until it waits for none and no later page touched
/// it meanwhile; then lets it go.
async fn drive(app: &App, driving: &Driving, key: (String, String), cause: &Envelope) -> Result<(), BoxError> {
    let (tenant, txn_ref) = (key.0.as_str(), key.1.as_str());
    let mut calls = 0;
    loop {
        let called = call(app, tenant, txn_ref, cause).await;
        let called = match called {
            Ok(called) => called,
            Err(error) => {
                driving.lock().expect("lock").remove(&key);
                return Err(error);
            }
        };
        calls += usize::from(called);
        if calls >= MAX_CALLS {
            // A step that keeps being refused: let the page be handed again after a pause, rather than call on.
            driving.lock().expect("lock").remove(&key);
            return Err(format!("purchase {txn_ref} still waits for a call after {MAX_CALLS}").into());
        }
        if called {
            continue;
        }
        let mut driving = driving.lock().expect("lock");
        match driving.get_mut(&key) {
            Some(touched_again) if *touched_again => *touched_again = false,
            _ => {
                driving.remove(&key);
                return Ok(());
            }
        }
    }
}

/// Makes the call the purchase waits for, if any, and records its answer; whether there was one.
async fn call(app: &App, tenant: &str, txn_ref: &str, cause: &Envelope) -> Result<bool, BoxError> {
    let vend = super::load(app, tenant, txn_ref).await?;
    let (Some(call), Some(started)) = (vend.next_call(), vend.started.as_ref()) else { return Ok(false) };
    let by = By { tenant, actor: system("vending-calls"), cause: Some(cause) };
    let platform = app.vending.platform.as_ref().ok_or("no vending platform is configured")?;
    let platform_ref = platform_ref(&vend, txn_ref);
    let command = match call {
        Call::Lock => {
            let request =
                LockRequest { vm_id: started.vm_id.clone(), txn_ref: platform_ref, balance: started.balance_minor };
            let locked = match answered(platform.lock(&request).await)? {
                Ok(answer) if answer.success => Ok(answer.timeout.unwrap_or(60)),
                Ok(answer) => Err(answer.refusal()),
                Err(refusal) => Err(refusal),
            };
            VendCommand::Locked(locked)
        }
        Call::Paid => {
            let approved = vend.approved.as_ref().ok_or("an approved purchase has its approval")?;
            let request = PaidRequest {
                txn_ref: platform_ref,
                price: approved.price_minor,
                surcharge: approved.surcharge_minor,
                discount: approved.discount_minor,
            };
            let accepted = match answered(platform.paid(&request).await)? {
                Ok(answer) if answer.success => Ok(()),
                Ok(answer) => Err(answer.refusal()),
                Err(refusal) => Err(refusal),
            };
            VendCommand::Paid { accepted, holds: false, acknowledged: false }
        }
        Call::Unlock => {
            let request = UnlockRequest { vm_id: started.vm_id.clone(), txn_ref: platform_ref };
            let success = answered(platform.unlock(&request).await)?.is_ok_and(|answer| answer.success);
            VendCommand::UnlockSent { success }
        }
        Call::Charge => charge(app, tenant, txn_ref, &vend).await?,
        Call::Refund => {
            let gateway = app.vending.gateway.as_ref().ok_or("no payment gateway is configured")?;
            let charge = vend.charge.as_ref().ok_or("a refund is due for a charge")?;
            let request = RefundRequest {
                charge_id: charge.charge_id.clone(),
                amount_minor: charge.amount_minor,
                idempotency_key: format!("{txn_ref}:refund"),
            };
            match answered(gateway.refund(&request).await)? {
                Ok(answer) => VendCommand::Refunded { refund_id: answer.refund_id },
                Err(refusal) => {
                    // Not retried (the gateway said no); the refund stays due, for an operator to settle.
                    tracing::error!(%txn_ref, %refusal, "the payment gateway refused a refund");
                    metrics::counter!("tally_vending_refunds_refused_total").increment(1);
                    return Ok(false);
                }
            }
        }
    };
    step(app, &by, txn_ref, |_| Some(command.clone())).await?;
    Ok(true)
}

/// A call's answer; a refusal the other side will repeat (a 4xx, or an answer that is not the protocol's) as its
/// text; or the error to retry the page for (no answer, or a 5xx).
fn answered<T>(result: Result<T, CallError>) -> Result<Result<T, String>, BoxError> {
    match result {
        Ok(answer) => Ok(Ok(answer)),
        Err(error) if error.is_final() => Ok(Err(error.to_string())),
        Err(error) => Err(error.into()),
    }
}

/// The reference the platform knows the purchase by now.
fn platform_ref(vend: &Vend, txn_ref: &str) -> String {
    vend.selection.as_ref().and_then(|s| s.new_txn_ref.clone()).unwrap_or_else(|| txn_ref.to_owned())
}

/// Charges the purchase's payment reference: the approval, or the decline.
async fn charge(app: &App, tenant: &str, txn_ref: &str, vend: &Vend) -> Result<VendCommand, BoxError> {
    let gateway = app.vending.gateway.as_ref().ok_or("no payment gateway is configured")?;
    let started = vend.started.as_ref().ok_or("a purchase waiting for a charge was started")?;
    let price = vend.selection.as_ref().ok_or("a purchase waiting for a charge has its selection")?.price_minor;
    let reference = started.payment_reference.as_deref().unwrap_or_default();
    let account = queries::money_account(&app.db, tenant, started.account_type, &started.account_id).await?;
    let declined = |message: &str| VendCommand::Decline {
        selection: None,
        reason: DeclineReason::PaymentDeclined,
        message: Some(message.to_owned()),
    };
    let Some((account, token)) =
        account.and_then(|a| a.payment_references.get(reference).map(|r| r.token.clone()).map(|t| (a, t)))
    else {
        return Ok(declined("the payment reference is gone"));
    };
    let request =
        ChargeRequest { token, amount_minor: price, currency: account.currency, idempotency_key: txn_ref.to_owned() };
    let answer = match answered(gateway.charge(&request).await)? {
        Ok(answer) => answer,
        Err(refusal) => return Ok(declined(&refusal)),
    };
    Ok(match (answer.approved, answer.charge_id) {
        (true, Some(charge_id)) => {
            VendCommand::Charged { charge_id, amount_minor: price, result_due: Utc::now() + app.vending.timings.result }
        }
        _ => declined(answer.message.as_deref().unwrap_or("declined by the payment gateway")),
    })
}
