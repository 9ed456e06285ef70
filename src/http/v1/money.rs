//! `/v1/money-accounts`: opening a customer's deposit or credit account, an employee's allowance account, or issuing
//! a credit note; paying money in and out; reading an account with what may be paid out now.

use axum::{extract::State, http::StatusCode, response::Response, Json};
use chrono::Utc;
use rust_decimal::Decimal;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use tally_events::{AllowancePeriod, MoneyAccountOpened, MoneyAccountType};
use tally_projections::MoneyAccountView;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{events, write, ApiError, ErrorBody, EventRef, V1Caller, V1Path, Written};
use crate::{
    app::App,
    auth::Principal,
    commands::Stream,
    domain::money::{MoneyAggregate, MoneyCommand},
    http::{ingress::Incoming, Shared},
    queries,
};

pub fn routes() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(open))
        .routes(routes!(get_account))
        .routes(routes!(pay_in))
        .routes(routes!(pay_out))
}

fn money_schema() -> impl Into<utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>> {
    crate::http::openapi::decimal("A positive amount of money, at most 2 decimal places and at most 1,000,000,000")
}

/// A new money account. A credit limit is for credit accounts, an allowance with its period for employee accounts
/// (and required there); a credit note is issued with its `amount`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMoneyAccount {
    pub account_type: MoneyAccountType,
    /// The account number, a credit note's serial number: unique per type; generated (random) when absent.
    #[schema(pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    pub account_id: Option<String>,
    /// The customer (or employee) whose account it is.
    pub contact_id: Option<Uuid>,
    /// ISO 4217, e.g. `GBP`.
    #[schema(pattern = "^[A-Z]{3}$")]
    pub currency: String,
    #[schema(schema_with = money_schema)]
    pub credit_limit: Option<Decimal>,
    #[schema(schema_with = money_schema)]
    pub allowance: Option<Decimal>,
    pub period: Option<AllowancePeriod>,
    /// Credit notes: the value they are issued with.
    #[schema(schema_with = money_schema)]
    pub amount: Option<Decimal>,
    #[serde(default, deserialize_with = "super::text")]
    #[schema(max_length = 200)]
    pub reference: Option<String>,
}

/// A payment into or out of an account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Payment {
    #[schema(schema_with = money_schema)]
    pub amount: Decimal,
    #[serde(default, deserialize_with = "super::text")]
    #[schema(max_length = 200)]
    pub reference: Option<String>,
}

/// A money account's path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct MoneyAccountPath {
    pub account_type: MoneyAccountType,
    #[param(pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    pub account_id: String,
}

/// The answer to an opening: the account's type and id, and the events.
#[derive(Serialize, ToSchema)]
pub struct Opened {
    account_type: MoneyAccountType,
    account_id: String,
    events: Vec<EventRef>,
}

/// A money account as it stands.
#[derive(Serialize, ToSchema)]
pub struct MoneyAccountBody {
    account_type: MoneyAccountType,
    account_id: String,
    contact_id: Option<Uuid>,
    currency: String,
    /// Paid in less paid out (below zero on a credit account that owes).
    #[schema(value_type = String)]
    balance: Decimal,
    /// What may be paid out now, by the account's rule.
    #[schema(value_type = String)]
    available: Decimal,
    #[schema(value_type = Option<String>)]
    credit_limit: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    allowance: Option<Decimal>,
    period: Option<AllowancePeriod>,
    /// Employee accounts: spent in the current period.
    #[schema(value_type = Option<String>)]
    spent_this_period: Option<Decimal>,
    /// Held for purchases at vending machines between the selection and the dispense.
    #[schema(value_type = String)]
    held: Decimal,
    /// Stored payment references (their tokens are not shown).
    payment_references: Vec<PaymentReferenceBody>,
}

/// A stored payment reference, without its token.
#[derive(Serialize, ToSchema)]
pub struct PaymentReferenceBody {
    reference_id: String,
    label: Option<String>,
}

impl From<MoneyAccountView> for MoneyAccountBody {
    fn from(view: MoneyAccountView) -> MoneyAccountBody {
        let now = Utc::now();
        MoneyAccountBody {
            available: view.available(now),
            spent_this_period: view.period.map(|_| view.spent_in(now)),
            held: view.held(),
            payment_references: view
                .payment_references
                .iter()
                .map(|(id, r)| PaymentReferenceBody { reference_id: id.clone(), label: r.label.clone() })
                .collect(),
            account_type: view.account_type,
            account_id: view.account_id,
            contact_id: view.contact_id,
            currency: view.currency,
            balance: view.balance,
            credit_limit: view.credit_limit,
            allowance: view.allowance,
            period: view.period,
        }
    }
}

/// Open a money account, or issue a credit note.
#[utoipa::path(post, path = "/money-accounts", tag = "v1", request_body = NewMoneyAccount, responses(
    (status = 201, description = "Opened", body = Opened),
    (status = 404, description = "No such contact", body = ErrorBody),
    (status = 409, description = "An account of that type and id exists already", body = ErrorBody),
    (status = 422, description = "Invalid request, or terms that do not fit the type", body = ErrorBody),
))]
async fn open(State(app): State<Shared>, incoming: Incoming) -> Response {
    let plan = async move |app: &App, principal: &Principal, new: NewMoneyAccount| {
        let account_id = match &new.account_id {
            Some(id) => super::identifier(id, "account_id")?,
            // Random, not time-ordered: a credit note's serial is all a bearer needs to redeem it.
            None => format!("M{}", &Uuid::new_v4().simple().to_string()[..16].to_uppercase()),
        };
        if let Some(contact_id) = new.contact_id {
            if !app.reads.contact_exists(&app.db, &principal.tenant, contact_id).await? {
                return Err(ApiError::not_found("ContactNotFound", "no such contact"));
            }
        }
        let opened = MoneyAccountOpened {
            account_type: new.account_type,
            account_id: account_id.clone(),
            contact_id: new.contact_id,
            currency: new.currency,
            credit_limit: new.credit_limit,
            allowance: new.allowance,
            period: new.period,
        };
        let command = match (new.account_type, new.amount) {
            (MoneyAccountType::CreditNote, Some(amount)) => MoneyCommand::IssueCreditNote {
                opened,
                movement_id: Uuid::now_v7(),
                amount,
                reference: new.reference,
                sale: None,
            },
            (MoneyAccountType::CreditNote, None) => {
                return Err(ApiError::invalid("a credit note is issued with its amount"))
            }
            (_, Some(_)) => return Err(ApiError::invalid("amount is for credit notes; pay into other accounts")),
            (_, None) => MoneyCommand::Open(opened),
        };
        Ok(MoneyAggregate::target((new.account_type, account_id), command))
    };
    write(&app, incoming, plan, |envelopes| {
        let opened = envelopes.iter().find_map(|e| match e.event() {
            Ok(tally_events::Event::MoneyAccountOpened(opened)) => Some(opened),
            _ => None,
        });
        let (account_type, account_id) = opened.map(|o| (o.account_type, o.account_id)).unzip();
        let body = Opened {
            account_type: account_type.unwrap_or(MoneyAccountType::Deposit),
            account_id: account_id.unwrap_or_default(),
            events: events(envelopes),
        };
        (StatusCode::CREATED, body)
    })
    .await
}

/// A money account, with what may be paid out now.
#[utoipa::path(get, path = "/money-accounts/{account_type}/{account_id}", tag = "v1", params(MoneyAccountPath),
    responses(
        (status = 200, description = "The account", body = MoneyAccountBody),
        (status = 404, description = "No such money account", body = ErrorBody),
    )
)]
async fn get_account(
    State(app): State<Shared>,
    V1Caller { 0: principal, .. }: V1Caller,
    V1Path { 0: path, .. }: V1Path<MoneyAccountPath>,
) -> Result<Json<MoneyAccountBody>, ApiError> {
    let view = queries::money_account(&app.db, &principal.tenant, path.account_type, &path.account_id)
        .await?
        .ok_or_else(|| ApiError::not_found("MoneyAccountNotFound", "no such money account"))?;
    Ok(Json(view.into()))
}

/// Pay money into an account (a deposit, a repayment).
#[utoipa::path(post, path = "/money-accounts/{account_type}/{account_id}/payments-in", tag = "v1",
    params(MoneyAccountPath), request_body = Payment, responses(
        (status = 201, description = "Paid in", body = Written),
        (status = 404, description = "No such money account", body = ErrorBody),
        (status = 409, description = "Refused by the account's rule (a credit note is paid into once; an \\
            allowance is restored at most by what was spent this period)", body = ErrorBody),
        (status = 422, description = "Invalid request", body = ErrorBody),
    )
)]
async fn pay_in(
    State(app): State<Shared>,
    V1Path { 0: path, .. }: V1Path<MoneyAccountPath>,
    incoming: Incoming,
) -> Response {
    payment(&app, path, incoming, |p: Payment| MoneyCommand::PayIn {
        movement_id: Uuid::now_v7(),
        amount: p.amount,
        reference: p.reference,
        sale: None,
    })
    .await
}

/// Pay money out of an account (a withdrawal, a purchase).
#[utoipa::path(post, path = "/money-accounts/{account_type}/{account_id}/payments-out", tag = "v1",
    params(MoneyAccountPath), request_body = Payment, responses(
        (status = 201, description = "Paid out", body = Written),
        (status = 404, description = "No such money account", body = ErrorBody),
        (status = 409, description = "More than the account's rule allows now", body = ErrorBody),
        (status = 422, description = "Invalid request", body = ErrorBody),
    )
)]
async fn pay_out(
    State(app): State<Shared>,
    V1Path { 0: path, .. }: V1Path<MoneyAccountPath>,
    incoming: Incoming,
) -> Response {
    payment(&app, path, incoming, |p: Payment| MoneyCommand::PayOut {
        movement_id: Uuid::now_v7(),
        amount: p.amount,
        reference: p.reference,
        sale: None,
    })
    .await
}

async fn payment<T: DeserializeOwned>(
    app: &App,
    path: MoneyAccountPath,
    incoming: Incoming,
    command: fn(T) -> MoneyCommand,
) -> Response {
    let plan = async move |_: &App, _: &Principal, request: T| {
        let account_id = super::identifier(&path.account_id, "account_id")?;
        Ok(MoneyAggregate::target((path.account_type, account_id), command(request)))
    };
    write(app, incoming, plan, |envelopes| (StatusCode::CREATED, Written::of(envelopes))).await
}
