//! Customers (`/api/client`): get, update and delete a customer, found by `userEmail` with `userPhone`, or by
//! `nationalId`. A delete is an erasure: the customer's key is destroyed, so nothing of their personal data can be
//! read again anywhere; their leads stay, counted, without a person.

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tally_projections::CustomerView;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    answer,
    fields::Fields,
    person::{self, phone_digits, valid_phone},
    staff, write, Allowed, ErrorBody, FpCaller, FpQuery, Refused, Then,
};
use crate::{
    app::App,
    auth::Principal,
    commands::Stream,
    domain::{
        customer::{CustomerAggregate, CustomerCommand},
        ids::is_email,
    },
    http::{ingress::Incoming, Shared},
    leads,
};

pub fn routes() -> OpenApiRouter<Shared> {
    OpenApiRouter::new().routes(routes!(get_customer, update_customer, delete_customer))
}

/// Leads a customer's answer lists at most (the newest).
const MAX_LEADS: usize = 50;

/// Who is asked for: `userEmail` with `userPhone`, or `nationalId`. Returns the identities they give (the first
/// finds the customer) and whether any was given.
async fn identities(app: &App, tenant: &str, fields: &Fields) -> Result<Vec<String>, Refused> {
    let email = fields.text("userEmail", 254)?;
    let phone = fields.text("userPhone", 32)?;
    let national = fields.text("nationalId", 32)?;
    let mut found = Vec::new();
    if let Some(national) = &national {
        found.push(leads::national_identity(app, tenant, national).await?);
    }
    match (email, phone) {
        (Some(email), Some(phone)) => {
            if !is_email(&email) || !valid_phone(&phone) {
                return Err(Refused::invalid("userEmail must be an e-mail address and userPhone a phone number"));
            }
            found.push(leads::contact_identity(app, tenant, &email, &phone_digits(&phone)).await?);
        }
        (None, None) => {}
        _ if national.is_some() => {}
        _ => return Err(Refused::invalid("userEmail and userPhone go together (or give nationalId)")),
    }
    if found.is_empty() {
        return Err(Refused::invalid("a customer is found by userEmail with userPhone, or by nationalId"));
    }
    Ok(found)
}

/// The customer the identities find.
async fn find(app: &App, tenant: &str, identities: &[String]) -> Result<CustomerView, Refused> {
    for identity in identities {
        if let Some(customer) = leads::customer(&app.db, tenant, identity).await? {
            return Ok(customer);
        }
    }
    Err(Refused::not_found("no customer with this e-mail address and phone, or national id"))
}

/// Who to find, as a query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct CustomerQuery {
    user_email: Option<String>,
    user_phone: Option<String>,
    national_id: Option<String>,
}

impl CustomerQuery {
    fn fields(&self) -> Fields {
        Fields(Map::from_iter([
            ("userEmail".to_owned(), json!(self.user_email)),
            ("userPhone".to_owned(), json!(self.user_phone)),
            ("nationalId".to_owned(), json!(self.national_id)),
        ]))
    }
}

/// A customer: their data (from their leads, then their own updates, each over the one before) and their leads.
async fn customer_answer(app: &App, customer: &CustomerView) -> Result<Value, Refused> {
    let mut person = Map::new();
    let mut lead_answers = Vec::new();
    let mut channels = Value::Array(vec![]);
    for lead_id in customer.leads.iter().rev().take(MAX_LEADS).rev() {
        let Some(lead) = leads::lead(&app.db, &customer.tenant, lead_id).await? else { continue };
        let opened = leads::open(app, &lead).await?;
        person.extend(opened.person.clone());
        let answer = answer::lead(&lead, opened);
        channels = answer["marketingChannels"].clone();
        lead_answers.push(answer);
    }
    lead_answers.reverse();
    let sealed: Vec<&tally_events::Sealed> = customer.profile.iter().collect();
    for changes in app.vault.open_all(&app.db, &customer.tenant, &sealed).await?.into_iter().flatten() {
        if let Value::Object(changes) = changes {
            person.extend(changes);
        }
    }
    let mut out = Map::new();
    out.insert("_id".into(), json!(customer.customer_id.simple().to_string()));
    for list in ["kidsAge", "interests", "preferences"] {
        out.insert(list.into(), person.remove(list).unwrap_or_else(|| json!([])));
    }
    out.extend(person);
    out.insert("type".into(), json!("B2C"));
    out.insert("marketingChannels".into(), channels);
    out.insert("timestamp".into(), json!(answer::time(customer.updated_at)));
    out.insert("createdAt".into(), json!(answer::time(customer.created_at)));
    out.insert("leads".into(), Value::Array(lead_answers));
    Ok(Value::Object(out))
}

/// Get a customer.
#[utoipa::path(get, path = "/api/client", tag = "footprints", params(CustomerQuery), responses(
    (status = 200, description = "The customer, with their leads (the newest 50)"),
    (status = 400, description = "Neither userEmail with userPhone nor nationalId", body = ErrorBody),
    (status = 403, description = "Role client may not read customers", body = ErrorBody),
    (status = 404, description = "No such customer (or they were erased)", body = ErrorBody),
))]
async fn get_customer(
    State(app): State<Shared>,
    FpCaller { 0: principal, .. }: FpCaller,
    FpQuery { 0: query, .. }: FpQuery<CustomerQuery>,
) -> Response {
    let answer = async {
        staff(&principal)?;
        let identities = identities(&app, &principal.tenant, &query.fields()).await?;
        let customer = find(&app, &principal.tenant, &identities).await?;
        Ok::<_, Refused>(Json(customer_answer(&app, &customer).await?))
    };
    answer.await.into_response()
}

/// Update a customer.
#[utoipa::path(put, path = "/api/client", tag = "footprints",
    request_body(content_type = "application/x-www-form-urlencoded", description = "userEmail with userPhone, or \
        nationalId, find the customer (a nationalId given with both is recorded as another way to find them); the \
        other fields of the seed (userFirstName, userCity, interests[], kidsAge[], agree…) are the changes"),
    responses(
        (status = 200, description = "{\"status\": \"success\"}"),
        (status = 400, description = "No identity, or a field that is not an accepted value", body = ErrorBody),
        (status = 403, description = "Role client may not change customers", body = ErrorBody),
        (status = 404, description = "No such customer", body = ErrorBody),
    ))]
async fn update_customer(State(app): State<Shared>, incoming: Incoming) -> Response {
    let plan = async |app: &App, principal: &Principal, fields: Fields| {
        let identities = identities(app, &principal.tenant, &fields).await?;
        let customer = find(app, &principal.tenant, &identities).await?;
        let mut person = person::personal(&fields)?;
        for identifying in ["userEmail", "userPhone"] {
            person.remove(identifying);
        }
        let personal = leads::seal(app, &principal.tenant, customer.customer_id, Value::Object(person)).await?;
        let command = CustomerCommand::Update { identities, personal };
        Ok(CustomerAggregate::target(customer.customer_id, command).into())
    };
    let render = |_: &[tally_events::Envelope]| (StatusCode::OK, json!({"status": "success"}));
    write(&app, incoming, Allowed::Staff, plan, render, Then::Rendered).await
}

/// Delete (erase) a customer.
#[utoipa::path(delete, path = "/api/client", tag = "footprints", params(CustomerQuery), responses(
    (status = 200, description = "{\"status\": \"success\"}: the customer's personal data can no longer be read"),
    (status = 400, description = "Neither userEmail with userPhone nor nationalId", body = ErrorBody),
    (status = 403, description = "Role client may not erase customers", body = ErrorBody),
    (status = 404, description = "No such customer (or erased already)", body = ErrorBody),
))]
async fn delete_customer(
    State(app): State<Shared>,
    FpQuery { 0: query, .. }: FpQuery<CustomerQuery>,
    incoming: Incoming,
) -> Response {
    let plan = async |app: &App, principal: &Principal, body: Fields| {
        // The customer is named in the query, as for a get, or in a form body.
        let fields = if body.0.is_empty() { query.fields() } else { body };
        let identities = identities(app, &principal.tenant, &fields).await?;
        let customer = find(app, &principal.tenant, &identities).await?;
        Ok(CustomerAggregate::target(customer.customer_id, CustomerCommand::Erase).into())
    };
    let render = |_: &[tally_events::Envelope]| (StatusCode::OK, json!({"status": "success"}));
    write(&app, incoming, Allowed::Staff, plan, render, Then::Erase).await
}
