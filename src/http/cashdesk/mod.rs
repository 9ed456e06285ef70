//! The CashDesk card service (bpm'online loyalty processing) under `/api/card`: balances by card number, phone and
//! contact code; issue, bindto, active, block and unblock. Every answer is the seed's envelope `Status`, `Key`,
//! `Value` (`Status` true and `Key` "OK" on success; `Value` holds the error text), with an HTTP status that agrees
//! with it. Parameters are read from the query string and from a JSON object body alike, names matched without
//! regard to case, values as strings or numbers.

mod balance;
mod card;
mod fault;
mod log;

use axum::{http::Method, response::Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use self::fault::Fault;
use super::{
    ingress::{Fault as IngressFault, PathParams, Responder},
    Shared,
};
use crate::store::idempotency::StoredResponse;

/// A path parameter, rejected in the CashDesk envelope.
type CashDeskPath = PathParams<String, CashDesk>;

/// Every CashDesk operation, with its OpenAPI description.
pub fn routes() -> OpenApiRouter<Shared> {
    balance::routes().merge(card::routes()).fallback(|| async { Fault::UnknownMethod.response() })
}

/// The answer to a method a path does not serve: 405 in the seed's envelope (axum adds `Allow`).
pub async fn method_not_allowed(method: Method) -> Response {
    Fault::MethodNotAllowed(method).response()
}

/// The CashDesk responder: the seed's envelope, in JSON.
#[derive(Default)]
struct CashDesk;

impl Responder for CashDesk {
    fn surface(&self) -> &'static str {
        "cashdesk"
    }

    fn fault(&self, fault: &IngressFault) -> StoredResponse {
        Fault::from(fault.clone()).stored()
    }
}

/// The seed's envelope: `Status`, `Key` and `Value` — true, "OK" and empty on success; false, the error's key and
/// its text otherwise.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(as = cashdesk::Envelope)]
struct Envelope {
    status: bool,
    key: &'static str,
    value: String,
}

impl Envelope {
    fn ok() -> Envelope {
        Envelope { status: true, key: "OK", value: String::new() }
    }
}

/// A balance in the seed's envelope.
#[derive(Serialize, ToSchema)]
#[schema(as = cashdesk::BalanceAnswer)]
struct BalanceAnswer {
    #[serde(flatten)]
    envelope: Envelope,
    #[serde(flatten)]
    balance: balance::Balance,
}
