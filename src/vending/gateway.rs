//! The payment gateway port: how Tally charges a stored payment reference (a card-on-file token) and refunds the
//! charge. The gateway is outside Tally; it is reached over HTTP with this small protocol, which an adapter in front
//! of a real gateway implements (and `tally vending-simulator` simulates):
//!
//! - `POST {url}/charges` `{"token", "amount_minor", "currency", "idempotency_key"}` →
//!   `{"approved": true, "charge_id"}` or `{"approved": false, "message"}`;
//! - `POST {url}/refunds` `{"charge_id", "amount_minor", "idempotency_key"}` → `{"refund_id"}`.
//!
//! The idempotency key is the purchase's reference (with `:refund` for the refund), so a charge retried after a lost
//! answer is never made twice. The gateway's own credentials go in the `Authorization` header.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::outbound::{CallError, JsonClient};

#[derive(Debug, Clone)]
pub struct GatewaySettings {
    pub url: String,
    /// The whole `Authorization` header value, e.g. `Bearer sk_live_…`.
    pub authorization: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ChargeRequest {
    pub token: String,
    pub amount_minor: i64,
    pub currency: String,
    pub idempotency_key: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ChargeAnswer {
    pub approved: bool,
    #[serde(default)]
    pub charge_id: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct RefundRequest {
    pub charge_id: String,
    pub amount_minor: i64,
    pub idempotency_key: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct RefundAnswer {
    pub refund_id: String,
}

#[derive(Clone)]
pub struct Gateway {
    client: JsonClient,
}

impl Gateway {
    pub fn new(settings: &GatewaySettings) -> Gateway {
        let auth = settings.authorization.clone().map(|value| (hyper::header::AUTHORIZATION, value));
        Gateway { client: JsonClient::new(&settings.url, auth, Duration::from_secs(15)) }
    }

    pub async fn charge(&self, request: &ChargeRequest) -> Result<ChargeAnswer, CallError> {
        self.client.post("/charges", request).await
    }

    pub async fn refund(&self, request: &RefundRequest) -> Result<RefundAnswer, CallError> {
        self.client.post("/refunds", request).await
    }
}
