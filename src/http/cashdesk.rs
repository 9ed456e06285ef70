//! The CashDesk card service (bpm'online loyalty processing) under `/api/card`: balances by card number, phone and
//! contact code; issue, bindto, active, block and unblock. Every answer is the seed's envelope `Status`, `Key`,
//! `Value` (`Status` true and `Key` "OK" on success; `Value` holds the error text), with an HTTP status that agrees
//! with it. Parameters are read from the query string and from a JSON object body alike, names matched without
//! regard to case, values as strings or numbers.

use std::collections::HashMap;

use axum::{
    extract::{Query, State},
    http::{HeaderMap, StatusCode, Uri},
    response::Response,
    routing::get,
    Router,
};
use chrono::Utc;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{Map, Value};
use tally_events::{BlockReason, BonusType, CardCategory, CardStatus, CardType, Envelope, UnblockReason};
use tally_projections::{BonusBucket, BucketStatus, CardView};

use super::{
    ingress::{self, Fault as IngressFault, Incoming, KeyPolicy, PathParams, Responder},
    stored, wording, Shared, Surface,
};

/// A path parameter, rejected in the CashDesk envelope.
type CashDeskPath = PathParams<String, CashDesk>;
use crate::{
    app::App,
    commands::{Command, Stream, Target},
    domain::{
        card::{CardAggregate, CardCommand, CardError},
        contact::ContactError,
        ids::{CardNumber, ContactCode, MobileNumber},
        roles::{BLOCK_REASONS, UNBLOCK_REASONS},
        Refusal,
    },
    queries::{self, CardBalance},
    store::{idempotency::StoredResponse, StoreError},
};

pub fn routes() -> Router<Shared> {
    let mut router = Router::new()
        .route("/balance/by/phone/{phone}", get(balance_by_phone))
        .route("/balance/by/number/{number}", get(balance_by_number))
        .route("/balance/by/code/{code}", get(balance_by_code))
        .route("/balance/by/{value}", get(balance_by_number_or_code));
    // The seed spells the methods both ways (`issue` and `Issue`, `bindto`, `BindTo` and `binto`): all are served.
    for (paths, method) in [
        (&["/issue", "/Issue"][..], CardMethod::Issue),
        (&["/bindto", "/BindTo", "/binto"][..], CardMethod::BindTo),
        (&["/active", "/Active"][..], CardMethod::Active),
        (&["/block", "/Block"][..], CardMethod::Block),
        (&["/unblock", "/UnBlock"][..], CardMethod::Unblock),
    ] {
        for path in paths {
            let handler = move |State(app): State<Shared>, incoming: Incoming| async move {
                card_method(&app, method, incoming).await
            };
            router = router.route(path, get(handler).post(handler));
        }
    }
    router
        .method_not_allowed_fallback(|| async { Fault::MethodNotAllowed.response() })
        .fallback(|| async { Fault::UnknownMethod.response() })
}

/// A CashDesk refusal: its HTTP status, `Key` and `Value`.
#[derive(Debug, Clone, PartialEq)]
enum Fault {
    RequiredParameterNotSpecified(Vec<&'static str>),
    InvalidCardNumber,
    InvalidMobileNumber,
    InvalidContactCode,
    CannotFindCardNumber,
    CannotFindMobileNumber,
    CannotFindContactCode,
    CannotFindMobile,
    StatusError(String),
    CardNumberBindToAnotherContact,
    ContactBindToAnotherCardNumber(String),
    BlockReasonError(String),
    UnBlockReasonError(String),
    Unauthorized,
    InvalidRequestFormat(String),
    RequestTooLarge,
    InvalidIdempotencyKey,
    IdempotencyKeyReused,
    Rejected(String),
    ServiceUnavailable,
    MethodNotAllowed,
    UnknownMethod,
}

impl Fault {
    fn parts(&self) -> (StatusCode, &'static str, String) {
        use Fault::*;
        match self {
            RequiredParameterNotSpecified(names) => {
                (StatusCode::BAD_REQUEST, "RequiredParameterNotSpecified", names.join(","))
            }
            InvalidCardNumber => {
                (StatusCode::BAD_REQUEST, "InvalidCardNumber", "The card number was sent in the wrong format".into())
            }
            InvalidMobileNumber => {
                (StatusCode::BAD_REQUEST, "InvalidMobileNumber", "The mobile phone was sent in the wrong format".into())
            }
            InvalidContactCode => {
                (StatusCode::BAD_REQUEST, "InvalidContactCode", "The contact code was sent in the wrong format".into())
            }
            CannotFindCardNumber => {
                (StatusCode::NOT_FOUND, "CannotFindCardNumber", "No card found for the Number parameter".into())
            }
            CannotFindMobileNumber => {
                (StatusCode::NOT_FOUND, "CannotFindMobileNumber", "No card found for the MobileNumber parameter".into())
            }
            CannotFindContactCode => {
                (StatusCode::NOT_FOUND, "CannotFindContactCode", "No card found for the Code parameter".into())
            }
            CannotFindMobile => {
                (StatusCode::NOT_FOUND, "CannotFindMobile", "No contact found for the specified mobile phone".into())
            }
            StatusError(detail) => (StatusCode::CONFLICT, "StatusError", format!("Card status mismatch: {detail}")),
            CardNumberBindToAnotherContact => {
                (StatusCode::CONFLICT, "CardNumberBindToAnotherContact", "The card is bound to another contact".into())
            }
            ContactBindToAnotherCardNumber(card) => (
                StatusCode::CONFLICT,
                "ContactBindToAnotherCardNumber",
                format!(
                    "The contact is bound to {card}; a new card can be bound only after it is blocked for replacement"
                ),
            ),
            BlockReasonError(detail) => (StatusCode::FORBIDDEN, "BlockReasonError", detail.clone()),
            UnBlockReasonError(detail) => (StatusCode::FORBIDDEN, "UnBlockReasonError", detail.clone()),
            Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "Authorization: Basic base64(login:password) is missing or wrong".into(),
            ),
            InvalidRequestFormat(detail) => (StatusCode::BAD_REQUEST, "InvalidRequestFormat", detail.clone()),
            RequestTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestTooLarge",
                format!("The request body exceeds {} bytes", super::MAX_BODY_BYTES),
            ),
            InvalidIdempotencyKey => (
                StatusCode::BAD_REQUEST,
                "InvalidIdempotencyKey",
                "Idempotency-Key must be 1 to 255 visible characters".into(),
            ),
            IdempotencyKeyReused => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "IdempotencyKeyReused",
                "This Idempotency-Key was used with a different request".into(),
            ),
            Rejected(detail) => (StatusCode::UNPROCESSABLE_ENTITY, "Rejected", detail.clone()),
            MethodNotAllowed => {
                (StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", "Balances are read with GET".into())
            }
            UnknownMethod => (
                StatusCode::NOT_FOUND,
                "UnknownMethod",
                "No such card service method: use balance/by/…, issue, bindto, active, block or unblock".into(),
            ),
            ServiceUnavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                "The service cannot answer now; retry with the same Idempotency-Key".into(),
            ),
        }
    }

    fn stored(&self) -> StoredResponse {
        let (status, key, value) = self.parts();
        let body = serde_json::to_string(&Failure { status: false, key, value }).expect("failures serialize");
        StoredResponse { status: status.as_u16(), content_type: "application/json".into(), body }
    }

    fn response(&self) -> Response {
        stored(&self.stored(), false)
    }
}

impl From<Refusal> for Fault {
    fn from(refusal: Refusal) -> Fault {
        match &refusal {
            Refusal::Card(CardError::NotFound) => return Fault::CannotFindCardNumber,
            Refusal::Contact(ContactError::NotFound) => return Fault::CannotFindMobile,
            Refusal::Card(CardError::BoundToAnotherContact) => return Fault::CardNumberBindToAnotherContact,
            Refusal::Card(CardError::ContactHasAnotherCard { card }) => {
                return Fault::ContactBindToAnotherCardNumber(card.clone().unwrap_or_else(|| "another card".into()))
            }
            Refusal::Card(CardError::BlockReasonNotAllowed { .. }) => {
                return Fault::BlockReasonError(wording::message(&refusal))
            }
            Refusal::Card(error) => {
                if let Some(detail) = wording::card_status_detail(error) {
                    return Fault::StatusError(detail);
                }
                if let Some(detail) = wording::unblock_detail(error) {
                    return Fault::UnBlockReasonError(detail);
                }
            }
            _ => {}
        }
        Fault::Rejected(wording::message(&refusal))
    }
}

impl From<StoreError> for Fault {
    fn from(error: StoreError) -> Fault {
        Fault::from(ingress::outage(&error, CashDesk.surface()))
    }
}

impl From<IngressFault> for Fault {
    fn from(fault: IngressFault) -> Fault {
        match fault {
            IngressFault::BodyTooLarge => Fault::RequestTooLarge,
            IngressFault::BodyUnreadable(detail) | IngressFault::InvalidParameter(detail) => {
                Fault::InvalidRequestFormat(detail)
            }
            IngressFault::Unauthenticated | IngressFault::BadCredentials => Fault::Unauthorized,
            IngressFault::InvalidIdempotencyKey | IngressFault::IdempotencyKeyRequired => Fault::InvalidIdempotencyKey,
            IngressFault::IdempotencyKeyReused => Fault::IdempotencyKeyReused,
            IngressFault::Unavailable => Fault::ServiceUnavailable,
        }
    }
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

/// The error envelope.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Failure {
    status: bool,
    key: &'static str,
    value: String,
}

/// The success envelope.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Answer<T: Serialize> {
    status: bool,
    key: &'static str,
    value: &'static str,
    #[serde(flatten)]
    body: T,
}

fn ok<T: Serialize>(body: T) -> StoredResponse {
    let answer = Answer { status: true, key: "OK", value: "", body };
    StoredResponse {
        status: 200,
        content_type: "application/json".into(),
        body: serde_json::to_string(&answer).expect("answers serialize"),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Balance {
    number: String,
    mobile_number: Option<String>,
    code: Option<String>,
    status_code: &'static str,
    status_name: &'static str,
    name: Option<String>,
    category_code: &'static str,
    category_name: &'static str,
    type_code: &'static str,
    type_name: &'static str,
    bonuses: Vec<Bonus>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Bonus {
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    amount: Decimal,
    status_code: &'static str,
    status_name: &'static str,
    /// RFC 3339 UTC; only for the nearest-expiry bucket.
    expire_date: Option<String>,
    type_code: &'static str,
    type_name: &'static str,
}

/// The seed's reference codes (strings, zero-based where the extraction lost the digits) and names.
fn card_status(status: CardStatus) -> (&'static str, &'static str) {
    match status {
        CardStatus::New => ("0", "New"),
        CardStatus::Issued => ("1", "Issued"),
        CardStatus::Active => ("2", "Active"),
        CardStatus::Blocked => ("3", "Blocked"),
    }
}

fn category(category: CardCategory) -> (&'static str, &'static str) {
    match category {
        CardCategory::Plastic => ("0", "Plastic"),
        CardCategory::Virtual => ("1", "Virtual"),
    }
}

fn card_type(card_type: CardType) -> (&'static str, &'static str) {
    match card_type {
        CardType::Bonus => ("0", "Bonus"),
        CardType::Discount => ("1", "Discount"),
        CardType::BonusDiscount => ("2", "Bonus/Discount"),
    }
}

fn bucket_status(status: BucketStatus) -> (&'static str, &'static str) {
    match status {
        BucketStatus::Active => ("0", "active"),
        BucketStatus::Inactive => ("1", "inactive"),
        BucketStatus::Burnt => ("2", "burnt"),
        BucketStatus::Frozen => ("3", "frozen"),
        BucketStatus::NearestExpiry => ("4", "nearest-expiry"),
    }
}

fn bonus_type(bonus_type: BonusType) -> (&'static str, &'static str) {
    match bonus_type {
        BonusType::Cash => ("0", "cash"),
        BonusType::Status => ("1", "status"),
    }
}

fn bonus(bucket: &BonusBucket) -> Bonus {
    let (status_code, status_name) = bucket_status(bucket.status);
    let (type_code, type_name) = bonus_type(bucket.bonus_type);
    Bonus {
        amount: bucket.amount,
        status_code,
        status_name,
        expire_date: bucket.expire_date.map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        type_code,
        type_name,
    }
}

fn balance(found: CardBalance) -> Balance {
    let CardBalance { card, contact, buckets } = found;
    let (status_code, status_name) = card_status(card.status);
    let (category_code, category_name) = category(card.category);
    let (type_code, type_name) = card_type(card.card_type);
    Balance {
        number: card.number,
        mobile_number: contact.as_ref().and_then(|c| c.details.mobile_number.clone()),
        code: contact.as_ref().map(|c| c.code.clone()),
        status_code,
        status_name,
        name: contact.as_ref().and_then(|c| c.details.name.clone()),
        category_code,
        category_name,
        type_code,
        type_name,
        bonuses: buckets.iter().map(bonus).collect(),
    }
}

/// How a balance request names its card.
enum Lookup {
    Number(String),
    Phone(String),
    Code(String),
    /// `balance/by/{value}`: the seed gives number and code the same path. A value that is a registered card
    /// number is one; otherwise it is a contact code. Errors follow the form: all digits reads as a card number.
    NumberOrCode(String),
}

async fn find_card(app: &App, tenant: &str, lookup: Lookup) -> Result<CardView, Fault> {
    let db = &app.db;
    match lookup {
        Lookup::Number(text) => {
            let number = CardNumber::parse(&text).ok_or(Fault::InvalidCardNumber)?;
            queries::card(db, tenant, number.as_str()).await?.ok_or(Fault::CannotFindCardNumber)
        }
        Lookup::Phone(text) => {
            let mobile = MobileNumber::parse(&text).ok_or(Fault::InvalidMobileNumber)?;
            let contact =
                queries::contact_by_mobile(db, tenant, mobile.as_str()).await?.ok_or(Fault::CannotFindMobileNumber)?;
            queries::live_card(db, tenant, contact.contact_id).await?.ok_or(Fault::CannotFindMobileNumber)
        }
        Lookup::Code(text) => {
            let code = ContactCode::parse(&text).ok_or(Fault::InvalidContactCode)?;
            let contact =
                queries::contact_by_code(db, tenant, code.as_str()).await?.ok_or(Fault::CannotFindContactCode)?;
            queries::live_card(db, tenant, contact.contact_id).await?.ok_or(Fault::CannotFindContactCode)
        }
        Lookup::NumberOrCode(text) => {
            if let Some(number) = CardNumber::parse(&text) {
                if let Some(card) = queries::card(db, tenant, number.as_str()).await? {
                    return Ok(card);
                }
            }
            let all_digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
            match Box::pin(find_card(app, tenant, Lookup::Code(text))).await {
                Err(Fault::CannotFindContactCode) if all_digits => Err(Fault::CannotFindCardNumber),
                Err(Fault::InvalidContactCode) if all_digits => Err(Fault::InvalidCardNumber),
                other => other,
            }
        }
    }
}

async fn balance_answer(app: &Surface, headers: &HeaderMap, lookup: Lookup) -> Response {
    let result = async {
        let principal = ingress::authenticate(app, headers, CashDesk.surface()).await.map_err(Fault::from)?;
        let card = find_card(app, &principal.tenant, lookup).await?;
        let found = queries::card_balance(&app.db, card, Utc::now()).await?;
        Ok::<_, Fault>(ok(balance(found)))
    }
    .await;
    let response = result.unwrap_or_else(|fault| fault.stored());
    log_response(app.log_requests, "balance", &Map::new(), &response);
    stored(&response, false)
}

async fn balance_by_number(State(app): State<Shared>, headers: HeaderMap, number: CashDeskPath) -> Response {
    balance_answer(&app, &headers, Lookup::Number(number.0)).await
}

async fn balance_by_phone(State(app): State<Shared>, headers: HeaderMap, phone: CashDeskPath) -> Response {
    balance_answer(&app, &headers, Lookup::Phone(phone.0)).await
}

async fn balance_by_code(State(app): State<Shared>, headers: HeaderMap, code: CashDeskPath) -> Response {
    balance_answer(&app, &headers, Lookup::Code(code.0)).await
}

async fn balance_by_number_or_code(State(app): State<Shared>, headers: HeaderMap, value: CashDeskPath) -> Response {
    balance_answer(&app, &headers, Lookup::NumberOrCode(value.0)).await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CardMethod {
    Issue,
    BindTo,
    Active,
    Block,
    Unblock,
}

impl CardMethod {
    fn name(self) -> &'static str {
        match self {
            CardMethod::Issue => "issue",
            CardMethod::BindTo => "bindto",
            CardMethod::Active => "active",
            CardMethod::Block => "block",
            CardMethod::Unblock => "unblock",
        }
    }
}

/// The request's parameters: the query string overlaid by the JSON body's fields.
struct Params(Map<String, Value>);

impl Params {
    fn read(uri: &Uri, body: &[u8]) -> Result<Params, Fault> {
        let mut params = Map::new();
        if let Ok(Query(query)) = Query::<HashMap<String, String>>::try_from_uri(uri) {
            params.extend(query.into_iter().map(|(k, v)| (k, Value::String(v))));
        }
        if !body.iter().all(u8::is_ascii_whitespace) {
            match serde_json::from_slice::<Value>(body) {
                Ok(Value::Object(fields)) => params.extend(fields),
                Ok(_) => return Err(Fault::InvalidRequestFormat("The body must be a JSON object".into())),
                Err(error) => return Err(Fault::InvalidRequestFormat(format!("The body is not valid JSON: {error}"))),
            }
        }
        Ok(Params(params))
    }

    /// A parameter's text, by case-insensitive name; empty and null count as absent.
    fn get(&self, name: &str) -> Option<String> {
        let value = self.0.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value)?;
        let text = match value {
            Value::String(text) => text.trim().to_owned(),
            Value::Number(number) => number.to_string(),
            _ => return None,
        };
        (!text.is_empty()).then_some(text)
    }
}

/// Names every missing parameter at once, as the seed asks.
fn require(params: &Params, names: &[&'static str]) -> Result<Vec<String>, Fault> {
    let values: Vec<Option<String>> = names.iter().map(|name| params.get(name)).collect();
    let missing: Vec<&'static str> =
        names.iter().zip(&values).filter(|(_, value)| value.is_none()).map(|(name, _)| *name).collect();
    if !missing.is_empty() {
        return Err(Fault::RequiredParameterNotSpecified(missing));
    }
    Ok(values.into_iter().flatten().collect())
}

fn reason_code(text: &str, count: usize) -> Option<usize> {
    text.parse::<usize>().ok().filter(|code| *code < count)
}

/// Finds the card a block or unblock names: by `Number`, else by the contact's `ContactMobileNumber`.
async fn card_by_number_or_mobile(
    app: &App,
    tenant: &str,
    params: &Params,
    reason: &'static str,
) -> Result<(CardView, String), Fault> {
    let number = params.get("Number");
    let mobile = params.get("ContactMobileNumber");
    let reason_text = params.get(reason);
    let mut missing = Vec::new();
    if number.is_none() && mobile.is_none() {
        missing.push("Number or ContactMobileNumber");
    }
    if reason_text.is_none() {
        missing.push(reason);
    }
    if !missing.is_empty() {
        return Err(Fault::RequiredParameterNotSpecified(missing));
    }
    let card = match (number, mobile) {
        (Some(number), _) => find_card(app, tenant, Lookup::Number(number)).await?,
        (None, Some(mobile)) => {
            let mobile = MobileNumber::parse(&mobile).ok_or(Fault::InvalidMobileNumber)?;
            let contact =
                queries::contact_by_mobile(&app.db, tenant, mobile.as_str()).await?.ok_or(Fault::CannotFindMobile)?;
            queries::live_card(&app.db, tenant, contact.contact_id).await?.ok_or(Fault::CannotFindCardNumber)?
        }
        (None, None) => unreachable!("checked above"),
    };
    Ok((card, reason_text.unwrap_or_default()))
}

/// Whether the card's contact has the personal data the merchant requires.
async fn sufficient(app: &App, tenant: &str, card: &CardView) -> Result<bool, Fault> {
    let Some(contact_id) = card.contact_id else {
        return Ok(false);
    };
    match queries::contact(&app.db, tenant, contact_id).await? {
        Some(contact) => Ok(app.reads.data_sufficient(&app.db, &contact).await?),
        None => Ok(false),
    }
}

/// Validates the parameters, looks up what the decision needs, and names the command.
async fn plan(app: &App, tenant: &str, method: CardMethod, params: &Params) -> Result<Target, Fault> {
    let card_target = |number: String, command| CardAggregate::target(number, command);
    match method {
        CardMethod::Issue => {
            let [number] = <[String; 1]>::try_from(require(params, &["Number"])?).expect("one value");
            let card = find_card(app, tenant, Lookup::Number(number)).await?;
            Ok(card_target(card.number, CardCommand::Issue))
        }
        CardMethod::BindTo => {
            let [number, mobile] =
                <[String; 2]>::try_from(require(params, &["Number", "MobileNumber"])?).expect("two values");
            let number = CardNumber::parse(&number).ok_or(Fault::InvalidCardNumber)?;
            let mobile = MobileNumber::parse(&mobile).ok_or(Fault::InvalidMobileNumber)?;
            let card = queries::card(&app.db, tenant, number.as_str()).await?.ok_or(Fault::CannotFindCardNumber)?;
            let contact =
                queries::contact_by_mobile(&app.db, tenant, mobile.as_str()).await?.ok_or(Fault::CannotFindMobile)?;
            let live = queries::live_card(&app.db, tenant, contact.contact_id).await?;
            let command =
                CardCommand::BindTo { contact_id: contact.contact_id, contact_live_card: live.map(|c| c.number) };
            Ok(card_target(card.number, command))
        }
        CardMethod::Active => {
            let [number] = <[String; 1]>::try_from(require(params, &["Number"])?).expect("one value");
            let card = find_card(app, tenant, Lookup::Number(number)).await?;
            let contact_data_sufficient = sufficient(app, tenant, &card).await?;
            Ok(card_target(card.number, CardCommand::Activate { contact_data_sufficient }))
        }
        CardMethod::Block => {
            let (card, code) = card_by_number_or_mobile(app, tenant, params, "BlockReasonCode").await?;
            let reason: BlockReason = reason_code(&code, BLOCK_REASONS.len())
                .map(|code| BLOCK_REASONS[code])
                .ok_or_else(|| Fault::BlockReasonError(format!("Unknown BlockReasonCode {code:?}: use 0 to 4")))?;
            Ok(card_target(card.number, CardCommand::Block { reason }))
        }
        CardMethod::Unblock => {
            let (card, code) = card_by_number_or_mobile(app, tenant, params, "UnBlockReasonCode").await?;
            let reason: UnblockReason = reason_code(&code, UNBLOCK_REASONS.len())
                .map(|code| UNBLOCK_REASONS[code])
                .ok_or_else(|| Fault::UnBlockReasonError(format!("Unknown UnBlockReasonCode {code:?}: use 0 to 3")))?;
            let contact_data_sufficient = sufficient(app, tenant, &card).await?;
            Ok(card_target(card.number, CardCommand::Unblock { reason, contact_data_sufficient }))
        }
    }
}

/// Renders a decided card command: the bare envelope on success, the mapped fault otherwise.
fn render(result: &Result<Vec<Envelope>, Refusal>) -> StoredResponse {
    match result {
        Ok(_) => ok(serde_json::json!({})),
        Err(refusal) => Fault::from(refusal.clone()).stored(),
    }
}

async fn card_method(app: &Surface, method: CardMethod, incoming: Incoming) -> Response {
    let admitted = match incoming.admitted(app, CashDesk.surface(), KeyPolicy::Optional).await {
        Ok(admitted) => admitted,
        Err(fault) => return answer(app, method, &Map::new(), fault.into()),
    };
    let params = match Params::read(&incoming.uri, &admitted.body) {
        Ok(params) => params,
        Err(fault) => return answer(app, method, &Map::new(), fault),
    };
    let principal = admitted.principal;
    let target = match plan(app, &principal.tenant, method, &params).await {
        Ok(target) => target,
        Err(fault) => return answer(app, method, &params.0, fault),
    };
    let mut command = Command::new(&principal.tenant, principal.actor(), target);
    command.idempotency = admitted.key;
    let (log_method, log_params, log_enabled) = (method.name(), params.0, app.log_requests);
    command.render = Some(Box::new(move |result| {
        let response = render(result);
        log_response(log_enabled, log_method, &log_params, &response);
        response
    }));
    ingress::execute(app, command, &CashDesk).await
}

/// Answers a refusal found before any command, logged as the seed asks.
fn answer(app: &Surface, method: CardMethod, params: &Map<String, Value>, fault: Fault) -> Response {
    let response = fault.stored();
    log_response(app.log_requests, method.name(), params, &response);
    stored(&response, false)
}

/// The seed's two logging modes: integration errors always; full exchanges when configured.
fn log_response(full: bool, method: &str, params: &Map<String, Value>, response: &StoredResponse) {
    if response.status >= 400 {
        let key = serde_json::from_str::<Value>(&response.body)
            .ok()
            .and_then(|body| body.get("Key").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_default();
        tracing::warn!(method, status = response.status, key, "CashDesk integration error");
    }
    if full {
        let response_body = serde_json::from_str::<Value>(&response.body).map(mask).unwrap_or(Value::Null);
        let request_body = mask(Value::Object(params.clone()));
        tracing::info!(method, request = %request_body, response = %response_body, "CashDesk exchange");
    }
}

/// Masks personal data for the log: all but the last four characters of names, numbers, phones and codes.
fn mask(value: Value) -> Value {
    const PERSONAL: [&str; 5] = ["name", "number", "mobilenumber", "contactmobilenumber", "code"];
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(key, value)| match value {
                    Value::String(text) if PERSONAL.contains(&key.to_ascii_lowercase().as_str()) => {
                        let keep = text.chars().count().saturating_sub(4);
                        let masked: String =
                            text.chars().enumerate().map(|(i, c)| if i < keep { '*' } else { c }).collect();
                        (key, Value::String(masked))
                    }
                    other => (key, mask(other)),
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(mask).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_keeps_only_the_last_four_characters_of_personal_fields() {
        let masked = mask(serde_json::json!({"Number": "7000000000001", "Name": "Anna", "StatusName": "Active",
            "Bonuses": [{"Code": "C-100123"}]}));
        assert_eq!(
            masked,
            serde_json::json!({"Number": "*********0001", "Name": "Anna", "StatusName": "Active",
                "Bonuses": [{"Code": "****0123"}]})
        );
    }

    #[test]
    fn every_missing_parameter_is_named() {
        let params = Params(Map::new());
        assert_eq!(
            require(&params, &["Number", "MobileNumber"]),
            Err(Fault::RequiredParameterNotSpecified(vec!["Number", "MobileNumber"]))
        );
    }
}
