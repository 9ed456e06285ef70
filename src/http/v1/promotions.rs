//! `/v1` endpoints for promotions: register businesses, publish promotions, record wallet clips and the mobile
//! device's uses, void uses, read a promotion's live counters and the merchant's daily tally.

use axum::{
    extract::{rejection::QueryRejection, Query, State},
    http::{
        header::{CONTENT_DISPOSITION, CONTENT_TYPE},
        StatusCode,
    },
    response::{IntoResponse, Response},
    Json,
};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tally_events::{BusinessRegistered, PromotionChanged, PromotionPublished, ScanChannel};
use tally_projections::{
    load_business, load_promotion,
    tally::{self, TallyRow},
    PromotionState, PromotionView,
};

use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{events, required_text, write, ApiError, ErrorBody, EventRef, V1Caller, V1Path, Written};
use crate::{
    app::App,
    auth::Principal,
    commands::{Stream, Target},
    domain::promotion::{BusinessAggregate, PromotionAggregate, PromotionCommand},
    http::{ingress::Incoming, wording, Shared},
    scans::{self, valid_id, ScanError, ScanReport},
    store::StoreError,
};

/// A promotion's path: the business id and the network item id.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct PromotionKey {
    /// The business (ScanTrack `src`).
    #[param(pattern = r"^[A-Za-z0-9_.-]{1,64}$")]
    business_id: String,
    /// The network item (ScanTrack `id`).
    #[param(pattern = r"^[A-Za-z0-9_.-]{1,64}$")]
    promotion_id: String,
}

type PromotionPath = V1Path<PromotionKey>;

pub fn routes() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(register_business))
        .routes(routes!(publish))
        .routes(routes!(counters, change))
        .routes(routes!(clip))
        .routes(routes!(mobile_use))
        .routes(routes!(void))
        .routes(routes!(daily_tally))
}

fn check_id(text: &str, name: &str) -> Result<(), ApiError> {
    if valid_id(text) {
        Ok(())
    } else {
        Err(ApiError::invalid(format!("{name} must be 1 to 64 of A-Z, a-z, 0-9, _, . and -")))
    }
}

impl From<ScanError> for ApiError {
    fn from(error: ScanError) -> ApiError {
        match error {
            ScanError::Store(error) => error.into(),
            // The native API answers every invalid request with 422.
            ScanError::Invalid(message) => ApiError::invalid(message),
            error => {
                let (status, code) = wording::scan_status(&error);
                ApiError::new(status, code, error.to_string())
            }
        }
    }
}

fn promotion_target(business_id: String, promotion_id: String, command: PromotionCommand) -> Target {
    PromotionAggregate::target((business_id, promotion_id), command)
}

/// The caller's promotion: it exists and its business is the caller's.
async fn own_promotion(
    app: &App,
    principal: &Principal,
    business_id: &str,
    promotion_id: &str,
) -> Result<PromotionView, ApiError> {
    let mut conn = app.db.read.acquire().await.map_err(StoreError::from)?;
    let promotion = load_promotion(&mut conn, business_id, promotion_id).await.map_err(StoreError::from)?;
    match promotion {
        Some(promotion) if promotion.tenant == principal.tenant => Ok(promotion),
        Some(_) => Err(ScanError::NotYourBusiness.into()),
        None => Err(ScanError::UnknownPromotion.into()),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBusiness {
    /// The `src` of the business's barcodes: 1 to 64 of A-Z, a-z, 0-9, _, . and -; unique in the network.
    #[schema(pattern = r"^[A-Za-z0-9_.-]{1,64}$")]
    pub business_id: String,
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
}

/// Register a business (the `src` of its barcodes).
#[utoipa::path(post, path = "/businesses", tag = "v1", request_body = NewBusiness, responses(
    (status = 201, description = "Registered", body = Written),
    (status = 409, description = "The business id is taken", body = ErrorBody),
    (status = 422, description = "Invalid business", body = ErrorBody),
))]
async fn register_business(State(app): State<Shared>, incoming: Incoming) -> Response {
    let plan = async |_: &App, _: &Principal, business: NewBusiness| {
        check_id(&business.business_id, "business_id")?;
        required_text(&business.name, "name")?;
        let command = BusinessRegistered { business_id: business.business_id.clone(), name: business.name };
        Ok(BusinessAggregate::target(business.business_id, command))
    };
    write(&app, incoming, plan, |envelopes| (StatusCode::CREATED, Written::of(envelopes))).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPromotion {
    #[schema(pattern = r"^[A-Za-z0-9_.-]{1,64}$")]
    pub business_id: String,
    /// The network item id (ScanTrack `id`).
    #[schema(pattern = r"^[A-Za-z0-9_.-]{1,64}$")]
    pub promotion_id: String,
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub title: String,
    /// Uses accepted at most: 1 to 10,000,000.
    #[serde(deserialize_with = "super::whole")]
    #[schema(minimum = 1, maximum = 10_000_000)]
    pub cap: u32,
    pub ends_at: DateTime<Utc>,
    #[schema(value_type = String, pattern = r"^[0-9]+(\.[0-9]+)?$")]
    pub price_per_use: Decimal,
    #[schema(value_type = String, pattern = r"^[0-9]+(\.[0-9]+)?$")]
    pub price_per_clip: Decimal,
}

/// Publish a promotion with a size cap, an end date and prices.
#[utoipa::path(post, path = "/promotions", tag = "v1", request_body = NewPromotion, responses(
    (status = 201, description = "Published", body = Written),
    (status = 403, description = "The business is another merchant's", body = ErrorBody),
    (status = 404, description = "No such business", body = ErrorBody),
    (status = 409, description = "The promotion exists", body = ErrorBody),
    (status = 422, description = "Invalid promotion", body = ErrorBody),
))]
async fn publish(State(app): State<Shared>, incoming: Incoming) -> Response {
    let plan = async |app: &App, principal: &Principal, p: NewPromotion| {
        check_id(&p.business_id, "business_id")?;
        check_id(&p.promotion_id, "promotion_id")?;
        required_text(&p.title, "title")?;
        let mut conn = app.db.read.acquire().await.map_err(StoreError::from)?;
        let business = load_business(&mut conn, &p.business_id).await.map_err(StoreError::from)?;
        match business {
            Some(business) if business.tenant == principal.tenant => {}
            Some(_) => return Err(ScanError::NotYourBusiness.into()),
            None => return Err(ScanError::UnknownBusiness.into()),
        }
        let publication = PromotionPublished {
            business_id: p.business_id.clone(),
            promotion_id: p.promotion_id.clone(),
            title: p.title,
            cap: p.cap,
            ends_at: p.ends_at,
            price_per_use: p.price_per_use,
            price_per_clip: p.price_per_clip,
        };
        Ok(PromotionAggregate::target((p.business_id, p.promotion_id), PromotionCommand::Publish(publication)))
    };
    write(&app, incoming, plan, |envelopes| (StatusCode::CREATED, Written::of(envelopes))).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangedTerms {
    #[serde(default, deserialize_with = "super::whole_or_null")]
    #[schema(minimum = 1, maximum = 10_000_000)]
    pub cap: Option<u32>,
    pub ends_at: Option<DateTime<Utc>>,
    #[schema(value_type = Option<String>, pattern = r"^[0-9]+(\.[0-9]+)?$")]
    pub price_per_use: Option<Decimal>,
    #[schema(value_type = Option<String>, pattern = r"^[0-9]+(\.[0-9]+)?$")]
    pub price_per_clip: Option<Decimal>,
}

/// Change a promotion's cap, end date or prices; fields absent stay as they are.
#[utoipa::path(patch, path = "/promotions/{business_id}/{promotion_id}", tag = "v1", params(PromotionKey),
    request_body = ChangedTerms, responses(
        (status = 200, description = "Changed (no events when nothing changed)", body = Written),
        (status = 403, description = "The promotion is another merchant's", body = ErrorBody),
        (status = 404, description = "No such promotion", body = ErrorBody),
        (status = 422, description = "Invalid terms", body = ErrorBody),
    )
)]
async fn change(
    State(app): State<Shared>,
    PromotionPath { 0: PromotionKey { business_id, promotion_id }, .. }: PromotionPath,
    incoming: Incoming,
) -> Response {
    let plan = async move |app: &App, principal: &Principal, terms: ChangedTerms| {
        own_promotion(app, principal, &business_id, &promotion_id).await?;
        let change = PromotionChanged {
            cap: terms.cap,
            ends_at: terms.ends_at,
            price_per_use: terms.price_per_use,
            price_per_clip: terms.price_per_clip,
        };
        Ok(promotion_target(business_id, promotion_id, PromotionCommand::Change(change)))
    };
    write(&app, incoming, plan, |envelopes| (StatusCode::OK, Written::of(envelopes))).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClip {
    /// The wallet item the coupon became (ScanTrack `aid`).
    #[schema(pattern = r"^[A-Za-z0-9_.-]{1,64}$")]
    pub wallet_item_id: String,
    #[serde(default, deserialize_with = "super::text")]
    #[schema(max_length = 200)]
    pub customer_key: Option<String>,
}

/// Record a coupon saved to a wallet.
#[utoipa::path(post, path = "/promotions/{business_id}/{promotion_id}/clips", tag = "v1", params(PromotionKey),
    request_body = NewClip, responses(
        (status = 201, description = "Recorded (no events for a clip recorded before)", body = Written),
        (status = 403, description = "The promotion is another merchant's", body = ErrorBody),
        (status = 404, description = "No such promotion", body = ErrorBody),
        (status = 422, description = "Invalid clip", body = ErrorBody),
    )
)]
async fn clip(
    State(app): State<Shared>,
    PromotionPath { 0: PromotionKey { business_id, promotion_id }, .. }: PromotionPath,
    incoming: Incoming,
) -> Response {
    let plan = async move |app: &App, principal: &Principal, clip: NewClip| {
        check_id(&clip.wallet_item_id, "wallet_item_id")?;
        own_promotion(app, principal, &business_id, &promotion_id).await?;
        let command = PromotionCommand::Clip {
            wallet_item_id: clip.wallet_item_id,
            customer_key: clip.customer_key,
            billed: !app.billing.bills_per_use(&app.db, &principal.tenant).await?,
            business_day: scans::business_day(app, &principal.tenant, Utc::now()).await?,
        };
        Ok(promotion_target(business_id, promotion_id, command))
    };
    write(&app, incoming, plan, |envelopes| (StatusCode::CREATED, Written::of(envelopes))).await
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MobileUse {
    /// The wallet item scanned, when the coupon came from a wallet.
    #[schema(pattern = r"^[A-Za-z0-9_.-]{1,64}$")]
    pub wallet_item_id: Option<String>,
    /// The customer, when known.
    #[schema(max_length = 128, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub customer_key: Option<String>,
}

/// What became of a reported use.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UseResult {
    /// Counted now.
    Accepted,
    /// Not counted: the cap is reached or the promotion ended (the refusal is recorded).
    Refused,
    /// Counted before (e.g. reported by the POS).
    Duplicate,
}

#[derive(Serialize, ToSchema)]
pub struct UseAnswer {
    result: UseResult,
    events: Vec<EventRef>,
}

/// Record a use reported by the network's mobile device: counted once even when the POS reports it too.
#[utoipa::path(post, path = "/promotions/{business_id}/{promotion_id}/uses", tag = "v1", params(PromotionKey),
    request_body = MobileUse, responses(
        (status = 200, description = "Accepted, refused (cap reached or ended; recorded) or a duplicate", body = UseAnswer),
        (status = 403, description = "The promotion is another merchant's", body = ErrorBody),
        (status = 404, description = "No such promotion", body = ErrorBody),
        (status = 422, description = "Invalid use", body = ErrorBody),
    )
)]
async fn mobile_use(
    State(app): State<Shared>,
    PromotionPath { 0: PromotionKey { business_id, promotion_id }, .. }: PromotionPath,
    incoming: Incoming,
) -> Response {
    let plan = async move |app: &App, principal: &Principal, report: MobileUse| {
        let report = ScanReport {
            src: Some(business_id),
            aid: report.wallet_item_id,
            id: Some(promotion_id),
            iid: None,
            key: report.customer_key,
        };
        Ok(scans::use_command(app, &principal.tenant, &report, ScanChannel::Mobile).await?.target)
    };
    write(&app, incoming, plan, |envelopes| {
        let result = match envelopes.first().map(|e| e.event_type.as_str()) {
            Some("CouponUsed") => UseResult::Accepted,
            Some("CouponScanRefused") => UseResult::Refused,
            _ => UseResult::Duplicate,
        };
        (StatusCode::OK, UseAnswer { result, events: events(envelopes) })
    })
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Void {
    /// The identity of the use, as the scan's answer gave it.
    #[schema(min_length = 1, max_length = 200)]
    pub use_id: String,
    #[serde(default, deserialize_with = "super::text")]
    #[schema(max_length = 200)]
    pub reason: Option<String>,
}

/// Void a use: it leaves the cap and the tally.
#[utoipa::path(post, path = "/promotions/{business_id}/{promotion_id}/voids", tag = "v1", params(PromotionKey),
    request_body = Void, responses(
        (status = 201, description = "Voided (no events for a use voided before)", body = Written),
        (status = 403, description = "The promotion is another merchant's", body = ErrorBody),
        (status = 404, description = "No such promotion", body = ErrorBody),
        (status = 409, description = "No counted use with this id", body = ErrorBody),
        (status = 422, description = "Invalid void", body = ErrorBody),
    )
)]
async fn void(
    State(app): State<Shared>,
    PromotionPath { 0: PromotionKey { business_id, promotion_id }, .. }: PromotionPath,
    incoming: Incoming,
) -> Response {
    let plan = async move |app: &App, principal: &Principal, void: Void| {
        required_text(&void.use_id, "use_id")?;
        own_promotion(app, principal, &business_id, &promotion_id).await?;
        let business_day = scans::business_day(app, &principal.tenant, Utc::now()).await?;
        let command = PromotionCommand::Void { use_id: void.use_id, reason: void.reason, business_day };
        Ok(promotion_target(business_id, promotion_id, command))
    };
    write(&app, incoming, plan, |envelopes| (StatusCode::CREATED, Written::of(envelopes))).await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Counters {
    pub business_id: String,
    pub promotion_id: String,
    pub title: String,
    pub cap: u32,
    pub used: u32,
    pub remaining: u32,
    pub refused: u32,
    pub voided: u32,
    pub clips: u32,
    /// on, off (its cap is reached) or ended.
    #[schema(value_type = String, pattern = "^(on|off|ended)$")]
    pub state: PromotionState,
    pub ends_at: DateTime<Utc>,
}

/// A promotion's live counters: cap, used, remaining, state.
#[utoipa::path(get, path = "/promotions/{business_id}/{promotion_id}", tag = "v1", params(PromotionKey), responses(
    (status = 200, description = "The counters", body = Counters),
    (status = 403, description = "The promotion is another merchant's", body = ErrorBody),
    (status = 404, description = "No such promotion", body = ErrorBody),
))]
async fn counters(
    State(app): State<Shared>,
    V1Caller { 0: principal, .. }: V1Caller,
    PromotionPath { 0: PromotionKey { business_id, promotion_id }, .. }: PromotionPath,
) -> Result<Json<Counters>, ApiError> {
    let p = own_promotion(&app, &principal, &business_id, &promotion_id).await?;
    Ok(Json(Counters {
        state: p.state(Utc::now()),
        remaining: p.remaining(),
        business_id: p.business_id,
        promotion_id: p.promotion_id,
        title: p.title,
        cap: p.terms.cap,
        used: p.used,
        refused: p.refused,
        voided: p.voided,
        clips: p.clips,
        ends_at: p.terms.ends_at,
    }))
}

/// The day of a tally, and how to download it.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TallyQuery {
    /// The business day, YYYY-MM-DD, in the merchant's time zone.
    pub date: NaiveDate,
    /// `csv` for a CSV download; JSON when absent.
    #[param(inline)]
    pub format: Option<TallyFormat>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TallyFormat {
    Json,
    Csv,
}

/// A promotion's line of the daily tally.
#[derive(Serialize, ToSchema)]
pub struct TallyLine {
    business_id: String,
    promotion_id: String,
    #[serde(flatten)]
    counts: TallyCounts,
}

/// What a day counted, and what the merchant owes for it.
#[derive(Serialize, ToSchema)]
pub struct TallyCounts {
    uses: u32,
    clips: u32,
    voids: u32,
    refused: u32,
    #[schema(value_type = String, pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    receivable: String,
}

/// The merchant's daily tally: per promotion and in total.
#[derive(Serialize, ToSchema)]
pub struct DailyTally {
    business_day: NaiveDate,
    merchant: String,
    promotions: Vec<TallyLine>,
    total: TallyCounts,
}

/// The merchant's daily tally, from the projection: per promotion and in total; `format=csv` for a CSV download.
#[utoipa::path(get, path = "/tally/daily", tag = "v1", params(TallyQuery), responses(
    (status = 200, description = "The tally", content((DailyTally = "application/json"), (String = "text/csv"))),
    (status = 422, description = "No date, a malformed one, an unknown format or another parameter", body = ErrorBody),
))]
async fn daily_tally(
    State(app): State<Shared>,
    V1Caller { 0: principal, .. }: V1Caller,
    query: Result<Query<TallyQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::invalid(format!("{e}: use ?date=YYYY-MM-DD[&format=csv]")))?;
    let mut conn = app.db.read.acquire().await.map_err(StoreError::from)?;
    let rows = tally::projected(&mut conn, query.date, Some(&principal.tenant)).await.map_err(StoreError::from)?;
    if query.format == Some(TallyFormat::Csv) {
        let disposition = format!("attachment; filename=\"tally-{}-{}.csv\"", principal.tenant, query.date);
        return Ok((
            [(CONTENT_TYPE, "text/csv".to_owned()), (CONTENT_DISPOSITION, disposition)],
            tally::csv(query.date, &rows),
        )
            .into_response());
    }
    let counts = |uses, clips, voids, refused, receivable: Decimal| TallyCounts {
        uses,
        clips,
        voids,
        refused,
        receivable: receivable.to_string(),
    };
    let total = |f: fn(&TallyRow) -> u32| rows.iter().map(f).sum::<u32>();
    let body = DailyTally {
        business_day: query.date,
        merchant: principal.tenant.clone(),
        promotions: rows
            .iter()
            .map(|r| TallyLine {
                business_id: r.business_id.clone(),
                promotion_id: r.promotion_id.clone(),
                counts: counts(r.uses, r.clips, r.voids, r.refused, r.receivable),
            })
            .collect(),
        total: counts(
            total(|r| r.uses),
            total(|r| r.clips),
            total(|r| r.voids),
            total(|r| r.refused),
            rows.iter().map(|r| r.receivable).sum(),
        ),
    };
    Ok(Json(body).into_response())
}
