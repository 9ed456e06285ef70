//! `/v1/accounts/{contact_id}`: a contact's bonus account — accruals, redemptions, freezing, expiry, reversals,
//! the balance by bucket and the paged statement.

use axum::{extract::State, http::StatusCode, response::Response, Json};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use tally_events::{BonusType, Envelope, Event, LotAllocation};
use tally_projections::BonusBucket;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{events, write, ApiError, ErrorBody, EventRef, V1Caller, V1Path, V1Query};
use crate::{
    app::App,
    auth::Principal,
    commands::{Stream, Target},
    domain::{
        account::{AccountAggregate, AccountCommand, AccountError, Original},
        Refusal,
    },
    http::{ingress::Incoming, Shared},
    queries,
    store::{ledger, StoreError},
};

/// Statement entries per page at most.
const MAX_PAGE: i64 = 500;

pub fn routes() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(accrue))
        .routes(routes!(redeem))
        .routes(routes!(freeze))
        .routes(routes!(unfreeze))
        .routes(routes!(reverse))
        .routes(routes!(expire))
        .routes(routes!(balance))
        .routes(routes!(statement))
}

/// An account's path: the contact's id.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AccountPath {
    contact_id: Uuid,
}

/// A decimal amount, as a string or a JSON number.
fn amount_schema() -> impl Into<utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>> {
    crate::http::openapi::decimal("A positive decimal, at most 4 decimal places and at most 1,000,000,000")
}

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
    Ok(AccountAggregate::target(contact_id, command))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Accrual {
    #[schema(schema_with = amount_schema)]
    pub amount: Decimal,
    #[serde(default = "cash")]
    pub bonus_type: BonusType,
    /// Inactive until then.
    pub active_from: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "super::text")]
    #[schema(max_length = 200)]
    pub reference: Option<String>,
}

fn cash() -> BonusType {
    BonusType::Cash
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Redemption {
    #[schema(schema_with = amount_schema)]
    pub amount: Decimal,
    #[serde(default = "cash")]
    pub bonus_type: BonusType,
    #[serde(default, deserialize_with = "super::text")]
    #[schema(max_length = 200)]
    pub reference: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    #[serde(default, deserialize_with = "super::text")]
    #[schema(max_length = 200)]
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reversal {
    /// The accrual or redemption to compensate.
    pub event_id: Uuid,
    #[serde(default, deserialize_with = "super::text")]
    #[schema(max_length = 200)]
    pub reason: Option<String>,
}

/// The answer to an account command: its events and the movements they made.
#[derive(Serialize, ToSchema)]
pub struct Moved {
    events: Vec<EventRef>,
    movements: Vec<Movement>,
}

fn movement_render(envelopes: &[Envelope]) -> (StatusCode, Moved) {
    let status = if envelopes.is_empty() { StatusCode::OK } else { StatusCode::CREATED };
    (status, Moved { events: events(envelopes), movements: envelopes.iter().filter_map(movement).collect() })
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

/// Declares the account commands built from the request body alone: each a handler with its OpenAPI description.
macro_rules! account_commands {
    ($($handler:ident $path:literal $summary:literal $body:ident => $command:expr;)+) => {
        $(
            #[doc = $summary]
            #[utoipa::path(post, path = $path, tag = "v1", params(AccountPath), request_body = $body, responses(
                (status = 201, description = "Done: the events and the movements they made", body = Moved),
                (status = 200, description = "Nothing to do: no events", body = Moved),
                (status = 404, description = "No such contact", body = ErrorBody),
                (status = 409, description = "Refused in the account's state", body = ErrorBody),
                (status = 422, description = "Invalid request", body = ErrorBody),
            ))]
            async fn $handler(
                State(app): State<Shared>,
                V1Path { 0: AccountPath { contact_id }, .. }: V1Path<AccountPath>,
                incoming: Incoming,
            ) -> Response {
                account_command(&app, contact_id, incoming, $command).await
            }
        )+
    };
}

account_commands! {
    accrue "/accounts/{contact_id}/accruals" "Accrue bonuses as a lot." Accrual => |accrual: Accrual| {
        AccountCommand::Accrue {
            lot_id: Uuid::now_v7(),
            amount: accrual.amount,
            bonus_type: accrual.bonus_type,
            active_from: accrual.active_from,
            expires_at: accrual.expires_at,
            reference: accrual.reference,
            sale: None,
        }
    };
    redeem "/accounts/{contact_id}/redemptions" "Redeem active bonuses, nearest expiry first." Redemption
        => |redemption: Redemption| AccountCommand::Redeem {
            redemption_id: Uuid::now_v7(),
            amount: redemption.amount,
            bonus_type: redemption.bonus_type,
            reference: redemption.reference,
            sale: None,
        };
    freeze "/accounts/{contact_id}/freeze" "Freeze the account's bonuses." Reason
        => |r: Reason| AccountCommand::Freeze { reason: r.reason };
    unfreeze "/accounts/{contact_id}/unfreeze" "Unfreeze the account's bonuses." Reason
        => |r: Reason| AccountCommand::Unfreeze { reason: r.reason };
    expire "/accounts/{contact_id}/expiry"
        "Burn the account's expired lots now, instead of waiting for the periodic expiry job." Reason
        => |_: Reason| AccountCommand::ExpireDue;
}

/// Reverse an accrual or a redemption.
#[utoipa::path(post, path = "/accounts/{contact_id}/reversals", tag = "v1", params(AccountPath), request_body = Reversal,
    responses(
        (status = 201, description = "Done: the events and the movements they made", body = Moved),
        (status = 200, description = "Nothing to do: no events", body = Moved),
        (status = 404, description = "No such contact, or no such accrual or redemption in it", body = ErrorBody),
        (status = 409, description = "Refused in the account's state", body = ErrorBody),
        (status = 422, description = "Invalid request", body = ErrorBody),
    )
)]
async fn reverse(
    State(app): State<Shared>,
    V1Path { 0: AccountPath { contact_id }, .. }: V1Path<AccountPath>,
    incoming: Incoming,
) -> Response {
    let plan = async move |app: &App, principal: &Principal, reversal: Reversal| {
        let not_found =
            || ApiError::from(Refusal::from(AccountError::NothingToReverse { event_id: reversal.event_id }));
        let stream_id = tally_events::stream::account(&principal.tenant, contact_id);
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

#[derive(Debug, Serialize, ToSchema)]
pub struct BalanceBody {
    pub contact_id: Uuid,
    pub frozen: bool,
    pub buckets: Vec<BucketBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BucketBody {
    pub bonus_type: BonusType,
    #[schema(value_type = String, pattern = "^(active|inactive|burnt|frozen|nearest_expiry)$")]
    pub status: String,
    #[schema(value_type = String, pattern = r"^[0-9]+(\.[0-9]+)?$")]
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

/// Balance by bucket and bonus type.
#[utoipa::path(get, path = "/accounts/{contact_id}/balance", tag = "v1", params(AccountPath), responses(
    (status = 200, description = "The balance", body = BalanceBody),
    (status = 404, description = "No such contact", body = ErrorBody),
))]
async fn balance(
    State(app): State<Shared>,
    V1Caller { 0: principal, .. }: V1Caller,
    V1Path { 0: AccountPath { contact_id }, .. }: V1Path<AccountPath>,
) -> Result<Json<BalanceBody>, ApiError> {
    queries::contact(&app.db, &principal.tenant, contact_id)
        .await?
        .ok_or_else(|| ApiError::not_found("ContactNotFound", "no such contact"))?;
    let account = queries::account(&app.db, &principal.tenant, contact_id).await?;
    let buckets = account.buckets(Utc::now()).iter().map(bucket_body).collect();
    Ok(Json(BalanceBody { contact_id, frozen: account.frozen, buckets }))
}

/// A page of a statement.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatementQuery {
    /// Entries after this stream version (the previous page's `next_after_version`).
    #[serde(default)]
    #[param(minimum = 0)]
    pub after_version: i64,
    /// 1 to 500; 100 when absent.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// One line of a statement: what moved, by how much (signed), and why.
#[derive(Serialize, ToSchema)]
pub struct Movement {
    event_id: Uuid,
    stream_version: i64,
    event_type: String,
    recorded_at: DateTime<Utc>,
    occurred_at: DateTime<Utc>,
    /// Signed: what the account gained (positive) or lost (negative); none for freezing, unfreezing and completing
    /// a reservation (its points left when they were reserved).
    #[schema(value_type = Option<String>, pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    amount: Option<String>,
    bonus_type: Option<BonusType>,
    /// What caused the movement: the reference, lot, redemption, reservation, reversal or reason, and the till
    /// transaction (`sale`) behind it.
    #[schema(value_type = Object)]
    cause: serde_json::Value,
    /// Who did it.
    #[schema(value_type = Object)]
    actor: serde_json::Value,
    correlation_id: Uuid,
}

/// A page of an account's statement.
#[derive(Serialize, ToSchema)]
pub struct Statement {
    contact_id: Uuid,
    movements: Vec<Movement>,
    /// The `after_version` of the next page; none on the last page.
    next_after_version: Option<i64>,
}

/// The statement line of an event, if it moved the account.
fn movement(envelope: &Envelope) -> Option<Movement> {
    let event = envelope.event().ok()?;
    let (amount, bonus_type, cause): (Option<Decimal>, Option<BonusType>, serde_json::Value) = match &event {
        Event::BonusAccrued(e) => (
            Some(e.amount),
            Some(e.bonus_type),
            serde_json::json!({"reference": e.reference, "lot_id": e.lot_id, "active_from": e.active_from, "expires_at": e.expires_at, "sale": e.sale}),
        ),
        Event::BonusRedeemed(e) => (
            Some(-e.amount),
            Some(e.bonus_type),
            serde_json::json!({"reference": e.reference, "redemption_id": e.redemption_id, "allocations": allocations(&e.allocations), "sale": e.sale}),
        ),
        Event::BonusReserved(e) => (
            Some(-e.amount),
            Some(e.bonus_type),
            serde_json::json!({"reservation_id": e.reservation_id, "expires_at": e.expires_at, "allocations": allocations(&e.allocations), "sale": e.sale}),
        ),
        // The points left the lots when they were reserved: completing moves nothing more.
        Event::ReservationCompleted(e) => {
            (None, Some(e.bonus_type), serde_json::json!({"completes": e.reservation_id}))
        }
        Event::ReservationReleased(e) => {
            (Some(e.amount), Some(e.bonus_type), serde_json::json!({"releases": e.reservation_id, "reason": e.reason}))
        }
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
    Some(Movement {
        event_id: envelope.event_id,
        stream_version: envelope.stream_version,
        event_type: envelope.event_type.clone(),
        recorded_at: envelope.recorded_at,
        occurred_at: envelope.occurred_at,
        amount: amount.map(|a| a.to_string()),
        bonus_type,
        cause,
        actor: serde_json::to_value(&envelope.actor).ok()?,
        correlation_id: envelope.correlation_id,
    })
}

fn allocations(allocations: &[LotAllocation]) -> serde_json::Value {
    serde_json::json!(allocations
        .iter()
        .map(|a| serde_json::json!({"lot_id": a.lot_id, "amount": a.amount.to_string()}))
        .collect::<Vec<_>>())
}

/// Every movement with its cause, paged by `after_version` and `limit`.
#[utoipa::path(get, path = "/accounts/{contact_id}/statement", tag = "v1", params(AccountPath, StatementQuery),
    responses(
        (status = 200, description = "A page of the statement", body = Statement),
        (status = 404, description = "No such contact", body = ErrorBody),
        (status = 422, description = "limit or after_version out of range", body = ErrorBody),
    )
)]
async fn statement(
    State(app): State<Shared>,
    V1Caller { 0: principal, .. }: V1Caller,
    V1Path { 0: AccountPath { contact_id }, .. }: V1Path<AccountPath>,
    V1Query { 0: query, .. }: V1Query<StatementQuery>,
) -> Result<Json<Statement>, ApiError> {
    queries::contact(&app.db, &principal.tenant, contact_id)
        .await?
        .ok_or_else(|| ApiError::not_found("ContactNotFound", "no such contact"))?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=MAX_PAGE).contains(&limit) || query.after_version < 0 {
        return Err(ApiError::invalid(format!("limit must be 1 to {MAX_PAGE} and after_version not negative")));
    }
    let stream_id = tally_events::stream::account(&principal.tenant, contact_id);
    let page = ledger::stream_page(
        &mut *app.db.read.acquire().await.map_err(StoreError::from)?,
        &stream_id,
        query.after_version,
        limit,
    )
    .await?;
    let next = (page.len() as i64 == limit).then(|| page.last().map(|e| e.stream_version)).flatten();
    let movements = page.iter().filter_map(movement).collect();
    Ok(Json(Statement { contact_id, movements, next_after_version: next }))
}
