//! The one rewrite of history Tally makes: contact events recorded before version 3 carry the contact's personal data
//! in the clear, which an erasure could not shred. At the first start of a version that seals it, each of them is
//! sealed with the contact's key, in place, and becomes a version 3 event with the same meaning. The ledger's
//! append-only trigger is lifted for that one transaction, under the append lock, and put back before it commits.
//! Copies already published to Kafka stay as they were until the topics' retention drops them (see the README).

use sqlx::Row;
use tally_events::{decode_str, Event, PersonalDetails};
use uuid::Uuid;

use super::{timestamp, Db, Dialect, StoreError};
use crate::vault::{Vault, VaultError};

const NAME: &str = "seal-contact-details";

/// Seals the contact events recorded in the clear, once; returns how many it sealed.
pub(super) async fn seal_clear_contacts(db: &Db) -> Result<usize, StoreError> {
    let done = sqlx::query("SELECT 1 FROM upgrades WHERE name = $1").bind(NAME).fetch_optional(&db.read).await?;
    if done.is_some() {
        return Ok(0);
    }
    let rows = sqlx::query(
        "SELECT global_position, tenant, event_type, schema_version, payload FROM events \
         WHERE event_type IN ('ContactRegistered', 'ContactUpdated') AND schema_version < 3 ORDER BY global_position",
    )
    .fetch_all(&db.read)
    .await?;
    // Sealed before the transaction: making a key writes, and SQLite's writer is the transaction's one connection.
    let vault = Vault::default();
    let mut sealed = Vec::with_capacity(rows.len());
    for row in &rows {
        let (position, tenant): (i64, &str) = (row.try_get(0)?, row.try_get(1)?);
        let version: i32 = row.try_get(3)?;
        let event = match decode_str(row.try_get(2)?, version as u32, row.try_get(4)?)? {
            Event::ContactRegistered(mut e) => {
                e.details = seal(db, &vault, tenant, e.contact_id, e.details).await?;
                Event::ContactRegistered(e)
            }
            Event::ContactUpdated(mut e) => {
                e.changes = seal(db, &vault, tenant, e.contact_id, e.changes).await?;
                Event::ContactUpdated(e)
            }
            other => other,
        };
        sealed.push((position, event.payload_json().to_string(), event.schema_version()));
    }
    let mut tx = db.begin_append().await?;
    if !sealed.is_empty() {
        rewrite(db.dialect, &mut tx, &sealed).await?;
    }
    sqlx::query("INSERT INTO upgrades (name, done_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
        .bind(NAME)
        .bind(timestamp(chrono::Utc::now()))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    if !sealed.is_empty() {
        tracing::info!(events = sealed.len(), "sealed the personal data of contact events recorded in the clear");
    }
    Ok(sealed.len())
}

/// Writes the sealed payloads over the clear ones, with the append-only trigger lifted for this transaction only.
async fn rewrite(
    dialect: Dialect,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    sealed: &[(i64, String, u32)],
) -> Result<(), StoreError> {
    let rearm = match dialect {
        Dialect::Postgres => {
            sqlx::query("ALTER TABLE events DISABLE TRIGGER events_no_update").execute(&mut **tx).await?;
            "ALTER TABLE events ENABLE TRIGGER events_no_update".to_owned()
        }
        Dialect::Sqlite => {
            let (sql,): (String,) =
                sqlx::query_as("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'events_no_update'")
                    .fetch_one(&mut **tx)
                    .await?;
            sqlx::query("DROP TRIGGER events_no_update").execute(&mut **tx).await?;
            sql
        }
    };
    for (position, payload, version) in sealed {
        sqlx::query(
            "UPDATE events SET payload = $1, schema_version = $2 WHERE global_position = $3 AND schema_version < 3",
        )
        .bind(payload)
        .bind(*version as i32)
        .bind(position)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query(&rearm).execute(&mut **tx).await?;
    Ok(())
}

/// The details sealed with the contact's key; nothing of them when the customer was erased.
async fn seal(
    db: &Db,
    vault: &Vault,
    tenant: &str,
    contact_id: Uuid,
    details: PersonalDetails,
) -> Result<PersonalDetails, StoreError> {
    let PersonalDetails::Clear(clear) = details else { return Ok(details) };
    match crate::contacts::seal(vault, db, tenant, contact_id, &clear).await {
        Ok(sealed) => Ok(PersonalDetails::Sealed(sealed)),
        Err(VaultError::Erased) => Ok(PersonalDetails::Clear(Default::default())),
        Err(VaultError::Store(error)) => Err(error),
    }
}
