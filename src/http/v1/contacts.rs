//! `/v1/contacts`: registering, updating and finding customers.

use axum::{extract::State, http::StatusCode, response::Response, Json};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use tally_events::{Address, ContactDetails, Event};
use tally_projections::{postcode_key, ContactView};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{events, write, ApiError, ErrorBody, EventRef, V1Caller, V1Path, V1Query, Written};
use crate::{
    app::App,
    auth::Principal,
    commands::Stream,
    contacts,
    domain::{
        contact::ContactAggregate,
        customer::{CustomerAggregate, CustomerCommand},
        ids::{is_email, ContactCode, MobileNumber},
    },
    http::{ingress::Incoming, Shared},
    queries,
};

pub fn routes() -> OpenApiRouter<Shared> {
    OpenApiRouter::new().routes(routes!(register_contact, find_contact)).routes(routes!(
        get_contact,
        update_contact,
        erase_contact
    ))
}

/// A contact's details: on registration, every one that is known; on update, the ones that change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactChanges {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: Option<String>,
    /// E.164: `+`, then 10 to 15 digits (also read without the `+`, with spaces, dashes, dots and brackets).
    #[schema(pattern = r"^\+?[1-9][0-9]{9,14}$")]
    pub mobile_number: Option<String>,
    #[schema(max_length = 254, pattern = r"^[^@\s]+@[^@\s]+$")]
    pub email: Option<String>,
    pub birth_date: Option<NaiveDate>,
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub external_id: Option<String>,
    /// The postal address; on update it replaces the whole address.
    pub address: Option<PostalAddress>,
}

/// A new contact: its code and its details.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewContact {
    /// Unique per merchant, never changed; generated when absent.
    #[schema(pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    pub code: Option<String>,
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: Option<String>,
    /// E.164: `+`, then 10 to 15 digits (also read without the `+`, with spaces, dashes, dots and brackets).
    #[schema(pattern = r"^\+?[1-9][0-9]{9,14}$")]
    pub mobile_number: Option<String>,
    #[schema(max_length = 254, pattern = r"^[^@\s]+@[^@\s]+$")]
    pub email: Option<String>,
    pub birth_date: Option<NaiveDate>,
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub external_id: Option<String>,
    /// The postal address; on update it replaces the whole address.
    pub address: Option<PostalAddress>,
}

/// A postal address: at least one part; each part 1 to 100 characters, not all blank; the postcode at most 16
/// characters, with a letter or digit (A to Z, 0 to 9).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostalAddress {
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub street1: Option<String>,
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub street2: Option<String>,
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub town: Option<String>,
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub county: Option<String>,
    #[schema(min_length = 1, max_length = 16, pattern = r"[A-Za-z0-9]")]
    pub postcode: Option<String>,
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub country: Option<String>,
}

impl PostalAddress {
    fn address(&self) -> Result<Address, ApiError> {
        let address = Address {
            street1: bounded(&self.street1, "address.street1", 100)?,
            street2: bounded(&self.street2, "address.street2", 100)?,
            town: bounded(&self.town, "address.town", 100)?,
            county: bounded(&self.county, "address.county", 100)?,
            postcode: bounded(&self.postcode, "address.postcode", 16)?,
            country: bounded(&self.country, "address.country", 100)?,
        };
        // Searchable: a postcode is found by its letters and digits.
        if address.postcode.as_deref().is_some_and(|code| postcode_key(code).is_empty()) {
            return Err(ApiError::invalid("address.postcode must have a letter or digit (A to Z, 0 to 9)"));
        }
        if address == Address::default() {
            return Err(ApiError::invalid("address must have at least one part"));
        }
        Ok(address)
    }
}

/// An optional text, trimmed: when given, 1 to `most` characters, not all blank.
fn bounded(value: &Option<String>, name: &str, most: usize) -> Result<Option<String>, ApiError> {
    match value.as_deref().map(str::trim) {
        Some(text) if text.is_empty() || text.chars().count() > most => {
            Err(ApiError::invalid(format!("{name} must be 1 to {most} characters, not all blank")))
        }
        other => Ok(other.map(str::to_owned)),
    }
}

impl NewContact {
    fn split(self) -> (Option<String>, ContactChanges) {
        let NewContact { code, name, mobile_number, email, birth_date, external_id, address } = self;
        (code, ContactChanges { name, mobile_number, email, birth_date, external_id, address })
    }
}

impl ContactChanges {
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
            if !is_email(email) {
                return Err(ApiError::invalid(format!("email {email:?} is not an e-mail address")));
            }
        }
        Ok(ContactDetails {
            name: bounded(&self.name, "name", 200)?,
            mobile_number,
            email: self.email.clone(),
            birth_date: self.birth_date,
            external_id: bounded(&self.external_id, "external_id", 200)?,
            address: self.address.as_ref().map(PostalAddress::address).transpose()?,
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContactBody {
    pub contact_id: Uuid,
    pub code: String,
    #[serde(flatten)]
    pub details: ContactDetails,
    /// The contact's live card, if any.
    pub card_number: Option<String>,
}

/// The answer to a registration: the new contact's id and code, and the event.
#[derive(Serialize, ToSchema)]
pub struct ContactRegistered {
    contact_id: Uuid,
    code: String,
    events: Vec<EventRef>,
}

/// A contact's path.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ContactPath {
    contact_id: Uuid,
}

/// The contact with this id, or 404.
async fn existing(app: &App, tenant: &str, contact_id: Uuid) -> Result<ContactView, ApiError> {
    let contact = queries::contact(&app.db, tenant, contact_id).await?;
    contact.ok_or_else(|| ApiError::not_found("ContactNotFound", "no such contact"))
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

/// Register a contact.
#[utoipa::path(post, path = "/contacts", tag = "v1", request_body = NewContact, responses(
    (status = 201, description = "Registered", body = ContactRegistered),
    (status = 200, description = "Nothing registered: no events", body = Written),
    (status = 409, description = "The code or the mobile number is another contact's", body = ErrorBody),
    (status = 422, description = "Invalid details, or a field the merchant requires is missing", body = ErrorBody),
))]
async fn register_contact(State(app): State<Shared>, incoming: Incoming) -> Response {
    let plan = async |app: &App, principal: &Principal, contact: NewContact| {
        let (code, changes) = contact.split();
        let details = changes.details()?;
        let contact_id = Uuid::now_v7();
        let code = match &code {
            Some(code) => ContactCode::parse(code)
                .ok_or_else(|| ApiError::invalid("code must be 1 to 64 of A-Z, a-z, 0-9, _ and -"))?
                .as_str()
                .to_owned(),
            None => format!("C{}", &contact_id.simple().to_string()[20..]).to_uppercase(),
        };
        let command = contacts::register(app, &principal.tenant, contact_id, code, &details).await?;
        Ok(ContactAggregate::target(contact_id, command))
    };
    // The render runs in the writer's group commit: it answers whatever the events are, and never panics.
    write(&app, incoming, plan, |envelopes| {
        let registered = envelopes.iter().find_map(|e| match e.event() {
            Ok(Event::ContactRegistered(e)) => Some((e.contact_id, e.code)),
            _ => None,
        });
        let events = events(envelopes);
        match registered {
            Some((contact_id, code)) => {
                (StatusCode::CREATED, serde_json::json!(ContactRegistered { contact_id, code, events }))
            }
            None => (StatusCode::OK, serde_json::json!(Written { events })),
        }
    })
    .await
}

/// Update a contact's details; its code never changes.
#[utoipa::path(patch, path = "/contacts/{contact_id}", tag = "v1", params(ContactPath), request_body = ContactChanges,
    responses(
        (status = 200, description = "Updated (no events when nothing changed)", body = Written),
        (status = 404, description = "No such contact", body = ErrorBody),
        (status = 409, description = "The mobile number is another contact's, or the contact was erased \
            (CustomerErased)", body = ErrorBody),
        (status = 422, description = "Invalid details", body = ErrorBody),
    )
)]
async fn update_contact(
    State(app): State<Shared>,
    V1Path { 0: ContactPath { contact_id }, .. }: V1Path<ContactPath>,
    incoming: Incoming,
) -> Response {
    let plan = async move |app: &App, principal: &Principal, changes: ContactChanges| {
        let changes = changes.details()?;
        let current = existing(app, &principal.tenant, contact_id).await?;
        let command = contacts::update(app, &principal.tenant, contact_id, &current.details, &changes).await?;
        Ok(ContactAggregate::target(contact_id, command))
    };
    write(&app, incoming, plan, |envelopes| (StatusCode::OK, Written::of(envelopes))).await
}

/// Erase a contact: the customer with the contact's id is erased and their key destroyed, so that the contact's
/// personal data can no longer be read anywhere (views, answers, the ledger, Kafka, a replay); the contact's code,
/// cards and balances stay. Erasing again records nothing.
#[utoipa::path(delete, path = "/contacts/{contact_id}", tag = "v1", params(ContactPath), responses(
    (status = 200, description = "Erased (no events when erased already)", body = Written),
    (status = 404, description = "No such contact", body = ErrorBody),
))]
async fn erase_contact(
    State(app): State<Shared>,
    V1Path { 0: ContactPath { contact_id }, .. }: V1Path<ContactPath>,
    incoming: Incoming,
) -> Response {
    let plan = async move |app: &App, principal: &Principal, (): ()| {
        existing(app, &principal.tenant, contact_id).await?;
        // The key goes first, so that nothing is sealed for the contact between the erasure and its recording.
        app.vault.erase(&app.db, &principal.tenant, contact_id).await?;
        Ok(CustomerAggregate::target(contact_id, CustomerCommand::Erase))
    };
    write(&app, incoming, plan, |envelopes| (StatusCode::OK, Written::of(envelopes))).await
}

/// A contact.
#[utoipa::path(get, path = "/contacts/{contact_id}", tag = "v1", params(ContactPath), responses(
    (status = 200, description = "The contact", body = ContactBody),
    (status = 404, description = "No such contact", body = ErrorBody),
))]
async fn get_contact(
    State(app): State<Shared>,
    V1Caller { 0: principal, .. }: V1Caller,
    V1Path { 0: ContactPath { contact_id }, .. }: V1Path<ContactPath>,
) -> Result<Json<ContactBody>, ApiError> {
    let contact = existing(&app, &principal.tenant, contact_id).await?;
    Ok(Json(contact_body(&app, contact).await?))
}

/// One of a contact's identifiers.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ContactQuery {
    /// E.164 (or another common notation of the same number); give this or `code`.
    #[param(pattern = r"^\+?[1-9][0-9]{9,14}$")]
    pub mobile_number: Option<String>,
    /// The contact code; give this or `mobile_number`.
    #[param(pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    pub code: Option<String>,
}

/// Find a contact by `mobile_number` or by `code` (exactly one of them).
#[utoipa::path(get, path = "/contacts", tag = "v1", params(ContactQuery), responses(
    (status = 200, description = "The contact", body = ContactBody),
    (status = 404, description = "No such contact", body = ErrorBody),
    (status = 422, description = "Neither or both identifiers, or a malformed one", body = ErrorBody),
))]
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
