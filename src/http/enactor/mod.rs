//! Enactor POS customer loyalty over REST, under `/WebRestApi/rest` (first step: the loyalty account search and
//! balance enquiries a till makes when a card is scanned or a customer is picked). JSON objects carry Enactor's
//! `"@type"` discriminator in lowerCamel, dates are epoch milliseconds, protocol errors are an `ErrorMessage`, and an
//! enquiry's result is its `outcome` (`Success`, `NoAccount`, `UnknownAccountType`).
//!
//! Vendor shapes not published (marked "guess" in the README's Enactor section): a loyalty account's id is the
//! customer number, which is the contact code; its figures are `pointsBalance`, `pendingPoints` and
//! `statusPoints`; its `status` is `ACTIVE` or `FROZEN`; its currency is `POINTS` and its scheme `TALLY`.

mod accounts;
mod customers;
mod soap;
mod updates;

use axum::{
    http::{HeaderMap, Method, StatusCode},
    response::Response,
};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::{
    ingress::{outage, Caller, Fault, QueryParams, Responder},
    json_stored, stored, wording, Shared,
};
use crate::store::idempotency::StoredResponse;

/// The authenticated till.
type EnactorCaller = Caller<Enactor>;
/// Query parameters, rejected with an `ErrorMessage`.
type EnactorQuery<T> = QueryParams<T, Enactor>;

/// Every Enactor REST operation, with its OpenAPI description.
pub fn routes() -> OpenApiRouter<Shared> {
    accounts::routes().merge(customers::routes()).merge(updates::routes()).fallback(|| async {
        answer(&error(StatusCode::NOT_FOUND, "NotFound", "no such Enactor service under /WebRestApi/rest".into()))
    })
}

pub use soap::{method_not_allowed as soap_method_not_allowed, routes as soap_routes};

/// The answer to a method a path does not serve: 405 with an `ErrorMessage` (axum adds `Allow`).
pub async fn method_not_allowed(method: Method) -> Response {
    Enactor.respond(&Fault::MethodNotAllowed(method))
}

/// Enactor's protocol error.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorMessage {
    #[serde(rename = "@type")]
    #[schema(rename = "@type", pattern = "^errorMessage$")]
    kind: &'static str,
    /// A stable code, e.g. `Unauthorized`, `InvalidParameter`, `MethodNotAllowed`.
    error_code: &'static str,
    /// The family of the message.
    message_base: &'static str,
    /// The code again, as Enactor's message id.
    message_id: &'static str,
    /// What went wrong, in English.
    message_text: String,
}

/// Enactor's responder: an `ErrorMessage` with the fault's HTTP status.
#[derive(Default)]
struct Enactor;

impl Responder for Enactor {
    fn surface(&self) -> &'static str {
        "enactor"
    }

    fn fault(&self, fault: &Fault) -> StoredResponse {
        let (status, code, text) = wording::fault(fault);
        let text = match fault {
            // A till's update is keyed by its transaction, not by an Idempotency-Key header.
            Fault::IdempotencyKeyReused => {
                "this till transaction (device, location, transactionId, account) was posted before with a \
                 different update"
                    .into()
            }
            _ => text,
        };
        error(status, code, text)
    }
}

/// What an Enactor operation refuses: an `ErrorMessage` over REST, a SOAP fault over SOAP.
#[derive(Debug)]
pub struct Refused {
    status: StatusCode,
    code: &'static str,
    text: String,
}

impl Refused {
    fn new(status: StatusCode, code: &'static str, text: impl Into<String>) -> Refused {
        Refused { status, code, text: text.into() }
    }

    /// A store failure, logged once with its cause.
    fn outage(error: &crate::store::StoreError) -> Refused {
        let (status, code, text) = wording::fault(&outage(error, Enactor.surface()));
        Refused { status, code, text }
    }

    /// The REST answer.
    fn rest(self) -> Response {
        answer(&error(self.status, self.code, self.text))
    }
}

/// An `ErrorMessage` answer.
fn error(status: StatusCode, code: &'static str, text: String) -> StoredResponse {
    let message = ErrorMessage {
        kind: "errorMessage",
        error_code: code,
        message_base: "TallyEnactor",
        message_id: code,
        message_text: text,
    };
    json_stored(status, &message)
}

/// The `subject` header: the customer number a customer's own till session is restricted to.
fn subject(headers: &HeaderMap) -> Option<String> {
    headers.get("subject").and_then(|v| v.to_str().ok()).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// A `StoredResponse` as an axum answer.
fn answer(response: &StoredResponse) -> Response {
    stored(response, false)
}
