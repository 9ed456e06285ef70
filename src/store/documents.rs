//! The contents of lead documents, kept outside the ledger (its events hold their digests), sealed with the key of
//! the lead's customer.

use sqlx::{AnyPool, Row};

use super::{timestamp, StoreError};

/// Stores a document's sealed content.
pub async fn put(
    pool: &AnyPool,
    tenant: &str,
    document_id: &str,
    lead_id: &str,
    sealed: &[u8],
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO lead_documents (tenant, document_id, lead_id, content, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(tenant)
    .bind(document_id)
    .bind(lead_id)
    .bind(sealed.to_vec())
    .bind(timestamp(chrono::Utc::now()))
    .execute(pool)
    .await?;
    Ok(())
}

/// A document's sealed content, if it is the lead's.
pub async fn get(
    pool: &AnyPool,
    tenant: &str,
    lead_id: &str,
    document_id: &str,
) -> Result<Option<Vec<u8>>, StoreError> {
    let row = sqlx::query("SELECT content FROM lead_documents WHERE tenant = $1 AND document_id = $2 AND lead_id = $3")
        .bind(tenant)
        .bind(document_id)
        .bind(lead_id)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|row| row.try_get(0)).transpose()?)
}

/// Forgets contents stored for an upload that was refused.
pub async fn remove(pool: &AnyPool, tenant: &str, document_ids: &[String]) -> Result<(), StoreError> {
    for document_id in document_ids {
        sqlx::query("DELETE FROM lead_documents WHERE tenant = $1 AND document_id = $2")
            .bind(tenant)
            .bind(document_id)
            .execute(pool)
            .await?;
    }
    Ok(())
}
