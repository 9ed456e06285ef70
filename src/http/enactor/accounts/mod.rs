//! Account search and balance enquiry: `GET /accounts/search/`, `GET /accounts/{accountType}/{accountId}` and
//! `GET /accountbalances`. A loyalty account is found by customer number (`accountId`) or card number (`pan`); a
//! money account by its type and number (`accountId`), or among its customer's accounts by card number.

mod enquired;

use axum::{extract::State, http::StatusCode, response::Response, Json};
use serde::Deserialize;
use tally_events::MoneyAccountType;
use tally_projections::{CardView, ContactView, MoneyAccountView};
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

pub(super) use enquired::{AccountBalances, Customer, Enquired, EnquiryResponse, Outcome};

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

/// Which of a customer's accounts an enquiry asks for, by the Enactor account type it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Wanted {
    /// No type: every account of the customer.
    All,
    Loyalty,
    Money(MoneyAccountType),
    /// A type Enactor names that Tally holds no accounts of (`customerSpendAccount`).
    Nothing,
}

impl Wanted {
    /// lowerCamel or PascalCase, as the vendor writes them both; also the vendor's own sample's misspelling
    /// `customerLoyalatyAccount`. `creditNoteAccount` (or `creditNote`) is Tally's name for credit notes.
    fn parse(text: &str) -> Option<Wanted> {
        let names = [
            ("customerloyaltyaccount", Wanted::Loyalty),
            ("customerloyalatyaccount", Wanted::Loyalty),
            ("customerdepositaccount", Wanted::Money(MoneyAccountType::Deposit)),
            ("customercreditaccount", Wanted::Money(MoneyAccountType::Credit)),
            ("employeeaccount", Wanted::Money(MoneyAccountType::Employee)),
            ("creditnoteaccount", Wanted::Money(MoneyAccountType::CreditNote)),
            ("creditnote", Wanted::Money(MoneyAccountType::CreditNote)),
            ("customerspendaccount", Wanted::Nothing),
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
    /// `customerLoyaltyAccount`, `customerDepositAccount`, `customerCreditAccount`, `employeeAccount`,
    /// `creditNoteAccount` (lowerCamel or PascalCase), or another Enactor account type.
    pub(super) account_type: Option<String>,
    /// The account id: for a loyalty account (or all of a customer's accounts), the customer number; for a money
    /// account, its number.
    pub(super) account_id: Option<String>,
    /// A card number.
    pub(super) pan: Option<String>,
    /// A hashed card number: Tally keeps none, so it finds no account.
    pub(super) hashed_pan: Option<String>,
    /// `POINTS` for loyalty accounts; a money account's currency (e.g. `GBP`).
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
    /// `customerLoyaltyAccount`, `customerDepositAccount`, `customerCreditAccount`, `employeeAccount`,
    /// `creditNoteAccount`, or another Enactor account type.
    account_type: String,
    /// For a loyalty account, the customer number; for a money account, its number.
    account_id: String,
}

/// What an enquiry found: the accounts, or that the account type is unknown.
pub(super) enum Found {
    Accounts(Vec<Enquired>),
    UnknownType,
}

/// The account `query` names, before anything is read of a loyalty account itself.
pub(super) enum Resolved {
    /// A customer (or none), and which of their accounts are asked for.
    Customer(Option<Box<(ContactView, Option<CardView>)>>, Wanted),
    /// A money account named by its type and number (none when there is no such account, or it is not the
    /// `subject`'s).
    Money(MoneyAccountType, String, Option<Box<MoneyAccountView>>),
    UnknownType,
}

/// How many of the accounts found an enquiry answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scope {
    /// A search: every one.
    Every,
    /// An enquiry: the first (the loyalty account, when it is among them).
    First,
}

/// The accounts `query` names, as the caller (restricted to `subject` when given) may see them.
pub(super) async fn find(
    app: &App,
    tenant: &str,
    subject: Option<&str>,
    query: AccountQuery,
    scope: Scope,
) -> Result<Found, Refused> {
    let outage = |error: StoreError| Refused::outage(&error);
    let currency = query.currency_id.clone().map(|c| c.trim().to_ascii_uppercase()).filter(|c| !c.is_empty());
    let mut accounts = match resolve(app, tenant, subject, query).await? {
        Resolved::UnknownType => return Ok(Found::UnknownType),
        Resolved::Money(_, _, view) => match view {
            Some(view) => {
                let (owner, card) = enquired::owner_of(app, &view).await.map_err(outage)?;
                vec![enquired::money(*view, owner, card)]
            }
            None => Vec::new(),
        },
        Resolved::Customer(None, _) | Resolved::Customer(_, Wanted::Nothing) => Vec::new(),
        Resolved::Customer(Some(found), wanted) => {
            let (contact, card) = *found;
            let loyalty = matches!(wanted, Wanted::All | Wanted::Loyalty)
                && currency.as_deref().is_none_or(|currency| currency == enquired::CURRENCY);
            // An enquiry answers with the loyalty account when it is wanted: the money accounts need not be read.
            let money = match wanted {
                Wanted::All | Wanted::Money(_) if !(loyalty && scope == Scope::First) => {
                    queries::money_accounts(&app.db, tenant, contact.contact_id).await.map_err(outage)?
                }
                _ => Vec::new(),
            };
            let money = money
                .into_iter()
                .filter(|view| wanted == Wanted::All || wanted == Wanted::Money(view.account_type))
                .map(|view| enquired::money(view, Some(contact.clone()), card.clone()))
                .collect::<Vec<_>>();
            let mut accounts = Vec::new();
            if loyalty {
                accounts.push(enquired::loyalty(app, contact, card).await.map_err(outage)?);
            }
            accounts.extend(money);
            accounts
        }
    };
    accounts.retain(|found| currency.as_ref().is_none_or(|currency| &found.account.currency_id == currency));
    Ok(Found::Accounts(accounts))
}

/// The customer or money account `query` names, as the caller (restricted to `subject`) may see it.
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
    let outage = |error: StoreError| Refused::outage(&error);
    let wanted = match query.account_type.as_deref().map(Wanted::parse) {
        Some(None) => return Ok(Resolved::UnknownType),
        Some(Some(wanted)) => wanted,
        None => Wanted::All,
    };
    if let (Wanted::Money(account_type), Some(account_id)) = (wanted, &query.account_id) {
        let view = queries::money_account(&app.db, tenant, account_type, account_id).await.map_err(outage)?;
        let view = match (view, subject) {
            (Some(view), Some(subject)) => {
                let owner = match view.contact_id {
                    Some(contact_id) => queries::contact(&app.db, tenant, contact_id).await.map_err(outage)?,
                    None => None,
                };
                owner.filter(|owner| owner.code == subject).map(|_| view)
            }
            (view, None) => view,
            (None, Some(_)) => None,
        };
        return Ok(Resolved::Money(account_type, account_id.clone(), view.map(Box::new)));
    }
    if query.hashed_pan.is_some() && query.account_id.is_none() && query.pan.is_none() {
        return Ok(Resolved::Customer(None, wanted));
    }
    let found = lookup(app, tenant, query).await.map_err(outage)?;
    let found = found.filter(|(contact, _)| subject.is_none_or(|subject| contact.code == subject));
    Ok(Resolved::Customer(found.map(Box::new), wanted))
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
    let found = find(&app, &till.tenant, subject(&headers).as_deref(), query, Scope::Every).await;
    let answers = match found.map_err(Refused::rest)? {
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
    let (outcome, enquired) = single(
        find(&app, &till.tenant, subject(&headers).as_deref(), query, Scope::First).await.map_err(Refused::rest)?,
    );
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
    let (outcome, enquired) = single(
        find(&app, &till.tenant, subject(&headers).as_deref(), query, Scope::First).await.map_err(Refused::rest)?,
    );
    Ok(Json(AccountBalances::new(outcome, enquired)))
}
