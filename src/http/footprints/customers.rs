//! Customers (`/api/client`): get, update and delete a customer, found by `userEmail` with `userPhone`, or by
//! `nationalId`. A delete is an erasure: the customer's key is destroyed, so nothing of their personal data can be
//! read again anywhere; their leads stay, counted, without a person.
//!
//! The customer is the same person CashDesk and Enactor reach as a contact, by the merge rule (see the README): a
//! contact whose mobile number is `userPhone` and whose e-mail is `userEmail` is this customer. A Footprints customer
//! made after the contact takes the contact's id; one made before stays a subject of its own, answered and erased
//! together with the contact.

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tally_events::ContactDetails;
use tally_projections::{ContactView, CustomerView};
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
    commands::{Stream, Target},
    domain::{
        customer::{CustomerAggregate, CustomerCommand},
        ids::is_email,
    },
    http::{ingress::Incoming, Shared},
    leads, queries,
};

pub fn routes() -> OpenApiRouter<Shared> {
    OpenApiRouter::new().routes(routes!(get_customer, update_customer, delete_customer))
}

/// Leads a customer's answer lists at most (the newest).
const MAX_LEADS: usize = 50;

/// Who a request names: the identities it gives (the first finds the customer), and the e-mail address with the
/// phone's digits, which find a contact.
struct Wanted {
    identities: Vec<String>,
    email_phone: Option<(String, String)>,
}

/// Who is asked for: `userEmail` with `userPhone`, or `nationalId`.
async fn identities(app: &App, tenant: &str, fields: &Fields) -> Result<Wanted, Refused> {
    let email = fields.text("userEmail", 254)?;
    let phone = fields.text("userPhone", 32)?;
    let national = fields.text("nationalId", 32)?;
    let mut wanted = Wanted { identities: Vec::new(), email_phone: None };
    if let Some(national) = &national {
        wanted.identities.push(leads::national_identity(app, tenant, national).await?);
    }
    match (email, phone) {
        (Some(email), Some(phone)) => {
            if !is_email(&email) || !valid_phone(&phone) {
                return Err(Refused::invalid("userEmail must be an e-mail address and userPhone a phone number"));
            }
            let digits = phone_digits(&phone);
            wanted.identities.push(leads::contact_identity(app, tenant, &email, &digits).await?);
            wanted.email_phone = Some((email, digits));
        }
        (None, None) => {}
        _ if national.is_some() => {}
        _ => return Err(Refused::invalid("userEmail and userPhone go together (or give nationalId)")),
    }
    if wanted.identities.is_empty() {
        return Err(Refused::invalid("a customer is found by userEmail with userPhone, or by nationalId"));
    }
    Ok(wanted)
}

/// The person a request names: the Footprints customer the identities find and the contact who is the same person;
/// one of them at least.
struct Person {
    customer: Option<CustomerView>,
    contact: Option<ContactView>,
}

impl Person {
    /// The person's id: the customer's (which is the contact's when the customer was made after the contact).
    fn id(&self) -> uuid::Uuid {
        match (&self.customer, &self.contact) {
            (Some(customer), _) => customer.customer_id,
            (None, Some(contact)) => contact.contact_id,
            (None, None) => unreachable!("a person is a customer or a contact"),
        }
    }

    /// Every data subject the person is: the customer, and the contact when that is a subject of its own.
    fn subjects(&self) -> Vec<uuid::Uuid> {
        let mut subjects = vec![self.id()];
        subjects.extend(self.contact.as_ref().map(|contact| contact.contact_id).filter(|id| *id != self.id()));
        subjects
    }
}

/// The person `wanted` names.
async fn find(app: &App, tenant: &str, wanted: &Wanted) -> Result<Person, Refused> {
    let mut customer = None;
    for identity in &wanted.identities {
        customer = leads::customer(&app.db, tenant, identity).await?;
        if customer.is_some() {
            break;
        }
    }
    let mut contact = match &wanted.email_phone {
        Some((email, phone)) => leads::contact_of(app, tenant, email, phone).await?,
        None => None,
    };
    if let (None, Some(customer)) = (&contact, &customer) {
        // A customer made after the contact has the contact's id, whatever the contact's details are now.
        contact = queries::contact(&app.db, tenant, customer.customer_id).await?;
    }
    if customer.is_none() && contact.is_none() {
        return Err(Refused::not_found("no customer with this e-mail address and phone, or national id"));
    }
    Ok(Person { customer, contact })
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

/// A contact's details under the names Footprints gives them (a name's last word is the last name).
fn contact_fields(details: &ContactDetails) -> Map<String, Value> {
    let mut person = Map::new();
    let mut put = |name: &str, value: Option<&str>| {
        if let Some(value) = value.filter(|value| !value.is_empty()) {
            person.insert(name.to_owned(), json!(value));
        }
    };
    if let Some(name) = &details.name {
        let (first, last) = name.trim().rsplit_once(' ').map_or((name.trim(), None), |(f, l)| (f.trim(), Some(l)));
        put("userFirstName", Some(first));
        put("userLastName", last);
    }
    put("userEmail", details.email.as_deref());
    put("userPhone", details.mobile_number.as_deref());
    put("userBirthday", details.birth_date.map(|date| date.to_string()).as_deref());
    put("userExternalId", details.external_id.as_deref());
    if let Some(address) = &details.address {
        let street = [&address.street1, &address.street2].into_iter().flatten().cloned().collect::<Vec<_>>();
        put("userAddress", Some(&street.join(", ")));
        put("userCity", address.town.as_deref());
        put("userCounty", address.county.as_deref());
        put("userCountry", address.country.as_deref());
    }
    person
}

/// A customer: their data (the contact's details, then their leads', then their own updates, each over the one
/// before) and their leads.
async fn customer_answer(app: &App, found: &Person) -> Result<Value, Refused> {
    let mut person = found.contact.as_ref().map(|contact| contact_fields(&contact.details)).unwrap_or_default();
    let mut lead_answers = Vec::new();
    let mut channels = Value::Array(vec![]);
    let Some(customer) = &found.customer else {
        return Ok(answer_of(found.id(), person, channels, None, lead_answers));
    };
    for lead_id in customer.leads.iter().rev().take(MAX_LEADS).rev() {
        let Some(lead) = leads::lead(&app.db, &customer.tenant, lead_id).await? else { continue };
        let opened = leads::open(app, &lead).await?;
        person.extend(opened.person.clone());
        let answer = answer::lead(&lead, opened);
        channels = answer["marketingChannels"].clone();
        lead_answers.push(answer);
    }
    lead_answers.reverse();
    open_profile(app, customer, &mut person).await?;
    Ok(answer_of(found.id(), person, channels, Some(customer), lead_answers))
}

/// Lays the customer's own profile changes over `person`, each over the one before.
async fn open_profile(app: &App, customer: &CustomerView, person: &mut Map<String, Value>) -> Result<(), Refused> {
    let sealed: Vec<&tally_events::Sealed> = customer.profile.iter().collect();
    for changes in app.vault.open_all(&app.db, &customer.tenant, &sealed).await?.into_iter().flatten() {
        if let Value::Object(changes) = changes {
            person.extend(changes);
        }
    }
    Ok(())
}

/// A customer's data in Footprints' fields: their newest lead's, then their profile's (nothing once erased).
pub(super) async fn data_of(app: &App, tenant: &str, customer_id: uuid::Uuid) -> Result<Map<String, Value>, Refused> {
    let mut person = Map::new();
    let Some(customer) = queries::customer(&app.db, tenant, customer_id).await? else { return Ok(person) };
    if let Some(lead_id) = customer.leads.last() {
        if let Some(lead) = leads::lead(&app.db, tenant, lead_id).await? {
            person.extend(leads::open(app, &lead).await?.person);
        }
    }
    open_profile(app, &customer, &mut person).await?;
    Ok(person)
}

/// The answer's object: the person's fields and their leads, with the customer's times when Footprints has a customer
/// (a contact alone has none).
fn answer_of(
    id: uuid::Uuid,
    mut person: Map<String, Value>,
    channels: Value,
    customer: Option<&CustomerView>,
    leads: Vec<Value>,
) -> Value {
    let mut out = Map::new();
    out.insert("_id".into(), json!(id.simple().to_string()));
    for list in ["kidsAge", "interests", "preferences"] {
        out.insert(list.into(), person.remove(list).unwrap_or_else(|| json!([])));
    }
    out.extend(person);
    out.insert("type".into(), json!("B2C"));
    out.insert("marketingChannels".into(), channels);
    out.insert("timestamp".into(), json!(customer.map(|c| answer::time(c.updated_at))));
    out.insert("createdAt".into(), json!(customer.map(|c| answer::time(c.created_at))));
    out.insert("leads".into(), Value::Array(leads));
    Value::Object(out)
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
        let wanted = identities(&app, &principal.tenant, &query.fields()).await?;
        let person = find(&app, &principal.tenant, &wanted).await?;
        Ok::<_, Refused>(Json(customer_answer(&app, &person).await?))
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
        let wanted = identities(app, &principal.tenant, &fields).await?;
        let id = find(app, &principal.tenant, &wanted).await?.id();
        let mut person = person::personal(&fields)?;
        for identifying in ["userEmail", "userPhone"] {
            person.remove(identifying);
        }
        let personal = leads::seal(app, &principal.tenant, id, Value::Object(person)).await?;
        let command = CustomerCommand::Update { identities: wanted.identities, personal };
        Ok(CustomerAggregate::target(id, command).into())
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
        let wanted = identities(app, &principal.tenant, &fields).await?;
        let subjects = find(app, &principal.tenant, &wanted).await?.subjects();
        // The keys go first, so that nothing is sealed for the person between the erasure and its recording (the
        // `erasures` subscriber destroys them again from the recorded erasure, whichever instance records it).
        for subject in &subjects {
            app.vault.erase(&app.db, &principal.tenant, *subject).await?;
        }
        let erase = |subject| CustomerAggregate::target(subject, CustomerCommand::Erase);
        Ok(Target::all(subjects.into_iter().map(erase)).into())
    };
    let render = |_: &[tally_events::Envelope]| (StatusCode::OK, json!({"status": "success"}));
    write(&app, incoming, Allowed::Staff, plan, render, Then::Rendered).await
}
