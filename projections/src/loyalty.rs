//! The loyalty views of Footprints: each campaign with its counters per prize type (free, allocated, redeemed,
//! blocked), and each code handed out, with its holder and status (codes still free have no row). Both fold one
//! campaign stream's events only.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;
use tally_events::{Event, LoyaltyCampaignDeclared};
use uuid::Uuid;

use crate::{
    leads::epoch,
    sql::{docs, load},
    Source, SqlView, View,
};

/// A prize type's codes by where they are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeCounters {
    /// Issued and not handed out yet.
    pub remaining: u64,
    /// Handed out, not yet redeemed or blocked.
    pub allocated: u64,
    pub redeemed: u64,
    pub blocked: u64,
}

impl CodeCounters {
    /// Every code issued.
    pub fn issued(&self) -> u64 {
        self.remaining + self.allocated + self.redeemed + self.blocked
    }

    /// Codes handed out, whatever became of them.
    pub fn handed_out(&self) -> u64 {
        self.allocated + self.redeemed + self.blocked
    }

    fn add(&mut self, other: &CodeCounters) {
        self.remaining += other.remaining;
        self.allocated += other.allocated;
        self.redeemed += other.redeemed;
        self.blocked += other.blocked;
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoyaltyCampaignView {
    pub tenant: String,
    pub internal_id: String,
    pub declared: LoyaltyCampaignDeclared,
    /// How many times it was declared.
    pub version: u32,
    /// Counters by prize type id.
    pub prizes: BTreeMap<String, CodeCounters>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl LoyaltyCampaignView {
    /// The counters over every prize type.
    pub fn totals(&self) -> CodeCounters {
        let mut totals = CodeCounters::default();
        self.prizes.values().for_each(|counters| totals.add(counters));
        totals
    }
}

/// Where a handed-out code is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeStatus {
    /// Footprints' word for allocated.
    Associated,
    Redeemed,
    Blocked,
}

impl CodeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CodeStatus::Associated => "associated",
            CodeStatus::Redeemed => "redeemed",
            CodeStatus::Blocked => "blocked",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoyaltyCodeView {
    pub tenant: String,
    pub internal_id: String,
    pub code: String,
    pub prize_id: String,
    /// The holder's identity digest.
    pub holder: String,
    pub customer_id: Uuid,
    pub status: CodeStatus,
    pub handed_out_by: String,
    /// Who redeemed or blocked it.
    pub changed_by: Option<String>,
    pub allocated_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn campaign_id<'a>(source: &Source<'a>) -> Option<&'a str> {
    tally_events::stream::entity_id(source.stream_id, "loyalty-campaign")
}

impl View for LoyaltyCampaignView {
    fn key(source: &Source<'_>, event: &Event) -> Option<Vec<String>> {
        match event {
            Event::LoyaltyCampaignDeclared(_)
            | Event::LoyaltyCodesIssued(_)
            | Event::LoyaltyCodeAllocated(_)
            | Event::LoyaltyCodeRedeemed(_)
            | Event::LoyaltyCodeBlocked(_) => Some(vec![source.tenant.to_owned(), campaign_id(source)?.to_owned()]),
            _ => None,
        }
    }

    fn apply(row: Option<Self>, source: &Source<'_>, event: &Event) -> Option<Self> {
        let at = source.occurred_at;
        let mut campaign = match (row, event) {
            (None, Event::LoyaltyCampaignDeclared(e)) => LoyaltyCampaignView {
                tenant: source.tenant.to_owned(),
                internal_id: campaign_id(source)?.to_owned(),
                declared: e.clone(),
                version: 0,
                prizes: BTreeMap::new(),
                created_at: at,
                updated_at: at,
            },
            (None, _) => return None,
            (Some(row), _) => row,
        };
        campaign.updated_at = at;
        match event {
            Event::LoyaltyCampaignDeclared(e) => {
                campaign.declared = e.clone();
                campaign.version += 1;
            }
            Event::LoyaltyCodesIssued(e) => {
                campaign.prizes.entry(e.prize_id.clone()).or_default().remaining += e.codes.len() as u64;
            }
            Event::LoyaltyCodeAllocated(e) => {
                let counters = campaign.prizes.entry(e.prize_id.clone()).or_default();
                counters.remaining = counters.remaining.saturating_sub(1);
                counters.allocated += 1;
            }
            Event::LoyaltyCodeRedeemed(e) => {
                let counters = campaign.prizes.entry(e.prize_id.clone()).or_default();
                counters.allocated = counters.allocated.saturating_sub(1);
                counters.redeemed += 1;
            }
            Event::LoyaltyCodeBlocked(e) => {
                let counters = campaign.prizes.entry(e.prize_id.clone()).or_default();
                counters.allocated = counters.allocated.saturating_sub(1);
                counters.blocked += 1;
            }
            _ => {}
        }
        Some(campaign)
    }
}

impl SqlView for LoyaltyCampaignView {
    const TABLE: &'static str = "loyalty_campaign_view";
    const COLUMNS: &'static [&'static str] = &["tenant", "internal_id", "starts_at", "ends_at", "doc"];
    const KEY_LEN: usize = 2;
    fn columns(&self) -> Vec<Option<String>> {
        vec![
            Some(self.tenant.clone()),
            Some(self.internal_id.clone()),
            Some(epoch(self.declared.starts_at)),
            Some(epoch(self.declared.ends_at)),
            Some(self.doc()),
        ]
    }
}

impl View for LoyaltyCodeView {
    fn key(source: &Source<'_>, event: &Event) -> Option<Vec<String>> {
        let code = match event {
            Event::LoyaltyCodeAllocated(e) => &e.code,
            Event::LoyaltyCodeRedeemed(e) => &e.code,
            Event::LoyaltyCodeBlocked(e) => &e.code,
            _ => return None,
        };
        Some(vec![source.tenant.to_owned(), campaign_id(source)?.to_owned(), code.clone()])
    }

    fn apply(row: Option<Self>, source: &Source<'_>, event: &Event) -> Option<Self> {
        let at = source.occurred_at;
        match (row, event) {
            (_, Event::LoyaltyCodeAllocated(e)) => Some(LoyaltyCodeView {
                tenant: source.tenant.to_owned(),
                internal_id: campaign_id(source)?.to_owned(),
                code: e.code.clone(),
                prize_id: e.prize_id.clone(),
                holder: e.holder.clone(),
                customer_id: e.customer_id,
                status: CodeStatus::Associated,
                handed_out_by: e.handed_out_by.clone(),
                changed_by: None,
                allocated_at: at,
                updated_at: at,
            }),
            (Some(row), Event::LoyaltyCodeRedeemed(e)) => Some(LoyaltyCodeView {
                status: CodeStatus::Redeemed,
                changed_by: Some(e.by.clone()),
                updated_at: at,
                ..row
            }),
            (Some(row), Event::LoyaltyCodeBlocked(e)) => Some(LoyaltyCodeView {
                status: CodeStatus::Blocked,
                changed_by: Some(e.by.clone()),
                updated_at: at,
                ..row
            }),
            (row, _) => row,
        }
    }
}

impl SqlView for LoyaltyCodeView {
    const TABLE: &'static str = "loyalty_code_view";
    /// `updated_at` to the microsecond, to list the newest first.
    const COLUMNS: &'static [&'static str] = &["tenant", "internal_id", "code", "holder", "updated_at", "doc"];
    const KEY_LEN: usize = 3;
    fn columns(&self) -> Vec<Option<String>> {
        vec![
            Some(self.tenant.clone()),
            Some(self.internal_id.clone()),
            Some(self.code.clone()),
            Some(self.holder.clone()),
            Some(self.updated_at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()),
            Some(self.doc()),
        ]
    }
}

/// A campaign by internal id.
pub async fn load_loyalty_campaign(
    conn: &mut AnyConnection,
    tenant: &str,
    internal_id: &str,
) -> Result<Option<LoyaltyCampaignView>, sqlx::Error> {
    load(conn, vec![tenant.to_owned(), internal_id.to_owned()]).await
}

/// A tenant's campaigns, by internal id; only those running at `running_at` when given.
pub async fn loyalty_campaigns(
    conn: &mut AnyConnection,
    tenant: &str,
    running_at: Option<DateTime<Utc>>,
) -> Result<Vec<LoyaltyCampaignView>, sqlx::Error> {
    let rows = match running_at {
        None => {
            sqlx::query("SELECT doc FROM loyalty_campaign_view WHERE tenant = $1 ORDER BY internal_id")
                .bind(tenant)
                .fetch_all(&mut *conn)
                .await?
        }
        Some(at) => {
            let sql = "SELECT doc FROM loyalty_campaign_view WHERE tenant = $1 AND starts_at <= $2 AND ends_at > $2 \
                ORDER BY internal_id";
            sqlx::query(sql).bind(tenant).bind(epoch(at)).fetch_all(&mut *conn).await?
        }
    };
    docs(&rows)
}

/// The codes a holder was handed, newest first: of one campaign, or of all.
pub async fn loyalty_codes_of(
    conn: &mut AnyConnection,
    tenant: &str,
    holder: &str,
    internal_id: Option<&str>,
) -> Result<Vec<LoyaltyCodeView>, sqlx::Error> {
    let sql = "SELECT doc FROM loyalty_code_view WHERE tenant = $1 AND holder = $2 \
        AND ($3 = '' OR internal_id = $3) ORDER BY updated_at DESC, code";
    let rows = sqlx::query(sql).bind(tenant).bind(holder).bind(internal_id.unwrap_or("")).fetch_all(&mut *conn).await?;
    docs(&rows)
}

/// A page of the codes handed out (of one campaign, or of all) whose code contains `search` (in any case), most
/// recently changed first, and how many there are in all.
pub async fn list_loyalty_codes(
    conn: &mut AnyConnection,
    tenant: &str,
    internal_id: Option<&str>,
    search: &str,
    offset: i64,
    limit: i64,
) -> Result<(Vec<LoyaltyCodeView>, i64), sqlx::Error> {
    let pattern = format!("%{}%", search.to_uppercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
    let filter = "FROM loyalty_code_view WHERE tenant = $1 AND ($2 = '' OR internal_id = $2) \
        AND UPPER(code) LIKE $3 ESCAPE '\\'";
    let (total,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) {filter}"))
        .bind(tenant)
        .bind(internal_id.unwrap_or(""))
        .bind(&pattern)
        .fetch_one(&mut *conn)
        .await?;
    let rows =
        sqlx::query(&format!("SELECT doc {filter} ORDER BY updated_at DESC, internal_id, code LIMIT $4 OFFSET $5"))
            .bind(tenant)
            .bind(internal_id.unwrap_or(""))
            .bind(&pattern)
            .bind(limit)
            .bind(offset)
            .fetch_all(&mut *conn)
            .await?;
    Ok((docs(&rows)?, total))
}
