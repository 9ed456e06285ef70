//! Dropping and replaying the inline views from the ledger. Events are read in global order in pages, folded in
//! memory with the same folds the inline path uses, and written back in one transaction, so readers see either the
//! old views or the new ones.

use std::collections::HashMap;

use sqlx::{Any, AnyPool, Row, Transaction};
use tally_events::decode_str;

use crate::{
    sql::{fold_into, upsert_many},
    AccountView, CardView, ContactView, Source, SqlView,
};

/// Events read per page.
const PAGE: i64 = 20_000;

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
#[derive(Default)]
pub struct Views {
    cards: HashMap<Vec<String>, CardView>,
    contacts: HashMap<Vec<String>, ContactView>,
    accounts: HashMap<Vec<String>, AccountView>,
}

impl Views {
    pub fn rows(&self) -> u64 {
        (self.cards.len() + self.contacts.len() + self.accounts.len()) as u64
    }
}

/// One stored event as the rebuild reads it.
struct StoredEvent {
    position: i64,
    tenant: String,
    stream_id: String,
    event_type: String,
    schema_version: i32,
    payload: String,
}

/// Reads the ledger in global order, page by page, into `pages` (a task of its own, so that reading the next page
/// overlaps with folding this one).
async fn read_pages(pool: AnyPool, pages: tokio::sync::mpsc::Sender<Result<Vec<StoredEvent>, sqlx::Error>>) {
    let mut after = 0i64;
    loop {
        let page = sqlx::query(
            "SELECT global_position, tenant, stream_id, event_type, schema_version, payload FROM events \
             WHERE global_position > $1 ORDER BY global_position LIMIT $2",
        )
        .bind(after)
        .bind(PAGE)
        .fetch_all(&pool)
        .await
        .and_then(|rows| {
            rows.iter()
                .map(|row| {
                    Ok(StoredEvent {
                        position: row.try_get(0)?,
                        tenant: row.try_get(1)?,
                        stream_id: row.try_get(2)?,
                        event_type: row.try_get(3)?,
                        schema_version: row.try_get(4)?,
                        payload: row.try_get(5)?,
                    })
                })
                .collect::<Result<Vec<StoredEvent>, sqlx::Error>>()
        });
        let done = match &page {
            Ok(rows) => rows.last().map(|row| after = row.position).is_none(),
            Err(_) => true,
        };
        if pages.send(page).await.is_err() || done {
            return;
        }
    }
}

/// Reads the whole ledger and folds it into fresh views.
pub async fn fold_ledger(pool: &AnyPool) -> Result<(Views, u64), RebuildError> {
    let (sender, mut pages) = tokio::sync::mpsc::channel(2);
    tokio::spawn(read_pages(pool.clone(), sender));
    let mut views = Views::default();
    let mut events = 0u64;
    while let Some(page) = pages.recv().await {
        let page = page?;
        if page.is_empty() {
            break;
        }
        for row in &page {
            let event = decode_str(&row.event_type, row.schema_version as u32, &row.payload)
                .map_err(|source| RebuildError::Decode { position: row.position, source })?;
            let source = Source { tenant: &row.tenant, stream_id: &row.stream_id };
            fold_into(&mut views.cards, &source, &event);
            fold_into(&mut views.contacts, &source, &event);
            fold_into(&mut views.accounts, &source, &event);
            events += 1;
        }
    }
    Ok((views, events))
}

async fn replace_table<V: SqlView>(
    tx: &mut Transaction<'_, Any>,
    rows: &HashMap<Vec<String>, V>,
) -> Result<(), sqlx::Error> {
    sqlx::query(&format!("DELETE FROM {}", V::TABLE)).execute(&mut **tx).await?;
    upsert_many(tx, &rows.values().collect::<Vec<_>>()).await
}

/// Drops the inline views and replays the ledger into them.
pub async fn rebuild(pool: &AnyPool) -> Result<RebuildReport, RebuildError> {
    let (views, events) = fold_ledger(pool).await?;
    let mut tx = pool.begin().await?;
    replace_table(&mut tx, &views.cards).await?;
    replace_table(&mut tx, &views.contacts).await?;
    replace_table(&mut tx, &views.accounts).await?;
    tx.commit().await?;
    Ok(RebuildReport { events, rows: views.rows() })
}
