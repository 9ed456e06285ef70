//! The lists of loyalty codes: the campaigns (all, or those running), the paged codes handed out, and a client's
//! prize history.

use std::sync::{Arc, OnceLock};

use axum::{extract::State, response::Response};
use chrono::{SecondsFormat, Utc};
use serde_json::{json, Map, Value};
use tally_projections::{LoyaltyCampaignView, LoyaltyCodeView};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    super::{answer, answered, ask, customers, fields::Fields, Allowed, ErrorBody, FpCaller, Paging, Refused},
    campaign_of, client, prize_name,
};
use crate::{
    app::App,
    auth::Principal,
    http::{ingress::Incoming, Shared},
    loyalty,
};

pub fn routes() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(active_campaigns))
        .routes(routes!(campaigns))
        .routes(routes!(list))
        .routes(routes!(history))
}

/// Codes per page of the list, unless `pageSize` says (1 to 100).
const PAGE_SIZE: i64 = 20;

/// A campaign as `campaigns` lists it (the seed's fields; the cost figures Tally does not keep are null).
fn campaign_answer(view: &LoyaltyCampaignView) -> Value {
    let d = &view.declared;
    let prizes: Vec<Value> = d
        .settings
        .prize_types
        .iter()
        .map(|prize| {
            let issued = view.prizes.get(&prize.id).map_or(0, |counters| counters.issued());
            json!({"_id": prize.id, "totalCodes": issued, "pointsValue": prize.points_value, "name": prize.name})
        })
        .collect();
    let totals = view.totals();
    json!({
        "_id": d.id,
        "internalId": view.internal_id,
        "name": d.name,
        "type": d.campaign_type,
        "budget": 0,
        "salesCost": null,
        "monthlySellingCost": null,
        "monthlyServicingCost": null,
        "productionCost": null,
        "profitabilityTime": null,
        "retentionRate": null,
        "landingPageURL": d.landing_page_url.clone().unwrap_or_default(),
        "startDate": answer::time(d.starts_at),
        "endDate": answer::time(d.ends_at),
        "expireCodesDate": answer::time(d.codes_expire_at),
        "timestamp": answer::time(view.updated_at),
        "createdAt": answer::time(view.created_at),
        "__v": view.version.saturating_sub(1),
        "locationId": d.location.as_ref().map(|location| &location.id),
        "loyaltySettings": {
            "type": d.settings.kind,
            "allowedChars": d.settings.allowed_chars,
            "codeLength": d.settings.code_length.to_string(),
            "loyaltyPrizeTypes": prizes,
        },
        "extraAllocations": [],
        "leads": [],
        "total": totals.handed_out(),
        "counters": totals,
    })
}

/// Get the running loyalty campaigns.
#[utoipa::path(get, path = "/api/loyaltyCode/active-campaigns", tag = "footprints", responses(
    (status = 200, description = "{\"status\": \"success\", \"campaigns\": [...]}: the campaigns running now (started, \
        not ended), with their prize types, location and the number of codes handed out (`total`)"),
))]
async fn active_campaigns(State(app): State<Shared>, FpCaller { 0: principal, .. }: FpCaller) -> Response {
    let answer = async {
        let running = loyalty::campaigns(&app.db, &principal.tenant, Some(Utc::now())).await?;
        let campaigns: Vec<Value> = running
            .iter()
            .map(|view| {
                let d = &view.declared;
                let prizes: Vec<Value> = d.settings.prize_types.iter().map(|p| json!({"name": p.name})).collect();
                json!({
                    "_id": d.id,
                    "internalId": view.internal_id,
                    "name": d.name,
                    "startDate": answer::time(d.starts_at),
                    "endDate": answer::time(d.ends_at),
                    "expireCodesDate": answer::time(d.codes_expire_at),
                    "loyaltySettings": {"loyaltyPrizeTypes": prizes},
                    "location": {"name": d.location.as_ref().map(|location| &location.name)},
                    "total": view.totals().handed_out(),
                })
            })
            .collect();
        Ok::<_, Refused>(json!({"status": "success", "campaigns": campaigns}))
    };
    answered(answer.await)
}

/// Get every loyalty campaign.
#[utoipa::path(get, path = "/api/loyaltyCode/campaigns", tag = "footprints", responses(
    (status = 200, description = "{\"status\": \"success\", \"campaigns\": [...]}: every campaign, with its settings, \
        prize types (`totalCodes` issued of each) and `counters` (remaining, allocated, redeemed, blocked)"),
))]
async fn campaigns(State(app): State<Shared>, FpCaller { 0: principal, .. }: FpCaller) -> Response {
    let answer = async {
        let all = loyalty::campaigns(&app.db, &principal.tenant, None).await?;
        Ok::<_, Refused>(json!({"status": "success", "campaigns": all.iter().map(campaign_answer).collect::<Vec<_>>()}))
    };
    answered(answer.await)
}

/// The page of codes handed out.
#[utoipa::path(post, path = "/api/loyaltyCode/list", tag = "footprints",
    request_body(content_type = "application/x-www-form-urlencoded", description = "campaignInternalId (optional: \
        every campaign's), searchTerm (optional: part of the code, in any case), page (from 1), pageSize (1 to 100; \
        20)"),
    responses(
        (status = 200, description = "{\"status\": \"success\", \"clients\": [...], \"totalResults\": n}: the codes \
            handed out (associated, redeemed or blocked), most recently changed first, with their campaign, client, \
            prize and who handed them out; X-Total-Pages, X-Records and X-Current-Page say where the page is"),
        (status = 400, description = "A field is invalid", body = ErrorBody),
        (status = 403, description = "Role client may not list codes", body = ErrorBody),
        (status = 404, description = "No such campaign", body = ErrorBody),
    ))]
async fn list(State(app): State<Shared>, incoming: Incoming) -> Response {
    let pages = Arc::new(OnceLock::new());
    let paged = pages.clone();
    let answered =
        ask(&app, incoming, Allowed::Staff, async move |app: &App, principal: &Principal, fields: Fields| {
            let tenant = &principal.tenant;
            let campaign = match fields.raw("campaignInternalId") {
                Some(_) => Some(campaign_of(app, tenant, &fields).await?),
                None => None,
            };
            let search = fields.text("searchTerm", 64)?.unwrap_or_default();
            let size = fields.whole("pageSize", 1, 100)?.unwrap_or(PAGE_SIZE);
            let page = fields.whole("page", 1, 1_000_000)?.unwrap_or(1);
            let internal_id = campaign.as_ref().map(|campaign| campaign.internal_id.as_str());
            let (codes, total) = loyalty::list(&app.db, tenant, internal_id, &search, (page - 1) * size, size).await?;
            paged.get_or_init(|| Paging { page, size, total });
            let mut campaigns = Campaigns(campaign.into_iter().collect());
            let mut clients = Vec::with_capacity(codes.len());
            for code in &codes {
                let campaign = campaigns.get(app, tenant, &code.internal_id).await?;
                clients.push(listed(app, tenant, code, campaign).await?);
            }
            Ok(json!({"status": "success", "clients": clients, "totalResults": total}))
        })
        .await;
    match pages.get() {
        Some(paging) => paging.headers(answered),
        None => answered,
    }
}

/// Who handed a code out: the caller's principal (an API client, or `staff:{id}`).
fn hostess(code: &LoyaltyCodeView) -> Value {
    json!({"_id": code.handed_out_by, "name": code.handed_out_by})
}

/// The campaigns of an answer's codes, each read once.
struct Campaigns(Vec<LoyaltyCampaignView>);

impl Campaigns {
    async fn get(
        &mut self,
        app: &App,
        tenant: &str,
        internal_id: &str,
    ) -> Result<Option<&LoyaltyCampaignView>, Refused> {
        if !self.0.iter().any(|campaign| campaign.internal_id == internal_id) {
            self.0.extend(loyalty::campaign(&app.db, tenant, internal_id).await?);
        }
        Ok(self.0.iter().find(|campaign| campaign.internal_id == internal_id))
    }
}

/// A code of the list, with its campaign, client and prize.
async fn listed(
    app: &App,
    tenant: &str,
    code: &LoyaltyCodeView,
    campaign: Option<&LoyaltyCampaignView>,
) -> Result<Value, Refused> {
    let mut client = customers::data_of(app, tenant, code.customer_id).await?;
    let mut person = Map::new();
    person.insert("_id".into(), json!(code.customer_id.simple().to_string()));
    for name in ["userFirstName", "userLastName", "userEmail", "userPhone", "userAddress"] {
        person.insert(name.into(), client.remove(name).unwrap_or_else(|| json!("")));
    }
    let campaign_part = campaign.map(|campaign| {
        let d = &campaign.declared;
        json!({
            "_id": d.id,
            "internalId": campaign.internal_id,
            "name": d.name,
            "type": d.campaign_type,
            "startDate": answer::time(d.starts_at),
            "endDate": answer::time(d.ends_at),
            "loyaltySettings": {"type": d.settings.kind},
            "expireCodesDate": answer::time(d.codes_expire_at),
        })
    });
    let points = campaign
        .and_then(|campaign| campaign.declared.settings.prize_types.iter().find(|prize| prize.id == code.prize_id))
        .map(|prize| prize.points_value);
    Ok(json!({
        "code": code.code,
        "campaign": campaign_part,
        "client": person,
        "status": code.status.as_str(),
        "prize": {"pointsValue": points, "name": campaign.and_then(|campaign| prize_name(campaign, &code.prize_id))},
        "hostess": hostess(code),
        "last_update": code.updated_at.to_rfc3339_opts(SecondsFormat::Millis, true),
    }))
}

/// A client's prize history.
#[utoipa::path(post, path = "/api/loyaltyCode/history", tag = "footprints",
    request_body(content_type = "application/x-www-form-urlencoded", description = "userEmail, userPhone"),
    responses(
        (status = 200, description = "{\"status\": \"success\", \"codes\": [...]}: every code the client was handed, \
            newest first: campaign, status, prize (name and points value), location, who handed it out"),
        (status = 400, description = "A field is missing or invalid", body = ErrorBody),
        (status = 403, description = "Role client may not read codes", body = ErrorBody),
    ))]
async fn history(State(app): State<Shared>, incoming: Incoming) -> Response {
    ask(&app, incoming, Allowed::Staff, async |app: &App, principal: &Principal, fields: Fields| {
        let tenant = &principal.tenant;
        let client = client(app, tenant, &fields).await?;
        let codes = loyalty::codes_of(&app.db, tenant, &client.identity, None).await?;
        let mut campaigns = Campaigns(Vec::new());
        let mut answers = Vec::with_capacity(codes.len());
        for code in &codes {
            let d = campaigns.get(app, tenant, &code.internal_id).await?.map(|campaign| &campaign.declared);
            let prize = d.and_then(|d| d.settings.prize_types.iter().find(|prize| prize.id == code.prize_id));
            answers.push(json!({
                "code": code.code,
                "campaign": {"internalId": code.internal_id, "name": d.map(|d| &d.name)},
                "status": code.status.as_str(),
                "prize": {"name": prize.map(|p| &p.name), "pointsValue": prize.map(|p| p.points_value)},
                "location": {"name": d.and_then(|d| d.location.as_ref()).map(|location| &location.name)},
                "hostess": hostess(code),
                "expire_code_date": d.map(|d| answer::time(d.codes_expire_at)),
                "last_update": answer::time(code.updated_at),
            }));
        }
        Ok(json!({"status": "success", "codes": answers}))
    })
    .await
}
