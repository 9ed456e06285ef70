//! `/v1/contacts`: registering, updating and finding customers.

use axum::{
    extract::State,
    http::StatusCode,
    response::Response,
    routing::{get, post},
    Json, Router,
};
use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tally_events::{ContactDetails, Event};
use tally_projections::ContactView;
use uuid::Uuid;

use super::{events_json, write, ApiError, V1Caller, V1Path, V1Query};
use crate::{
    app::App,
    auth::Principal,
    commands::Stream,
    domain::{
        contact::{ContactAggregate, ContactCommand},
        ids::{ContactCode, MobileNumber},
    },
    http::{ingress::Incoming, Shared},
    queries,
};

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/contacts", post(register_contact).get(find_contact))
        .route("/contacts/{contact_id}", get(get_contact).patch(update_contact))
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactFields {
    /// Unique per merchant; generated when absent at registration.
    pub code: Option<String>,
    pub name: Option<String>,
    /// Any common notation; stored in E.164 form.
    pub mobile_number: Option<String>,
    pub email: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub external_id: Option<String>,
}

impl ContactFields {
    fn details(&self) -> Result<ContactDetails, ApiError> {
        let mobile_number = self
            .mobile_number
            .as_deref()
            .map(|text| {
                MobileNumber::parse(text)
                    .map(|m| m.as_str().to_owned())
                    .ok_or_else(|| ApiError::invalid(format!("mobile_number {text:?} is not a phone number")))
            })
            .transpose()?;
        if let Some(email) = &self.email {
            if !email.contains('@') || email.len() > 254 {
                return Err(ApiError::invalid(format!("email {email:?} is not an e-mail address")));
            }
        }
        let clean = |field: &Option<String>, name: &str| match field.as_deref().map(str::trim) {
            Some(text) if text.is_empty() || text.len() > 200 => {
                Err(ApiError::invalid(format!("{name} must be 1 to 200 characters")))
            }
            other => Ok(other.map(str::to_owned)),
        };
        Ok(ContactDetails {
            name: clean(&self.name, "name")?,
            mobile_number,
            email: self.email.clone(),
            birth_date: self.birth_date,
            external_id: clean(&self.external_id, "external_id")?,
        })
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ContactBody {
    pub contact_id: Uuid,
    pub code: String,
    #[serde(flatten)]
    pub details: ContactDetails,
    /// The contact's live card, if any.
    pub card_number: Option<String>,
}

async fn contact_body(app: &App, contact: ContactView) -> Result<ContactBody, ApiError> {
    let card = queries::live_card(&app.db, &contact.tenant, contact.contact_id).await?;
    Ok(ContactBody {
        contact_id: contact.contact_id,
        code: contact.code,
        details: contact.details,
        card_number: card.map(|c| c.number),
    })
}

async fn register_contact(State(app): State<Shared>, incoming: Incoming) -> Response {
    let plan = async |_: &App, _: &Principal, fields: ContactFields| {
        let details = fields.details()?;
        let contact_id = Uuid::now_v7();
        let code = match &fields.code {
            Some(code) => ContactCode::parse(code)
                .ok_or_else(|| ApiError::invalid("code must be 1 to 64 of A-Z, a-z, 0-9, _ and -"))?
                .as_str()
                .to_owned(),
            None => format!("C{}", &contact_id.simple().to_string()[20..]).to_uppercase(),
        };
        Ok(ContactAggregate::target(contact_id, ContactCommand::Register { contact_id, code, details }))
    };
    write(&app, incoming, plan, |envelopes| match envelopes.first().map(|e| e.event()) {
        Some(Ok(Event::ContactRegistered(e))) => (
            StatusCode::CREATED,
            serde_json::json!({"contact_id": e.contact_id, "code": e.code, "events": events_json(envelopes)}),
        ),
        _ => (StatusCode::OK, serde_json::json!({ "events": events_json(envelopes) })),
    })
    .await
}

async fn update_contact(
    State(app): State<Shared>,
    V1Path { 0: contact_id, .. }: V1Path<Uuid>,
    incoming: Incoming,
) -> Response {
    let plan = async move |_: &App, _: &Principal, fields: ContactFields| {
        if fields.code.is_some() {
            return Err(ApiError::invalid("a contact code never changes"));
        }
        Ok(ContactAggregate::target(contact_id, ContactCommand::Update { changes: fields.details()? }))
    };
    write(&app, incoming, plan, |envelopes| (StatusCode::OK, serde_json::json!({ "events": events_json(envelopes) })))
        .await
}

async fn get_contact(
    State(app): State<Shared>,
    V1Caller { 0: principal, .. }: V1Caller,
    V1Path { 0: contact_id, .. }: V1Path<Uuid>,
) -> Result<Json<ContactBody>, ApiError> {
    let contact = queries::contact(&app.db, &principal.tenant, contact_id)
        .await?
        .ok_or_else(|| ApiError::not_found("ContactNotFound", "no such contact"))?;
    Ok(Json(contact_body(&app, contact).await?))
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ContactQuery {
    pub mobile_number: Option<String>,
    pub code: Option<String>,
}

/// `GET /v1/contacts?mobile_number=…` or `?code=…`: one customer by one of their identifiers.
async fn find_contact(
    State(app): State<Shared>,
    V1Caller { 0: principal, .. }: V1Caller,
    V1Query { 0: query, .. }: V1Query<ContactQuery>,
) -> Result<Json<ContactBody>, ApiError> {
    let tenant = &principal.tenant;
    let contact = match (&query.mobile_number, &query.code) {
        (Some(mobile), None) => {
            let mobile =
                MobileNumber::parse(mobile).ok_or_else(|| ApiError::invalid("mobile_number is not a phone number"))?;
            queries::contact_by_mobile(&app.db, tenant, mobile.as_str()).await?
        }
        (None, Some(code)) => queries::contact_by_code(&app.db, tenant, code).await?,
        _ => return Err(ApiError::invalid("give exactly one of mobile_number and code")),
    };
    let contact = contact.ok_or_else(|| ApiError::not_found("ContactNotFound", "no such contact"))?;
    Ok(Json(contact_body(&app, contact).await?))
}
