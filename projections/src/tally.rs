//! The merchant's daily tally: per business day (as recorded in each event, cut in the merchant's time zone) and
//! promotion, the uses, clips, voids and refused scans, and the receivable — what the merchant owes the network —
//! as an exact decimal. The same fold serves the inline projection and the replay of the ledger that finance runs.

use std::collections::HashMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, AnyPool, Row};
use tally_events::{decode_str, stream, Event};

use crate::{Source, View};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TallyRow {
    pub tenant: String,
    pub business_day: NaiveDate,
    pub business_id: String,
    pub promotion_id: String,
    pub uses: u32,
    pub clips: u32,
    pub voids: u32,
    pub refused: u32,
    pub receivable: Decimal,
}

/// The business day of a tallied event.
fn day_of(event: &Event) -> Option<NaiveDate> {
    match event {
        Event::CouponUsed(e) => Some(e.business_day),
        Event::CouponClipped(e) => Some(e.business_day),
        Event::CouponUseVoided(e) => Some(e.business_day),
        Event::CouponScanRefused(e) => Some(e.business_day),
        _ => None,
    }
}

impl View for TallyRow {
    fn key(source: &Source<'_>, event: &Event) -> Option<Vec<String>> {
        let day = day_of(event)?;
        let (business_id, promotion_id) = stream::promotion_ids(source.stream_id)?;
        Some(vec![source.tenant.to_owned(), day.to_string(), business_id.to_owned(), promotion_id.to_owned()])
    }

    fn apply(row: Option<Self>, source: &Source<'_>, event: &Event) -> Option<Self> {
        let mut row = match row {
            Some(row) => row,
            None => {
                let (business_id, promotion_id) = stream::promotion_ids(source.stream_id)?;
                TallyRow {
                    tenant: source.tenant.to_owned(),
                    business_day: day_of(event)?,
                    business_id: business_id.to_owned(),
                    promotion_id: promotion_id.to_owned(),
                    uses: 0,
                    clips: 0,
                    voids: 0,
                    refused: 0,
                    receivable: Decimal::ZERO,
                }
            }
        };
        match event {
            Event::CouponUsed(e) => {
                row.uses += 1;
                row.receivable += e.receivable;
            }
            Event::CouponClipped(e) => {
                row.clips += 1;
                row.receivable += e.receivable;
            }
            Event::CouponUseVoided(e) => {
                row.voids += 1;
                row.receivable += e.receivable;
            }
            Event::CouponScanRefused(_) => row.refused += 1,
            _ => {}
        }
        Some(row)
    }
}

/// The tallied event types, for reading only what a replay needs.
const TALLIED: &str = "('CouponUsed', 'CouponClipped', 'CouponUseVoided', 'CouponScanRefused')";

/// The tally of `day` (for one merchant, or all), replayed from the ledger, not the projection.
pub async fn replay(
    pool: &AnyPool,
    day: NaiveDate,
    tenant: Option<&str>,
) -> Result<Vec<TallyRow>, crate::rebuild::RebuildError> {
    let rows = sqlx::query(&format!(
        "SELECT global_position, tenant, stream_id, event_type, schema_version, payload, occurred_at FROM events \
         WHERE event_type IN {TALLIED} ORDER BY global_position"
    ))
    .fetch_all(pool)
    .await?;
    let mut tally: HashMap<Vec<String>, TallyRow> = HashMap::new();
    for row in &rows {
        let position: i64 = row.try_get(0)?;
        let (row_tenant, stream_id): (&str, &str) = (row.try_get(1)?, row.try_get(2)?);
        if tenant.is_some_and(|t| t != row_tenant) {
            continue;
        }
        let schema_version: i32 = row.try_get(4)?;
        let event = decode_str(row.try_get(3)?, schema_version as u32, row.try_get(5)?)
            .map_err(|source| crate::rebuild::RebuildError::Decode { position, source })?;
        if day_of(&event) == Some(day) {
            let occurred_at = crate::sql::parse_time(row.try_get::<&str, _>(6)?)?;
            crate::sql::fold_into(
                &mut tally,
                &Source { tenant: row_tenant, stream_id, occurred_at, keys: &crate::NoKeys },
                &event,
            );
        }
    }
    Ok(sorted(tally.into_values().collect()))
}

/// The projected tally of `day` for one merchant, or all.
pub async fn projected(
    conn: &mut AnyConnection,
    day: NaiveDate,
    tenant: Option<&str>,
) -> Result<Vec<TallyRow>, sqlx::Error> {
    let rows = sqlx::query("SELECT tenant, doc FROM tally_view WHERE business_day = $1")
        .bind(day.to_string())
        .fetch_all(&mut *conn)
        .await?;
    let mut tally = Vec::new();
    for row in &rows {
        let row_tenant: &str = row.try_get(0)?;
        if tenant.is_none_or(|t| t == row_tenant) {
            let doc: &str = row.try_get(1)?;
            tally.push(serde_json::from_str(doc).map_err(|e| sqlx::Error::Decode(Box::new(e)))?);
        }
    }
    Ok(sorted(tally))
}

fn sorted(mut rows: Vec<TallyRow>) -> Vec<TallyRow> {
    rows.sort_by(|a, b| {
        (&a.tenant, &a.business_id, &a.promotion_id).cmp(&(&b.tenant, &b.business_id, &b.promotion_id))
    });
    rows
}

/// The tally as CSV: a header, one line per merchant and promotion, and a total line per merchant.
pub fn csv(day: NaiveDate, rows: &[TallyRow]) -> String {
    let mut out = String::from("business_day,merchant,business_id,promotion_id,uses,clips,voids,refused,receivable\n");
    let mut totals: Vec<(String, TallyRow)> = Vec::new();
    for row in rows {
        out.push_str(&format!(
            "{day},{},{},{},{},{},{},{},{}\n",
            row.tenant, row.business_id, row.promotion_id, row.uses, row.clips, row.voids, row.refused, row.receivable
        ));
        match totals.iter_mut().find(|(tenant, _)| *tenant == row.tenant) {
            Some((_, total)) => {
                total.uses += row.uses;
                total.clips += row.clips;
                total.voids += row.voids;
                total.refused += row.refused;
                total.receivable += row.receivable;
            }
            None => totals.push((row.tenant.clone(), row.clone())),
        }
    }
    for (tenant, t) in totals {
        out.push_str(&format!(
            "{day},{tenant},TOTAL,,{},{},{},{},{}\n",
            t.uses, t.clips, t.voids, t.refused, t.receivable
        ));
    }
    out
}
