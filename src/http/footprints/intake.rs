//! Reading a lead from Footprints' fields: the placement in the catalogue, marketing channels, agreements, the time
//! zone and `createdAt`, the contract of a won lead; and taking a new lead (or prospect) with the person's data
//! sealed for their customer.

use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde_json::Value;
use tally_events::{Agreements, Contract, LeadAdded, LeadPlacement, LeadStatus, MarketingChannel};

use super::{
    fields::{Fields, MAX_COMMENT},
    person::{self, phone_digits},
    Planned, Refused,
};
use crate::{
    app::App,
    auth::Principal,
    catalogue::{self, Ref},
    commands::Stream,
    domain::lead::{LeadAggregate, LeadCommand},
    leads, queries,
    store::object_id,
};

/// Tags a lead may carry, and their length.
pub(super) const MAX_TAGS: usize = 50;
pub(super) const MAX_TAG: usize = 64;
/// Marketing channels a lead may list.
const MAX_CHANNELS: usize = 20;

/// The catalogue ids of a lead's placement: each must name a live item of its kind in the merchant's catalogue
/// (`skuExternalId` is the merchant's own reference, taken as it is).
pub(super) async fn placement(app: &App, tenant: &str, fields: &Fields) -> Result<LeadPlacement, Refused> {
    let placement = LeadPlacement {
        offline_campaign_id: fields.id("offlineCampaignId")?,
        offer_category_id: fields.id("offerCategoryId")?,
        offer_id: fields.id("offerId")?,
        location_id: fields.id("locationId")?,
        consultant_id: fields.id("consultantId")?,
        channel_id: fields.id("channelId")?,
        sku_id: fields.id("skuId")?,
        sku_external_id: fields.text("skuExternalId", 64)?,
    };
    let p = &placement;
    let refs = [
        Ref { kind: "offline_campaign", field: "offlineCampaignId", id: p.offline_campaign_id.as_deref() },
        Ref { kind: "offer_category", field: "offerCategoryId", id: p.offer_category_id.as_deref() },
        Ref { kind: "offer", field: "offerId", id: p.offer_id.as_deref() },
        Ref { kind: "location", field: "locationId", id: p.location_id.as_deref() },
        Ref { kind: "business_user", field: "consultantId", id: p.consultant_id.as_deref() },
        Ref { kind: "channel", field: "channelId", id: p.channel_id.as_deref() },
        Ref { kind: "sku", field: "skuId", id: p.sku_id.as_deref() },
    ];
    if let Some((field, id)) = catalogue::first_unknown(&app.db, tenant, &refs).await? {
        let message = format!("{field} {id} names no item of the merchant's catalogue");
        return Err(Refused::new(StatusCode::UNPROCESSABLE_ENTITY, "unknown_catalogue_id", message));
    }
    Ok(placement)
}

const CHANNELS: [&str; 5] = ["sms", "email", "notification", "dm", "socialMedia"];
const CHANNEL_TYPES: [&str; 3] = ["owner", "group", "partners"];

fn marketing_channels(fields: &Fields) -> Result<Vec<MarketingChannel>, Refused> {
    let items = match fields.raw("marketingChannels") {
        None => return Ok(vec![]),
        Some(Value::Array(items)) if items.len() <= MAX_CHANNELS => items,
        Some(_) => {
            return Err(Refused::invalid(format!(
                "marketingChannels must be a list of at most {MAX_CHANNELS} objects with channel, type and agreed"
            )))
        }
    };
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let Value::Object(object) = item else {
                return Err(Refused::invalid(format!("marketingChannels[{index}] must be an object")));
            };
            let item = Fields(object.clone());
            let name = |field: &str| format!("marketingChannels[{index}][{field}]");
            let channel = item.one_of("channel", &CHANNELS).map_err(|_| {
                Refused::invalid(format!("{} must be one of: {}", name("channel"), CHANNELS.join(", ")))
            })?;
            let kind = item.one_of("type", &CHANNEL_TYPES).map_err(|_| {
                Refused::invalid(format!("{} must be one of: {}", name("type"), CHANNEL_TYPES.join(", ")))
            })?;
            let agreed = item
                .flag("agreed")
                .map_err(|_| Refused::invalid(format!("{} must be \"true\" or \"false\"", name("agreed"))))?;
            match (channel, kind, agreed) {
                (Some(channel), Some(kind), Some(agreed)) => Ok(MarketingChannel { channel, kind, agreed }),
                _ => Err(Refused::invalid(format!("marketingChannels[{index}] needs channel, type and agreed"))),
            }
        })
        .collect()
}

fn agreements(fields: &Fields) -> Result<Agreements, Refused> {
    Ok(Agreements {
        terms_and_conditions: fields.flag("agreeTandc")?,
        privacy_policy: fields.flag("agreePrivacy")?,
        targeted_messages: fields.flag("agreedTargetedMessages")?,
        is_adult: fields.flag("isAdult")?,
    })
}

fn time_zone(fields: &Fields) -> Result<Option<Tz>, Refused> {
    fields
        .text("timezone", 64)?
        .map(|zone| {
            zone.parse::<Tz>().map_err(|_| Refused::invalid(format!("timezone {zone:?} is not an IANA time zone")))
        })
        .transpose()
}

/// `createdAt`, read in the lead's time zone (else the merchant's): not in the future.
async fn created_at(
    app: &App,
    tenant: &str,
    fields: &Fields,
    zone: Option<Tz>,
) -> Result<Option<DateTime<Utc>>, Refused> {
    let Some(local) = fields.datetime("createdAt")? else { return Ok(None) };
    let zone = match zone {
        Some(zone) => zone,
        None => app.reads.time_zone(&app.db, tenant).await?,
    };
    let at =
        queries::in_zone(local, zone).ok_or_else(|| Refused::invalid("createdAt does not exist in its time zone"))?;
    if at > Utc::now() + chrono::Duration::minutes(5) {
        return Err(Refused::invalid("createdAt is in the future"));
    }
    Ok(Some(at))
}

/// Takes a lead (or a prospect) from a form.
pub(super) async fn take(
    app: &App,
    principal: &Principal,
    fields: Fields,
    status: LeadStatus,
) -> Result<Planned, Refused> {
    let person = person::personal(&fields)?;
    let reachable = ["userEmail", "userPhone", "companyName"].iter().any(|name| person.contains_key(*name));
    if !reachable {
        let needed = if status == LeadStatus::Prospect {
            "userEmail, userPhone or companyName"
        } else {
            "userEmail or userPhone"
        };
        return Err(Refused::invalid(format!("a {} needs {needed}", status.as_str())));
    }
    let status = match fields.one_of("status", &["prospect", "lead", "sale_lead", "opportunity"])? {
        Some(name) => LeadStatus::parse(&name).expect("an accepted status"),
        None => status,
    };
    let zone = time_zone(&fields)?;
    let occurred_at = created_at(app, &principal.tenant, &fields, zone).await?;
    let email = person.get("userEmail").and_then(Value::as_str);
    let phone = person.get("userPhone").and_then(Value::as_str).map(phone_digits);
    let (customer_id, identity) = leads::customer_for(app, &principal.tenant, email, phone.as_deref()).await?;
    let added = LeadAdded {
        customer_id,
        identity,
        status,
        placement: placement(app, &principal.tenant, &fields).await?,
        personal: None,
        tags: fields.list("tags", MAX_TAGS, MAX_TAG)?.unwrap_or_default(),
        marketing_channels: marketing_channels(&fields)?,
        agreements: agreements(&fields)?,
        nps: fields.whole("nps", 0, 10)?.map(|nps| nps as u8),
        timezone: zone.map(|zone| zone.name().to_owned()),
    };
    let personal = leads::seal(app, &principal.tenant, customer_id, Value::Object(person)).await?;
    let command = LeadCommand::Add(Box::new(LeadAdded { personal, ..added }));
    Ok(Planned { target: LeadAggregate::target(object_id(), command), occurred_at })
}

/// The contract fields of an update, with the description to seal; none without any.
pub(super) fn contract(fields: &Fields) -> Result<Option<(Contract, Option<String>)>, Refused> {
    let number = fields.text("contractNumber", 64)?;
    let value = fields
        .text("contractValue", 32)?
        .map(|text| {
            text.parse::<Decimal>()
                .ok()
                .filter(|value| !value.is_sign_negative() && value.scale() <= 4)
                .ok_or_else(|| Refused::invalid("contractValue must be an amount of at least 0, e.g. 1200.50"))
        })
        .transpose()?;
    let date: Option<NaiveDate> = fields.date("contractDate")?;
    let description = fields.text("contractDescription", MAX_COMMENT)?;
    if number.is_none() && value.is_none() && date.is_none() && description.is_none() {
        return Ok(None);
    }
    Ok(Some((Contract { number, value, date, description: None }, description)))
}
