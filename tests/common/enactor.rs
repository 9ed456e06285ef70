//! What the Enactor suites share: a customer with a card and points, and the till's GET.

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::TestApp;

pub const CARD: &str = "7000000000001";
pub const MOBILE: &str = "+79991112233";
pub const TILL: &str = "cc_operator";
pub const EXPIRY_MS: i64 = 32_472_144_000_000;

/// A customer with an active card, 25.5 points spendable, 10 not active yet and 3 status points.
pub async fn customer(app: &TestApp) -> String {
    let contact_id = app.bound_card(CARD, MOBILE, true).await;
    let accrue = |body: Value| {
        let path = format!("/v1/accounts/{contact_id}/accruals");
        async move { assert_eq!(app.post("administrator", &path, body).await.status, StatusCode::CREATED) }
    };
    accrue(json!({"amount": "25.5", "expires_at": "2999-01-01T00:00:00Z"})).await;
    accrue(json!({"amount": "10", "active_from": "2999-01-01T00:00:00Z"})).await;
    accrue(json!({"amount": "3", "bonus_type": "status"})).await;
    let contact = app.get("administrator", &format!("/v1/contacts/{contact_id}")).await;
    contact.body["code"].as_str().unwrap().to_owned()
}

pub async fn get(app: &TestApp, path: &str) -> (StatusCode, Value) {
    let reply = app.get(TILL, &format!("/WebRestApi/rest{path}")).await;
    (reply.status, reply.body)
}
