//! `/v1/accounts/{contact_id}`: a contact's bonus account — accruals, redemptions, freezing, expiry, reversals,
//! the balance by bucket and the paged statement.

use axum::{
    extract::State,
    http::StatusCode,
    response::Response,
    routing::{get, post},
    Json, Router,
};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use tally_events::{BonusType, Envelope, Event, LotAllocation};
use tally_projections::BonusBucket;
use uuid::Uuid;

use super::{events_json, write, ApiError, V1Caller, V1Path, V1Query};
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

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/accounts/{contact_id}/accruals", post(accrue))
        .route("/accounts/{contact_id}/redemptions", post(redeem))
        .route("/accounts/{contact_id}/freeze", post(freeze))
        .route("/accounts/{contact_id}/unfreeze", post(unfreeze))
        .route("/accounts/{contact_id}/reversals", post(reverse))
        .route("/accounts/{contact_id}/expiry", post(expire))
        .route("/accounts/{contact_id}/balance", get(balance))
        .route("/accounts/{contact_id}/statement", get(statement))
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

async fn accrue(State(app): State<Shared>, V1Path { 0: contact_id, .. }: V1Path<Uuid>, incoming: Incoming) -> Response {
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

async fn redeem(State(app): State<Shared>, V1Path { 0: contact_id, .. }: V1Path<Uuid>, incoming: Incoming) -> Response {
    account_command(&app, contact_id, incoming, |redemption: Redemption| AccountCommand::Redeem {
        redemption_id: Uuid::now_v7(),
        amount: redemption.amount,
        bonus_type: redemption.bonus_type,
        reference: redemption.reference,
    })
    .await
}

async fn freeze(State(app): State<Shared>, V1Path { 0: contact_id, .. }: V1Path<Uuid>, incoming: Incoming) -> Response {
    account_command(&app, contact_id, incoming, |r: Reason| AccountCommand::Freeze { reason: r.reason }).await
}

async fn unfreeze(
    State(app): State<Shared>,
    V1Path { 0: contact_id, .. }: V1Path<Uuid>,
    incoming: Incoming,
) -> Response {
    account_command(&app, contact_id, incoming, |r: Reason| AccountCommand::Unfreeze { reason: r.reason }).await
}

/// Burns the account's expired lots now, instead of waiting for the periodic expiry job.
async fn expire(State(app): State<Shared>, V1Path { 0: contact_id, .. }: V1Path<Uuid>, incoming: Incoming) -> Response {
    account_command(&app, contact_id, incoming, |_: Reason| AccountCommand::ExpireDue).await
}

async fn reverse(
    State(app): State<Shared>,
    V1Path { 0: contact_id, .. }: V1Path<Uuid>,
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
    V1Caller { 0: principal, .. }: V1Caller,
    V1Path { 0: contact_id, .. }: V1Path<Uuid>,
) -> Result<Json<BalanceBody>, ApiError> {
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
    V1Caller { 0: principal, .. }: V1Caller,
    V1Path { 0: contact_id, .. }: V1Path<Uuid>,
    V1Query { 0: query, .. }: V1Query<StatementQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
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
    let movements: Vec<serde_json::Value> = page.iter().filter_map(movement).collect();
    Ok(Json(serde_json::json!({ "contact_id": contact_id, "movements": movements, "next_after_version": next })))
}
