//! Leads: add (`POST /api/lead`), prospects (`POST /api/prospect`), update (`PUT /api/lead/{leadId}`), list
//! (`GET /api/lead`), NPS (`POST /api/lead/{lead_id}/nps`) and lost (`PUT /api/lead/{lead_id}/leadLost`).

use axum::{
    extract::State,
    http::{HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tally_events::{Contract, LeadStatus, LostReason};
use tally_projections::LeadView;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    answer,
    fields::{Fields, MAX_COMMENT},
    intake::{contract, placement, take, MAX_TAG, MAX_TAGS},
    person, staff, write, Allowed, ErrorBody, FpCaller, FpPath, FpQuery, Planned, Refused, Then,
};
use crate::{
    app::App,
    auth::Principal,
    commands::Stream,
    domain::lead::{LeadAggregate, LeadChanges, LeadCommand, StatusChange},
    http::{ingress::Incoming, Shared},
    leads, queries,
};

pub fn routes() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(add_lead, list_leads))
        .routes(routes!(add_prospect))
        .routes(routes!(update_lead))
        .routes(routes!(record_nps))
        .routes(routes!(lead_lost))
}

/// The new lead's id, as the seed answers an add.
fn added_id(envelopes: &[tally_events::Envelope]) -> (StatusCode, Value) {
    let lead_id = envelopes.first().and_then(|e| tally_events::stream::entity_id(&e.stream_id, "lead"));
    (StatusCode::OK, json!({"_id": lead_id}))
}

/// Add a lead.
#[utoipa::path(post, path = "/api/lead", tag = "footprints",
    request_body(content_type = "application/x-www-form-urlencoded", description = "The lead's fields as the seed \
        lists them (userFirstName, userEmail, userPhone, offerId, locationId, consultantId, channelId, tags[], \
        marketingChannels[i][channel|type|agreed], customDetails[…], agreeTandc, createdAt, timezone, …); \
        userEmail or userPhone is required. A JSON object of the same shape is read too."),
    responses(
        (status = 200, description = "The new lead's id: {\"_id\": …}"),
        (status = 400, description = "A field is missing or not an accepted value", body = ErrorBody),
    ))]
async fn add_lead(State(app): State<Shared>, incoming: Incoming) -> Response {
    let plan =
        async |app: &App, principal: &Principal, fields: Fields| take(app, principal, fields, LeadStatus::Lead).await;
    write(&app, incoming, Allowed::Anyone, plan, added_id, Then::Rendered).await
}

/// Add a prospect.
#[utoipa::path(post, path = "/api/prospect", tag = "footprints",
    request_body(content_type = "application/x-www-form-urlencoded", description = "avandorUserId, avandorSession, \
        userFirstName, userLastName, companyName, companyType, userCountry, userAddress, userPosition, userPhone, \
        userEmail, companyWebsite, potentialScore; userEmail, userPhone or companyName is required"),
    responses(
        (status = 200, description = "The new prospect's id: {\"_id\": …}"),
        (status = 400, description = "A field is missing or not an accepted value", body = ErrorBody),
    ))]
async fn add_prospect(State(app): State<Shared>, incoming: Incoming) -> Response {
    let plan = async |app: &App, principal: &Principal, fields: Fields| {
        take(app, principal, fields, LeadStatus::Prospect).await
    };
    write(&app, incoming, Allowed::Anyone, plan, added_id, Then::Rendered).await
}

/// A lead's path.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct LeadPath {
    /// The lead's id.
    lead_id: String,
}

/// The lead of a path, of the caller's merchant.
async fn lead_of(app: &App, principal: &Principal, lead_id: &str) -> Result<LeadView, Refused> {
    leads::lead(&app.db, &principal.tenant, lead_id).await?.ok_or_else(|| Refused::not_found("no lead with this id"))
}

/// Runs a staff member's write on a lead, answered with the lead as it is now.
async fn write_lead<P>(app: &App, incoming: Incoming, lead_id: &str, plan: P) -> Response
where
    P: AsyncFnOnce(&App, &Principal, Fields) -> Result<Planned, Refused>,
{
    let id = lead_id.to_owned();
    let render = move |_: &[tally_events::Envelope]| (StatusCode::OK, json!({ "_id": id }));
    write(app, incoming, Allowed::Staff, plan, render, Then::Lead(lead_id.to_owned())).await
}

/// A free text field (a comment, a detail), sealed with the customer's key; none when absent.
pub(super) async fn sealed_text(
    app: &App,
    tenant: &str,
    customer: uuid::Uuid,
    fields: &Fields,
    name: &str,
) -> Result<Option<tally_events::Sealed>, Refused> {
    let text = fields.text(name, MAX_COMMENT)?.map(Value::String).unwrap_or_default();
    Ok(leads::seal(app, tenant, customer, text).await?)
}

/// Answers a write on a lead with the lead as it is now, when the write went through.
pub(super) async fn with_lead(app: &App, tenant: &str, lead_id: &str, written: Response) -> Response {
    if written.status() != StatusCode::OK {
        return written;
    }
    let replayed = written.headers().get("idempotency-hit").cloned();
    let answer = async {
        let lead =
            leads::lead(&app.db, tenant, lead_id).await?.ok_or_else(|| Refused::not_found("no lead with this id"))?;
        let opened = leads::open(app, &lead).await?;
        Ok::<_, Refused>(answer::lead(&lead, opened))
    };
    match answer.await {
        Ok(lead) => {
            let mut response = Json(lead).into_response();
            if let Some(hit) = replayed {
                response.headers_mut().insert("idempotency-hit", hit);
            }
            response
        }
        Err(refused) => refused.into_response(),
    }
}

/// Update a lead.
#[utoipa::path(put, path = "/api/lead/{lead_id}", tag = "footprints", params(LeadPath),
    request_body(content_type = "application/x-www-form-urlencoded", description = "status (prospect, lead, \
        sale_lead, opportunity, customer, lost), skuId, channelId, skuExternalId, contractNumber, contractValue, \
        contractDate, contractDescription (with status customer only), tags[], and any of the lead's own fields"),
    responses(
        (status = 200, description = "The lead as it is now"),
        (status = 400, description = "A field is not an accepted value, or contract details without status customer", body = ErrorBody),
        (status = 403, description = "Role client may not change leads", body = ErrorBody),
        (status = 404, description = "No such lead", body = ErrorBody),
        (status = 409, description = "The lead became a customer: its status no longer changes", body = ErrorBody),
        (status = 410, description = "The lead's customer was erased: the request carries personal data of theirs", body = ErrorBody),
    ))]
async fn update_lead(
    State(app): State<Shared>,
    FpPath { 0: path, .. }: FpPath<LeadPath>,
    incoming: Incoming,
) -> Response {
    let plan = async |app: &App, principal: &Principal, fields: Fields| {
        let lead = lead_of(app, principal, &path.lead_id).await?;
        let status = fields.one_of("status", &LeadStatus::ALL.map(LeadStatus::as_str))?;
        let status = status.map(|name| LeadStatus::parse(&name).expect("an accepted status"));
        let contract = contract(&fields)?;
        let change = match (status, contract) {
            (Some(to), None) => Some(StatusChange { to, contract: None }),
            (Some(LeadStatus::Customer), Some((contract, description))) => {
                let description = leads::seal(
                    app,
                    &principal.tenant,
                    lead.customer_id,
                    description.map(Value::String).unwrap_or_default(),
                )
                .await?;
                Some(StatusChange { to: LeadStatus::Customer, contract: Some(Contract { description, ..contract }) })
            }
            (_, Some(_)) => return Err(Refused::invalid("contract details go with status customer only")),
            (None, None) => None,
        };
        let person = person::personal(&fields)?;
        let personal = leads::seal(app, &principal.tenant, lead.customer_id, Value::Object(person)).await?;
        let command = LeadCommand::Update(Box::new(LeadChanges {
            placement: placement(app, &principal.tenant, &fields).await?,
            personal,
            tags: fields.list("tags", MAX_TAGS, MAX_TAG)?,
            status: change,
        }));
        Ok(LeadAggregate::target(lead.lead_id, command).into())
    };
    write_lead(&app, incoming, &path.lead_id, plan).await
}

/// Mark a lead lost.
#[utoipa::path(put, path = "/api/lead/{lead_id}/leadLost", tag = "footprints", params(LeadPath),
    request_body(content_type = "application/x-www-form-urlencoded", description = "reasonLost (poor_qualification, \
        need, wrong_time, price_too_high, lost_momentum, competition, abandoned, feature, other) and comment"),
    responses(
        (status = 200, description = "The lead as it is now"),
        (status = 400, description = "reasonLost is missing or not an accepted value", body = ErrorBody),
        (status = 403, description = "Role client may not change leads", body = ErrorBody),
        (status = 404, description = "No such lead", body = ErrorBody),
        (status = 409, description = "The lead is a customer, or was lost for another reason", body = ErrorBody),
        (status = 410, description = "The lead's customer was erased: the request carries personal data of theirs", body = ErrorBody),
    ))]
async fn lead_lost(
    State(app): State<Shared>,
    FpPath { 0: path, .. }: FpPath<LeadPath>,
    incoming: Incoming,
) -> Response {
    let plan = async |app: &App, principal: &Principal, fields: Fields| {
        let lead = lead_of(app, principal, &path.lead_id).await?;
        let reasons = LostReason::ALL.map(LostReason::as_str);
        let reason =
            fields.one_of("reasonLost", &reasons)?.ok_or_else(|| Refused::invalid("reasonLost is required"))?;
        let comment = sealed_text(app, &principal.tenant, lead.customer_id, &fields, "comment").await?;
        let reason = LostReason::parse(&reason).expect("an accepted reason");
        Ok(LeadAggregate::target(lead.lead_id, LeadCommand::MarkLost { reason, comment }).into())
    };
    write_lead(&app, incoming, &path.lead_id, plan).await
}

/// Record a lead's NPS.
#[utoipa::path(post, path = "/api/lead/{lead_id}/nps", tag = "footprints", params(LeadPath),
    request_body(content_type = "application/x-www-form-urlencoded", description = "nps (1 to 10) and comment"),
    responses(
        (status = 200, description = "{\"status\": \"success\"}"),
        (status = 400, description = "nps is missing or not 1 to 10", body = ErrorBody),
        (status = 404, description = "No such lead", body = ErrorBody),
        (status = 410, description = "The lead's customer was erased: the request carries personal data of theirs", body = ErrorBody),
    ))]
async fn record_nps(
    State(app): State<Shared>,
    FpPath { 0: path, .. }: FpPath<LeadPath>,
    incoming: Incoming,
) -> Response {
    let plan = async |app: &App, principal: &Principal, fields: Fields| {
        let nps = fields.whole("nps", 1, 10)?.ok_or_else(|| Refused::invalid("nps is required"))?;
        let lead = lead_of(app, principal, &path.lead_id).await?;
        let comment = sealed_text(app, &principal.tenant, lead.customer_id, &fields, "comment").await?;
        Ok(LeadAggregate::target(lead.lead_id, LeadCommand::RecordNps { nps: nps as u8, comment }).into())
    };
    write(&app, incoming, Allowed::Anyone, plan, |_| (StatusCode::OK, json!({"status": "success"})), Then::Rendered)
        .await
}

/// The list's query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct LeadQuery {
    /// The first day (Y-m-d, in the merchant's time zone) the leads were created on; the earliest when absent.
    start_date: Option<String>,
    /// The last day (Y-m-d), included; today when absent.
    end_date: Option<String>,
    /// Leads per page, 1 to 100; 10 when absent.
    page_size: Option<String>,
    /// The page, from 1.
    page: Option<String>,
}

/// Most leads per page.
const MAX_PAGE_SIZE: i64 = 100;

/// List leads.
#[utoipa::path(get, path = "/api/lead", tag = "footprints", params(LeadQuery), responses(
    (status = 200, description = "The leads with a location, an offer category, an offer and a consultant, created \
        in the period, newest first; X-Total-Count says how many there are in all"),
    (status = 400, description = "A date or a paging value cannot be read", body = ErrorBody),
    (status = 403, description = "Role client may not read leads", body = ErrorBody),
))]
async fn list_leads(
    State(app): State<Shared>,
    FpCaller { 0: principal, .. }: FpCaller,
    FpQuery { 0: query, .. }: FpQuery<LeadQuery>,
) -> Response {
    match list(&app, &principal, query).await {
        Ok(response) => response,
        Err(refused) => refused.into_response(),
    }
}

async fn list(app: &App, principal: &Principal, query: LeadQuery) -> Result<Response, Refused> {
    staff(principal)?;
    let fields = Fields(Map::from_iter([
        ("startDate".to_owned(), json!(query.start_date)),
        ("endDate".to_owned(), json!(query.end_date)),
        ("pageSize".to_owned(), json!(query.page_size)),
        ("page".to_owned(), json!(query.page)),
    ]));
    let zone = app.reads.time_zone(&app.db, &principal.tenant).await?;
    let day_start = |day: NaiveDate| queries::day_start(day, zone);
    let from = match fields.date("startDate")? {
        Some(day) => day_start(day).unwrap_or(DateTime::<Utc>::MIN_UTC),
        None => DateTime::<Utc>::MIN_UTC,
    };
    let to = match fields.date("endDate")? {
        Some(day) => day.succ_opt().and_then(day_start).unwrap_or(DateTime::<Utc>::MAX_UTC),
        None => DateTime::<Utc>::MAX_UTC,
    };
    let size = fields.whole("pageSize", 1, MAX_PAGE_SIZE)?.unwrap_or(10);
    let page = fields.whole("page", 1, 1_000_000)?.unwrap_or(1);
    let (views, total) = leads::list(&app.db, &principal.tenant, (from, to), (page - 1) * size, size).await?;
    let mut answers = Vec::with_capacity(views.len());
    for view in &views {
        answers.push(answer::lead(view, leads::open(app, view).await?));
    }
    let mut response = Json(answers).into_response();
    response.headers_mut().insert("x-total-count", HeaderValue::from(total));
    Ok(response)
}
