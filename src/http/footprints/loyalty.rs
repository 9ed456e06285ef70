//! Loyalty campaign codes (`/api/loyaltyCode/...`): the caller's campaigns (all, or those running), a client's code
//! in a campaign, handing a code to a client, redeeming or blocking it, the paged list of codes handed out, and a
//! client's prize history. The client is named by `userEmail` with `userPhone` (the identity their customer is
//! found by). Campaigns and their codes are made through the native API (`/v1/loyalty-campaigns`).
//!
//! Choices where the seed is silent (see the README): `POST /api/loyaltyCode/allocate` hands a code out; `change`
//! takes an optional `status` (`redeemed`, the default, or `blocked`); `check` answers 404 when the client holds no
//! code of the campaign; a campaign's `total` is the number of its codes handed out.

mod lists;

use std::sync::{Arc, OnceLock};

use axum::{extract::State, http::StatusCode, response::Response};
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use tally_events::{Envelope, Event};
use tally_projections::LoyaltyCampaignView;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    ask,
    fields::Fields,
    person::{phone_digits, valid_phone},
    write, Allowed, ErrorBody, Planned, Refused, Then,
};
use crate::{
    app::App,
    auth::Principal,
    commands::{Stream, Target},
    domain::{
        customer::{CustomerAggregate, CustomerCommand},
        ids::is_email,
        loyalty::{CampaignAggregate, CampaignCommand, CodeChange, LoyaltyError},
    },
    http::{ingress::Incoming, Shared},
    leads, loyalty,
};

pub fn routes() -> OpenApiRouter<Shared> {
    OpenApiRouter::new().routes(routes!(check)).routes(routes!(allocate)).routes(routes!(change)).merge(lists::routes())
}

/// Footprints' error for a campaign's refusal: its HTTP status and code.
pub(super) fn refused(error: &LoyaltyError) -> (StatusCode, &'static str) {
    match error {
        LoyaltyError::CampaignNotFound => (StatusCode::NOT_FOUND, "unknown_campaign"),
        LoyaltyError::UnknownCode => (StatusCode::NOT_FOUND, "unknown_code"),
        LoyaltyError::UnknownPrize { .. } => (StatusCode::BAD_REQUEST, "unknown_prize"),
        LoyaltyError::CodeNotHeld => (StatusCode::CONFLICT, "code_not_held"),
        LoyaltyError::AlreadyRedeemed => (StatusCode::CONFLICT, "code_already_redeemed"),
        LoyaltyError::CodeBlocked => (StatusCode::CONFLICT, "code_blocked"),
        LoyaltyError::CodesExpired => (StatusCode::CONFLICT, "codes_expired"),
        LoyaltyError::CampaignNotRunning => (StatusCode::CONFLICT, "campaign_not_running"),
        LoyaltyError::ClientHoldsCode { .. } => (StatusCode::CONFLICT, "client_holds_code"),
        LoyaltyError::NoCodesLeft => (StatusCode::CONFLICT, "no_codes_left"),
        LoyaltyError::PrizeTypeInUse { .. }
        | LoyaltyError::CodeAlreadyIssued { .. }
        | LoyaltyError::NotEnoughCodes { .. } => (StatusCode::CONFLICT, "conflict"),
    }
}

/// The client a request names: their identity digest, e-mail address and phone's digits.
struct Client {
    identity: String,
    email: String,
    phone: String,
}

async fn client(app: &App, tenant: &str, fields: &Fields) -> Result<Client, Refused> {
    let email = fields.required("userEmail", 254)?;
    let phone = fields.required("userPhone", 32)?;
    if !is_email(&email) || !valid_phone(&phone) {
        return Err(Refused::invalid("userEmail must be an e-mail address and userPhone a phone number"));
    }
    let phone = phone_digits(&phone);
    let identity = leads::contact_identity(app, tenant, &email, &phone).await?;
    Ok(Client { identity, email, phone })
}

/// The campaign `campaignInternalId` names.
async fn campaign_of(app: &App, tenant: &str, fields: &Fields) -> Result<LoyaltyCampaignView, Refused> {
    let internal_id =
        fields.id("campaignInternalId")?.ok_or_else(|| Refused::invalid("campaignInternalId is required"))?;
    loyalty::campaign(&app.db, tenant, &internal_id).await?.ok_or_else(|| {
        Refused::new(StatusCode::NOT_FOUND, "unknown_campaign", "no loyalty campaign with this internal id")
    })
}

/// Times as the seed's check answers them: `2018-12-15 17:28:47` (UTC).
fn plain_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn prize_name<'a>(campaign: &'a LoyaltyCampaignView, prize_id: &str) -> Option<&'a str> {
    campaign.declared.settings.prize_types.iter().find(|prize| prize.id == prize_id).map(|prize| prize.name.as_str())
}

/// The answer of `check` and `allocate`: the code, its status and prize.
fn code_answer(
    message: &str,
    campaign: &LoyaltyCampaignView,
    code: &str,
    prize_id: &str,
    status: &str,
    at: DateTime<Utc>,
) -> Value {
    json!({
        "status": "success",
        "message": message,
        "code": code,
        "expire_code_date": plain_time(campaign.declared.codes_expire_at),
        "prize_status": status,
        "prize": {"name": prize_name(campaign, prize_id)},
        "last_update": plain_time(at),
    })
}

/// Check whether a client holds a code of a campaign.
#[utoipa::path(post, path = "/api/loyaltyCode/check", tag = "footprints",
    request_body(content_type = "application/x-www-form-urlencoded", description = "userEmail, userPhone, \
        campaignInternalId"),
    responses(
        (status = 200, description = "The client's newest code of the campaign: code, prize_status (associated, \
            redeemed or blocked), prize, expire_code_date, last_update"),
        (status = 400, description = "A field is missing or invalid", body = ErrorBody),
        (status = 403, description = "Role client may not read codes", body = ErrorBody),
        (status = 404, description = "No such campaign (unknown_campaign), or the client holds no code of it \
            (not_found)", body = ErrorBody),
    ))]
async fn check(State(app): State<Shared>, incoming: Incoming) -> Response {
    ask(&app, incoming, Allowed::Staff, async |app: &App, principal: &Principal, fields: Fields| {
        let tenant = &principal.tenant;
        let campaign = campaign_of(app, tenant, &fields).await?;
        let client = client(app, tenant, &fields).await?;
        let codes = loyalty::codes_of(&app.db, tenant, &client.identity, Some(&campaign.internal_id)).await?;
        let code = codes.first().ok_or_else(|| Refused::not_found("the client holds no code of this campaign"))?;
        Ok(code_answer(
            "redeem code found",
            &campaign,
            &code.code,
            &code.prize_id,
            code.status.as_str(),
            code.updated_at,
        ))
    })
    .await
}

/// Hand a code of a campaign to a client.
#[utoipa::path(post, path = "/api/loyaltyCode/allocate", tag = "footprints",
    request_body(content_type = "application/x-www-form-urlencoded", description = "userEmail, userPhone, \
        campaignInternalId; prizeId (a prize type's _id; else the first prize type with a free code); \
        userFirstName, userLastName (kept for a new customer)"),
    responses(
        (status = 200, description = "The code handed out (prize_status associated)"),
        (status = 400, description = "A field is missing or invalid, or the campaign has no such prize type", body = ErrorBody),
        (status = 403, description = "Role client may not hand out codes", body = ErrorBody),
        (status = 404, description = "No such campaign", body = ErrorBody),
        (status = 409, description = "The campaign is not running (campaign_not_running), has no free code \
            (no_codes_left), or the client holds a code of it not yet redeemed or blocked (client_holds_code)",
            body = ErrorBody),
    ))]
async fn allocate(State(app): State<Shared>, incoming: Incoming) -> Response {
    // The campaign the plan found, for the answer.
    let found = Arc::new(OnceLock::new());
    let seen = found.clone();
    let plan = async move |app: &App, principal: &Principal, fields: Fields| {
        let tenant = &principal.tenant;
        let campaign = campaign_of(app, tenant, &fields).await?;
        let internal_id = campaign.internal_id.clone();
        seen.get_or_init(|| campaign);
        let client = client(app, tenant, &fields).await?;
        let prize_id = fields.id("prizeId")?;
        let (customer_id, _) = leads::customer_for(app, tenant, Some(&client.email), Some(&client.phone)).await?;
        let mut person = Map::new();
        if leads::customer(&app.db, tenant, &client.identity).await?.is_none() {
            // A new customer: what the code list shows of them.
            person.insert("userEmail".into(), json!(client.email));
            person.insert("userPhone".into(), json!(fields.required("userPhone", 32)?));
            for name in ["userFirstName", "userLastName"] {
                if let Some(value) = fields.text(name, 100)? {
                    person.insert(name.into(), json!(value));
                }
            }
        }
        let personal = leads::seal(app, tenant, customer_id, Value::Object(person)).await?;
        let allocate = CampaignCommand::Allocate {
            holder: client.identity.clone(),
            customer_id,
            prize_id,
            by: principal.actor().principal,
        };
        let customer = CustomerCommand::Update { identities: vec![client.identity], personal };
        let target = Target::all([
            CampaignAggregate::target(internal_id, allocate),
            CustomerAggregate::target(customer_id, customer),
        ]);
        Ok(Planned::from(target))
    };
    let render = move |envelopes: &[Envelope]| {
        let allocated = envelopes.iter().find_map(|envelope| match envelope.event() {
            Ok(Event::LoyaltyCodeAllocated(e)) => Some((e, envelope.occurred_at)),
            _ => None,
        });
        // An accepted allocation always records the code, and the plan found the campaign before.
        match (allocated, found.get()) {
            (Some((e, at)), Some(campaign)) => {
                (StatusCode::OK, code_answer("code allocated", campaign, &e.code, &e.prize_id, "associated", at))
            }
            _ => (StatusCode::INTERNAL_SERVER_ERROR, json!({"status": "error", "error": "server_error"})),
        }
    };
    write(&app, incoming, Allowed::Staff, plan, render, Then::Rendered).await
}

/// Redeem or block a client's code.
#[utoipa::path(post, path = "/api/loyaltyCode/change", tag = "footprints",
    request_body(content_type = "application/x-www-form-urlencoded", description = "userEmail, userPhone, \
        campaignInternalId, code; status: redeemed (the default) or blocked"),
    responses(
        (status = 200, description = "{\"status\": \"success\"}: the code is redeemed (or blocked), once: of two tills \
            changing the same code, one wins and the other is refused"),
        (status = 400, description = "A field is missing or invalid", body = ErrorBody),
        (status = 403, description = "Role client may not change codes", body = ErrorBody),
        (status = 404, description = "No such campaign (unknown_campaign), or the campaign has no such code \
            (unknown_code: a code of another campaign is not this one's)", body = ErrorBody),
        (status = 409, description = "The code is not this client's (code_not_held), was redeemed already \
            (code_already_redeemed), is blocked (code_blocked), or the campaign's codes expired (codes_expired)",
            body = ErrorBody),
    ))]
async fn change(State(app): State<Shared>, incoming: Incoming) -> Response {
    let plan = async |app: &App, principal: &Principal, fields: Fields| {
        let tenant = &principal.tenant;
        let campaign = campaign_of(app, tenant, &fields).await?;
        let client = client(app, tenant, &fields).await?;
        let text = fields.required("code", 64)?;
        let code = loyalty::code(&text).ok_or_else(|| Refused::invalid("code must be 1 to 32 letters, digits or -"))?;
        let change = match fields.one_of("status", &["redeemed", "blocked"])?.as_deref() {
            Some("blocked") => CodeChange::Block,
            _ => CodeChange::Redeem,
        };
        let command =
            CampaignCommand::Change { code, holder: client.identity, change, by: principal.actor().principal };
        Ok(Planned::from(CampaignAggregate::target(campaign.internal_id, command)))
    };
    let render = |_: &[Envelope]| (StatusCode::OK, json!({"status": "success"}));
    write(&app, incoming, Allowed::Staff, plan, render, Then::Rendered).await
}
