//! What an enquiry answers: the account (loyalty or money), its customer and card, and its figures.

use chrono::Utc;
use rust_decimal::Decimal;
use serde::Serialize;
use tally_events::{BonusType, CardStatus, MoneyAccountType};
use tally_projections::{BucketStatus, CardView, ContactView, MoneyAccountView};
use utoipa::ToSchema;

use crate::{app::App, queries, store::StoreError};

/// An account: `@type` `customerLoyaltyAccount`, `customerDepositAccount`, `customerCreditAccount`,
/// `employeeAccount` or `creditNoteAccount`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = enactor::Account)]
pub struct Account {
    #[serde(rename = "@type")]
    #[schema(rename = "@type")]
    pub(in crate::http::enactor) kind: &'static str,
    /// A loyalty account's is the customer number; a money account's is its number (a credit note's serial).
    pub(in crate::http::enactor) account_id: String,
    pub(in crate::http::enactor) account_type: &'static str,
    /// `ACTIVE`, or `FROZEN` while a loyalty account's bonuses are frozen.
    pub(in crate::http::enactor) status: &'static str,
    /// The customer's number; none for a money account that belongs to no customer.
    pub(in crate::http::enactor) customer_number: Option<String>,
    /// `POINTS` for loyalty accounts; a money account's ISO 4217 currency.
    pub(in crate::http::enactor) currency_id: String,
    /// Loyalty accounts only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(in crate::http::enactor) loyalty_scheme_id: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(in crate::http::enactor) manual_tier_review: Option<bool>,
}

/// The account's customer.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = enactor::Customer)]
pub struct Customer {
    #[serde(rename = "@type")]
    #[schema(rename = "@type")]
    pub(in crate::http::enactor) kind: &'static str,
    pub(in crate::http::enactor) customer_number: String,
    pub(in crate::http::enactor) name: Option<String>,
    pub(in crate::http::enactor) email_address: Option<String>,
    pub(in crate::http::enactor) mobile_phone_number: Option<String>,
    /// The customer's postal address, when known (Tally keeps one).
    pub(in crate::http::enactor) addresses: Vec<CustomerAddress>,
}

/// A postal address of the customer.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = enactor::Address)]
pub struct CustomerAddress {
    #[serde(rename = "@type")]
    #[schema(rename = "@type")]
    pub(in crate::http::enactor) kind: &'static str,
    pub(in crate::http::enactor) street1: Option<String>,
    pub(in crate::http::enactor) street2: Option<String>,
    pub(in crate::http::enactor) town: Option<String>,
    pub(in crate::http::enactor) county: Option<String>,
    pub(in crate::http::enactor) post_code: Option<String>,
    pub(in crate::http::enactor) country: Option<String>,
}

/// The customer's card.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = enactor::CustomerCard)]
pub struct CustomerCard {
    #[serde(rename = "@type")]
    #[schema(rename = "@type")]
    pub(in crate::http::enactor) kind: &'static str,
    pub(in crate::http::enactor) card_number: String,
    /// `NEW`, `ISSUED`, `ACTIVE` or `BLOCKED`.
    pub(in crate::http::enactor) status: &'static str,
}

/// The account's figures, as decimal strings.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = enactor::CustomerLoyaltyAccountTotal)]
pub struct LoyaltyTotal {
    #[serde(rename = "@type")]
    #[schema(rename = "@type")]
    pub(in crate::http::enactor) kind: &'static str,
    /// Points that can be spent now.
    pub(in crate::http::enactor) points_balance: String,
    /// Points not active yet.
    pub(in crate::http::enactor) pending_points: String,
    /// Points frozen with the account (cash points: status points keep counting towards a tier).
    pub(in crate::http::enactor) frozen_points: String,
    /// Status points, frozen or not (they count towards a tier, not towards spending).
    pub(in crate::http::enactor) status_points: String,
    /// When the next points expire, in epoch milliseconds, and how many.
    pub(in crate::http::enactor) next_expiry_date: Option<i64>,
    pub(in crate::http::enactor) next_expiry_points: Option<String>,
}

/// A money account's figures, as decimal strings.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = enactor::AccountTotal)]
pub struct MoneyTotal {
    #[serde(rename = "@type")]
    #[schema(rename = "@type")]
    pub(in crate::http::enactor) kind: &'static str,
    /// Paid in less paid out: below zero on a credit account that owes.
    pub(in crate::http::enactor) balance: String,
    /// What may be paid out now, by the account's rule.
    pub(in crate::http::enactor) available: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(in crate::http::enactor) credit_limit: Option<String>,
    /// Employee accounts: the allowance per period, and what was spent in the current one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(in crate::http::enactor) allowance: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(in crate::http::enactor) spent_this_period: Option<String>,
}

/// What an enquiry found: the account, its customer and card, and its figures (a loyalty account's points or a
/// money account's balance).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = enactor::Enquired)]
pub struct Enquired {
    pub(in crate::http::enactor) account: Account,
    pub(in crate::http::enactor) account_description: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(in crate::http::enactor) customer: Option<Customer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(in crate::http::enactor) customer_card: Option<CustomerCard>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(in crate::http::enactor) customer_loyalty_account_total: Option<LoyaltyTotal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(in crate::http::enactor) account_total: Option<MoneyTotal>,
}

/// An enquiry's result: `Success`, `NoAccount` or `UnknownAccountType`.
#[derive(Serialize, ToSchema)]
#[schema(as = enactor::Outcome)]
pub struct Outcome {
    #[schema(pattern = "^(Success|NoAccount|UnknownAccountType)$")]
    pub(in crate::http::enactor) name: &'static str,
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
    pub(super) fn new(outcome: &'static str, enquired: Option<Enquired>) -> EnquiryResponse {
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
    account: Option<Account>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_description: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer: Option<Customer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer_card: Option<CustomerCard>,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer_loyalty_account_total: Option<LoyaltyTotal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_total: Option<MoneyTotal>,
    /// Messages for the till's operator (none so far).
    messages: Vec<String>,
}

impl AccountBalances {
    pub(super) fn new(outcome: &'static str, enquired: Option<Enquired>) -> AccountBalances {
        let mut balances = AccountBalances {
            kind: "accountBalances",
            outcome: Outcome { name: outcome },
            account: None,
            account_description: None,
            customer: None,
            customer_card: None,
            customer_loyalty_account_total: None,
            account_total: None,
            messages: Vec::new(),
        };
        if let Some(enquired) = enquired {
            balances.account = Some(enquired.account);
            balances.account_description = Some(enquired.account_description);
            balances.customer = enquired.customer;
            balances.customer_card = enquired.customer_card;
            balances.customer_loyalty_account_total = enquired.customer_loyalty_account_total;
            balances.account_total = enquired.account_total;
        }
        balances
    }
}

/// Tally's loyalty currency and scheme.
pub(super) const CURRENCY: &str = "POINTS";
const SCHEME: &str = "TALLY";

/// The loyalty account of `contact`.
pub(super) async fn loyalty(app: &App, contact: ContactView, card: Option<CardView>) -> Result<Enquired, StoreError> {
    let account = queries::account(&app.db, &contact.tenant, contact.contact_id).await?;
    let buckets = account.buckets(Utc::now());
    // Figures without trailing zeros: 18.25 + 7.25 points read 25.5, as the till showed them.
    let sum = |bonus_type: BonusType, status: BucketStatus| -> Decimal {
        let total: Decimal =
            buckets.iter().filter(|b| b.bonus_type == bonus_type && b.status == status).map(|b| b.amount).sum();
        total.normalize()
    };
    let nearest = buckets.iter().find(|b| b.bonus_type == BonusType::Cash && b.status == BucketStatus::NearestExpiry);
    Ok(Enquired {
        account: Account {
            kind: "customerLoyaltyAccount",
            account_id: contact.code.clone(),
            account_type: "customerLoyaltyAccount",
            status: if account.frozen { "FROZEN" } else { "ACTIVE" },
            customer_number: Some(contact.code.clone()),
            currency_id: CURRENCY.to_owned(),
            loyalty_scheme_id: Some(SCHEME),
            manual_tier_review: Some(false),
        },
        account_description: "Loyalty points",
        customer_card: card.map(customer_card),
        customer_loyalty_account_total: Some(LoyaltyTotal {
            kind: "customerLoyaltyAccountTotal",
            points_balance: sum(BonusType::Cash, BucketStatus::Active).to_string(),
            pending_points: sum(BonusType::Cash, BucketStatus::Inactive).to_string(),
            frozen_points: sum(BonusType::Cash, BucketStatus::Frozen).to_string(),
            status_points: (sum(BonusType::Status, BucketStatus::Active)
                + sum(BonusType::Status, BucketStatus::Frozen))
            .to_string(),
            next_expiry_date: nearest.and_then(|b| b.expire_date).map(|at| at.timestamp_millis()),
            next_expiry_points: nearest.map(|b| b.amount.normalize().to_string()),
        }),
        customer: Some(customer(contact)),
        account_total: None,
    })
}

/// The customer of a money account, and their card, when it has one.
pub(super) async fn owner_of(
    app: &App,
    view: &MoneyAccountView,
) -> Result<(Option<ContactView>, Option<CardView>), StoreError> {
    let Some(contact_id) = view.contact_id else { return Ok((None, None)) };
    let Some(owner) = queries::contact(&app.db, &view.tenant, contact_id).await? else { return Ok((None, None)) };
    let card = queries::live_card(&app.db, &view.tenant, contact_id).await?;
    Ok((Some(owner), card))
}

/// A money account, with its customer (and their card) when it has one.
pub(super) fn money(view: MoneyAccountView, owner: Option<ContactView>, card: Option<CardView>) -> Enquired {
    let (kind, description) = enactor_type(view.account_type);
    let text = |amount: Decimal| amount.normalize().to_string();
    let now = Utc::now();
    Enquired {
        account: Account {
            kind,
            account_id: view.account_id.clone(),
            account_type: kind,
            status: "ACTIVE",
            customer_number: owner.as_ref().map(|contact| contact.code.clone()),
            currency_id: view.currency.clone(),
            loyalty_scheme_id: None,
            manual_tier_review: None,
        },
        account_description: description,
        customer: owner.map(customer),
        customer_card: card.map(customer_card),
        customer_loyalty_account_total: None,
        account_total: Some(MoneyTotal {
            kind: "accountTotal",
            balance: text(view.balance),
            available: text(view.available(now)),
            credit_limit: view.credit_limit.map(text),
            allowance: view.allowance.map(text),
            spent_this_period: view.period.map(|_| text(view.spent_in(now))),
        }),
    }
}

/// The Enactor name and description of a money account type.
fn enactor_type(account_type: MoneyAccountType) -> (&'static str, &'static str) {
    match account_type {
        MoneyAccountType::Deposit => ("customerDepositAccount", "Deposit account"),
        MoneyAccountType::Credit => ("customerCreditAccount", "Credit account"),
        MoneyAccountType::Employee => ("employeeAccount", "Employee allowance"),
        MoneyAccountType::CreditNote => ("creditNoteAccount", "Credit note"),
    }
}

fn customer_card(card: CardView) -> CustomerCard {
    let status = match card.status {
        CardStatus::New => "NEW",
        CardStatus::Issued => "ISSUED",
        CardStatus::Active => "ACTIVE",
        CardStatus::Blocked => "BLOCKED",
    };
    CustomerCard { kind: "customerCard", card_number: card.number, status }
}

fn customer(contact: ContactView) -> Customer {
    Customer {
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
    }
}
