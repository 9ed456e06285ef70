//! The native API for what a loyalty back office needs and the vendor dialects lack: cards (one or a batch),
//! contacts, bonus accounts (accrue, redeem, freeze, expire, reverse, balance, statement), and promotions
//! (businesses, promotions, clips, mobile uses, voids, counters, the daily tally). Errors are
//! `{"error": {"code", "message"}}`. Every POST and PATCH needs an `Idempotency-Key` header.

mod accounts;
mod cards;
mod catalogue;
mod contacts;
mod leads;
mod loyalty;
mod money;
mod notifications;
mod promotions;
mod vending;

use axum::{
    http::{Method, StatusCode},
    response::{IntoResponse, Response},
};
use rust_decimal::{prelude::ToPrimitive, Decimal};
use serde::{
    de::{DeserializeOwned, Error as _},
    Deserialize, Deserializer, Serialize,
};
use tally_events::{Envelope, Role};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use uuid::Uuid;

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
    vault::VaultError,
};

/// Every `/v1` operation, with its OpenAPI description.
pub fn routes() -> OpenApiRouter<Shared> {
    cards::routes()
        .merge(contacts::routes())
        .merge(accounts::routes())
        .merge(money::routes())
        .merge(promotions::routes())
        .merge(vending::routes())
        .merge(leads::routes())
        .merge(notifications::routes())
        .merge(loyalty::routes())
        .merge(catalogue::routes())
}

/// The answer to a method the path does not serve: 405, in the native envelope (axum adds `Allow`).
pub async fn method_not_allowed(method: Method) -> Response {
    V1.respond(&Fault::MethodNotAllowed(method))
}

/// The native API's authenticated caller.
type V1Caller = Caller<V1>;
/// Path parameters, rejected in the native API's envelope.
type V1Path<T> = PathParams<T, V1>;
/// Query parameters, rejected in the native API's envelope.
type V1Query<T> = QueryParams<T, V1>;

/// The native API's error envelope.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable code, e.g. `InvalidRequest`, `CardNotFound`, `Unauthorized`.
    code: &'static str,
    /// What went wrong, in English.
    message: String,
}

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
        let body = ErrorBody { error: ErrorDetail { code: self.code, message: self.message.clone() } };
        super::json_stored(self.status, &body)
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

impl From<VaultError> for ApiError {
    fn from(error: VaultError) -> ApiError {
        match error {
            // The contact stays (its code, cards and balances): it is its state that refuses new personal data.
            VaultError::Erased => ApiError::new(
                StatusCode::CONFLICT,
                "CustomerErased",
                "the customer was erased: nothing personal is kept of them",
            ),
            VaultError::Store(error) => ApiError::from(error),
        }
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

/// The request's JSON body; an empty one is `null` (what a call without a body, such as a delete, declares).
fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body = if body.is_empty() { b"null".as_slice() } else { body };
    serde_json::from_slice(body).map_err(|error| ApiError::invalid(format!("invalid JSON body: {error}")))
}

/// A count as JSON Schema reads `integer`: `178` and `178.0` alike.
fn whole<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    let number = serde_json::Number::deserialize(deserializer)?;
    number
        .to_string()
        .parse::<Decimal>()
        .ok()
        .filter(|n| n.fract().is_zero())
        .and_then(|n| n.to_u32())
        .ok_or_else(|| D::Error::custom(format!("{number} is not a whole number from 0 to {}", u32::MAX)))
}

/// [`whole`], or null.
fn whole_or_null<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    #[derive(Deserialize)]
    struct Whole(#[serde(deserialize_with = "whole")] u32);
    Ok(Option::<Whole>::deserialize(deserializer)?.map(|Whole(n)| n))
}

/// Longest free text (a reference, a reason, a customer key, a title) the native API stores.
const MAX_TEXT: usize = 200;

/// An optional free text of at most [`MAX_TEXT`] characters (for `deserialize_with`; pair it with `default`).
fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let text = Option::<String>::deserialize(deserializer)?;
    match text.as_deref().map(|t| t.chars().count()) {
        Some(length) if length > MAX_TEXT => {
            Err(D::Error::custom(format!("a text of {length} characters: at most {MAX_TEXT}")))
        }
        _ => Ok(text),
    }
}

/// An id given by the caller (an account number, a reference id): 1 to 64 letters, digits, `_` or `-`.
fn identifier(text: &str, name: &str) -> Result<String, ApiError> {
    crate::domain::ids::ContactCode::parse(text)
        .map(|id| id.as_str().to_owned())
        .ok_or_else(|| ApiError::invalid(format!("{name} must be 1 to 64 letters, digits, _ or -")))
}

/// A required text of 1 to [`MAX_TEXT`] characters, not all blank.
fn required_text(text: &str, name: &str) -> Result<(), ApiError> {
    if text.trim().is_empty() || text.chars().count() > MAX_TEXT {
        return Err(ApiError::invalid(format!("{name} must be 1 to {MAX_TEXT} characters, not all blank")));
    }
    Ok(())
}

/// Runs a write: the ingress (body, authentication, idempotency key), the role, the body, the look-ups in `plan`,
/// then the command and its rendering.
async fn write<T, P, R, B>(app: &App, incoming: Incoming, plan: P, render: R) -> Response
where
    T: DeserializeOwned,
    P: AsyncFnOnce(&App, &Principal, T) -> Result<Target, ApiError>,
    R: Fn(&[Envelope]) -> (StatusCode, B) + Send + Sync + 'static,
    B: Serialize,
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
            super::json_stored(status, &body)
        }
        Err(refusal) => ApiError::from(refusal.clone()).stored(),
    }));
    ingress::execute(app, command, &V1).await
}

/// An event a command appended, as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct EventRef {
    event_id: Uuid,
    event_type: String,
    stream_version: i64,
}

/// The events a command appended, as the API shows them.
fn events(envelopes: &[Envelope]) -> Vec<EventRef> {
    envelopes
        .iter()
        .map(|e| EventRef { event_id: e.event_id, event_type: e.event_type.clone(), stream_version: e.stream_version })
        .collect()
}

/// The answer to a write: the events it appended (none when nothing changed).
#[derive(Serialize, ToSchema)]
pub struct Written {
    events: Vec<EventRef>,
}

impl Written {
    fn of(envelopes: &[Envelope]) -> Written {
        Written { events: events(envelopes) }
    }
}
