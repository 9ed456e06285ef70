//! The attachments of notifications not yet sent, outside the ledger (its events hold their digests), sealed with
//! the notification's own key; removed once the notification is delivered or failed.

use sqlx::{AnyPool, Row};
use uuid::Uuid;

use super::{timestamp, StoreError};

/// Stores an attachment's sealed content.
pub async fn put(pool: &AnyPool, tenant: &str, notification_id: Uuid, sealed: &[u8]) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO notification_attachments (tenant, notification_id, content, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(tenant)
    .bind(notification_id.to_string())
    .bind(sealed.to_vec())
    .bind(timestamp(chrono::Utc::now()))
    .execute(pool)
    .await?;
    Ok(())
}

/// A notification's sealed attachment, if it has one (still).
pub async fn get(pool: &AnyPool, tenant: &str, notification_id: Uuid) -> Result<Option<Vec<u8>>, StoreError> {
    let row = sqlx::query("SELECT content FROM notification_attachments WHERE tenant = $1 AND notification_id = $2")
        .bind(tenant)
        .bind(notification_id.to_string())
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|row| row.try_get(0)).transpose()?)
}

/// Forgets a notification's attachment.
pub async fn remove(pool: &AnyPool, tenant: &str, notification_id: Uuid) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM notification_attachments WHERE tenant = $1 AND notification_id = $2")
        .bind(tenant)
        .bind(notification_id.to_string())
        .execute(pool)
        .await?;
    Ok(())
}
