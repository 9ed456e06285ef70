//! Dropping and replaying the inline views from the ledger. Events are read in global order in pages, folded in
//! memory with the same folds the inline path uses, and written back in one transaction, so readers see either the
//! old views or the new ones.

use std::collections::{HashMap, VecDeque};

use sqlx::{AnyConnection, AnyPool};
use tally_events::{decode_str, Event};

use crate::{
    sql::{fold_into, load_all, upsert_many},
    tally::TallyRow,
    AccountView, BusinessView, CardView, ContactView, PromotionView, Source, SqlView, WalletItemView,
};

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

/// The views in memory, folded from events.
#[derive(Debug, Default, PartialEq)]
pub struct Views {
    cards: HashMap<Vec<String>, CardView>,
    contacts: HashMap<Vec<String>, ContactView>,
    accounts: HashMap<Vec<String>, AccountView>,
    promotions: HashMap<Vec<String>, PromotionView>,
    businesses: HashMap<Vec<String>, BusinessView>,
    wallet_items: HashMap<Vec<String>, WalletItemView>,
    tally: HashMap<Vec<String>, TallyRow>,
}

impl Views {
    pub fn rows(&self) -> u64 {
        (self.cards.len()
            + self.contacts.len()
            + self.accounts.len()
            + self.promotions.len()
            + self.businesses.len()
            + self.wallet_items.len()
            + self.tally.len()) as u64
    }
}

/// One stored event as the rebuild reads it: position, tenant, stream id, type, schema version, payload.
type StoredEvent = (i64, String, String, String, u32, Box<serde_json::value::RawValue>);

/// The events with positions in `(after, up_to]`, in order. The page comes back as one JSON array aggregated by the
/// database: one row per page instead of one per event, because the driver's per-row cost dominates a rebuild.
async fn read_range(conn: &mut AnyConnection, after: i64, up_to: i64) -> Result<Vec<StoredEvent>, sqlx::Error> {
    let sql = if conn.backend_name() == "PostgreSQL" {
        "SELECT CAST(COALESCE(json_agg(json_build_array(global_position, tenant, stream_id, event_type, schema_version, \
         CAST(payload AS json)) ORDER BY global_position), '[]') AS TEXT) FROM events \
         WHERE global_position > $1 AND global_position <= $2"
    } else {
        "SELECT json_group_array(json_array(global_position, tenant, stream_id, event_type, schema_version, \
         json(payload)) ORDER BY global_position) FROM events WHERE global_position > $1 AND global_position <= $2"
    };
    let (page,): (String,) = sqlx::query_as(sql).bind(after).bind(up_to).fetch_one(&mut *conn).await?;
    serde_json::from_str(&page).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

async fn read_range_from(pool: AnyPool, after: i64, up_to: i64) -> Result<Vec<StoredEvent>, sqlx::Error> {
    read_range(&mut *pool.acquire().await?, after, up_to).await
}

impl Views {
    /// Folds one event into every view. A view's row depends on one stream only, so events of different streams
    /// may come in any order (as from Kafka partitions); a stream's own events must come in order.
    pub fn apply(&mut self, source: &Source<'_>, event: &Event) {
        fold_into(&mut self.cards, source, event);
        fold_into(&mut self.contacts, source, event);
        fold_into(&mut self.accounts, source, event);
        fold_into(&mut self.promotions, source, event);
        fold_into(&mut self.businesses, source, event);
        fold_into(&mut self.wallet_items, source, event);
        fold_into(&mut self.tally, source, event);
    }

    /// Folds a page of events, in order; returns how many.
    fn fold(&mut self, page: &[StoredEvent]) -> Result<u64, RebuildError> {
        for (position, tenant, stream_id, event_type, schema_version, payload) in page {
            let event = decode_str(event_type, *schema_version, payload.get())
                .map_err(|source| RebuildError::Decode { position: *position, source })?;
            self.apply(&Source { tenant, stream_id }, &event);
        }
        Ok(page.len() as u64)
    }

    /// The live projection: every row of the inline views as stored.
    pub async fn load_live(conn: &mut AnyConnection) -> Result<Views, sqlx::Error> {
        Ok(Views {
            cards: load_all(conn).await?,
            contacts: load_all(conn).await?,
            accounts: load_all(conn).await?,
            promotions: load_all(conn).await?,
            businesses: load_all(conn).await?,
            wallet_items: load_all(conn).await?,
            tally: load_all(conn).await?,
        })
    }

    /// Per view: its table, this side's row count, and whether the other side has exactly the same rows.
    pub fn compare(&self, other: &Views) -> Vec<(&'static str, usize, bool)> {
        vec![
            (CardView::TABLE, self.cards.len(), self.cards == other.cards),
            (ContactView::TABLE, self.contacts.len(), self.contacts == other.contacts),
            (AccountView::TABLE, self.accounts.len(), self.accounts == other.accounts),
            (PromotionView::TABLE, self.promotions.len(), self.promotions == other.promotions),
            (BusinessView::TABLE, self.businesses.len(), self.businesses == other.businesses),
            (WalletItemView::TABLE, self.wallet_items.len(), self.wallet_items == other.wallet_items),
            (TallyRow::TABLE, self.tally.len(), self.tally == other.tally),
        ]
    }
}

/// Reads the ledger up to its current end and folds it into fresh views; returns them, the number of events and
/// the last position read. Position ranges are read by several connections at once (reading rows is the slow part)
/// and folded strictly in global order.
pub async fn fold_ledger(pool: &AnyPool) -> Result<(Views, u64, i64), RebuildError> {
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
        events += views.fold(&page)?;
    }
    Ok((views, events, last))
}

async fn replace_table<V: SqlView>(tx: &mut AnyConnection, rows: &HashMap<Vec<String>, V>) -> Result<(), sqlx::Error> {
    upsert_many(tx, &rows.values().collect::<Vec<_>>()).await
}

/// Drops the inline views and replays the ledger into them, while the service may be running: after the bulk of
/// the ledger is folded, the rebuild takes the ledger's write lock (SQLite's by its first delete, PostgreSQL's append
/// lock), folds what was appended meanwhile, and replaces the views in that one transaction.
pub async fn rebuild(read: &AnyPool, write: &AnyPool) -> Result<RebuildReport, RebuildError> {
    let (mut views, mut events, last) = fold_ledger(read).await?;
    let mut tx = write.begin().await?;
    if tx.backend_name() == "PostgreSQL" {
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(crate::APPEND_LOCK).execute(&mut *tx).await?;
    }
    for table in [
        CardView::TABLE,
        ContactView::TABLE,
        AccountView::TABLE,
        PromotionView::TABLE,
        BusinessView::TABLE,
        WalletItemView::TABLE,
        TallyRow::TABLE,
    ] {
        sqlx::query(&format!("DELETE FROM {table}")).execute(&mut *tx).await?;
    }
    events += views.fold(&read_range(&mut tx, last, i64::MAX).await?)?;
    replace_table(&mut tx, &views.cards).await?;
    replace_table(&mut tx, &views.contacts).await?;
    replace_table(&mut tx, &views.accounts).await?;
    replace_table(&mut tx, &views.promotions).await?;
    replace_table(&mut tx, &views.businesses).await?;
    replace_table(&mut tx, &views.wallet_items).await?;
    replace_table(&mut tx, &views.tally).await?;
    tx.commit().await?;
    Ok(RebuildReport { events, rows: views.rows() })
}
