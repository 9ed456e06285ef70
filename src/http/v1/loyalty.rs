//! `/v1/loyalty-campaigns`: the merchant's loyalty campaigns of Footprints' codes (reference data: each declaration
//! is an event), the codes issued to them (up to 100,000 in one call, all or none), and their counters. Footprints'
//! `/api/loyaltyCode/...` hands the codes out and redeems them.

use axum::{extract::State, http::StatusCode, response::Response, Json};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tally_events::{CampaignLocation, LoyaltyCampaignDeclared, LoyaltySettings, PrizeType};
use tally_projections::{CodeCounters, LoyaltyCampaignView};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{identifier, required_text, write, ApiError, ErrorBody, V1Caller, V1Path, Written};
use crate::{
    app::App,
    auth::Principal,
    commands::Stream,
    domain::loyalty::{CampaignAggregate, CampaignCommand},
    http::{ingress::Incoming, Shared},
    loyalty::{self, Issue, DEFAULT_CHARS, MAX_CODES_PER_CALL},
    store::hex,
};

/// The largest body of an issue (100,000 codes of 32 characters, quoted).
const MAX_ISSUE_BYTES: usize = 4 * 1024 * 1024;
/// The most prize types a campaign has.
const MAX_PRIZE_TYPES: usize = 50;

pub fn routes() -> OpenApiRouter<Shared> {
    OpenApiRouter::new().routes(routes!(declare_campaign, get_campaign)).routes(routes!(list_campaigns)).merge(
        OpenApiRouter::new().routes(routes!(issue_codes)).layer(axum::extract::DefaultBodyLimit::max(MAX_ISSUE_BYTES)),
    )
}

/// A campaign's internal id.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CampaignPath {
    /// 1 to 64 letters, digits, `_` or `-` (Footprints' `campaignInternalId`).
    #[param(pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    internal_id: String,
}

/// A campaign's declaration.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignText {
    /// 1 to 200 characters.
    name: String,
    /// Footprints' campaign type; `drive_loyalty` when absent.
    #[serde(default, rename = "type")]
    campaign_type: Option<String>,
    /// Codes are handed out from `start_date` until `end_date` (after it).
    start_date: DateTime<Utc>,
    end_date: DateTime<Utc>,
    /// Codes are redeemed or blocked until then.
    expire_codes_date: DateTime<Utc>,
    #[serde(default)]
    location: Option<LocationText>,
    loyalty_settings: SettingsText,
    #[serde(default)]
    landing_page_url: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationText {
    /// A location of the catalogue: 1 to 64 letters, digits, `_` or `-`.
    id: String,
    name: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsText {
    /// `standard` (the default) or `instant`.
    #[serde(default, rename = "type")]
    kind: Option<String>,
    /// The characters of generated codes: 2 or more of capitals, digits and `-`; capitals and digits without
    /// 0, O, 1 and I when absent.
    #[serde(default)]
    allowed_chars: Option<String>,
    /// The length of generated codes: 4 to 32; 8 when absent.
    #[serde(default)]
    #[schema(minimum = 4, maximum = 32)]
    code_length: Option<u8>,
    /// 1 to 50 prize types, each code stands for one.
    prize_types: Vec<PrizeText>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrizeText {
    /// 24 hexadecimal digits; made from the name when absent (the same name keeps the same id).
    #[serde(default)]
    id: Option<String>,
    /// 1 to 200 characters.
    name: String,
    /// The points a code of this prize is worth: 0 to 1,000,000,000.
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    points_value: i64,
}

/// 24 hexadecimal digits made from `parts` (Footprints' ids are that long).
fn made_id(parts: &[&str]) -> String {
    hex(&Sha256::digest(parts.join("/").as_bytes())[..12])
}

fn is_id(text: &str) -> bool {
    text.len() == 24 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The declaration `text` makes of campaign `internal_id`.
fn declared(internal_id: &str, text: CampaignText) -> Result<LoyaltyCampaignDeclared, ApiError> {
    required_text(&text.name, "name")?;
    if text.start_date >= text.end_date {
        return Err(ApiError::invalid("start_date must be before end_date"));
    }
    let kind = text.loyalty_settings.kind.unwrap_or_else(|| "standard".into());
    if !["standard", "instant"].contains(&kind.as_str()) {
        return Err(ApiError::invalid("loyalty_settings.type must be standard or instant"));
    }
    let allowed_chars = text.loyalty_settings.allowed_chars.filter(|c| !c.is_empty()).unwrap_or(DEFAULT_CHARS.into());
    let mut chars: Vec<char> = allowed_chars.chars().collect();
    chars.sort_unstable();
    chars.dedup();
    if chars.len() < 2 || !chars.iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '-') {
        return Err(ApiError::invalid("loyalty_settings.allowed_chars must be 2 or more of capitals, digits and -"));
    }
    let code_length = text.loyalty_settings.code_length.unwrap_or(8);
    if !(4..=32).contains(&code_length) {
        return Err(ApiError::invalid("loyalty_settings.code_length must be 4 to 32"));
    }
    let prizes = text.loyalty_settings.prize_types;
    if prizes.is_empty() || prizes.len() > MAX_PRIZE_TYPES {
        return Err(ApiError::invalid(format!("a campaign has 1 to {MAX_PRIZE_TYPES} prize types")));
    }
    let mut prize_types: Vec<PrizeType> = Vec::with_capacity(prizes.len());
    for prize in prizes {
        required_text(&prize.name, "prize_types.name")?;
        if !(0..=1_000_000_000).contains(&prize.points_value) {
            return Err(ApiError::invalid("prize_types.points_value must be 0 to 1,000,000,000"));
        }
        let id = match prize.id {
            Some(id) if is_id(&id) => id.to_ascii_lowercase(),
            Some(_) => return Err(ApiError::invalid("prize_types.id must be 24 hexadecimal digits")),
            None => made_id(&[internal_id, "prize", &prize.name]),
        };
        if prize_types.iter().any(|known| known.id == id) {
            return Err(ApiError::invalid(format!("prize type {id} is given twice (or two have the same name)")));
        }
        prize_types.push(PrizeType { id, name: prize.name, points_value: prize.points_value });
    }
    let location = match text.location {
        Some(location) => {
            required_text(&location.name, "location.name")?;
            Some(CampaignLocation { id: identifier(&location.id, "location.id")?, name: location.name })
        }
        None => None,
    };
    let campaign_type = text.campaign_type.unwrap_or_else(|| "drive_loyalty".into());
    required_text(&campaign_type, "type")?;
    if let Some(url) = &text.landing_page_url {
        required_text(url, "landing_page_url")?;
    }
    Ok(LoyaltyCampaignDeclared {
        id: made_id(&[internal_id, "campaign"]),
        name: text.name,
        campaign_type,
        starts_at: text.start_date,
        ends_at: text.end_date,
        codes_expire_at: text.expire_codes_date,
        location,
        settings: LoyaltySettings { kind, allowed_chars, code_length, prize_types },
        landing_page_url: text.landing_page_url,
    })
}

/// Declare a loyalty campaign, or change one (a change records an event; the same declaration again records
/// nothing). A prize type that has codes stays.
#[utoipa::path(put, path = "/loyalty-campaigns/{internal_id}", tag = "v1", params(CampaignPath),
    request_body = CampaignText, responses(
        (status = 200, description = "Declared (no events when nothing changed)", body = Written),
        (status = 409, description = "The change removes a prize type that has codes (PrizeTypeInUse)", body = ErrorBody),
        (status = 422, description = "A declaration that cannot be used", body = ErrorBody),
    ))]
async fn declare_campaign(
    State(app): State<Shared>,
    V1Path { 0: CampaignPath { internal_id }, .. }: V1Path<CampaignPath>,
    incoming: Incoming,
) -> Response {
    let plan = async move |_: &App, _: &Principal, text: CampaignText| {
        let internal_id = identifier(&internal_id, "internal_id")?;
        let declared = declared(&internal_id, text)?;
        Ok(CampaignAggregate::target(internal_id, CampaignCommand::Declare(declared)))
    };
    write(&app, incoming, plan, |envelopes| (StatusCode::OK, Written::of(envelopes))).await
}

/// Codes to issue: the codes themselves, or how many to generate (of the campaign's characters and length).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueText {
    /// The prize type the codes stand for.
    prize_id: String,
    /// 1 to 100,000 codes of 1 to 32 capitals, digits or `-` (small letters are taken as capitals); not with
    /// `count`.
    #[serde(default)]
    codes: Option<Vec<String>>,
    /// How many codes to generate, 1 to 100,000; not with `codes`.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 100_000)]
    count: Option<u64>,
}

/// Issue codes to a campaign: all of them or none (a code issued already, or given twice, refuses the call).
#[utoipa::path(post, path = "/loyalty-campaigns/{internal_id}/codes", tag = "v1", params(CampaignPath),
    request_body = IssueText, responses(
        (status = 200, description = "Issued (one event per 5,000 codes)", body = Written),
        (status = 404, description = "No such campaign", body = ErrorBody),
        (status = 409, description = "A code is issued already, or given twice (CodeAlreadyIssued)", body = ErrorBody),
        (status = 422, description = "No such prize type, a code that cannot be one, or too many codes", body = ErrorBody),
    ))]
async fn issue_codes(
    State(app): State<Shared>,
    V1Path { 0: CampaignPath { internal_id }, .. }: V1Path<CampaignPath>,
    incoming: Incoming,
) -> Response {
    let plan = async move |_: &App, _: &Principal, text: IssueText| {
        let internal_id = identifier(&internal_id, "internal_id")?;
        let issue = match (text.codes, text.count) {
            (Some(codes), None) => Issue::Codes(codes),
            (None, Some(count)) => Issue::Generated(usize::try_from(count).unwrap_or(MAX_CODES_PER_CALL + 1)),
            _ => return Err(ApiError::invalid("give codes or count, not both")),
        };
        loyalty::issue(&internal_id, text.prize_id, issue).map_err(|problem| ApiError::invalid(problem.to_string()))
    };
    write(&app, incoming, plan, |envelopes| (StatusCode::OK, Written::of(envelopes))).await
}

/// A campaign as it is now, with its counters.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignBody {
    internal_id: String,
    /// Footprints' `_id`.
    id: String,
    /// How many times it was declared.
    version: u32,
    name: String,
    #[serde(rename = "type")]
    campaign_type: String,
    start_date: DateTime<Utc>,
    end_date: DateTime<Utc>,
    expire_codes_date: DateTime<Utc>,
    location: Option<LocationBody>,
    landing_page_url: Option<String>,
    loyalty_settings: SettingsBody,
    /// Over every prize type.
    counters: Counters,
    updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LocationBody {
    id: String,
    name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsBody {
    #[serde(rename = "type")]
    kind: String,
    allowed_chars: String,
    code_length: u8,
    prize_types: Vec<PrizeBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PrizeBody {
    id: String,
    name: String,
    points_value: i64,
    counters: Counters,
}

/// Codes by where they are.
#[derive(Debug, Serialize, ToSchema)]
pub struct Counters {
    /// Every code issued.
    issued: u64,
    /// Issued, not handed out yet.
    remaining: u64,
    /// Handed out, not yet redeemed or blocked.
    allocated: u64,
    redeemed: u64,
    blocked: u64,
}

impl From<CodeCounters> for Counters {
    fn from(c: CodeCounters) -> Counters {
        Counters {
            issued: c.issued(),
            remaining: c.remaining,
            allocated: c.allocated,
            redeemed: c.redeemed,
            blocked: c.blocked,
        }
    }
}

impl From<LoyaltyCampaignView> for CampaignBody {
    fn from(view: LoyaltyCampaignView) -> CampaignBody {
        let counters = view.totals().into();
        let LoyaltyCampaignView { internal_id, declared: d, version, prizes, updated_at, .. } = view;
        let prize_types = d
            .settings
            .prize_types
            .into_iter()
            .map(|prize| PrizeBody {
                counters: prizes.get(&prize.id).copied().unwrap_or_default().into(),
                id: prize.id,
                name: prize.name,
                points_value: prize.points_value,
            })
            .collect();
        CampaignBody {
            internal_id,
            id: d.id,
            version,
            name: d.name,
            campaign_type: d.campaign_type,
            start_date: d.starts_at,
            end_date: d.ends_at,
            expire_codes_date: d.codes_expire_at,
            location: d.location.map(|location| LocationBody { id: location.id, name: location.name }),
            landing_page_url: d.landing_page_url,
            loyalty_settings: SettingsBody {
                kind: d.settings.kind,
                allowed_chars: d.settings.allowed_chars,
                code_length: d.settings.code_length,
                prize_types,
            },
            counters,
            updated_at,
        }
    }
}

/// A campaign, with its counters.
#[utoipa::path(get, path = "/loyalty-campaigns/{internal_id}", tag = "v1", params(CampaignPath), responses(
    (status = 200, description = "The campaign", body = CampaignBody),
    (status = 404, description = "No such campaign", body = ErrorBody),
))]
async fn get_campaign(
    State(app): State<Shared>,
    V1Caller { 0: principal, .. }: V1Caller,
    V1Path { 0: CampaignPath { internal_id }, .. }: V1Path<CampaignPath>,
) -> Result<Json<CampaignBody>, ApiError> {
    let view = loyalty::campaign(&app.db, &principal.tenant, &internal_id)
        .await?
        .ok_or_else(|| ApiError::not_found("CampaignNotFound", "no loyalty campaign with this internal id"))?;
    Ok(Json(view.into()))
}

/// Every campaign of the merchant.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignList {
    campaigns: Vec<CampaignBody>,
}

/// The merchant's campaigns, by internal id, with their counters.
#[utoipa::path(get, path = "/loyalty-campaigns", tag = "v1", responses(
    (status = 200, description = "Every campaign", body = CampaignList),
))]
async fn list_campaigns(
    State(app): State<Shared>,
    V1Caller { 0: principal, .. }: V1Caller,
) -> Result<Json<CampaignList>, ApiError> {
    let views = loyalty::campaigns(&app.db, &principal.tenant, None).await?;
    Ok(Json(CampaignList { campaigns: views.into_iter().map(CampaignBody::from).collect() }))
}
