//! The pipeline figures of a merchant's leads, queried from the lead view: per status, how many leads, how long
//! they have been in it and how many need an action; over a period, how many were added, how many of those became
//! customers, and why leads were lost. Every figure can be narrowed to a location, consultant, channel and offer,
//! and split by one of them. The per-status figures come from the running totals kept with the lead view (a few rows
//! whatever the number of leads); the period's from the lead view's covering indexes (the leads of the period).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::{any::AnyRow, AnyConnection, Row};
use tally_events::{LeadStatus, LostReason};

use crate::leads::epoch;

/// What a pipeline can be narrowed to or split by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    Location,
    Consultant,
    Channel,
    Offer,
}

impl Dimension {
    pub const ALL: [Dimension; 4] = [Dimension::Location, Dimension::Consultant, Dimension::Channel, Dimension::Offer];

    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Location => "location",
            Dimension::Consultant => "consultant",
            Dimension::Channel => "channel",
            Dimension::Offer => "offer",
        }
    }

    pub fn parse(name: &str) -> Option<Dimension> {
        Dimension::ALL.into_iter().find(|dimension| dimension.as_str() == name)
    }

    fn column(self) -> &'static str {
        match self {
            Dimension::Location => "location_id",
            Dimension::Consultant => "consultant_id",
            Dimension::Channel => "channel_id",
            Dimension::Offer => "offer_id",
        }
    }
}

/// Which leads count: those of one tenant, with the given value of each dimension given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub equal: Vec<(Dimension, String)>,
}

impl Filter {
    /// ` AND column = $n …` for the filter's dimensions, binds numbered from `first`, with their values.
    fn clause(&self, first: usize) -> (String, Vec<&str>) {
        let mut sql = String::new();
        for (index, (dimension, _)) in self.equal.iter().enumerate() {
            sql.push_str(&format!(" AND {} = ${}", dimension.column(), first + index));
        }
        (sql, self.equal.iter().map(|(_, value)| value.as_str()).collect())
    }
}

/// One status's figures (within one group when split).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// The dimension's value, when split by one (`None` also for leads without one).
    pub group: Option<String>,
    pub status: LeadStatus,
    pub leads: i64,
    /// Sum over the leads of the seconds since the epoch when they entered the status: the average age follows.
    pub entered_sum: i64,
    pub actions_due: i64,
}

impl Stage {
    /// The average time in the status as of `now`, in whole seconds.
    pub fn average_age_seconds(&self, now: DateTime<Utc>) -> i64 {
        now.timestamp() - self.entered_sum / self.leads.max(1)
    }
}

async fn fetch(conn: &mut AnyConnection, sql: &str, binds: &[String]) -> Result<Vec<AnyRow>, sqlx::Error> {
    let mut query = sqlx::query(sql);
    for value in binds {
        query = query.bind(value.as_str());
    }
    query.fetch_all(conn).await
}

/// Figures per status (and group), statuses in pipeline order, from the running totals: a few rows whatever the
/// number of leads.
pub async fn stages(
    conn: &mut AnyConnection,
    tenant: &str,
    filter: &Filter,
    split: Option<Dimension>,
) -> Result<Vec<Stage>, sqlx::Error> {
    // PostgreSQL refuses a constant in GROUP BY: without a split the groups are the statuses alone.
    let (group, grouped) = match split {
        Some(dimension) => (dimension.column(), format!("{}, status", dimension.column())),
        None => ("''", "status".to_owned()),
    };
    let (clause, values) = filter.clause(2);
    let sql = format!(
        "SELECT {group}, status, CAST(SUM(leads) AS BIGINT), CAST(SUM(entered_sum) AS BIGINT), \
         CAST(SUM(actions_due) AS BIGINT) FROM lead_stage_totals WHERE tenant = $1{clause} \
         GROUP BY {grouped} HAVING SUM(leads) > 0"
    );
    let mut binds = vec![tenant.to_owned()];
    binds.extend(values.into_iter().map(str::to_owned));
    let mut stages = Vec::new();
    for row in fetch(conn, &sql, &binds).await? {
        let (group, status): (String, String) = (row.try_get(0)?, row.try_get(1)?);
        stages.push(Stage {
            group: Some(group).filter(|group| !group.is_empty()),
            status: LeadStatus::parse(&status)
                .ok_or_else(|| sqlx::Error::Decode(format!("unknown lead status {status}").into()))?,
            leads: row.try_get(2)?,
            entered_sum: row.try_get(3)?,
            actions_due: row.try_get(4)?,
        });
    }
    stages.sort_by(|a, b| (&a.group, a.status).cmp(&(&b.group, b.status)));
    Ok(stages)
}

/// What happened to leads over a period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Period {
    /// Leads added in the period.
    pub added: i64,
    /// Of those, how many are customers now.
    pub added_now_customers: i64,
    /// Leads that became customers in the period (whenever they were added).
    pub converted: i64,
    /// Leads lost in the period (and lost still), by reason.
    pub lost: BTreeMap<LostReason, i64>,
}

/// The period `[from, to)`'s figures.
pub async fn period(
    conn: &mut AnyConnection,
    tenant: &str,
    filter: &Filter,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Period, sqlx::Error> {
    let (clause, values) = filter.clause(4);
    let mut binds = vec![tenant.to_owned(), epoch(from), epoch(to)];
    binds.extend(values.into_iter().map(str::to_owned));
    let mut figures = Period::default();
    let cohort = format!(
        "SELECT status, COUNT(*) FROM lead_view WHERE tenant = $1 AND created_at >= $2 AND created_at < $3{clause} \
         GROUP BY status"
    );
    for row in fetch(conn, &cohort, &binds).await? {
        let (status, count): (String, i64) = (row.try_get(0)?, row.try_get(1)?);
        figures.added += count;
        if status == LeadStatus::Customer.as_str() {
            figures.added_now_customers = count;
        }
    }
    let ended = format!(
        "SELECT status, lost_reason, COUNT(*) FROM lead_view WHERE tenant = $1 AND status IN ('customer', 'lost') \
         AND status_since >= $2 AND status_since < $3{clause} GROUP BY status, lost_reason"
    );
    for row in fetch(conn, &ended, &binds).await? {
        let (status, reason, count): (String, Option<String>, i64) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        match reason.as_deref().and_then(LostReason::parse) {
            Some(reason) if status == LeadStatus::Lost.as_str() => *figures.lost.entry(reason).or_default() += count,
            _ => figures.converted += count,
        }
    }
    Ok(figures)
}
