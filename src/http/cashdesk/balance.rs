//! Balances: by card number, phone, contact code, or number-or-code, in the seed's shape and reference codes.

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    response::Response,
};
use chrono::Utc;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Map;
use tally_events::{BonusType, CardCategory, CardStatus, CardType};
use tally_projections::{BonusBucket, BucketStatus, CardView};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{log::log_response, BalanceAnswer, CashDesk, CashDeskPath, Envelope, Fault};
use crate::{
    app::App,
    domain::ids::{CardNumber, ContactCode, MobileNumber},
    http::{ingress, ingress::Responder, json_stored, stored, Shared, Surface},
    queries::{self, CardBalance},
};

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(as = cashdesk::Balance)]
pub struct Balance {
    number: String,
    mobile_number: Option<String>,
    code: Option<String>,
    status_code: &'static str,
    status_name: &'static str,
    name: Option<String>,
    category_code: &'static str,
    category_name: &'static str,
    type_code: &'static str,
    type_name: &'static str,
    bonuses: Vec<Bonus>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(as = cashdesk::Bonus)]
struct Bonus {
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    #[schema(value_type = f64)]
    amount: Decimal,
    status_code: &'static str,
    status_name: &'static str,
    /// RFC 3339 UTC; only for the nearest-expiry bucket.
    expire_date: Option<String>,
    type_code: &'static str,
    type_name: &'static str,
}

/// The seed's reference codes (strings, zero-based where the extraction lost the digits) and names.
fn card_status(status: CardStatus) -> (&'static str, &'static str) {
    match status {
        CardStatus::New => ("0", "New"),
        CardStatus::Issued => ("1", "Issued"),
        CardStatus::Active => ("2", "Active"),
        CardStatus::Blocked => ("3", "Blocked"),
    }
}

fn category(category: CardCategory) -> (&'static str, &'static str) {
    match category {
        CardCategory::Plastic => ("0", "Plastic"),
        CardCategory::Virtual => ("1", "Virtual"),
    }
}

fn card_type(card_type: CardType) -> (&'static str, &'static str) {
    match card_type {
        CardType::Bonus => ("0", "Bonus"),
        CardType::Discount => ("1", "Discount"),
        CardType::BonusDiscount => ("2", "Bonus/Discount"),
    }
}

fn bucket_status(status: BucketStatus) -> (&'static str, &'static str) {
    match status {
        BucketStatus::Active => ("0", "active"),
        BucketStatus::Inactive => ("1", "inactive"),
        BucketStatus::Burnt => ("2", "burnt"),
        BucketStatus::Frozen => ("3", "frozen"),
        BucketStatus::NearestExpiry => ("4", "nearest-expiry"),
    }
}

fn bonus_type(bonus_type: BonusType) -> (&'static str, &'static str) {
    match bonus_type {
        BonusType::Cash => ("0", "cash"),
        BonusType::Status => ("1", "status"),
    }
}

fn bonus(bucket: &BonusBucket) -> Bonus {
    let (status_code, status_name) = bucket_status(bucket.status);
    let (type_code, type_name) = bonus_type(bucket.bonus_type);
    Bonus {
        amount: bucket.amount,
        status_code,
        status_name,
        expire_date: bucket.expire_date.map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        type_code,
        type_name,
    }
}

fn balance(found: CardBalance) -> Balance {
    let CardBalance { card, contact, buckets } = found;
    let (status_code, status_name) = card_status(card.status);
    let (category_code, category_name) = category(card.category);
    let (type_code, type_name) = card_type(card.card_type);
    Balance {
        number: card.number,
        mobile_number: contact.as_ref().and_then(|c| c.details.mobile_number.clone()),
        code: contact.as_ref().map(|c| c.code.clone()),
        status_code,
        status_name,
        name: contact.as_ref().and_then(|c| c.details.name.clone()),
        category_code,
        category_name,
        type_code,
        type_name,
        bonuses: buckets.iter().map(bonus).collect(),
    }
}

/// How a balance request names its card.
pub(super) enum Lookup {
    Number(String),
    Phone(String),
    Code(String),
    /// `balance/by/{value}`: the seed gives number and code the same path. A value that is a registered card
    /// number is one; otherwise it is a contact code. Errors follow the form: all digits reads as a card number.
    NumberOrCode(String),
}

pub(super) async fn find_card(app: &App, tenant: &str, lookup: Lookup) -> Result<CardView, Fault> {
    let db = &app.db;
    match lookup {
        Lookup::Number(text) => {
            let number = CardNumber::parse(&text).ok_or(Fault::InvalidCardNumber)?;
            queries::card(db, tenant, number.as_str()).await?.ok_or(Fault::CannotFindCardNumber)
        }
        Lookup::Phone(text) => {
            let mobile = MobileNumber::parse(&text).ok_or(Fault::InvalidMobileNumber)?;
            let contact =
                queries::contact_by_mobile(db, tenant, mobile.as_str()).await?.ok_or(Fault::CannotFindMobileNumber)?;
            queries::live_card(db, tenant, contact.contact_id).await?.ok_or(Fault::CannotFindMobileNumber)
        }
        Lookup::Code(text) => {
            let code = ContactCode::parse(&text).ok_or(Fault::InvalidContactCode)?;
            let contact =
                queries::contact_by_code(db, tenant, code.as_str()).await?.ok_or(Fault::CannotFindContactCode)?;
            queries::live_card(db, tenant, contact.contact_id).await?.ok_or(Fault::CannotFindContactCode)
        }
        Lookup::NumberOrCode(text) => {
            if let Some(number) = CardNumber::parse(&text) {
                if let Some(card) = queries::card(db, tenant, number.as_str()).await? {
                    return Ok(card);
                }
            }
            let all_digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
            match Box::pin(find_card(app, tenant, Lookup::Code(text))).await {
                Err(Fault::CannotFindContactCode) if all_digits => Err(Fault::CannotFindCardNumber),
                Err(Fault::InvalidContactCode) if all_digits => Err(Fault::InvalidCardNumber),
                other => other,
            }
        }
    }
}

/// Answers a balance request, logged as the seed asks. Authentication is checked here, not by an extractor, so
/// that a refused caller is logged as an integration error too.
async fn balance_answer(app: &Surface, headers: &HeaderMap, lookup: Lookup) -> Response {
    let result = async {
        let principal = ingress::authenticate(app, headers, CashDesk.surface()).await.map_err(Fault::from)?;
        let card = find_card(app, &principal.tenant, lookup).await?;
        let found = queries::card_balance(&app.db, card, Utc::now()).await?;
        let answer = BalanceAnswer { envelope: Envelope::ok(), balance: balance(found) };
        Ok::<_, Fault>(json_stored(StatusCode::OK, &answer))
    }
    .await;
    let response = result.unwrap_or_else(|fault| fault.stored());
    log_response(app.log_requests, "balance", &Map::new(), &response);
    stored(&response, false)
}

/// Declares the balance handlers, one per way of naming the card, and their router.
macro_rules! balances {
    ($($handler:ident $path:literal $summary:literal param $param:tt => $lookup:ident;)+) => {
        $(
            #[doc = $summary]
            #[utoipa::path(get, path = $path, tag = "cashdesk", params($param), responses(
                (status = 200, description = "The card's balance by bucket, in the seed's envelope", body = BalanceAnswer),
                (status = 400, description = "A malformed number, phone or code", body = Envelope),
                (status = 404, description = "No card found", body = Envelope),
            ))]
            async fn $handler(State(app): State<Shared>, headers: HeaderMap, value: CashDeskPath) -> Response {
                balance_answer(&app, &headers, Lookup::$lookup(value.0)).await
            }
        )+

        pub fn routes() -> OpenApiRouter<Shared> {
            OpenApiRouter::new()$(.routes(routes!($handler)))+
        }
    };
}

balances! {
    by_phone "/balance/by/phone/{phone}" "Card balance by the contact's mobile number."
        param ("phone" = String, Path, pattern = r"^\+?[1-9][0-9]{9,14}$", description = "E.164, with or without `+`")
        => Phone;
    by_number "/balance/by/number/{number}" "Card balance by card number."
        param ("number" = String, Path, pattern = r"^[0-9]{6,19}$", description = "The card number: 6 to 19 digits")
        => Number;
    by_code "/balance/by/code/{code}" "Card balance by contact code."
        param ("code" = String, Path, pattern = r"^[A-Za-z0-9_-]{1,64}$", description = "The contact code")
        => Code;
    by_number_or_code "/balance/by/{number}" "Card balance by card number, or by contact code when no card has that number."
        param ("number" = String, Path, pattern = r"^[A-Za-z0-9_-]{1,64}$", description = "A card number or a contact code")
        => NumberOrCode;
}
