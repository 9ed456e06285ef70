//! Dropping and replaying the inline views from the ledger. Events are read in global order in pages, folded in
//! memory with the same folds the inline path uses, and written back in one transaction, so readers see either the
//! old views or the new ones.

use std::collections::HashMap;

use sqlx::{Any, AnyPool, Row, Transaction};
use tally_events::decode_str;

use crate::{
    sql::{fold_into, upsert},
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
    Decode {
        position: i64,
        source: tally_events::DecodeError,
    },
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

/// Reads the whole ledger and folds it into fresh views.
pub async fn fold_ledger(pool: &AnyPool) -> Result<(Views, u64), RebuildError> {
    let mut views = Views::default();
    let mut after = 0i64;
    let mut events = 0u64;
    loop {
        let rows = sqlx::query(
            "SELECT global_position, tenant, stream_id, event_type, schema_version, payload FROM events \
             WHERE global_position > $1 ORDER BY global_position LIMIT $2",
        )
        .bind(after)
        .bind(PAGE)
        .fetch_all(pool)
        .await?;
        let Some(last) = rows.last() else { break };
        after = last.try_get(0)?;
        for row in &rows {
            let position: i64 = row.try_get(0)?;
            let tenant: &str = row.try_get(1)?;
            let stream_id: &str = row.try_get(2)?;
            let event_type: &str = row.try_get(3)?;
            let schema_version: i32 = row.try_get(4)?;
            let payload: &str = row.try_get(5)?;
            let event = decode_str(event_type, schema_version as u32, payload)
                .map_err(|source| RebuildError::Decode { position, source })?;
            let source = Source { tenant, stream_id };
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
    sqlx::query(&format!("DELETE FROM {}", V::TABLE))
        .execute(&mut **tx)
        .await?;
    for row in rows.values() {
        upsert(&mut **tx, row).await?;
    }
    Ok(())
}

/// Drops the inline views and replays the ledger into them.
pub async fn rebuild(pool: &AnyPool) -> Result<RebuildReport, RebuildError> {
    let (views, events) = fold_ledger(pool).await?;
    let mut tx = pool.begin().await?;
    replace_table(&mut tx, &views.cards).await?;
    replace_table(&mut tx, &views.contacts).await?;
    replace_table(&mut tx, &views.accounts).await?;
    tx.commit().await?;
    Ok(RebuildReport {
        events,
        rows: views.rows(),
    })
}
