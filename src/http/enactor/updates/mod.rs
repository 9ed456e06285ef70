//! Account balance updates from the till, on the loyalty account:
//!
//! - `POST /accountBalances/update` at the end of a sale: points earned (a positive `updateAmount`) or spent as a
//!   tender (a negative one). With `status` `PENDING`, a tender is reserved during the sale instead, until
//!   `expiryTime` (15 minutes when absent, at most 7 days ahead).
//! - `PATCH /accountBalances` ("submit or cancel"): the till completes (`COMPLETE`) or cancels (`CANCELLED`) the
//!   `PENDING` update of its transaction, echoing it. A reservation nobody settles lapses at its expiry: the expiry
//!   job gives the points back.
//! - A refund names its original sale (`originalTransactionId`, `originalTransactionDeviceId`): a negative amount
//!   takes back points the sale earned, a positive one gives back points it spent; never more than the sale did,
//!   counting earlier refunds, and never twice for one refund transaction.
//!
//! Each update is keyed by the till: device, location, transaction, account, and whether it earns or spends (a
//! sale may do both). A retry, or a till replaying after being offline, gets the first answer and changes nothing;
//! the same key with a different update is refused. The account's stream enforces the same rules on its own, so
//! that no path around the key (another location, another surface) applies a transaction twice.

use axum::{extract::State, http::StatusCode, response::Response};
use blake2::{Blake2b512, Digest};
use chrono::DateTime;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tally_events::Role;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

mod action;

use action::action;

use super::{
    accounts::{self, AccountQuery, Outcome, Resolved, Wanted},
    subject, Enactor, ErrorMessage, Refused,
};
use crate::{
    app::App,
    commands::{Command, Stream},
    domain::{account::AccountAggregate, ids::ContactCode, money::MoneyAggregate},
    http::json_stored,
    http::{
        ingress::{self, Admitted, Incoming, KeyPolicy, Responder},
        stored, wording, Shared,
    },
    store::idempotency::StoredResponse,
};

pub fn routes() -> OpenApiRouter<Shared> {
    OpenApiRouter::new().routes(routes!(update)).routes(routes!(settle))
}

/// The till that sent an update.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = enactor::DeviceKey)]
pub struct DeviceKey {
    #[serde(rename = "@type", default = "device_key")]
    #[schema(pattern = "^deviceKey$")]
    pub(super) kind: String,
    /// e.g. `pos1@0001.enactor`.
    #[schema(min_length = 1, max_length = 64, pattern = r"\S")]
    pub(super) id: String,
}

pub(super) fn device_key() -> String {
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
    pub(super) kind: String,
    #[schema(min_length = 1, max_length = 64, pattern = r"\S")]
    pub(super) transaction_id: String,
    pub(super) device_id: DeviceKey,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 64)]
    pub(super) location_id: Option<String>,
    /// The customer number; or give `cardNumber`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) account_id: Option<String>,
    /// `customerLoyaltyAccount` (the vendor's `customerLoyalatyAccount` too) when absent; or a money account's
    /// type: `customerDepositAccount`, `customerCreditAccount`, `employeeAccount`, `creditNoteAccount`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) account_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) card_number: Option<String>,
    /// A credit note's currency (ISO 4217), needed when the update issues one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[A-Z]{3}$")]
    pub(super) currency_id: Option<String>,
    #[serde(serialize_with = "rust_decimal::serde::str::serialize")]
    #[schema(schema_with = signed_amount)]
    pub(super) update_amount: Decimal,
    /// When the till made the update, in epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 32_503_680_000_000_i64)]
    pub(super) date_time_updated: Option<i64>,
    /// A `PENDING` update's expiry, in epoch milliseconds: 15 minutes after it arrives when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 32_503_680_000_000_i64)]
    pub(super) expiry_time: Option<i64>,
    /// Posting: absent or `COMPLETE` applies the update now; `PENDING` reserves a tender. Settling (`PATCH`):
    /// `COMPLETE` or `CANCELLED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^(COMPLETE|COMPLETED|PENDING|CANCELLED|CANCELED)$")]
    pub(super) status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 200)]
    pub(super) reference_id: Option<String>,
    /// A refund's original sale; give `originalTransactionDeviceId` with it (the device's id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 64)]
    pub(super) original_transaction_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 64)]
    pub(super) original_transaction_device_id: Option<String>,
}

pub(super) fn balance_update() -> String {
    "accountBalanceUpdate".into()
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = enactor::AccountBalanceUpdateOutput)]
pub struct UpdateOutput {
    #[serde(rename = "@type")]
    kind: &'static str,
    /// The update, as applied.
    pub(super) account_balance_update: BalanceUpdate,
}

/// The answer: `Success` with the update echoed; `Fail` (e.g. not enough points, the account frozen, a refund
/// larger than its sale) with why in `messages`; `NoAccount` or `UnknownAccountType`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = enactor::AccountBalanceUpdateResponse)]
pub struct UpdateResponse {
    #[serde(rename = "@type")]
    kind: &'static str,
    pub(super) outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) account_balance_update_output: Option<UpdateOutput>,
    pub(super) messages: Vec<String>,
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

    fn rest(&self) -> StoredResponse {
        json_stored(StatusCode::OK, self)
    }
}

/// Which call an update came in: posted, or settling a `PENDING` one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    Post,
    Settle,
}

/// Account balance update: points earned or spent on a loyalty account at the end of a sale, a tender reserved
/// during it (`PENDING`), or a refund; once per till transaction.
#[utoipa::path(post, path = "/accountBalances/update", tag = "enactor", request_body = BalanceUpdate, responses(
    (status = 200, description = "The update's outcome (a retry is answered as the first time)", body = UpdateResponse),
    (status = 400, description = "No accountId or cardNumber", body = ErrorMessage),
    (status = 403, description = "A customer's own session may not post updates", body = ErrorMessage),
    (status = 422, description = "A malformed update (a PENDING earn or refund, a refund without its device), or \
        the till's key reused with a different update", body = ErrorMessage),
))]
async fn update(State(app): State<Shared>, incoming: Incoming) -> Response {
    rest(&app, incoming, Step::Post).await
}

/// Submit or cancel: completes (`COMPLETE`) or cancels (`CANCELLED`) the `PENDING` update of the till's
/// transaction. The body echoes the pending update with the new status.
#[utoipa::path(patch, path = "/accountBalances", tag = "enactor", request_body = BalanceUpdate, responses(
    (status = 200, description = "The outcome: `Fail` when there is no open reservation of that amount, or it \
        expired (a retry is answered as the first time)", body = UpdateResponse),
    (status = 400, description = "No accountId or cardNumber", body = ErrorMessage),
    (status = 403, description = "A customer's own session may not settle updates", body = ErrorMessage),
    (status = 422, description = "A malformed update or status, or the till's key reused with a different update",
        body = ErrorMessage),
))]
async fn settle(State(app): State<Shared>, incoming: Incoming) -> Response {
    rest(&app, incoming, Step::Settle).await
}

async fn rest(app: &App, incoming: Incoming, step: Step) -> Response {
    let admitted = match incoming.admit(app, &Enactor, KeyPolicy::Optional).await {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    let update: BalanceUpdate = match serde_json::from_slice(&admitted.body) {
        Ok(update) => update,
        Err(error) => {
            let text = format!("not an accountBalanceUpdate: {error}");
            return Refused::new(StatusCode::UNPROCESSABLE_ENTITY, "InvalidRequest", text).rest();
        }
    };
    match apply(app, &incoming, &admitted, update, step, UpdateResponse::rest, &Enactor).await {
        Ok(response) => response,
        Err(refused) => refused.rest(),
    }
}

/// Checks, resolves and executes one update; the outcome is rendered by `render` (and stored for retries), a
/// refusal of the request itself is the caller's to word.
pub(super) async fn apply(
    app: &App,
    incoming: &Incoming,
    admitted: &Admitted,
    update: BalanceUpdate,
    step: Step,
    render: impl Fn(&UpdateResponse) -> StoredResponse + Send + Sync + 'static,
    responder: &impl Responder,
) -> Result<Response, Refused> {
    let principal = &admitted.principal;
    if principal.role == Role::Client {
        return Err(Refused::new(StatusCode::FORBIDDEN, "Forbidden", "a customer's own session may not post updates"));
    }
    let action = action(&update, step)
        .map_err(|problem| Refused::new(StatusCode::UNPROCESSABLE_ENTITY, "InvalidRequest", problem))?;
    let query = AccountQuery {
        account_type: update.account_type.clone(),
        account_id: update.account_id.clone(),
        pan: update.card_number.clone(),
        hashed_pan: None,
        currency_id: None,
        location_id: update.location_id.clone(),
    };
    if query.account_id.is_none() && query.pan.is_none() {
        return Err(Refused::new(StatusCode::BAD_REQUEST, "InvalidRequest", "give accountId or cardNumber"));
    }
    let outcome = |name| Ok(stored(&render(&UpdateResponse::new(name, None, vec![])), false));
    // Only the customer (or the money account's existence) is needed: the account itself is read by the writer.
    let resolved = accounts::resolve(app, &principal.tenant, subject(&incoming.headers).as_deref(), query).await?;
    let (account, target) = match resolved {
        Resolved::Customer(Some(found), Wanted::All | Wanted::Loyalty) => {
            let contact = found.0;
            (contact.code, AccountAggregate::target(contact.contact_id, action.command(&update)))
        }
        Resolved::Customer(_, Wanted::Money(_)) => {
            let text = "a money account is updated by its number, in accountId";
            return Err(Refused::new(StatusCode::BAD_REQUEST, "InvalidRequest", text));
        }
        Resolved::Customer(..) => return outcome("NoAccount"),
        Resolved::UnknownType => return outcome("UnknownAccountType"),
        Resolved::Money(account_type, account_id, view) => {
            let Some(account_id) = ContactCode::parse(&account_id) else {
                let text = "a money account's accountId is 1 to 64 letters, digits, _ or -";
                return Err(Refused::new(StatusCode::UNPROCESSABLE_ENTITY, "InvalidRequest", text));
            };
            let account_id = account_id.as_str().to_owned();
            let Some(command) = action.money_command(&update, account_type, &account_id, view.is_some())? else {
                return outcome("NoAccount");
            };
            let account = format!("{}/{account_id}", account_type.as_str());
            (account, MoneyAggregate::target((account_type, account_id), command))
        }
    };
    // The till's key: every part that tells one update from another, JSON-encoded (so that no part can run into the
    // next) and hashed (so that it stays short whatever the parts hold).
    let parts = serde_json::json!([
        update.device_id.id,
        update.location_id,
        update.transaction_id,
        account,
        action.key(update.original_transaction_id.is_some()),
        update.original_transaction_device_id,
        update.original_transaction_id,
    ]);
    let digest = Blake2b512::digest(parts.to_string().as_bytes());
    let till_key = format!("enactor-update:{}", crate::store::hex(&digest[..24]));
    let mut command = Command::new(&principal.tenant, principal.actor(), target);
    command.occurred_at = update.date_time_updated.and_then(DateTime::from_timestamp_millis);
    command.idempotency = Some(incoming.scoped_key(principal, &till_key, &admitted.body));
    command.render = Some(Box::new(move |result| match result {
        Ok(_) => render(&UpdateResponse::new("Success", Some(update.clone()), vec![])),
        Err(refusal) => render(&UpdateResponse::new("Fail", None, vec![wording::message(refusal)])),
    }));
    Ok(ingress::execute(app, command, responder).await)
}
