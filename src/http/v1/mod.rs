//! The native API for what a loyalty back office needs and the vendor dialects lack: cards (one or a batch),
//! contacts, bonus accounts (accrue, redeem, freeze, expire, reverse, balance, statement), and promotions
//! (businesses, promotions, clips, mobile uses, voids, counters, the daily tally). Errors are
//! `{"error": {"code", "message"}}`. Every POST and PATCH needs an `Idempotency-Key` header.

mod accounts;
mod cards;
mod contacts;
mod promotions;

pub use accounts::{Accrual, Reason, Redemption, Reversal};
pub use cards::{RegisterCard, RegisterCards};
pub use contacts::ContactFields;
pub use promotions::{ChangedTerms, MobileUse, NewBusiness, NewClip, NewPromotion, Void};

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Router,
};
use serde::de::DeserializeOwned;
use tally_events::{Envelope, Role};

use super::{
    ingress::{self, Caller, Fault, Incoming, KeyPolicy, PathParams, QueryParams, Responder},
    wording, Shared,
};
use crate::{
    app::App,
    auth::Principal,
    commands::{Command, Target},
    domain::Refusal,
    store::{idempotency::StoredResponse, StoreError},
};

pub fn routes() -> Router<Shared> {
    cards::routes().merge(contacts::routes()).merge(accounts::routes()).merge(promotions::routes())
}

/// The native API's authenticated caller.
type V1Caller = Caller<V1>;
/// Path parameters, rejected in the native API's envelope.
type V1Path<T> = PathParams<T, V1>;
/// Query parameters, rejected in the native API's envelope.
type V1Query<T> = QueryParams<T, V1>;

/// A refusal of the native API.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into() }
    }

    fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "InvalidRequest", message)
    }

    fn not_found(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, code, message)
    }

    fn stored(&self) -> StoredResponse {
        let body = serde_json::json!({ "error": { "code": self.code, "message": self.message } });
        StoredResponse { status: self.status.as_u16(), content_type: "application/json".into(), body: body.to_string() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        super::stored(&self.stored(), false)
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> ApiError {
        ApiError::new(wording::status(&refusal), refusal.code(), wording::message(&refusal))
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        ApiError::from(ingress::outage(&error, V1.surface()))
    }
}

impl From<Fault> for ApiError {
    fn from(fault: Fault) -> ApiError {
        let (status, code, message) = wording::fault(&fault);
        ApiError::new(status, code, message)
    }
}

/// The native API's responder: JSON error envelopes.
#[derive(Default)]
struct V1;

impl Responder for V1 {
    fn surface(&self) -> &'static str {
        "v1"
    }

    fn fault(&self, fault: &Fault) -> StoredResponse {
        ApiError::from(fault.clone()).stored()
    }
}

/// Customers (role `client`) may read but not change the ledger through the native API.
fn staff(principal: &Principal) -> Result<(), ApiError> {
    if principal.role == Role::Client {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "Forbidden", "role client may not change the ledger"));
    }
    Ok(())
}

fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|error| ApiError::invalid(format!("invalid JSON body: {error}")))
}

/// Runs a write: the ingress (body, authentication, idempotency key), the role, the body, the look-ups in `plan`,
/// then the command and its rendering.
async fn write<T, P, R>(app: &App, incoming: Incoming, plan: P, render: R) -> Response
where
    T: DeserializeOwned,
    P: AsyncFnOnce(&App, &Principal, T) -> Result<Target, ApiError>,
    R: Fn(&[Envelope]) -> (StatusCode, serde_json::Value) + Send + Sync + 'static,
{
    let admitted = match incoming.admit(app, &V1, KeyPolicy::Required).await {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    let principal = admitted.principal;
    let planned = async {
        staff(&principal)?;
        let request: T = parse_body(&admitted.body)?;
        plan(app, &principal, request).await
    };
    let target = match planned.await {
        Ok(target) => target,
        Err(error) => return error.into_response(),
    };
    let mut command = Command::new(&principal.tenant, principal.actor(), target);
    command.idempotency = admitted.key;
    command.render = Some(Box::new(move |result| match result {
        Ok(envelopes) => {
            let (status, body) = render(envelopes);
            StoredResponse { status: status.as_u16(), content_type: "application/json".into(), body: body.to_string() }
        }
        Err(refusal) => ApiError::from(refusal.clone()).stored(),
    }));
    ingress::execute(app, command, &V1).await
}

/// The events a command appended, as the API shows them.
fn events_json(envelopes: &[Envelope]) -> serde_json::Value {
    serde_json::json!(envelopes
        .iter()
        .map(|e| serde_json::json!({"event_id": e.event_id, "event_type": e.event_type, "stream_version": e.stream_version}))
        .collect::<Vec<_>>())
}
