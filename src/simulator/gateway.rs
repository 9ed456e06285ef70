//! A simulated payment gateway, speaking the port's protocol (`crate::vending::gateway`): charges and refunds, each
//! once per idempotency key. Tokens starting `tok_decline` are declined.

use std::collections::BTreeMap;

use axum::{
    extract::State,
    response::IntoResponse,
    routing::{get, post},
    Json, Router,
};
use serde::Serialize;
use serde_json::json;

use super::Shared;
use crate::vending::gateway::{ChargeAnswer, ChargeRequest, RefundAnswer, RefundRequest};

/// What the gateway charged and refunded, by idempotency key.
#[derive(Debug, Default, Serialize)]
pub struct Ledger {
    pub charges: BTreeMap<String, (String, i64)>,
    pub refunds: BTreeMap<String, (String, i64)>,
}

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/gateway/charges", post(charge))
        .route("/gateway/refunds", post(refund))
        .route("/sim/gateway", get(ledger))
}

async fn charge(State(sim): State<Shared>, Json(request): Json<ChargeRequest>) -> Json<ChargeAnswer> {
    if request.token.starts_with("tok_decline") || request.amount_minor < 0 {
        return Json(ChargeAnswer { approved: false, charge_id: None, message: Some("card declined".into()) });
    }
    let mut ledger = sim.gateway.lock().await;
    let count = ledger.charges.len();
    let (charge_id, _) = ledger
        .charges
        .entry(request.idempotency_key)
        .or_insert_with(|| (format!("ch_{:06}", count + 1), request.amount_minor))
        .clone();
    Json(ChargeAnswer { approved: true, charge_id: Some(charge_id), message: None })
}

async fn refund(State(sim): State<Shared>, Json(request): Json<RefundRequest>) -> Json<RefundAnswer> {
    let mut ledger = sim.gateway.lock().await;
    let count = ledger.refunds.len();
    let (refund_id, _) = ledger
        .refunds
        .entry(request.idempotency_key)
        .or_insert_with(|| (format!("re_{:06}", count + 1), request.amount_minor))
        .clone();
    Json(RefundAnswer { refund_id })
}

/// Totals: what was charged and refunded, in minor units.
async fn ledger(State(sim): State<Shared>) -> impl IntoResponse {
    let ledger = sim.gateway.lock().await;
    let charged: i64 = ledger.charges.values().map(|(_, amount)| amount).sum();
    let refunded: i64 = ledger.refunds.values().map(|(_, amount)| amount).sum();
    Json(json!({"charges": ledger.charges.len(), "refunds": ledger.refunds.len(), "charged_minor": charged,
        "refunded_minor": refunded}))
}
