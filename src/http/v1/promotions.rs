//! `/v1` endpoints for promotions: register businesses, publish promotions, record wallet clips and the mobile
//! device's uses, void uses, read a promotion's live counters and the merchant's daily tally.

use axum::{
    extract::{rejection::QueryRejection, Query, State},
    http::{
        header::{CONTENT_DISPOSITION, CONTENT_TYPE},
        StatusCode,
    },
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tally_events::{BusinessRegistered, PromotionChanged, PromotionPublished, ScanChannel};
use tally_projections::{
    load_business, load_promotion,
    tally::{self, TallyRow},
    PromotionState, PromotionView,
};

use super::{events_json, write, ApiError, V1Caller, V1Path};
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
type PromotionPath = V1Path<(String, String)>;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/businesses", post(register_business))
        .route("/promotions", post(publish))
        .route("/promotions/{business_id}/{promotion_id}", get(counters).patch(change))
        .route("/promotions/{business_id}/{promotion_id}/clips", post(clip))
        .route("/promotions/{business_id}/{promotion_id}/uses", post(mobile_use))
        .route("/promotions/{business_id}/{promotion_id}/voids", post(void))
        .route("/tally/daily", get(daily_tally))
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

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBusiness {
    /// The `src` of the business's barcodes: 1 to 64 of A-Z, a-z, 0-9, _, . and -; unique in the network.
    pub business_id: String,
    pub name: String,
}

async fn register_business(State(app): State<Shared>, incoming: Incoming) -> Response {
    let plan = async |_: &App, _: &Principal, business: NewBusiness| {
        check_id(&business.business_id, "business_id")?;
        if business.name.trim().is_empty() || business.name.len() > 200 {
            return Err(ApiError::invalid("name must be 1 to 200 characters"));
        }
        let command = BusinessRegistered { business_id: business.business_id.clone(), name: business.name };
        Ok(BusinessAggregate::target(business.business_id, command))
    };
    write(&app, incoming, plan, |envelopes| {
        (StatusCode::CREATED, serde_json::json!({ "events": events_json(envelopes) }))
    })
    .await
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPromotion {
    pub business_id: String,
    /// The network item id (ScanTrack `id`).
    pub promotion_id: String,
    pub title: String,
    /// Uses accepted at most: 1 to 10,000,000.
    pub cap: u32,
    pub ends_at: DateTime<Utc>,
    #[schemars(with = "String")]
    pub price_per_use: Decimal,
    #[schemars(with = "String")]
    pub price_per_clip: Decimal,
}

async fn publish(State(app): State<Shared>, incoming: Incoming) -> Response {
    let plan = async |app: &App, principal: &Principal, p: NewPromotion| {
        check_id(&p.business_id, "business_id")?;
        check_id(&p.promotion_id, "promotion_id")?;
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
    write(&app, incoming, plan, |envelopes| {
        (StatusCode::CREATED, serde_json::json!({ "events": events_json(envelopes) }))
    })
    .await
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangedTerms {
    pub cap: Option<u32>,
    pub ends_at: Option<DateTime<Utc>>,
    #[schemars(with = "Option<String>")]
    pub price_per_use: Option<Decimal>,
    #[schemars(with = "Option<String>")]
    pub price_per_clip: Option<Decimal>,
}

/// New terms for a promotion: fields absent stay as they are.
async fn change(
    State(app): State<Shared>,
    PromotionPath { 0: (business_id, promotion_id), .. }: PromotionPath,
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
    write(&app, incoming, plan, |envelopes| (StatusCode::OK, serde_json::json!({ "events": events_json(envelopes) })))
        .await
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClip {
    /// The wallet item the coupon became (ScanTrack `aid`).
    pub wallet_item_id: String,
    pub customer_key: Option<String>,
}

async fn clip(
    State(app): State<Shared>,
    PromotionPath { 0: (business_id, promotion_id), .. }: PromotionPath,
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
    write(&app, incoming, plan, |envelopes| {
        (StatusCode::CREATED, serde_json::json!({ "events": events_json(envelopes) }))
    })
    .await
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MobileUse {
    /// The wallet item scanned, when the coupon came from a wallet.
    pub wallet_item_id: Option<String>,
    /// The customer, when known.
    pub customer_key: Option<String>,
}

/// A use reported by the network's mobile device: counted once even when the POS reports it too.
async fn mobile_use(
    State(app): State<Shared>,
    PromotionPath { 0: (business_id, promotion_id), .. }: PromotionPath,
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
            Some("CouponUsed") => "accepted",
            Some("CouponScanRefused") => "refused",
            _ => "duplicate",
        };
        (StatusCode::OK, serde_json::json!({ "result": result, "events": events_json(envelopes) }))
    })
    .await
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Void {
    /// The identity of the use, as the scan's answer gave it.
    pub use_id: String,
    pub reason: Option<String>,
}

async fn void(
    State(app): State<Shared>,
    PromotionPath { 0: (business_id, promotion_id), .. }: PromotionPath,
    incoming: Incoming,
) -> Response {
    let plan = async move |app: &App, principal: &Principal, void: Void| {
        own_promotion(app, principal, &business_id, &promotion_id).await?;
        let business_day = scans::business_day(app, &principal.tenant, Utc::now()).await?;
        let command = PromotionCommand::Void { use_id: void.use_id, reason: void.reason, business_day };
        Ok(promotion_target(business_id, promotion_id, command))
    };
    write(&app, incoming, plan, |envelopes| {
        (StatusCode::CREATED, serde_json::json!({ "events": events_json(envelopes) }))
    })
    .await
}

#[derive(Debug, Serialize, JsonSchema)]
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
    #[schemars(with = "String")]
    pub state: PromotionState,
    pub ends_at: DateTime<Utc>,
}

async fn counters(
    State(app): State<Shared>,
    V1Caller { 0: principal, .. }: V1Caller,
    PromotionPath { 0: (business_id, promotion_id), .. }: PromotionPath,
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

#[derive(Debug, Deserialize, JsonSchema)]
pub struct TallyQuery {
    /// The business day, YYYY-MM-DD, in the merchant's time zone.
    pub date: NaiveDate,
    /// `csv` for a CSV download; JSON otherwise.
    pub format: Option<String>,
}

/// The caller's daily tally, from the projection: per promotion and in total.
async fn daily_tally(
    State(app): State<Shared>,
    V1Caller { 0: principal, .. }: V1Caller,
    query: Result<Query<TallyQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::invalid(format!("{e}: use ?date=YYYY-MM-DD[&format=csv]")))?;
    let mut conn = app.db.read.acquire().await.map_err(StoreError::from)?;
    let rows = tally::projected(&mut conn, query.date, Some(&principal.tenant)).await.map_err(StoreError::from)?;
    if query.format.as_deref() == Some("csv") {
        let disposition = format!("attachment; filename=\"tally-{}-{}.csv\"", principal.tenant, query.date);
        return Ok((
            [(CONTENT_TYPE, "text/csv".to_owned()), (CONTENT_DISPOSITION, disposition)],
            tally::csv(query.date, &rows),
        )
            .into_response());
    }
    let total = |f: fn(&TallyRow) -> u32| rows.iter().map(f).sum::<u32>();
    let receivable: Decimal = rows.iter().map(|r| r.receivable).sum();
    let body = serde_json::json!({
        "business_day": query.date,
        "merchant": principal.tenant,
        "promotions": rows.iter().map(|r| serde_json::json!({
            "business_id": r.business_id, "promotion_id": r.promotion_id, "uses": r.uses, "clips": r.clips,
            "voids": r.voids, "refused": r.refused, "receivable": r.receivable.to_string(),
        })).collect::<Vec<_>>(),
        "total": {
            "uses": total(|r| r.uses), "clips": total(|r| r.clips), "voids": total(|r| r.voids),
            "refused": total(|r| r.refused), "receivable": receivable.to_string(),
        },
    });
    Ok(Json(body).into_response())
}
