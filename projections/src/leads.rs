//! The lead views: each lead as the pipeline sees it (status, placement, the dates its figures are made of, and the
//! sealed personal data to open for an answer), and each lead action. The pipeline figures are queries over the
//! lead rows' columns (see `pipeline`).

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;
use tally_events::{
    stream, Agreements, Contract, DocumentType, Event, LeadPlacement, LeadStatus, LostReason, MarketingChannel, Sealed,
};
use uuid::Uuid;

use crate::{
    sql::{docs, load, Totals},
    Source, SqlView, View,
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadView {
    pub tenant: String,
    pub lead_id: String,
    pub customer_id: Uuid,
    pub status: LeadStatus,
    pub placement: LeadPlacement,
    /// The personal data as added, then each update's changes, in order: opened and laid over each other.
    pub personal: Vec<Sealed>,
    pub tags: Vec<String>,
    pub marketing_channels: Vec<MarketingChannel>,
    pub agreements: Agreements,
    pub nps: Option<u8>,
    pub nps_comment: Option<Sealed>,
    pub timezone: Option<String>,
    pub contract: Option<Contract>,
    pub lost_reason: Option<LostReason>,
    pub lost_comment: Option<Sealed>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the lead entered its current status.
    pub status_since: DateTime<Utc>,
    /// Open, and nothing was done about it since it entered its status (Footprints' `actionRequired`).
    pub action_required: bool,
    /// The documents attached, in order.
    pub documents: Vec<DocumentRef>,
}

/// A document attached to a lead (its content is kept outside the ledger, sealed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentRef {
    pub document_id: String,
    pub document_type: DocumentType,
    pub file_name: Sealed,
    pub size_bytes: u64,
    pub sha256: String,
    pub action_id: Option<String>,
    pub attached_at: DateTime<Utc>,
}

/// Seconds since the epoch as fixed-width text: sorts as the times do, and sums as numbers.
pub(crate) fn epoch(at: DateTime<Utc>) -> String {
    format!("{:011}", at.timestamp())
}

impl View for LeadView {
    fn key(source: &Source<'_>, event: &Event) -> Option<Vec<String>> {
        let lead_id = stream::entity_id(source.stream_id, "lead")?;
        matches!(
            event,
            Event::LeadAdded(_)
                | Event::LeadUpdated(_)
                | Event::LeadStatusChanged(_)
                | Event::LeadLost(_)
                | Event::LeadNpsRecorded(_)
                | Event::LeadActionAdded(_)
                | Event::LeadActionUpdated(_)
                | Event::LeadDocumentAttached(_)
        )
        .then(|| vec![source.tenant.to_owned(), lead_id.to_owned()])
    }

    fn apply(row: Option<Self>, source: &Source<'_>, event: &Event) -> Option<Self> {
        let at = source.occurred_at;
        if let Event::LeadAdded(e) = event {
            return Some(LeadView {
                tenant: source.tenant.to_owned(),
                lead_id: stream::entity_id(source.stream_id, "lead")?.to_owned(),
                customer_id: e.customer_id,
                status: e.status,
                placement: e.placement.clone(),
                personal: e.personal.iter().cloned().collect(),
                tags: e.tags.clone(),
                marketing_channels: e.marketing_channels.clone(),
                agreements: e.agreements.clone(),
                nps: e.nps,
                nps_comment: None,
                timezone: e.timezone.clone(),
                contract: None,
                lost_reason: None,
                lost_comment: None,
                created_at: at,
                updated_at: at,
                status_since: at,
                action_required: e.status.is_open(),
                documents: vec![],
            });
        }
        let mut lead = row?;
        lead.updated_at = at;
        match event {
            Event::LeadUpdated(e) => {
                lead.placement = lead.placement.overlay(&e.placement);
                lead.personal.extend(e.personal.iter().cloned());
                if let Some(tags) = &e.tags {
                    lead.tags = tags.clone();
                }
            }
            Event::LeadStatusChanged(e) => {
                lead.status = e.to;
                lead.status_since = at;
                lead.action_required = e.to.is_open();
                lead.lost_reason = None;
                lead.lost_comment = None;
                if e.contract.is_some() {
                    lead.contract = e.contract.clone();
                }
            }
            Event::LeadLost(e) => {
                lead.status = LeadStatus::Lost;
                lead.status_since = at;
                lead.action_required = false;
                lead.lost_reason = Some(e.reason);
                lead.lost_comment = e.comment.clone();
            }
            Event::LeadNpsRecorded(e) => {
                lead.nps = Some(e.nps);
                lead.nps_comment = e.comment.clone();
            }
            Event::LeadActionAdded(_) | Event::LeadActionUpdated(_) => lead.action_required = false,
            Event::LeadDocumentAttached(e) => lead.documents.push(DocumentRef {
                document_id: e.document_id.clone(),
                document_type: e.document_type,
                file_name: e.file_name.clone(),
                size_bytes: e.size_bytes,
                sha256: e.sha256.clone(),
                action_id: e.action_id.clone(),
                attached_at: at,
            }),
            _ => {}
        }
        Some(lead)
    }
}

/// The pipeline's running totals: per status and placement, how many leads, the sum of the times they entered the
/// status (seconds since the epoch: their average age follows) and how many need an action.
pub const STAGE_TOTALS: Totals = Totals {
    table: "lead_stage_totals",
    keys: &["tenant", "status", "location_id", "consultant_id", "channel_id", "offer_id"],
    values: &["leads", "entered_sum", "actions_due"],
};

impl SqlView for LeadView {
    const TOTALS: Option<&'static Totals> = Some(&STAGE_TOTALS);

    /// A lead counts in its status and placement (`''` for an id it lacks).
    fn totals_entry(&self) -> Option<(Vec<String>, Vec<i64>)> {
        let p = &self.placement;
        let part = |id: &Option<String>| id.clone().unwrap_or_default();
        let group = vec![
            self.tenant.clone(),
            self.status.as_str().to_owned(),
            part(&p.location_id),
            part(&p.consultant_id),
            part(&p.channel_id),
            part(&p.offer_id),
        ];
        Some((group, vec![1, self.status_since.timestamp(), i64::from(self.action_required)]))
    }

    const TABLE: &'static str = "lead_view";
    const COLUMNS: &'static [&'static str] = &[
        "tenant",
        "lead_id",
        "status",
        "location_id",
        "consultant_id",
        "channel_id",
        "offer_id",
        "status_since",
        "action_required",
        "created_at",
        "listed",
        "lost_reason",
        "doc",
    ];
    const KEY_LEN: usize = 2;
    fn columns(&self) -> Vec<Option<String>> {
        let p = &self.placement;
        // Footprints lists the leads that have a location, an offer category, an offer and a consultant.
        let listed = p.location_id.is_some()
            && p.offer_category_id.is_some()
            && p.offer_id.is_some()
            && p.consultant_id.is_some();
        vec![
            Some(self.tenant.clone()),
            Some(self.lead_id.clone()),
            Some(self.status.as_str().to_owned()),
            p.location_id.clone(),
            p.consultant_id.clone(),
            p.channel_id.clone(),
            p.offer_id.clone(),
            Some(epoch(self.status_since)),
            Some(if self.action_required { "1" } else { "0" }.to_owned()),
            Some(epoch(self.created_at)),
            Some(if listed { "1" } else { "0" }.to_owned()),
            self.lost_reason.map(|reason| reason.as_str().to_owned()),
            Some(self.doc()),
        ]
    }
}

/// A lead action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadActionView {
    pub tenant: String,
    pub action_id: String,
    pub lead_id: String,
    pub action_type_id: String,
    pub detail: Option<Sealed>,
    pub date: NaiveDateTime,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl View for LeadActionView {
    fn key(source: &Source<'_>, event: &Event) -> Option<Vec<String>> {
        let action_id = match event {
            Event::LeadActionAdded(e) => &e.action_id,
            Event::LeadActionUpdated(e) => &e.action_id,
            _ => return None,
        };
        Some(vec![source.tenant.to_owned(), action_id.clone()])
    }

    fn apply(row: Option<Self>, source: &Source<'_>, event: &Event) -> Option<Self> {
        match (row, event) {
            (None, Event::LeadActionAdded(e)) => Some(LeadActionView {
                tenant: source.tenant.to_owned(),
                action_id: e.action_id.clone(),
                lead_id: stream::entity_id(source.stream_id, "lead")?.to_owned(),
                action_type_id: e.action_type_id.clone(),
                detail: e.detail.clone(),
                date: e.date,
                created_at: source.occurred_at,
                updated_at: source.occurred_at,
            }),
            (Some(action), Event::LeadActionUpdated(e)) => Some(LeadActionView {
                action_type_id: e.action_type_id.clone().unwrap_or(action.action_type_id),
                detail: e.detail.clone().or(action.detail),
                date: e.date.unwrap_or(action.date),
                updated_at: source.occurred_at,
                ..action
            }),
            (row, _) => row,
        }
    }
}

impl SqlView for LeadActionView {
    const TABLE: &'static str = "lead_action_view";
    const COLUMNS: &'static [&'static str] = &["tenant", "action_id", "lead_id", "doc"];
    const KEY_LEN: usize = 2;
    fn columns(&self) -> Vec<Option<String>> {
        vec![Some(self.tenant.clone()), Some(self.action_id.clone()), Some(self.lead_id.clone()), Some(self.doc())]
    }
}

/// A lead by id.
pub async fn load_lead(conn: &mut AnyConnection, tenant: &str, lead_id: &str) -> Result<Option<LeadView>, sqlx::Error> {
    load(conn, vec![tenant.to_owned(), lead_id.to_owned()]).await
}

/// A lead action by id.
pub async fn load_lead_action(
    conn: &mut AnyConnection,
    tenant: &str,
    action_id: &str,
) -> Result<Option<LeadActionView>, sqlx::Error> {
    load(conn, vec![tenant.to_owned(), action_id.to_owned()]).await
}

/// A lead's actions, by date.
pub async fn lead_actions(
    conn: &mut AnyConnection,
    tenant: &str,
    lead_id: &str,
) -> Result<Vec<LeadActionView>, sqlx::Error> {
    let rows = sqlx::query("SELECT doc FROM lead_action_view WHERE tenant = $1 AND lead_id = $2")
        .bind(tenant)
        .bind(lead_id)
        .fetch_all(&mut *conn)
        .await?;
    let mut actions: Vec<LeadActionView> = docs(&rows)?;
    actions.sort_by(|a, b| (a.date, &a.action_id).cmp(&(b.date, &b.action_id)));
    Ok(actions)
}

/// The listed leads (see [`LeadView`]'s `listed` column) created in `[from, to)`, newest first, a page at a time;
/// and how many there are in all.
pub async fn list_leads(
    conn: &mut AnyConnection,
    tenant: &str,
    created: (DateTime<Utc>, DateTime<Utc>),
    offset: i64,
    limit: i64,
) -> Result<(Vec<LeadView>, i64), sqlx::Error> {
    let (from, to) = (epoch(created.0), epoch(created.1));
    let filter = "FROM lead_view WHERE tenant = $1 AND created_at >= $2 AND created_at < $3 AND listed = '1'";
    let (total,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) {filter}"))
        .bind(tenant)
        .bind(&from)
        .bind(&to)
        .fetch_one(&mut *conn)
        .await?;
    let rows = sqlx::query(&format!("SELECT doc {filter} ORDER BY created_at DESC, lead_id DESC LIMIT $4 OFFSET $5"))
        .bind(tenant)
        .bind(&from)
        .bind(&to)
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await?;
    Ok((docs(&rows)?, total))
}
