//! Leads and lead actions as Footprints answers with them: the seed's field names, the person's data opened from
//! the vault (absent once the customer is erased), times as ISO 8601 UTC with milliseconds.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};
use tally_projections::{LeadActionView, LeadView};

use crate::leads::{action_type, Opened};

pub fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A wall-clock time as the caller gave it (no zone), in the same notation.
pub fn local_time(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3f").to_string()
}

/// Puts the fields that have a value.
fn present<'a>(out: &mut Map<String, Value>, fields: impl IntoIterator<Item = (&'a str, Option<Value>)>) {
    out.extend(fields.into_iter().filter_map(|(name, value)| Some((name.to_owned(), value?))));
}

/// A lead, with its opened personal data.
pub fn lead(view: &LeadView, opened: Opened) -> Value {
    let mut out = Map::new();
    out.insert("_id".into(), json!(view.lead_id));
    out.extend(opened.person);
    let p = &view.placement;
    let placement = [
        ("offlineCampaignId", &p.offline_campaign_id),
        ("offerCategoryId", &p.offer_category_id),
        ("offerId", &p.offer_id),
        ("locationId", &p.location_id),
        ("consultantId", &p.consultant_id),
        ("channelId", &p.channel_id),
        ("skuId", &p.sku_id),
        ("skuExternalId", &p.sku_external_id),
    ];
    present(&mut out, placement.map(|(name, value)| (name, value.as_ref().map(|v| json!(v)))));
    out.insert("clientId".into(), json!(view.customer_id.simple().to_string()));
    out.insert("status".into(), json!(view.status.as_str()));
    out.insert("tags".into(), json!(view.tags));
    let channels: Vec<Value> = view
        .marketing_channels
        .iter()
        .map(|c| json!({"channel": c.channel, "type": c.kind, "agreed": c.agreed}))
        .collect();
    out.insert("marketingChannels".into(), Value::Array(channels));
    let a = &view.agreements;
    let agreements = [
        ("agreeTandc", a.terms_and_conditions),
        ("agreePrivacy", a.privacy_policy),
        ("agreedTargetedMessages", a.targeted_messages),
        ("isAdult", a.is_adult),
    ];
    present(&mut out, agreements.map(|(name, value)| (name, value.map(Value::Bool))));
    let optional = [
        ("nps", view.nps.map(|nps| json!(nps))),
        ("npsComment", opened.nps_comment),
        ("timezone", view.timezone.as_ref().map(|zone| json!(zone))),
        ("reasonLost", view.lost_reason.map(|reason| json!(reason.as_str()))),
        ("comments", opened.lost_comment),
    ];
    present(&mut out, optional);
    if let Some(contract) = &view.contract {
        let fields = [
            ("contractNumber", contract.number.as_ref().map(|n| json!(n))),
            ("contractValue", contract.value.map(|v| json!(v))),
            ("contractDate", contract.date.map(|d| json!(d.to_string()))),
            ("contractDescription", opened.contract_description),
        ];
        present(&mut out, fields);
    }
    let documents: Vec<Value> = view
        .documents
        .iter()
        .zip(opened.document_names)
        .map(|(document, name)| {
            json!({
                "_id": document.document_id,
                "documentType": document.document_type.as_str(),
                "fileName": name,
                "size": document.size_bytes,
                "sha256": document.sha256,
                "leadActionId": document.action_id,
                "createdAt": time(document.attached_at),
            })
        })
        .collect();
    out.insert("documents".into(), Value::Array(documents));
    out.insert("actionRequired".into(), json!(view.action_required));
    out.insert("timestamp".into(), json!(time(view.updated_at)));
    out.insert("timestampStatusChange".into(), json!(time(view.status_since)));
    out.insert("createdAt".into(), json!(time(view.created_at)));
    out.insert("updatedAt".into(), json!(time(view.updated_at)));
    Value::Object(out)
}

/// A lead action, with its opened detail.
pub fn action(view: &LeadActionView, detail: Option<Value>) -> Value {
    json!({
        "_id": view.action_id,
        "leadId": view.lead_id,
        "actionDetail": detail,
        "leadActionTypeId": {"_id": view.action_type_id, "name": action_type(&view.action_type_id)},
        "attachments": [],
        "date": local_time(view.date),
        "createdAt": time(view.created_at),
        "updatedAt": time(view.updated_at),
    })
}
