//! Dropping and replaying the inline views from the ledger. Events are read in global order in pages, folded in
//! memory with the same folds the inline path uses, and written back in one transaction, so readers see either the
//! old views or the new ones.

use std::collections::VecDeque;

use sqlx::{AnyConnection, AnyPool};
use tally_events::decode_str;

pub use crate::registry::Views;
use crate::{registry::TABLES, Keys, Source};

/// Positions read per page.
const PAGE: i64 = 20_000;
/// Pages read at once.
const READERS: usize = 3;

/// What a rebuild did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebuildReport {
    pub events: u64,
    pub rows: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("event at position {position} cannot be decoded: {source}")]
    Decode { position: i64, source: tally_events::DecodeError },
}

/// One stored event as the rebuild reads it: position, tenant, stream id, occurred at, type, schema version,
/// payload.
type StoredEvent = (i64, String, String, String, String, u32, Box<serde_json::value::RawValue>);

/// The events with positions in `(after, up_to]`, in order. The page comes back as one JSON array aggregated by the
/// database: one row per page instead of one per event, because the driver's per-row cost dominates a rebuild.
async fn read_range(conn: &mut AnyConnection, after: i64, up_to: i64) -> Result<Vec<StoredEvent>, sqlx::Error> {
    let sql = if conn.backend_name() == "PostgreSQL" {
        "SELECT CAST(COALESCE(json_agg(json_build_array(global_position, tenant, stream_id, occurred_at, event_type, schema_version, \
         CAST(payload AS json)) ORDER BY global_position), '[]') AS TEXT) FROM events \
         WHERE global_position > $1 AND global_position <= $2"
    } else {
        "SELECT json_group_array(json_array(global_position, tenant, stream_id, occurred_at, event_type, schema_version, \
         json(payload)) ORDER BY global_position) FROM events WHERE global_position > $1 AND global_position <= $2"
    };
    let (page,): (String,) = sqlx::query_as(sql).bind(after).bind(up_to).fetch_one(&mut *conn).await?;
    serde_json::from_str(&page).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

async fn read_range_from(pool: AnyPool, after: i64, up_to: i64) -> Result<Vec<StoredEvent>, sqlx::Error> {
    read_range(&mut *pool.acquire().await?, after, up_to).await
}

/// Folds a page of events, in order; returns how many.
fn fold(views: &mut Views, page: &[StoredEvent], keys: &dyn Keys) -> Result<u64, RebuildError> {
    for (position, tenant, stream_id, occurred_at, event_type, schema_version, payload) in page {
        let event = decode_str(event_type, *schema_version, payload.get())
            .map_err(|source| RebuildError::Decode { position: *position, source })?;
        let occurred_at = crate::sql::parse_time(occurred_at)?;
        views.apply(&Source { tenant, stream_id, occurred_at, keys }, &event);
    }
    Ok(page.len() as u64)
}

/// Reads the ledger up to its current end and folds it into fresh views; returns them, the number of events and
/// the last position read. Position ranges are read by several connections at once (reading rows is the slow part)
/// and folded strictly in global order. `keys` open the personal data the views keep.
pub async fn fold_ledger(pool: &AnyPool, keys: &dyn Keys) -> Result<(Views, u64, i64), RebuildError> {
    let (last,): (Option<i64>,) = sqlx::query_as("SELECT MAX(global_position) FROM events").fetch_one(pool).await?;
    let last = last.unwrap_or(0);
    let mut views = Views::default();
    let mut events = 0u64;
    let mut reading = VecDeque::new();
    let mut next = 0i64;
    loop {
        while reading.len() < READERS && next < last {
            reading.push_back(tokio::spawn(read_range_from(pool.clone(), next, (next + PAGE).min(last))));
            next += PAGE;
        }
        let Some(page) = reading.pop_front() else { break };
        let page = page.await.map_err(|e| sqlx::Error::Protocol(format!("a ledger reader failed: {e}")))??;
        events += fold(&mut views, &page, keys)?;
    }
    Ok((views, events, last))
}

/// Drops the views and replays the ledger into them, while the service may be running. After the bulk of the ledger
/// is folded from `read`, the caller's transaction `tx` must hold the ledger's write lock (the store takes
/// PostgreSQL's append lock; SQLite's comes with the first delete): what was appended meanwhile is folded, and the
/// views are replaced in that one transaction, so readers see either the old views or the new ones.
pub async fn rebuild(read: &AnyPool, tx: &mut AnyConnection, keys: &dyn Keys) -> Result<RebuildReport, RebuildError> {
    let (mut views, mut events, last) = fold_ledger(read, keys).await?;
    for table in TABLES {
        sqlx::query(&format!("DELETE FROM {table}")).execute(&mut *tx).await?;
    }
    events += fold(&mut views, &read_range(tx, last, i64::MAX).await?, keys)?;
    views.write(tx).await?;
    Ok(RebuildReport { events, rows: views.rows() })
}
