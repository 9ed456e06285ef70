//! Leads, as every surface works with them: the built-in action types, the customer a new lead belongs to, sealing
//! the person's data with that customer's key and opening it again for an answer, and the reads of the lead views
//! and the pipeline figures.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{Map, Value};
use tally_events::{LeadStatus, Sealed};
use tally_projections::{
    pipeline::{self, Dimension, Filter, Period, Stage},
    ContactView, CustomerView, LeadActionView, LeadView,
};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    app::App,
    domain::ids::MobileNumber,
    queries::{self, ReadCache},
    store::{Db, StoreError},
    vault::VaultError,
};

/// The lead action types every merchant has (the catalogue of its own comes with Footprints' catalogue): id and
/// name. Ids are 24 hexadecimal digits, as Footprints' are.
pub const ACTION_TYPES: [(&str, &str); 8] = [
    ("000000000000000000000001", "Call"),
    ("000000000000000000000002", "Meeting"),
    ("000000000000000000000003", "E-mail"),
    ("000000000000000000000004", "SMS"),
    ("000000000000000000000005", "Offer sent"),
    ("000000000000000000000006", "Visit"),
    ("000000000000000000000007", "Follow-up"),
    ("000000000000000000000008", "Other"),
];

/// When the built-in action types were declared (what Footprints lists as their `createdAt`).
pub const ACTION_TYPES_DECLARED: &str = "2026-01-01T00:00:00.000Z";

pub fn action_type(id: &str) -> Option<&'static str> {
    ACTION_TYPES.iter().find(|(type_id, _)| *type_id == id).map(|(_, name)| *name)
}

/// The customer a new lead with this e-mail address and phone belongs to: the customer of an earlier lead with both
/// the same; else the CashDesk or Enactor contact who is this person ([`contact_of`]), whose id the customer takes
/// (one person, one key); else a new one. Returns the customer and the identity digest to record (none without
/// both).
///
/// Two leads of a new person taken at the same moment may make two customers: they are answered and erased as one
/// through their shared identity (see the README's merge rule).
pub async fn customer_for(
    app: &App,
    tenant: &str,
    email: Option<&str>,
    phone_digits: Option<&str>,
) -> Result<(Uuid, Option<String>), StoreError> {
    let (Some(email), Some(phone)) = (email, phone_digits) else {
        return Ok((Uuid::now_v7(), None));
    };
    let identity = contact_identity(app, tenant, email, phone).await?;
    let known = match customer(&app.db, tenant, &identity).await? {
        Some(customer) => customer.customer_id,
        None => contact_of(app, tenant, email, phone).await?.map_or_else(Uuid::now_v7, |contact| contact.contact_id),
    };
    Ok((known, Some(identity)))
}

/// The CashDesk or Enactor contact who is the person with this e-mail address and phone: the one whose mobile
/// number is the phone and whose e-mail is the address (in any case). Both must match: a phone alone is often a
/// household's.
pub async fn contact_of(
    app: &App,
    tenant: &str,
    email: &str,
    phone_digits: &str,
) -> Result<Option<ContactView>, StoreError> {
    let Some(mobile) = MobileNumber::parse(&format!("+{phone_digits}")) else { return Ok(None) };
    let contact = queries::contact_by_mobile(&app.db, tenant, mobile.as_str()).await?;
    Ok(contact.filter(|contact| contact.details.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(email))))
}

/// The identity digest of an e-mail address (in any case) with a phone number's digits.
pub async fn contact_identity(app: &App, tenant: &str, email: &str, phone_digits: &str) -> Result<String, StoreError> {
    let email = email.trim().to_lowercase();
    app.vault.identity(&app.db, tenant, &["email+phone", &email, phone_digits]).await
}

/// The identity digest of a national id (letters in capitals, without blanks).
pub async fn national_identity(app: &App, tenant: &str, national_id: &str) -> Result<String, StoreError> {
    let national_id: String = national_id.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_uppercase).collect();
    app.vault.identity(&app.db, tenant, &["national-id", &national_id]).await
}

/// The customer an identity finds, unless they were erased.
pub async fn customer(db: &Db, tenant: &str, identity: &str) -> Result<Option<CustomerView>, StoreError> {
    Ok(tally_projections::find_customer(&mut *db.read.acquire().await?, tenant, identity).await?)
}

/// Seals a person's data (nothing when there is none) with the customer's key.
pub async fn seal(app: &App, tenant: &str, customer: Uuid, value: Value) -> Result<Option<Sealed>, VaultError> {
    let empty = match &value {
        Value::Object(map) => map.is_empty(),
        Value::Null => true,
        Value::String(text) => text.is_empty(),
        _ => false,
    };
    if empty {
        return Ok(None);
    }
    app.vault.seal(&app.db, tenant, customer, &value).await.map(Some)
}

/// A lead's sealed data, opened: what an erased customer's key no longer opens is absent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Opened {
    pub person: Map<String, Value>,
    pub nps_comment: Option<Value>,
    pub lost_comment: Option<Value>,
    pub contract_description: Option<Value>,
    /// The documents' file names, in the lead's order.
    pub document_names: Vec<Option<Value>>,
}

/// Opens what a lead holds sealed.
pub async fn open(app: &App, lead: &LeadView) -> Result<Opened, StoreError> {
    let description = lead.contract.as_ref().and_then(|c| c.description.as_ref());
    let mut sealed: Vec<&Sealed> = lead.personal.iter().collect();
    let singles = [lead.nps_comment.as_ref(), lead.lost_comment.as_ref(), description];
    sealed.extend(singles.iter().flatten());
    sealed.extend(lead.documents.iter().map(|document| &document.file_name));
    let mut opened = app.vault.open_all(&app.db, &lead.tenant, &sealed).await?.into_iter();
    let mut person = Map::new();
    for _ in &lead.personal {
        if let Some(Value::Object(changes)) = opened.next().flatten() {
            person.extend(changes);
        }
    }
    let mut next = |present: Option<&Sealed>| present.and_then(|_| opened.next().flatten());
    let (nps_comment, lost_comment, contract_description) = (next(singles[0]), next(singles[1]), next(singles[2]));
    Ok(Opened { person, nps_comment, lost_comment, contract_description, document_names: opened.collect() })
}

/// A lead action's detail, opened.
pub async fn open_detail(app: &App, action: &LeadActionView) -> Result<Option<Value>, StoreError> {
    let Some(detail) = &action.detail else { return Ok(None) };
    Ok(app.vault.open_all(&app.db, &action.tenant, &[detail]).await?.pop().flatten())
}

pub async fn lead(db: &Db, tenant: &str, lead_id: &str) -> Result<Option<LeadView>, StoreError> {
    Ok(tally_projections::load_lead(&mut *db.read.acquire().await?, tenant, lead_id).await?)
}

pub async fn action(db: &Db, tenant: &str, action_id: &str) -> Result<Option<LeadActionView>, StoreError> {
    Ok(tally_projections::load_lead_action(&mut *db.read.acquire().await?, tenant, action_id).await?)
}

pub async fn actions(db: &Db, tenant: &str, lead_id: &str) -> Result<Vec<LeadActionView>, StoreError> {
    Ok(tally_projections::lead_actions(&mut *db.read.acquire().await?, tenant, lead_id).await?)
}

/// A page of the listed leads created in `created`, newest first, and how many there are in all.
pub async fn list(
    db: &Db,
    tenant: &str,
    created: (DateTime<Utc>, DateTime<Utc>),
    offset: i64,
    limit: i64,
) -> Result<(Vec<LeadView>, i64), StoreError> {
    Ok(tally_projections::list_leads(&mut *db.read.acquire().await?, tenant, created, offset, limit).await?)
}

/// A merchant's pipeline: per status (and group), and over a period.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    pub stages: Vec<Stage>,
    pub period: Period,
}

/// The pipeline figures of `tenant`'s leads that match `filter`, split by `split`, over `[from, to)`.
pub async fn pipeline(
    db: &Db,
    tenant: &str,
    filter: &Filter,
    split: Option<Dimension>,
    period: (DateTime<Utc>, DateTime<Utc>),
) -> Result<Pipeline, StoreError> {
    let mut conn = db.read.acquire().await?;
    let stages = pipeline::stages(&mut conn, tenant, filter, split).await?;
    let period = pipeline::period(&mut conn, tenant, filter, period.0, period.1).await?;
    Ok(Pipeline { stages, period })
}

/// A pipeline as the native API and the CLI report it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PipelineReport {
    pub tenant: String,
    /// When the ages were measured.
    pub as_of: DateTime<Utc>,
    /// The period's first and last day (in the merchant's time zone).
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The dimension the stages are split by, if any.
    pub group_by: Option<&'static str>,
    /// Per status (and group), statuses in pipeline order.
    pub stages: Vec<StageReport>,
    pub period: PeriodReport,
}

/// One status's figures.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct StageReport {
    /// The group's value (a location id, …) when split; null for leads without one.
    pub group: Option<String>,
    #[schema(value_type = String)]
    pub status: LeadStatus,
    pub leads: i64,
    /// The average time the leads have spent in the status so far.
    pub average_age_seconds: i64,
    /// Open leads nothing was done about since they entered the status.
    pub actions_due: i64,
}

/// What happened over the period.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PeriodReport {
    /// Leads added in the period.
    pub added: i64,
    /// Of those, how many are customers now.
    pub added_now_customers: i64,
    /// `added_now_customers / added`, to four places (0 with nothing added).
    #[schema(value_type = String)]
    pub conversion_rate: Decimal,
    /// Leads that became customers in the period, whenever they were added.
    pub converted: i64,
    /// Leads lost in the period, by reason.
    pub lost: BTreeMap<String, i64>,
}

impl PipelineReport {
    pub fn new(
        tenant: &str,
        pipeline: Pipeline,
        as_of: DateTime<Utc>,
        days: (NaiveDate, NaiveDate),
        split: Option<Dimension>,
    ) -> PipelineReport {
        let stages = pipeline
            .stages
            .iter()
            .map(|stage| StageReport {
                group: stage.group.clone(),
                status: stage.status,
                leads: stage.leads,
                average_age_seconds: stage.average_age_seconds(as_of),
                actions_due: stage.actions_due,
            })
            .collect();
        let period = pipeline.period;
        let conversion_rate = match period.added {
            0 => Decimal::ZERO,
            added => (Decimal::from(period.added_now_customers) / Decimal::from(added)).round_dp(4).normalize(),
        };
        PipelineReport {
            tenant: tenant.to_owned(),
            as_of,
            from: days.0,
            to: days.1,
            group_by: split.map(Dimension::as_str),
            stages,
            period: PeriodReport {
                added: period.added,
                added_now_customers: period.added_now_customers,
                conversion_rate,
                converted: period.converted,
                lost: period.lost.iter().map(|(reason, count)| (reason.as_str().to_owned(), *count)).collect(),
            },
        }
    }
}

/// The period a report covers by default: the last 30 days, today included.
pub const DEFAULT_PERIOD_DAYS: u64 = 30;

/// The report of `tenant`'s pipeline: `days` (first and last, in the merchant's time zone; the last
/// [`DEFAULT_PERIOD_DAYS`] by default), narrowed by `filter`, split by `split`.
pub async fn pipeline_report(
    db: &Db,
    reads: &ReadCache,
    tenant: &str,
    filter: &Filter,
    split: Option<Dimension>,
    days: (Option<NaiveDate>, Option<NaiveDate>),
) -> Result<PipelineReport, StoreError> {
    let zone = reads.time_zone(db, tenant).await?;
    let now = Utc::now();
    let today = now.with_timezone(&zone).date_naive();
    let last = days.1.unwrap_or(today);
    let first = days.0.unwrap_or_else(|| last - chrono::Days::new(DEFAULT_PERIOD_DAYS - 1));
    let start = |day: NaiveDate| queries::day_start(day, zone).unwrap_or(now);
    let end = last.succ_opt().map(start).unwrap_or(DateTime::<Utc>::MAX_UTC);
    let figures = pipeline(db, tenant, filter, split, (start(first), end)).await?;
    Ok(PipelineReport::new(tenant, figures, now, (first, last), split))
}
