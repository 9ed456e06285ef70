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
use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tally_events::{BonusType, MoneyAccountOpened, MoneyAccountType, Role, TillSale, TillTransaction};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{
    accounts::{self, AccountQuery, Outcome, Resolved, Wanted},
    subject, Enactor, ErrorMessage, Refused,
};
use crate::{
    app::App,
    commands::{Command, Stream},
    domain::{
        account::{AccountAggregate, AccountCommand},
        ids::ContactCode,
        money::{MoneyAggregate, MoneyCommand},
    },
    http::json_stored,
    http::{
        ingress::{self, Admitted, Incoming, KeyPolicy, Responder},
        stored, wording, Shared,
    },
    store::idempotency::StoredResponse,
};

/// The latest epoch millisecond a date may carry (the year 3000, as the OpenAPI document says).
const LATEST_MILLIS: i64 = 32_503_680_000_000;

/// How long a `PENDING` update reserves without an `expiryTime`, and the furthest ahead one may reserve.
const DEFAULT_RESERVATION: Duration = Duration::minutes(15);
const LONGEST_RESERVATION: Duration = Duration::days(7);

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
    let till_key = format!("enactor-update:{}", digest.iter().take(24).map(|b| format!("{b:02x}")).collect::<String>());
    let mut command = Command::new(&principal.tenant, principal.actor(), target);
    command.occurred_at = update.date_time_updated.and_then(DateTime::from_timestamp_millis);
    command.idempotency = Some(incoming.scoped_key(principal, &till_key, &admitted.body));
    command.render = Some(Box::new(move |result| match result {
        Ok(_) => render(&UpdateResponse::new("Success", Some(update.clone()), vec![])),
        Err(refusal) => render(&UpdateResponse::new("Fail", None, vec![wording::message(refusal)])),
    }));
    Ok(ingress::execute(app, command, responder).await)
}

/// What an update asks of the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Earn,
    Spend,
    Reserve { expires_at: DateTime<Utc> },
    Settle { complete: bool },
}

impl Action {
    /// The part of the till's key that tells a sale's updates apart.
    fn key(self, refund: bool) -> &'static str {
        match (self, refund) {
            (Action::Earn, false) => "earn",
            (Action::Earn, true) => "give-back",
            (Action::Spend, false) | (Action::Reserve { .. }, _) => "spend",
            (Action::Spend, true) => "take-back",
            (Action::Settle { complete: true }, _) => "complete",
            (Action::Settle { complete: false }, _) => "cancel",
        }
    }

    /// The money account's command, or none when it does not exist (a credit note is issued by paying in).
    fn money_command(
        self,
        update: &BalanceUpdate,
        account_type: MoneyAccountType,
        account_id: &str,
        exists: bool,
    ) -> Result<Option<MoneyCommand>, Refused> {
        let invalid = |text: &str| Refused::new(StatusCode::UNPROCESSABLE_ENTITY, "InvalidRequest", text);
        let (sale, reference) = (Some(sale(update)), Some(reference(update)));
        let (movement_id, amount) = (Uuid::now_v7(), update.update_amount.abs());
        Ok(Some(match (self, exists) {
            (Action::Reserve { .. } | Action::Settle { .. }, _) => {
                return Err(invalid("PENDING updates reserve loyalty points only"))
            }
            (Action::Earn, true) => MoneyCommand::PayIn { movement_id, amount, reference, sale },
            (Action::Spend, true) => MoneyCommand::PayOut { movement_id, amount, reference, sale },
            (Action::Earn, false) if account_type == MoneyAccountType::CreditNote => {
                let currency = update
                    .currency_id
                    .clone()
                    .ok_or_else(|| invalid("issuing a credit note needs its currencyId (ISO 4217, e.g. GBP)"))?;
                let opened = MoneyAccountOpened {
                    account_type,
                    account_id: account_id.to_owned(),
                    contact_id: None,
                    currency,
                    credit_limit: None,
                    allowance: None,
                    period: None,
                };
                MoneyCommand::IssueCreditNote { opened, movement_id, amount, reference, sale }
            }
            (_, false) => return Ok(None),
        }))
    }

    fn command(self, update: &BalanceUpdate) -> AccountCommand {
        let sale = sale(update);
        let reference = Some(reference(update));
        let amount = update.update_amount.abs();
        let bonus_type = BonusType::Cash;
        match self {
            Action::Earn => AccountCommand::Accrue {
                lot_id: Uuid::now_v7(),
                amount,
                bonus_type,
                active_from: None,
                expires_at: None,
                reference,
                sale: Some(sale),
            },
            Action::Spend => AccountCommand::Redeem {
                redemption_id: Uuid::now_v7(),
                amount,
                bonus_type,
                reference,
                sale: Some(sale),
            },
            Action::Reserve { expires_at } => {
                AccountCommand::Reserve { reservation_id: Uuid::now_v7(), amount, bonus_type, expires_at, sale }
            }
            Action::Settle { complete } => AccountCommand::Settle { transaction: sale.transaction(), amount, complete },
        }
    }
}

/// The till transaction of an update.
fn sale(update: &BalanceUpdate) -> TillSale {
    let refund_of = update.original_transaction_id.clone().map(|transaction_id| TillTransaction {
        device_id: update.original_transaction_device_id.clone().unwrap_or_default(),
        transaction_id,
    });
    TillSale {
        device_id: update.device_id.id.clone(),
        location_id: update.location_id.clone(),
        transaction_id: update.transaction_id.clone(),
        refund_of,
    }
}

/// The till's `referenceId`, else the device and transaction.
fn reference(update: &BalanceUpdate) -> String {
    let own = || format!("enactor {} {}", update.device_id.id, update.transaction_id);
    update.reference_id.clone().filter(|r| !r.trim().is_empty()).unwrap_or_else(own)
}

/// What the update asks, or why it cannot be applied as written.
fn action(update: &BalanceUpdate, step: Step) -> Result<Action, &'static str> {
    let blank = |text: &str| text.trim().is_empty();
    let too_long = |text: &Option<String>| text.as_deref().is_some_and(|t| t.chars().count() > 64);
    if update.kind != "accountBalanceUpdate" || update.device_id.kind != "deviceKey" {
        return Err("@type must be accountBalanceUpdate, and deviceId's deviceKey");
    }
    if blank(&update.transaction_id) || update.transaction_id.chars().count() > 64 {
        return Err("transactionId must be 1 to 64 characters");
    }
    if blank(&update.device_id.id) || update.device_id.id.chars().count() > 64 {
        return Err("deviceId.id must be 1 to 64 characters");
    }
    if too_long(&update.location_id) || update.reference_id.as_deref().is_some_and(|r| r.chars().count() > 200) {
        return Err("locationId is at most 64 characters, referenceId at most 200");
    }
    if update.update_amount.is_zero() {
        return Err("updateAmount must not be zero");
    }
    let millis = |ms: Option<i64>| ms.is_some_and(|ms| !(0..=LATEST_MILLIS).contains(&ms));
    if millis(update.date_time_updated) || millis(update.expiry_time) {
        return Err("dateTimeUpdated and expiryTime must be epoch milliseconds, before the year 3000");
    }
    let longer = |text: &Option<String>, most: usize| text.as_deref().is_some_and(|t| t.chars().count() > most);
    if longer(&update.account_id, 64) || longer(&update.card_number, 64) || longer(&update.account_type, 64) {
        return Err("accountId, cardNumber and accountType are at most 64 characters");
    }
    if update.currency_id.as_deref().is_some_and(|c| c.len() != 3 || !c.chars().all(|c| c.is_ascii_uppercase())) {
        return Err("currencyId must be three capital letters (ISO 4217)");
    }
    let refund = match (&update.original_transaction_id, &update.original_transaction_device_id) {
        (None, None) => false,
        (Some(id), Some(device)) if !blank(id) && !blank(device) => {
            if id.chars().count() > 64 || device.chars().count() > 64 {
                return Err("originalTransactionId and originalTransactionDeviceId are at most 64 characters");
            }
            true
        }
        _ => return Err("a refund gives both originalTransactionId and originalTransactionDeviceId"),
    };
    let earns = update.update_amount > Decimal::ZERO;
    match (step, update.status.as_deref()) {
        (Step::Post, None | Some("COMPLETE" | "COMPLETED")) => Ok(if earns { Action::Earn } else { Action::Spend }),
        (Step::Post, Some("PENDING")) if refund || earns => {
            Err("PENDING reserves a tender: a negative updateAmount, and not on a refund")
        }
        (Step::Post, Some("PENDING")) => {
            let expires_at = match update.expiry_time.and_then(DateTime::from_timestamp_millis) {
                Some(at) if at > Utc::now() + LONGEST_RESERVATION => return Err("expiryTime is at most 7 days ahead"),
                Some(at) => at,
                None => Utc::now() + DEFAULT_RESERVATION,
            };
            Ok(Action::Reserve { expires_at })
        }
        (Step::Post, Some(_)) => Err("status must be COMPLETE or PENDING"),
        (Step::Settle, _) if refund || earns => {
            Err("only a PENDING tender is settled: a negative updateAmount, and not a refund")
        }
        (Step::Settle, Some("COMPLETE" | "COMPLETED")) => Ok(Action::Settle { complete: true }),
        (Step::Settle, Some("CANCELLED" | "CANCELED")) => Ok(Action::Settle { complete: false }),
        (Step::Settle, _) => Err("status must be COMPLETE or CANCELLED"),
    }
}
