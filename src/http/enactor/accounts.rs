//! Loyalty account search and balance enquiry: `GET /accounts/search/`, `GET /accounts/{accountType}/{accountId}`
//! and `GET /accountbalances`, by customer number (`accountId`) or card number (`pan`).

use axum::{extract::State, http::StatusCode, response::Response, Json};
use chrono::Utc;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tally_events::{BonusType, CardStatus};
use tally_projections::{BucketStatus, CardView, ContactView};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{subject, Enactor, EnactorCaller, EnactorQuery, ErrorMessage, Refused};
use crate::{
    app::App,
    http::{ingress::PathParams, Shared},
    queries,
    store::StoreError,
};

pub fn routes() -> OpenApiRouter<Shared> {
    OpenApiRouter::new().routes(routes!(search)).routes(routes!(by_key)).routes(routes!(balances))
}

/// The account types Enactor names. Tally holds loyalty accounts; the others have no accounts yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AccountType {
    CustomerLoyalty,
    CustomerDeposit,
    CustomerCredit,
    CustomerSpend,
    Employee,
}

impl AccountType {
    /// lowerCamel or PascalCase, as the vendor writes them both; also the vendor's own sample's misspelling
    /// `customerLoyalatyAccount`.
    fn parse(text: &str) -> Option<AccountType> {
        let names = [
            ("customerloyaltyaccount", AccountType::CustomerLoyalty),
            ("customerloyalatyaccount", AccountType::CustomerLoyalty),
            ("customerdepositaccount", AccountType::CustomerDeposit),
            ("customercreditaccount", AccountType::CustomerCredit),
            ("customerspendaccount", AccountType::CustomerSpend),
            ("employeeaccount", AccountType::Employee),
        ];
        let text = text.trim().to_ascii_lowercase();
        names.iter().find(|(name, _)| *name == text).map(|(_, kind)| *kind)
    }
}

/// How a till names the accounts it asks for.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct AccountQuery {
    /// `customerLoyaltyAccount` (lowerCamel or PascalCase), or another Enactor account type.
    pub(super) account_type: Option<String>,
    /// The account id: for a loyalty account, the customer number.
    pub(super) account_id: Option<String>,
    /// A card number.
    pub(super) pan: Option<String>,
    /// A hashed card number: Tally keeps none, so it finds no account.
    pub(super) hashed_pan: Option<String>,
    /// `POINTS` for loyalty accounts.
    pub(super) currency_id: Option<String>,
    /// The till's location (for information).
    pub(super) location_id: Option<String>,
}

/// No query parameters: an enquiry by key takes none, and refuses any.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoQuery {}

/// An account's path.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Path, rename_all = "camelCase")]
pub struct AccountKey {
    /// `customerLoyaltyAccount`, or another Enactor account type.
    account_type: String,
    /// For a loyalty account, the customer number.
    account_id: String,
}

/// A loyalty account.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = enactor::CustomerLoyaltyAccount)]
pub struct LoyaltyAccount {
    #[serde(rename = "@type")]
    #[schema(rename = "@type")]
    pub(super) kind: &'static str,
    pub(super) account_id: String,
    pub(super) account_type: &'static str,
    /// `ACTIVE`, or `FROZEN` while the account's bonuses are frozen.
    pub(super) status: &'static str,
    pub(super) customer_number: String,
    pub(super) currency_id: &'static str,
    pub(super) loyalty_scheme_id: &'static str,
    pub(super) manual_tier_review: bool,
}

/// The account's customer.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = enactor::Customer)]
pub struct Customer {
    #[serde(rename = "@type")]
    #[schema(rename = "@type")]
    pub(super) kind: &'static str,
    pub(super) customer_number: String,
    pub(super) name: Option<String>,
    pub(super) email_address: Option<String>,
    pub(super) mobile_phone_number: Option<String>,
    /// The customer's postal address, when known (Tally keeps one).
    pub(super) addresses: Vec<CustomerAddress>,
}

/// A postal address of the customer.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = enactor::Address)]
pub struct CustomerAddress {
    #[serde(rename = "@type")]
    #[schema(rename = "@type")]
    pub(super) kind: &'static str,
    pub(super) street1: Option<String>,
    pub(super) street2: Option<String>,
    pub(super) town: Option<String>,
    pub(super) county: Option<String>,
    pub(super) post_code: Option<String>,
    pub(super) country: Option<String>,
}

/// The customer's card.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = enactor::CustomerCard)]
pub struct CustomerCard {
    #[serde(rename = "@type")]
    #[schema(rename = "@type")]
    pub(super) kind: &'static str,
    pub(super) card_number: String,
    /// `NEW`, `ISSUED`, `ACTIVE` or `BLOCKED`.
    pub(super) status: &'static str,
}

/// The account's figures, as decimal strings.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = enactor::CustomerLoyaltyAccountTotal)]
pub struct LoyaltyTotal {
    #[serde(rename = "@type")]
    #[schema(rename = "@type")]
    pub(super) kind: &'static str,
    /// Points that can be spent now.
    pub(super) points_balance: String,
    /// Points not active yet.
    pub(super) pending_points: String,
    /// Points frozen with the account (cash points: status points keep counting towards a tier).
    pub(super) frozen_points: String,
    /// Status points, frozen or not (they count towards a tier, not towards spending).
    pub(super) status_points: String,
    /// When the next points expire, in epoch milliseconds, and how many.
    pub(super) next_expiry_date: Option<i64>,
    pub(super) next_expiry_points: Option<String>,
}

/// What an enquiry found.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = enactor::Enquired)]
pub struct Enquired {
    pub(super) account: LoyaltyAccount,
    pub(super) account_description: &'static str,
    pub(super) customer: Customer,
    pub(super) customer_card: Option<CustomerCard>,
    pub(super) customer_loyalty_account_total: LoyaltyTotal,
}

/// An enquiry's result: `Success`, `NoAccount` or `UnknownAccountType`.
#[derive(Serialize, ToSchema)]
#[schema(as = enactor::Outcome)]
pub struct Outcome {
    #[schema(pattern = "^(Success|NoAccount|UnknownAccountType)$")]
    pub(super) name: &'static str,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = enactor::AccountBalanceEnquiryOutput)]
pub struct EnquiryOutput {
    #[serde(rename = "@type")]
    #[schema(rename = "@type")]
    kind: &'static str,
    #[serde(flatten)]
    enquired: Enquired,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = enactor::AccountBalanceEnquiryResponse)]
pub struct EnquiryResponse {
    #[serde(rename = "@type")]
    #[schema(rename = "@type")]
    kind: &'static str,
    outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_balance_enquiry_output: Option<EnquiryOutput>,
}

impl EnquiryResponse {
    fn new(outcome: &'static str, enquired: Option<Enquired>) -> EnquiryResponse {
        EnquiryResponse {
            kind: "accountBalanceEnquiryResponse",
            outcome: Outcome { name: outcome },
            account_balance_enquiry_output: enquired
                .map(|enquired| EnquiryOutput { kind: "accountBalanceEnquiryOutput", enquired }),
        }
    }
}

/// `GET /accountbalances`: the enquiry's outcome beside what it found, in one object.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = enactor::AccountBalances)]
pub struct AccountBalances {
    #[serde(rename = "@type")]
    #[schema(rename = "@type")]
    kind: &'static str,
    outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    account: Option<LoyaltyAccount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_description: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer: Option<Customer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer_card: Option<CustomerCard>,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer_loyalty_account_total: Option<LoyaltyTotal>,
    /// Messages for the till's operator (none so far).
    messages: Vec<String>,
}

impl AccountBalances {
    fn new(outcome: &'static str, enquired: Option<Enquired>) -> AccountBalances {
        let mut balances = AccountBalances {
            kind: "accountBalances",
            outcome: Outcome { name: outcome },
            account: None,
            account_description: None,
            customer: None,
            customer_card: None,
            customer_loyalty_account_total: None,
            messages: Vec::new(),
        };
        if let Some(enquired) = enquired {
            balances.account = Some(enquired.account);
            balances.account_description = Some(enquired.account_description);
            balances.customer = Some(enquired.customer);
            balances.customer_card = enquired.customer_card;
            balances.customer_loyalty_account_total = Some(enquired.customer_loyalty_account_total);
        }
        balances
    }
}

/// What an enquiry found: the accounts, or that the account type is unknown.
pub(super) enum Found {
    Accounts(Vec<Enquired>),
    UnknownType,
}

/// The loyalty account `query` names, as its customer (and card), before anything is read of the account itself.
pub(super) enum Resolved {
    /// Found (or not) among the loyalty accounts.
    Customer(Option<Box<(ContactView, Option<CardView>)>>),
    UnknownType,
}

/// The accounts `query` names, as the caller (restricted to `subject` when given) may see them.
pub(super) async fn find(
    app: &App,
    tenant: &str,
    subject: Option<&str>,
    query: AccountQuery,
) -> Result<Found, Refused> {
    match resolve(app, tenant, subject, query).await? {
        Resolved::UnknownType => Ok(Found::UnknownType),
        Resolved::Customer(None) => Ok(Found::Accounts(Vec::new())),
        Resolved::Customer(Some(found)) => {
            let (contact, card) = *found;
            let enquired = enquire(app, contact, card).await.map_err(|error| Refused::outage(&error))?;
            Ok(Found::Accounts(vec![enquired]))
        }
    }
}

/// The customer whose loyalty account `query` names, as the caller (restricted to `subject`) may see it.
pub(super) async fn resolve(
    app: &App,
    tenant: &str,
    subject: Option<&str>,
    query: AccountQuery,
) -> Result<Resolved, Refused> {
    // A till's query template sends every parameter, the unused ones blank: blank is absent.
    let given = |value: Option<String>| value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let query = AccountQuery {
        account_type: given(query.account_type),
        account_id: given(query.account_id),
        pan: given(query.pan),
        hashed_pan: given(query.hashed_pan),
        currency_id: given(query.currency_id),
        location_id: given(query.location_id),
    };
    let query = &query;
    tracing::debug!(tenant, location = query.location_id.as_deref(), "Enactor account enquiry");
    if query.account_id.is_none() && query.pan.is_none() && query.hashed_pan.is_none() {
        return Err(Refused::new(StatusCode::BAD_REQUEST, "InvalidRequest", "give accountId, pan or hashedPan"));
    }
    match query.account_type.as_deref().map(AccountType::parse) {
        Some(None) => return Ok(Resolved::UnknownType),
        Some(Some(kind)) if kind != AccountType::CustomerLoyalty => return Ok(Resolved::Customer(None)),
        _ => {}
    }
    let points = query.currency_id.as_deref().is_none_or(|currency| currency.eq_ignore_ascii_case(CURRENCY));
    if !points || (query.hashed_pan.is_some() && query.account_id.is_none() && query.pan.is_none()) {
        return Ok(Resolved::Customer(None));
    }
    let found = lookup(app, tenant, query).await.map_err(|error| Refused::outage(&error))?;
    let found = found.filter(|(contact, _)| subject.is_none_or(|subject| contact.code == subject));
    Ok(Resolved::Customer(found.map(Box::new)))
}

/// The customer (and card) `accountId` and `pan` name; both must name the same customer.
async fn lookup(
    app: &App,
    tenant: &str,
    query: &AccountQuery,
) -> Result<Option<(ContactView, Option<CardView>)>, StoreError> {
    // None: no pan given; Some(None): a pan that names no bound card.
    let by_card = match query.pan.as_deref() {
        None => None,
        Some(pan) => Some(match queries::card(&app.db, tenant, pan).await? {
            Some(card) => match card.contact_id {
                Some(contact_id) => queries::contact(&app.db, tenant, contact_id).await?.map(|c| (c, Some(card))),
                None => None,
            },
            None => None,
        }),
    };
    match (query.account_id.as_deref(), by_card) {
        (Some(code), Some(found)) => Ok(found.filter(|(contact, _)| contact.code == code)),
        (None, Some(found)) => Ok(found),
        (Some(code), None) => {
            let Some(contact) = queries::contact_by_code(&app.db, tenant, code).await? else { return Ok(None) };
            let card = queries::live_card(&app.db, tenant, contact.contact_id).await?;
            Ok(Some((contact, card)))
        }
        (None, None) => Ok(None),
    }
}

/// Tally's loyalty currency and scheme.
const CURRENCY: &str = "POINTS";
const SCHEME: &str = "TALLY";

async fn enquire(app: &App, contact: ContactView, card: Option<CardView>) -> Result<Enquired, StoreError> {
    let account = queries::account(&app.db, &contact.tenant, contact.contact_id).await?;
    let buckets = account.buckets(Utc::now());
    // Figures without trailing zeros: 18.25 + 7.25 points read 25.5, as the till showed them.
    let sum = |bonus_type: BonusType, status: BucketStatus| -> Decimal {
        let total: Decimal =
            buckets.iter().filter(|b| b.bonus_type == bonus_type && b.status == status).map(|b| b.amount).sum();
        total.normalize()
    };
    let nearest = buckets.iter().find(|b| b.bonus_type == BonusType::Cash && b.status == BucketStatus::NearestExpiry);
    let card_status = |status| match status {
        CardStatus::New => "NEW",
        CardStatus::Issued => "ISSUED",
        CardStatus::Active => "ACTIVE",
        CardStatus::Blocked => "BLOCKED",
    };
    Ok(Enquired {
        account: LoyaltyAccount {
            kind: "customerLoyaltyAccount",
            account_id: contact.code.clone(),
            account_type: "customerLoyaltyAccount",
            status: if account.frozen { "FROZEN" } else { "ACTIVE" },
            customer_number: contact.code.clone(),
            currency_id: CURRENCY,
            loyalty_scheme_id: SCHEME,
            manual_tier_review: false,
        },
        account_description: "Loyalty points",
        customer_card: card.map(|card| CustomerCard {
            kind: "customerCard",
            card_number: card.number,
            status: card_status(card.status),
        }),
        customer_loyalty_account_total: LoyaltyTotal {
            kind: "customerLoyaltyAccountTotal",
            points_balance: sum(BonusType::Cash, BucketStatus::Active).to_string(),
            pending_points: sum(BonusType::Cash, BucketStatus::Inactive).to_string(),
            frozen_points: sum(BonusType::Cash, BucketStatus::Frozen).to_string(),
            status_points: (sum(BonusType::Status, BucketStatus::Active)
                + sum(BonusType::Status, BucketStatus::Frozen))
            .to_string(),
            next_expiry_date: nearest.and_then(|b| b.expire_date).map(|at| at.timestamp_millis()),
            next_expiry_points: nearest.map(|b| b.amount.normalize().to_string()),
        },
        customer: Customer {
            kind: "customer",
            customer_number: contact.code,
            name: contact.details.name,
            email_address: contact.details.email,
            mobile_phone_number: contact.details.mobile_number,
            addresses: contact
                .details
                .address
                .into_iter()
                .map(|address| CustomerAddress {
                    kind: "address",
                    street1: address.street1,
                    street2: address.street2,
                    town: address.town,
                    county: address.county,
                    post_code: address.postcode,
                    country: address.country,
                })
                .collect(),
        },
    })
}

/// Loyalty account search: the accounts of the customer an `accountId` (customer number) or a `pan` (card number)
/// names, each `Success`; none when nothing matches; one `UnknownAccountType` answer for an unknown type.
#[utoipa::path(get, path = "/accounts/search/", tag = "enactor", params(AccountQuery), responses(
    (status = 200, description = "The accounts found", body = Vec<EnquiryResponse>),
    (status = 400, description = "No accountId, pan or hashedPan, or a malformed parameter", body = ErrorMessage),
))]
async fn search(
    State(app): State<Shared>,
    EnactorCaller { 0: till, .. }: EnactorCaller,
    EnactorQuery { 0: query, .. }: EnactorQuery<AccountQuery>,
    headers: axum::http::HeaderMap,
) -> Result<Json<Vec<EnquiryResponse>>, Response> {
    let answers = match find(&app, &till.tenant, subject(&headers).as_deref(), query).await.map_err(Refused::rest)? {
        Found::UnknownType => vec![EnquiryResponse::new("UnknownAccountType", None)],
        Found::Accounts(accounts) => accounts.into_iter().map(|a| EnquiryResponse::new("Success", Some(a))).collect(),
    };
    Ok(Json(answers))
}

/// Account balance enquiry by account type and id: outcome `Success` with the account, `NoAccount`, or
/// `UnknownAccountType`.
#[utoipa::path(get, path = "/accounts/{accountType}/{accountId}", tag = "enactor", params(AccountKey), responses(
    (status = 200, description = "The enquiry's outcome, and the account when found", body = EnquiryResponse),
))]
async fn by_key(
    State(app): State<Shared>,
    EnactorCaller { 0: till, .. }: EnactorCaller,
    PathParams { 0: key, .. }: PathParams<AccountKey, Enactor>,
    EnactorQuery { 0: NoQuery {}, .. }: EnactorQuery<NoQuery>,
    headers: axum::http::HeaderMap,
) -> Result<Json<EnquiryResponse>, Response> {
    let query = AccountQuery {
        account_type: Some(key.account_type),
        account_id: Some(key.account_id),
        pan: None,
        hashed_pan: None,
        currency_id: None,
        location_id: None,
    };
    let (outcome, enquired) =
        single(find(&app, &till.tenant, subject(&headers).as_deref(), query).await.map_err(Refused::rest)?);
    Ok(Json(EnquiryResponse::new(outcome, enquired)))
}

/// One account's outcome, and the account when found.
pub(super) fn single(found: Found) -> (&'static str, Option<Enquired>) {
    match found {
        Found::UnknownType => ("UnknownAccountType", None),
        Found::Accounts(accounts) => match accounts.into_iter().next() {
            Some(account) => ("Success", Some(account)),
            None => ("NoAccount", None),
        },
    }
}

/// Account balance enquiry by `accountId` or `pan`, as one object: the enquiry's `outcome` beside the account, its
/// description, customer, card and totals.
#[utoipa::path(get, path = "/accountbalances", tag = "enactor", params(AccountQuery), responses(
    (status = 200, description = "The enquiry's outcome, and the account when found", body = AccountBalances),
    (status = 400, description = "No accountId, pan or hashedPan, or a malformed parameter", body = ErrorMessage),
))]
async fn balances(
    State(app): State<Shared>,
    EnactorCaller { 0: till, .. }: EnactorCaller,
    EnactorQuery { 0: query, .. }: EnactorQuery<AccountQuery>,
    headers: axum::http::HeaderMap,
) -> Result<Json<AccountBalances>, Response> {
    let (outcome, enquired) =
        single(find(&app, &till.tenant, subject(&headers).as_deref(), query).await.map_err(Refused::rest)?);
    Ok(Json(AccountBalances::new(outcome, enquired)))
}
