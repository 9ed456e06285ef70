//! The native API for what a loyalty back office needs and the CashDesk dialect lacks: registering cards (one or a
//! batch) and contacts, accruing, redeeming, freezing, expiring and reversing bonuses, and account statements.
//! Errors are `{"error": {"code", "message"}}`. Every POST and PATCH needs an `Idempotency-Key` header.

use axum::{
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use tally_events::{
    BonusType, CardCategory, CardStatus, CardType, ContactDetails, Envelope, Event, LotAllocation, Role,
};
use tally_projections::{BonusBucket, CardView, ContactView};
use uuid::Uuid;

use super::{auth::Principal, execute, App, Dialect, Incoming, Shared};
use crate::{
    commands::{Command, Target},
    domain::{
        account::{AccountCommand, Original},
        card::CardCommand,
        contact::ContactCommand,
        ids::{CardNumber, ContactCode, MobileNumber},
        DomainError,
    },
    queries,
    store::{idempotency::StoredResponse, ledger, StoreError},
};

/// Cards registered by one batch at most.
pub const MAX_BATCH_CARDS: usize = 1000;
/// Statement entries per page at most.
const MAX_PAGE: i64 = 500;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/cards", post(register_card))
        .route("/cards/batch", post(register_cards))
        .route("/cards/{number}", get(get_card))
        .route("/contacts", post(register_contact).get(find_contact))
        .route("/contacts/{contact_id}", get(get_contact).patch(update_contact))
        .route("/accounts/{contact_id}/accruals", post(accrue))
        .route("/accounts/{contact_id}/redemptions", post(redeem))
        .route("/accounts/{contact_id}/freeze", post(freeze))
        .route("/accounts/{contact_id}/unfreeze", post(unfreeze))
        .route("/accounts/{contact_id}/reversals", post(reverse))
        .route("/accounts/{contact_id}/expiry", post(expire))
        .route("/accounts/{contact_id}/balance", get(balance))
        .route("/accounts/{contact_id}/statement", get(statement))
}

/// A refusal of the native API.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    pub(super) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into() }
    }

    pub(super) fn invalid(message: impl Into<String>) -> ApiError {
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

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> ApiError {
        let status = match &error {
            DomainError::CardNotFound
            | DomainError::ContactNotFound
            | DomainError::NothingToReverse(_)
            | DomainError::PromotionNotFound => StatusCode::NOT_FOUND,
            DomainError::BlockReasonNotAllowed { .. } | DomainError::UnblockReasonNotAllowed(_) => {
                StatusCode::FORBIDDEN
            }
            DomainError::InvalidAmount(_) | DomainError::InvalidDates(_) | DomainError::InvalidPromotion(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            _ => StatusCode::CONFLICT,
        };
        ApiError::new(status, error.code(), error.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        tracing::error!(%error, "v1 request failed in the store");
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "Unavailable", "the service cannot answer now; retry")
    }
}

struct V1;

impl Dialect for V1 {
    fn key_reused() -> Response {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "IdempotencyKeyReused",
            "this Idempotency-Key was used with a different request",
        )
        .into_response()
    }
    fn unavailable() -> Response {
        ApiError::from(StoreError::WriterStopped).into_response()
    }
}

pub(super) async fn authenticate(app: &App, headers: &HeaderMap) -> Result<Principal, ApiError> {
    app.auth.authenticate(&app.db, headers).await.map_err(|error| match error {
        super::auth::AuthError::Store(error) => error.into(),
        other => ApiError::new(StatusCode::UNAUTHORIZED, "Unauthorized", other.to_string()),
    })
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

/// Runs a write: authentication, body, idempotency, look-ups in `plan`, then the command and its rendering.
pub(super) async fn write<T, P, R>(app: &App, incoming: Incoming, plan: P, render: R) -> Response
where
    T: DeserializeOwned,
    P: AsyncFnOnce(&App, &Principal, T) -> Result<Target, ApiError>,
    R: Fn(&[Envelope]) -> (StatusCode, serde_json::Value) + Send + Sync + 'static,
{
    let prepared = async {
        let body = incoming.body.as_ref().map_err(|r| ApiError::new(r.status(), "InvalidBody", r.body_text()))?;
        let principal = authenticate(app, &incoming.headers).await?;
        staff(&principal)?;
        let key = incoming
            .idempotency_key(&principal, body)
            .map_err(|_| ApiError::invalid("Idempotency-Key must be 1 to 255 visible characters"))?
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "IdempotencyKeyRequired",
                    "an Idempotency-Key header is required",
                )
            })?;
        let request: T = parse_body(body)?;
        Ok::<_, ApiError>((principal, key, request))
    }
    .await;
    let (principal, key, request) = match prepared {
        Ok(prepared) => prepared,
        Err(error) => return error.into_response(),
    };
    let target = match plan(app, &principal, request).await {
        Ok(target) => target,
        Err(error) => return error.into_response(),
    };
    let mut command = Command::new(&principal.tenant, principal.actor(), target);
    command.idempotency = Some(key);
    command.render = Some(Box::new(move |result| match result {
        Ok(envelopes) => {
            let (status, body) = render(envelopes);
            StoredResponse { status: status.as_u16(), content_type: "application/json".into(), body: body.to_string() }
        }
        Err(refusal) => ApiError::from(refusal.clone()).stored(),
    }));
    execute::<V1>(app, command, "v1").await
}

/// The events a command appended, as the API shows them.
pub(super) fn events_json(envelopes: &[Envelope]) -> serde_json::Value {
    serde_json::json!(envelopes
        .iter()
        .map(|e| serde_json::json!({"event_id": e.event_id, "event_type": e.event_type, "stream_version": e.stream_version}))
        .collect::<Vec<_>>())
}

// ---- cards ----

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterCard {
    /// 6 to 19 digits.
    pub number: String,
    pub category: CardCategory,
    pub card_type: CardType,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterCards {
    /// 1 to 1000 cards, registered all or none.
    pub cards: Vec<RegisterCard>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CardBody {
    pub number: String,
    pub status: CardStatus,
    pub category: CardCategory,
    pub card_type: CardType,
    pub contact_id: Option<Uuid>,
    pub block_reason: Option<tally_events::BlockReason>,
}

impl From<CardView> for CardBody {
    fn from(card: CardView) -> CardBody {
        CardBody {
            number: card.number,
            status: card.status,
            category: card.category,
            card_type: card.card_type,
            contact_id: card.contact_id,
            block_reason: card.block_reason,
        }
    }
}

fn registration(card: RegisterCard) -> Result<CardCommand, ApiError> {
    let number = CardNumber::parse(&card.number)
        .ok_or_else(|| ApiError::invalid(format!("card number {:?} must be 6 to 19 digits", card.number)))?;
    Ok(CardCommand::Register { number: number.as_str().to_owned(), category: card.category, card_type: card.card_type })
}

async fn register_card(State(app): State<Shared>, incoming: Incoming) -> Response {
    let plan = async |_: &App, _: &Principal, card: RegisterCard| {
        let command = registration(card)?;
        let CardCommand::Register { number, .. } = &command else { unreachable!("a registration") };
        Ok(Target::Card { number: number.clone(), command })
    };
    write(&app, incoming, plan, |envelopes| {
        (StatusCode::CREATED, serde_json::json!({ "events": events_json(envelopes) }))
    })
    .await
}

async fn register_cards(State(app): State<Shared>, incoming: Incoming) -> Response {
    let plan = async |_: &App, _: &Principal, batch: RegisterCards| {
        if batch.cards.is_empty() || batch.cards.len() > MAX_BATCH_CARDS {
            return Err(ApiError::invalid(format!("a batch holds 1 to {MAX_BATCH_CARDS} cards")));
        }
        let commands = batch.cards.into_iter().map(registration).collect::<Result<Vec<_>, _>>()?;
        let mut seen = std::collections::HashSet::new();
        for command in &commands {
            if let CardCommand::Register { number, .. } = command {
                if !seen.insert(number) {
                    return Err(ApiError::invalid(format!("card {number} appears twice in the batch")));
                }
            }
        }
        Ok(Target::RegisterCards(commands))
    };
    write(&app, incoming, plan, |envelopes| {
        (StatusCode::CREATED, serde_json::json!({ "registered": envelopes.len(), "events": events_json(envelopes) }))
    })
    .await
}

async fn get_card(
    State(app): State<Shared>,
    Path(number): Path<String>,
    headers: HeaderMap,
) -> Result<Json<CardBody>, ApiError> {
    let principal = authenticate(&app, &headers).await?;
    let card = queries::card(&app.db, &principal.tenant, &number)
        .await?
        .ok_or_else(|| ApiError::not_found("CardNotFound", "no card with this number"))?;
    Ok(Json(card.into()))
}

// ---- contacts ----

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactFields {
    /// Unique per merchant; generated when absent at registration.
    pub code: Option<String>,
    pub name: Option<String>,
    /// Any common notation; stored in E.164 form.
    pub mobile_number: Option<String>,
    pub email: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub external_id: Option<String>,
}

impl ContactFields {
    fn details(&self) -> Result<ContactDetails, ApiError> {
        let mobile_number = self
            .mobile_number
            .as_deref()
            .map(|text| {
                MobileNumber::parse(text)
                    .map(|m| m.as_str().to_owned())
                    .ok_or_else(|| ApiError::invalid(format!("mobile_number {text:?} is not a phone number")))
            })
            .transpose()?;
        if let Some(email) = &self.email {
            if !email.contains('@') || email.len() > 254 {
                return Err(ApiError::invalid(format!("email {email:?} is not an e-mail address")));
            }
        }
        let clean = |field: &Option<String>, name: &str| match field.as_deref().map(str::trim) {
            Some(text) if text.is_empty() || text.len() > 200 => {
                Err(ApiError::invalid(format!("{name} must be 1 to 200 characters")))
            }
            other => Ok(other.map(str::to_owned)),
        };
        Ok(ContactDetails {
            name: clean(&self.name, "name")?,
            mobile_number,
            email: self.email.clone(),
            birth_date: self.birth_date,
            external_id: clean(&self.external_id, "external_id")?,
        })
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ContactBody {
    pub contact_id: Uuid,
    pub code: String,
    #[serde(flatten)]
    pub details: ContactDetails,
    /// The contact's live card, if any.
    pub card_number: Option<String>,
}

async fn contact_body(app: &App, contact: ContactView) -> Result<ContactBody, ApiError> {
    let card = queries::live_card(&app.db, &contact.tenant, contact.contact_id).await?;
    Ok(ContactBody {
        contact_id: contact.contact_id,
        code: contact.code,
        details: contact.details,
        card_number: card.map(|c| c.number),
    })
}

async fn register_contact(State(app): State<Shared>, incoming: Incoming) -> Response {
    let plan = async |_: &App, _: &Principal, fields: ContactFields| {
        let details = fields.details()?;
        let contact_id = Uuid::now_v7();
        let code = match &fields.code {
            Some(code) => ContactCode::parse(code)
                .ok_or_else(|| ApiError::invalid("code must be 1 to 64 of A-Z, a-z, 0-9, _ and -"))?
                .as_str()
                .to_owned(),
            None => format!("C{}", &contact_id.simple().to_string()[20..]).to_uppercase(),
        };
        Ok(Target::Contact { contact_id, command: ContactCommand::Register { contact_id, code, details } })
    };
    write(&app, incoming, plan, |envelopes| match envelopes.first().map(|e| e.event()) {
        Some(Ok(Event::ContactRegistered(e))) => (
            StatusCode::CREATED,
            serde_json::json!({"contact_id": e.contact_id, "code": e.code, "events": events_json(envelopes)}),
        ),
        _ => (StatusCode::OK, serde_json::json!({ "events": events_json(envelopes) })),
    })
    .await
}

async fn update_contact(State(app): State<Shared>, Path(contact_id): Path<Uuid>, incoming: Incoming) -> Response {
    let plan = async move |_: &App, _: &Principal, fields: ContactFields| {
        if fields.code.is_some() {
            return Err(ApiError::invalid("a contact code never changes"));
        }
        Ok(Target::Contact { contact_id, command: ContactCommand::Update { changes: fields.details()? } })
    };
    write(&app, incoming, plan, |envelopes| (StatusCode::OK, serde_json::json!({ "events": events_json(envelopes) })))
        .await
}

async fn get_contact(
    State(app): State<Shared>,
    Path(contact_id): Path<Uuid>,
    headers: HeaderMap,
) -> Result<Json<ContactBody>, ApiError> {
    let principal = authenticate(&app, &headers).await?;
    let contact = queries::contact(&app.db, &principal.tenant, contact_id)
        .await?
        .ok_or_else(|| ApiError::not_found("ContactNotFound", "no such contact"))?;
    Ok(Json(contact_body(&app, contact).await?))
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ContactQuery {
    pub mobile_number: Option<String>,
    pub code: Option<String>,
}

/// `GET /v1/contacts?mobile_number=…` or `?code=…`: one customer by one of their identifiers.
async fn find_contact(
    State(app): State<Shared>,
    Query(query): Query<ContactQuery>,
    headers: HeaderMap,
) -> Result<Json<ContactBody>, ApiError> {
    let principal = authenticate(&app, &headers).await?;
    let tenant = &principal.tenant;
    let contact = match (&query.mobile_number, &query.code) {
        (Some(mobile), None) => {
            let mobile =
                MobileNumber::parse(mobile).ok_or_else(|| ApiError::invalid("mobile_number is not a phone number"))?;
            queries::contact_by_mobile(&app.db, tenant, mobile.as_str()).await?
        }
        (None, Some(code)) => queries::contact_by_code(&app.db, tenant, code).await?,
        _ => return Err(ApiError::invalid("give exactly one of mobile_number and code")),
    };
    let contact = contact.ok_or_else(|| ApiError::not_found("ContactNotFound", "no such contact"))?;
    Ok(Json(contact_body(&app, contact).await?))
}

// ---- accounts ----

/// Accounts exist for registered contacts only.
async fn account_target(
    app: &App,
    principal: &Principal,
    contact_id: Uuid,
    command: AccountCommand,
) -> Result<Target, ApiError> {
    if !app.reads.contact_exists(&app.db, &principal.tenant, contact_id).await? {
        return Err(ApiError::not_found("ContactNotFound", "no such contact"));
    }
    Ok(Target::Account { contact_id, command })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Accrual {
    /// A positive decimal (string or number), at most 4 decimal places.
    #[schemars(with = "String")]
    pub amount: Decimal,
    #[serde(default = "cash")]
    pub bonus_type: BonusType,
    /// Inactive until then.
    pub active_from: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub reference: Option<String>,
}

fn cash() -> BonusType {
    BonusType::Cash
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Redemption {
    #[schemars(with = "String")]
    pub amount: Decimal,
    #[serde(default = "cash")]
    pub bonus_type: BonusType,
    pub reference: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Reversal {
    /// The accrual or redemption to compensate.
    pub event_id: Uuid,
    pub reason: Option<String>,
}

fn movement_render(envelopes: &[Envelope]) -> (StatusCode, serde_json::Value) {
    let status = if envelopes.is_empty() { StatusCode::OK } else { StatusCode::CREATED };
    let movements: Vec<serde_json::Value> = envelopes.iter().filter_map(movement).collect();
    (status, serde_json::json!({ "events": events_json(envelopes), "movements": movements }))
}

/// A write of one account command built from the request body alone.
async fn account_command<T: DeserializeOwned>(
    app: &App,
    contact_id: Uuid,
    incoming: Incoming,
    command: fn(T) -> AccountCommand,
) -> Response {
    let plan = async move |app: &App, principal: &Principal, request: T| {
        account_target(app, principal, contact_id, command(request)).await
    };
    write(app, incoming, plan, movement_render).await
}

async fn accrue(State(app): State<Shared>, Path(contact_id): Path<Uuid>, incoming: Incoming) -> Response {
    account_command(&app, contact_id, incoming, |accrual: Accrual| AccountCommand::Accrue {
        lot_id: Uuid::now_v7(),
        amount: accrual.amount,
        bonus_type: accrual.bonus_type,
        active_from: accrual.active_from,
        expires_at: accrual.expires_at,
        reference: accrual.reference,
    })
    .await
}

async fn redeem(State(app): State<Shared>, Path(contact_id): Path<Uuid>, incoming: Incoming) -> Response {
    account_command(&app, contact_id, incoming, |redemption: Redemption| AccountCommand::Redeem {
        redemption_id: Uuid::now_v7(),
        amount: redemption.amount,
        bonus_type: redemption.bonus_type,
        reference: redemption.reference,
    })
    .await
}

async fn freeze(State(app): State<Shared>, Path(contact_id): Path<Uuid>, incoming: Incoming) -> Response {
    account_command(&app, contact_id, incoming, |r: Reason| AccountCommand::Freeze { reason: r.reason }).await
}

async fn unfreeze(State(app): State<Shared>, Path(contact_id): Path<Uuid>, incoming: Incoming) -> Response {
    account_command(&app, contact_id, incoming, |r: Reason| AccountCommand::Unfreeze { reason: r.reason }).await
}

/// Burns the account's expired lots now, instead of waiting for the periodic expiry job.
async fn expire(State(app): State<Shared>, Path(contact_id): Path<Uuid>, incoming: Incoming) -> Response {
    account_command(&app, contact_id, incoming, |_: Reason| AccountCommand::ExpireDue).await
}

async fn reverse(State(app): State<Shared>, Path(contact_id): Path<Uuid>, incoming: Incoming) -> Response {
    let plan = async move |app: &App, principal: &Principal, reversal: Reversal| {
        let not_found = || ApiError::from(DomainError::NothingToReverse(reversal.event_id.to_string()));
        let stream_id = tally_projections::stream::account(&principal.tenant, contact_id);
        let original =
            ledger::find_event(&mut *app.db.read.acquire().await.map_err(StoreError::from)?, reversal.event_id)
                .await?
                .filter(|e| e.stream_id == stream_id)
                .ok_or_else(not_found)?;
        let original = match original.event().map_err(StoreError::from)? {
            Event::BonusAccrued(e) => Original::Accrual { lot_id: e.lot_id },
            Event::BonusRedeemed(e) => Original::Redemption { redemption_id: e.redemption_id },
            _ => return Err(not_found()),
        };
        let command =
            AccountCommand::Reverse { original_event_id: reversal.event_id, original, reason: reversal.reason };
        account_target(app, principal, contact_id, command).await
    };
    write(&app, incoming, plan, movement_render).await
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct BalanceBody {
    pub contact_id: Uuid,
    pub frozen: bool,
    pub buckets: Vec<BucketBody>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct BucketBody {
    pub bonus_type: BonusType,
    /// active, inactive, burnt, frozen or nearest_expiry.
    pub status: String,
    #[schemars(with = "String")]
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    pub expire_date: Option<DateTime<Utc>>,
}

fn bucket_body(bucket: &BonusBucket) -> BucketBody {
    let status = serde_json::to_value(bucket.status).ok().and_then(|v| v.as_str().map(to_snake)).unwrap_or_default();
    BucketBody { bonus_type: bucket.bonus_type, status, amount: bucket.amount, expire_date: bucket.expire_date }
}

fn to_snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

async fn balance(
    State(app): State<Shared>,
    Path(contact_id): Path<Uuid>,
    headers: HeaderMap,
) -> Result<Json<BalanceBody>, ApiError> {
    let principal = authenticate(&app, &headers).await?;
    queries::contact(&app.db, &principal.tenant, contact_id)
        .await?
        .ok_or_else(|| ApiError::not_found("ContactNotFound", "no such contact"))?;
    let account = queries::account(&app.db, &principal.tenant, contact_id).await?;
    let buckets = account.buckets(Utc::now()).iter().map(bucket_body).collect();
    Ok(Json(BalanceBody { contact_id, frozen: account.frozen, buckets }))
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct StatementQuery {
    /// Entries after this stream version (the previous page's `next_after_version`).
    #[serde(default)]
    pub after_version: i64,
    /// 1 to 500; 100 when absent.
    pub limit: Option<i64>,
}

/// One line of a statement: what moved, by how much (signed), and why.
fn movement(envelope: &Envelope) -> Option<serde_json::Value> {
    let event = envelope.event().ok()?;
    let (amount, bonus_type, cause): (Option<Decimal>, Option<BonusType>, serde_json::Value) = match &event {
        Event::BonusAccrued(e) => (
            Some(e.amount),
            Some(e.bonus_type),
            serde_json::json!({"reference": e.reference, "lot_id": e.lot_id, "active_from": e.active_from, "expires_at": e.expires_at}),
        ),
        Event::BonusRedeemed(e) => (
            Some(-e.amount),
            Some(e.bonus_type),
            serde_json::json!({"reference": e.reference, "redemption_id": e.redemption_id, "allocations": allocations(&e.allocations)}),
        ),
        Event::BonusExpired(e) => {
            (Some(-e.amount), Some(e.bonus_type), serde_json::json!({"expired_lot_id": e.lot_id}))
        }
        Event::AccrualReversed(e) => (
            Some(-e.amount),
            Some(e.bonus_type),
            serde_json::json!({"reverses": e.original_event_id, "reason": e.reason}),
        ),
        Event::RedemptionReversed(e) => (
            Some(e.amount),
            Some(e.bonus_type),
            serde_json::json!({"reverses": e.original_event_id, "reason": e.reason}),
        ),
        Event::BonusesFrozen(e) => (None, None, serde_json::json!({"reason": e.reason})),
        Event::BonusesUnfrozen(e) => (None, None, serde_json::json!({"reason": e.reason})),
        _ => return None,
    };
    Some(serde_json::json!({
        "event_id": envelope.event_id,
        "stream_version": envelope.stream_version,
        "event_type": envelope.event_type,
        "recorded_at": envelope.recorded_at,
        "occurred_at": envelope.occurred_at,
        "amount": amount.map(|a| a.to_string()),
        "bonus_type": bonus_type,
        "cause": cause,
        "actor": envelope.actor,
        "correlation_id": envelope.correlation_id,
    }))
}

fn allocations(allocations: &[LotAllocation]) -> serde_json::Value {
    serde_json::json!(allocations
        .iter()
        .map(|a| serde_json::json!({"lot_id": a.lot_id, "amount": a.amount.to_string()}))
        .collect::<Vec<_>>())
}

async fn statement(
    State(app): State<Shared>,
    Path(contact_id): Path<Uuid>,
    Query(query): Query<StatementQuery>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let principal = authenticate(&app, &headers).await?;
    queries::contact(&app.db, &principal.tenant, contact_id)
        .await?
        .ok_or_else(|| ApiError::not_found("ContactNotFound", "no such contact"))?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=MAX_PAGE).contains(&limit) || query.after_version < 0 {
        return Err(ApiError::invalid(format!("limit must be 1 to {MAX_PAGE} and after_version not negative")));
    }
    let stream_id = tally_projections::stream::account(&principal.tenant, contact_id);
    let page = ledger::stream_page(
        &mut *app.db.read.acquire().await.map_err(StoreError::from)?,
        &stream_id,
        query.after_version,
        limit,
    )
    .await?;
    let next = (page.len() as i64 == limit).then(|| page.last().map(|e| e.stream_version)).flatten();
    let movements: Vec<serde_json::Value> = page.iter().filter_map(movement).collect();
    Ok(Json(serde_json::json!({ "contact_id": contact_id, "movements": movements, "next_after_version": next })))
}
