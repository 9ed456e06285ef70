//! Vending on Track's callbacks (its "outbound API"), served under `/vending`: the platform calls `/txn/request`,
//! `/txn/unlock` and `/txn/vend` for the purchases Tally started, and `/feed/*` for what its machines report. Every
//! call is a POST with a JSON body, authenticated with `X-API-Key` (an API client's id and secret joined by a colon,
//! the same credentials as HTTP Basic, which is accepted too) of any role but `client`. Every answer is `{"success", "message"}`; a business
//! failure is HTTP 200 with `"success": false`, as the vendor specifies. Callbacks may come more than once, late or
//! out of order: each is a step of the purchase's stream, so a repeat is recognised there and never charges twice.

mod feed;

use axum::{
    extract::State,
    http::{Method, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::{de::DeserializeOwned, Deserialize, Deserializer, Serialize};
use tally_events::Role;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    ingress::{outage, Admitted, Fault, Incoming, KeyPolicy, Responder, Scheme},
    json_stored, wording, Shared,
};
use crate::{
    app::App,
    domain::vend::{Selection, VendError},
    store::{idempotency::StoredResponse, StoreError},
    vending::{self, By, Selected, Stepped},
};

pub fn routes() -> OpenApiRouter<Shared> {
    OpenApiRouter::new().routes(routes!(request)).routes(routes!(unlock)).routes(routes!(vend)).merge(feed::routes())
}

/// The answer to a method a path does not serve: 405 in the vendor's envelope (axum adds `Allow`).
pub async fn method_not_allowed(method: Method) -> Response {
    Vending.respond(&Fault::MethodNotAllowed(method))
}

/// The vendor's answer to every callback.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = vending::Answer)]
pub struct Answer {
    success: bool,
    /// Empty on success; why not otherwise.
    message: String,
}

impl Answer {
    fn ok() -> Answer {
        Answer { success: true, message: String::new() }
    }

    fn no(message: impl Into<String>) -> Answer {
        Answer { success: false, message: message.into() }
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        (StatusCode::OK, Json(self)).into_response()
    }
}

/// The vendor's envelope for the ingress's faults, with their HTTP status (the vendor documents only 200; a
/// platform misconfigured with a wrong key needs to see 401).
#[derive(Default)]
struct Vending;

impl Responder for Vending {
    fn surface(&self) -> &'static str {
        "vending"
    }

    fn fault(&self, fault: &Fault) -> StoredResponse {
        let (status, _, message) = wording::fault(fault);
        json_stored(status, &Answer::no(message))
    }

    fn scheme(&self) -> Scheme {
        Scheme::BasicOrApiKey
    }
}

/// The body and principal of a callback (with `X-API-Key` or Basic credentials); a staff client only.
async fn admit(app: &App, incoming: &Incoming) -> Result<Admitted, Response> {
    let admitted = incoming.admit(app, &Vending, KeyPolicy::Optional).await?;
    // The platform speaks for the merchant: a customer's credentials (role `client`) could otherwise report a vend
    // that never happened, or unlock one that did.
    if admitted.principal.role == Role::Client {
        let answer = Answer::no("role client may not call the vending platform's callbacks");
        return Err((StatusCode::FORBIDDEN, Json(answer)).into_response());
    }
    Ok(admitted)
}

/// A request the vendor's schema does not allow: HTTP 400 in the vendor's envelope. It is a protocol error, not a
/// business failure (those are HTTP 200 with `"success": false`, as the vendor specifies).
struct Invalid(String);

impl IntoResponse for Invalid {
    fn into_response(self) -> Response {
        (StatusCode::BAD_REQUEST, Json(Answer::no(self.0))).into_response()
    }
}

/// A callback's body as `T`, or what is wrong with it.
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Invalid> {
    serde_json::from_slice(body).map_err(|error| Invalid(format!("invalid request: {error}")))
}

/// A text the vendor may send as a JSON string or number (item numbers, coil codes).
#[derive(Deserialize)]
#[serde(untagged)]
enum Text {
    Text(String),
    Number(serde_json::Number),
}

impl From<Text> for String {
    fn from(text: Text) -> String {
        match text {
            Text::Text(text) => text,
            Text::Number(number) => number.to_string(),
        }
    }
}

/// Longest item number or code Tally takes from the platform.
const MAX_CODE: usize = 64;

fn bounded<E: serde::de::Error>(text: String) -> Result<String, E> {
    match text.chars().count() {
        length if length > MAX_CODE => Err(E::custom(format!("a code of {length} characters: at most {MAX_CODE}"))),
        _ => Ok(text),
    }
}

fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    bounded(Text::deserialize(deserializer)?.into())
}

/// [`text`], or null or absent for none (a failure code on success): read as empty.
fn optional_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    bounded(Option::<Text>::deserialize(deserializer)?.map(String::from).unwrap_or_default())
}

/// The schema of [`text`]: a string or a number.
pub(super) fn text_schema() -> impl Into<utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>> {
    use utoipa::openapi::{schema::OneOfBuilder, ObjectBuilder, Type};
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::String).max_length(Some(MAX_CODE)))
        .item(ObjectBuilder::new().schema_type(Type::Number))
}

/// The schema of [`optional_text`]: a string, a number or null.
fn optional_text_schema() -> impl Into<utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>> {
    use utoipa::openapi::{schema::OneOfBuilder, ObjectBuilder, Type};
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::String).max_length(Some(MAX_CODE)))
        .item(ObjectBuilder::new().schema_type(Type::Number))
        .item(ObjectBuilder::new().schema_type(Type::Null))
}

/// A whole number of minor units, not below zero.
fn minor_units<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    let number = serde_json::Number::deserialize(deserializer)?;
    number
        .as_i64()
        .filter(|n| *n >= 0)
        .ok_or_else(|| serde::de::Error::custom(format!("{number} is not a whole number of minor units from 0")))
}

fn store_failure(error: StoreError) -> Response {
    Vending.respond(&outage(&error, Vending.surface()))
}

/// The purchase the platform's reference names, in the caller's merchant.
async fn find(app: &App, tenant: &str, txn_ref: &str) -> Result<String, Response> {
    let found = crate::queries::vend_by_platform_ref(&app.db, tenant, txn_ref).await.map_err(store_failure)?;
    found.ok_or_else(|| Answer::no("unknown txn_ref").into_response())
}

/// A callback about a purchase: its body names the purchase by the platform's reference.
trait AboutPurchase: DeserializeOwned {
    fn txn_ref(&self) -> &str;
    /// What is wrong with the callback's other fields.
    fn invalid(&self) -> Option<&'static str> {
        None
    }
}

/// A callback admitted and read, with the purchase it is about (Tally's reference).
struct Callback<T> {
    admitted: Admitted,
    request: T,
    txn_ref: String,
}

impl<T> Callback<T> {
    fn by(&self) -> By<'_> {
        By { tenant: &self.admitted.principal.tenant, actor: self.admitted.principal.actor(), cause: None }
    }
}

/// Admits a callback, reads its body and finds its purchase; or the answer saying why not.
async fn callback<T: AboutPurchase>(app: &App, incoming: Incoming) -> Result<Callback<T>, Response> {
    let admitted = admit(app, &incoming).await?;
    let request: T = parse(&admitted.body).map_err(IntoResponse::into_response)?;
    if !(1..=MAX_REF).contains(&request.txn_ref().len()) {
        return Err(Invalid(format!("txn_ref must be 1 to {MAX_REF} characters")).into_response());
    }
    if let Some(problem) = request.invalid() {
        return Err(Invalid(problem.into()).into_response());
    }
    let txn_ref = find(app, &admitted.principal.tenant, request.txn_ref()).await?;
    Ok(Callback { admitted, request, txn_ref })
}

/// Longest transaction reference Tally takes from the platform.
const MAX_REF: usize = 128;

/// `/txn/request`: the customer made a selection.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = vending::TxnRequest)]
pub struct TxnRequest {
    #[schema(min_length = 1, max_length = 128)]
    txn_ref: String,
    /// When not empty, the transaction is called so from now on.
    #[serde(default)]
    #[schema(max_length = 128)]
    new_txn_ref: Option<String>,
    /// The item number (text or a number, 1 to 64 characters).
    #[serde(deserialize_with = "text")]
    #[schema(schema_with = text_schema)]
    selection: String,
    /// The item's price in minor units.
    #[serde(deserialize_with = "minor_units")]
    #[schema(minimum = 0)]
    cents: i64,
}

/// `/txn/unlock`: the machine aborted or unlocked the transaction.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = vending::TxnUnlock)]
pub struct TxnUnlock {
    #[schema(min_length = 1, max_length = 128)]
    txn_ref: String,
    /// Why, as the platform says.
    #[serde(default, deserialize_with = "optional_text")]
    #[schema(schema_with = optional_text_schema)]
    code: String,
}

/// `/txn/vend`: the dispense result.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = vending::TxnVend)]
pub struct TxnVend {
    #[schema(min_length = 1, max_length = 128)]
    txn_ref: String,
    success: bool,
    /// The failure code (`1` … `6`, `1000`); empty or null on success.
    #[serde(default, deserialize_with = "optional_text")]
    #[schema(schema_with = optional_text_schema)]
    code: String,
}

impl AboutPurchase for TxnRequest {
    fn txn_ref(&self) -> &str {
        &self.txn_ref
    }

    fn invalid(&self) -> Option<&'static str> {
        if self.new_txn_ref.as_ref().is_some_and(|r| r.len() > MAX_REF) {
            return Some("new_txn_ref is longer than 128 characters");
        }
        self.selection.is_empty().then_some("selection must be 1 to 64 characters")
    }
}

impl AboutPurchase for TxnUnlock {
    fn txn_ref(&self) -> &str {
        &self.txn_ref
    }
}

impl AboutPurchase for TxnVend {
    fn txn_ref(&self) -> &str {
        &self.txn_ref
    }
}

fn refused(error: &VendError) -> Answer {
    match error {
        VendError::AlreadySelected { same: false } => Answer::no("another selection was made for this transaction"),
        VendError::Ended { .. } => Answer::no("the transaction is over"),
        other => Answer::no(wording::message(&other.clone().into())),
    }
}

/// The customer made a selection: Tally decides, then approves with `/api/paid` or cancels with `/api/unlock`.
#[utoipa::path(post, path = "/txn/request", tag = "vending", request_body = TxnRequest, responses(
    (status = 200, description = "`success` true: the selection is approved (or being charged); false: declined, \
        an unknown transaction, or one over, with the reason in `message`", body = Answer),
    (status = 400, description = "Not a request the vendor's schema allows", body = Answer),
    (status = 403, description = "A customer's credentials (role client)", body = Answer),
))]
async fn request(State(app): State<Shared>, incoming: Incoming) -> Response {
    let call = match callback::<TxnRequest>(&app, incoming).await {
        Ok(call) => call,
        Err(response) => return response,
    };
    let request = &call.request;
    let new_txn_ref = request.new_txn_ref.clone().filter(|r| !r.is_empty());
    let selection = Selection { selection: request.selection.clone(), price_minor: request.cents, new_txn_ref };
    match vending::select(&app, &call.by(), &call.txn_ref, selection).await {
        Ok(Selected::Approved | Selected::Charging) => Answer::ok().into_response(),
        Ok(Selected::Declined(reason)) => Answer::no(format!("declined: {}", wording::decline(reason))).into_response(),
        Ok(Selected::Refused(error)) => refused(&error).into_response(),
        Err(error) => store_failure(error),
    }
}

/// The answer to a settling callback's step.
fn settled(stepped: Result<Option<Stepped>, StoreError>) -> Response {
    match stepped {
        Ok(Some(Stepped {
            result: Ok(_) | Err(crate::domain::Refusal::Vend(VendError::Ended { same: true })),
            ..
        })) => Answer::ok().into_response(),
        Ok(Some(Stepped { result: Err(crate::domain::Refusal::Vend(error)), .. })) => refused(&error).into_response(),
        Ok(Some(Stepped { result: Err(other), .. })) => Answer::no(wording::message(&other)).into_response(),
        Ok(None) => Answer::ok().into_response(),
        Err(error) => store_failure(error),
    }
}

/// The machine aborted or unlocked the transaction: a purchase not yet dispensed is cancelled and nothing charged.
#[utoipa::path(post, path = "/txn/unlock", tag = "vending", request_body = TxnUnlock, responses(
    (status = 200, description = "`success` true: recorded; false: unknown transaction", body = Answer),
    (status = 400, description = "Not a request the vendor's schema allows", body = Answer),
    (status = 403, description = "A customer's credentials (role client)", body = Answer),
))]
async fn unlock(State(app): State<Shared>, incoming: Incoming) -> Response {
    match callback::<TxnUnlock>(&app, incoming).await {
        Ok(call) => {
            settled(vending::machine_unlocked(&app, &call.by(), &call.txn_ref, call.request.code.clone()).await)
        }
        Err(response) => response,
    }
}

/// The dispense result: a success charges the member (captures the hold), a failure charges nothing.
#[utoipa::path(post, path = "/txn/vend", tag = "vending", request_body = TxnVend, responses(
    (status = 200, description = "`success` true: recorded (or recorded before); false: unknown transaction, or \
        one that was never approved", body = Answer),
    (status = 400, description = "Not a request the vendor's schema allows", body = Answer),
    (status = 403, description = "A customer's credentials (role client)", body = Answer),
))]
async fn vend(State(app): State<Shared>, incoming: Incoming) -> Response {
    match callback::<TxnVend>(&app, incoming).await {
        Ok(call) => {
            let (success, code) = (call.request.success, call.request.code.clone());
            settled(vending::vended(&app, &call.by(), &call.txn_ref, success, code).await)
        }
        Err(response) => response,
    }
}
