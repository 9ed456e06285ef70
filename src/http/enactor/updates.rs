//! Account balance update at the end of a sale (`POST /accountBalances/update`): the points a loyalty account earned
//! (a positive `updateAmount`) or spent as a tender (a negative one). The update is keyed by the till: device,
//! location, transaction and account. A retry, or a till replaying after being offline, gets the first answer and
//! changes nothing; the same key with a different update is refused. Not built yet, and refused as such: `PENDING`
//! updates (reservations until `expiryTime`) and refunds (`originalTransactionId`).

use axum::{extract::State, http::StatusCode, response::Response};
use chrono::DateTime;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tally_events::{BonusType, Role};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{
    accounts::{self, AccountQuery, Outcome, Resolved},
    subject, Enactor, ErrorMessage, Refused,
};
use crate::{
    commands::{Command, Stream},
    domain::account::{AccountAggregate, AccountCommand},
    http::json_stored,
    http::{
        ingress::{self, Incoming, KeyPolicy},
        wording, Shared,
    },
    store::idempotency::StoredResponse,
};

pub fn routes() -> OpenApiRouter<Shared> {
    OpenApiRouter::new().routes(routes!(update))
}

/// The till that sent an update.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = enactor::DeviceKey)]
pub struct DeviceKey {
    #[serde(rename = "@type", default = "device_key")]
    #[schema(pattern = "^deviceKey$")]
    kind: String,
    /// e.g. `pos1@0001.enactor`.
    #[schema(min_length = 1, max_length = 64, pattern = r"\S")]
    id: String,
}

fn device_key() -> String {
    "deviceKey".into()
}

fn signed_amount() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    crate::http::openapi::decimal("Points earned (positive) or spent as a tender (negative), at most 4 decimal places")
}

/// `accountBalanceUpdate`: what the sale changed on one account.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = enactor::AccountBalanceUpdate)]
pub struct BalanceUpdate {
    #[serde(rename = "@type", default = "balance_update")]
    #[schema(pattern = "^accountBalanceUpdate$")]
    kind: String,
    #[schema(min_length = 1, max_length = 64, pattern = r"\S")]
    transaction_id: String,
    device_id: DeviceKey,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 64)]
    location_id: Option<String>,
    /// The customer number; or give `cardNumber`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    account_id: Option<String>,
    /// `customerLoyaltyAccount` (the vendor's `customerLoyalatyAccount` too) when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    account_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    card_number: Option<String>,
    #[serde(serialize_with = "rust_decimal::serde::str::serialize")]
    #[schema(schema_with = signed_amount)]
    update_amount: Decimal,
    /// When the till made the update, in epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 32_503_680_000_000_i64)]
    date_time_updated: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expiry_time: Option<i64>,
    /// Absent or `COMPLETE`: applied now. `PENDING` is not supported yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^(COMPLETE|COMPLETED)$")]
    status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 200)]
    reference_id: Option<String>,
    /// A refund's original sale: not supported yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    original_transaction_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    original_transaction_device_id: Option<String>,
}

fn balance_update() -> String {
    "accountBalanceUpdate".into()
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = enactor::AccountBalanceUpdateOutput)]
pub struct UpdateOutput {
    #[serde(rename = "@type")]
    kind: &'static str,
    /// The update, as applied.
    account_balance_update: BalanceUpdate,
}

/// The answer: `Success` with the update echoed; `Fail` (e.g. not enough points, the account frozen) with why in
/// `messages`; `NoAccount` or `UnknownAccountType`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = enactor::AccountBalanceUpdateResponse)]
pub struct UpdateResponse {
    #[serde(rename = "@type")]
    kind: &'static str,
    outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_balance_update_output: Option<UpdateOutput>,
    messages: Vec<String>,
}

impl UpdateResponse {
    fn new(outcome: &'static str, applied: Option<BalanceUpdate>, messages: Vec<String>) -> UpdateResponse {
        UpdateResponse {
            kind: "accountBalanceUpdateResponse",
            outcome: Outcome { name: outcome },
            account_balance_update_output: applied
                .map(|update| UpdateOutput { kind: "accountBalanceUpdateOutput", account_balance_update: update }),
            messages,
        }
    }

    fn stored(&self) -> StoredResponse {
        json_stored(StatusCode::OK, self)
    }
}

/// Account balance update: points earned or spent on a loyalty account at the end of a sale, once per till
/// transaction.
#[utoipa::path(post, path = "/accountBalances/update", tag = "enactor", request_body = BalanceUpdate, responses(
    (status = 200, description = "The update's outcome (a retry is answered as the first time)", body = UpdateResponse),
    (status = 400, description = "No accountId or cardNumber", body = ErrorMessage),
    (status = 403, description = "A customer's own session may not post updates", body = ErrorMessage),
    (status = 422, description = "A malformed update, an unsupported status or refund, or the till's key reused \
        with a different update", body = ErrorMessage),
))]
async fn update(State(app): State<Shared>, incoming: Incoming) -> Response {
    let admitted = match incoming.admit(&app, &Enactor, KeyPolicy::Optional).await {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    let principal = admitted.principal;
    let invalid = |text: String| Refused::new(StatusCode::UNPROCESSABLE_ENTITY, "InvalidRequest", text).rest();
    if principal.role == Role::Client {
        return Refused::new(StatusCode::FORBIDDEN, "Forbidden", "a customer's own session may not post updates")
            .rest();
    }
    let update: BalanceUpdate = match serde_json::from_slice(&admitted.body) {
        Ok(update) => update,
        Err(error) => return invalid(format!("not an accountBalanceUpdate: {error}")),
    };
    if let Some(problem) = problem(&update) {
        return invalid(problem.into());
    }
    let query = AccountQuery {
        account_type: update.account_type.clone(),
        account_id: update.account_id.clone(),
        pan: update.card_number.clone(),
        hashed_pan: None,
        currency_id: None,
        location_id: update.location_id.clone(),
    };
    if query.account_id.is_none() && query.pan.is_none() {
        return Refused::new(StatusCode::BAD_REQUEST, "InvalidRequest", "give accountId or cardNumber").rest();
    }
    // Only the customer is needed: the account itself is read by the writer.
    let contact = match accounts::resolve(&app, &principal.tenant, subject(&incoming.headers).as_deref(), query).await {
        Ok(Resolved::Customer(Some(found))) => found.0,
        Ok(Resolved::Customer(None)) => return super::answer(&UpdateResponse::new("NoAccount", None, vec![]).stored()),
        Ok(Resolved::UnknownType) => {
            return super::answer(&UpdateResponse::new("UnknownAccountType", None, vec![]).stored())
        }
        Err(refused) => return refused.rest(),
    };
    let customer_number = &contact.code;
    let location = update.location_id.as_deref().unwrap_or_default();
    let till_key =
        format!("enactor-update:{}:{location}:{}:{customer_number}", update.device_id.id, update.transaction_id);
    let reference = Some(format!("enactor {} {}", update.device_id.id, update.transaction_id));
    let account_command = if update.update_amount > Decimal::ZERO {
        AccountCommand::Accrue {
            lot_id: Uuid::now_v7(),
            amount: update.update_amount,
            bonus_type: BonusType::Cash,
            active_from: None,
            expires_at: None,
            reference,
        }
    } else {
        AccountCommand::Redeem {
            redemption_id: Uuid::now_v7(),
            amount: -update.update_amount,
            bonus_type: BonusType::Cash,
            reference,
        }
    };
    let mut command = Command::new(
        &principal.tenant,
        principal.actor(),
        AccountAggregate::target(contact.contact_id, account_command),
    );
    command.occurred_at = update.date_time_updated.and_then(DateTime::from_timestamp_millis);
    command.idempotency = Some(incoming.scoped_key(&principal, &till_key, &admitted.body));
    command.render = Some(Box::new(move |result| match result {
        Ok(_) => UpdateResponse::new("Success", Some(update.clone()), vec![]).stored(),
        Err(refusal) => UpdateResponse::new("Fail", None, vec![wording::message(refusal)]).stored(),
    }));
    ingress::execute(&app, command, &Enactor).await
}

/// Why an update cannot be applied as written, if it cannot.
fn problem(update: &BalanceUpdate) -> Option<&'static str> {
    let blank = |text: &str| text.trim().is_empty();
    if update.kind != "accountBalanceUpdate" || update.device_id.kind != "deviceKey" {
        return Some("@type must be accountBalanceUpdate, and deviceId's deviceKey");
    }
    if blank(&update.transaction_id) || update.transaction_id.chars().count() > 64 {
        return Some("transactionId must be 1 to 64 characters");
    }
    if blank(&update.device_id.id) || update.device_id.id.chars().count() > 64 {
        return Some("deviceId.id must be 1 to 64 characters");
    }
    if update.location_id.as_deref().is_some_and(|l| l.chars().count() > 64)
        || update.reference_id.as_deref().is_some_and(|r| r.chars().count() > 200)
    {
        return Some("locationId is at most 64 characters, referenceId at most 200");
    }
    if update.update_amount.is_zero() {
        return Some("updateAmount must not be zero");
    }
    if update.date_time_updated.is_some_and(|ms| DateTime::from_timestamp_millis(ms).is_none() || ms < 0) {
        return Some("dateTimeUpdated must be epoch milliseconds");
    }
    match update.status.as_deref() {
        None | Some("COMPLETE") | Some("COMPLETED") => {}
        Some("PENDING") => return Some("PENDING updates (a tender reserved during the sale) are not supported yet"),
        Some(_) => return Some("status must be COMPLETE"),
    }
    if update.original_transaction_id.is_some() || update.original_transaction_device_id.is_some() {
        return Some("refunds (originalTransactionId) are not supported yet");
    }
    None
}
