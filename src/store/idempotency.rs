//! Idempotency records: the first response to each (principal, key), saved in the same transaction as the events
//! the command appended, so a retry can never double-apply and always sees the first answer.

use blake2::{Blake2b512, Digest};
use sqlx::{AnyConnection, Row};

use super::{timestamp, StoreError};

/// A caller's key with the fingerprint of the request it came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    pub principal: String,
    pub key: String,
    pub request_hash: String,
}

impl IdempotencyKey {
    /// Keys are scoped per principal; the request is fingerprinted by method, path with query, and body.
    pub fn new(principal: &str, key: &str, method: &str, path_and_query: &str, body: &[u8]) -> IdempotencyKey {
        let mut hasher = Blake2b512::new();
        for part in [method.as_bytes(), path_and_query.as_bytes(), body] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
        let request_hash = super::hex(&hasher.finalize()[..32]);
        IdempotencyKey { principal: principal.to_owned(), key: key.to_owned(), request_hash }
    }
}

/// A response as it was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

/// What the ledger knows of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prior {
    /// Never seen.
    None,
    /// Seen with the same request: here is the first response.
    Same(StoredResponse),
    /// Seen with a different request.
    Different,
}

/// What the ledger knows of several keys, in one statement per 128 keys.
pub async fn lookup_many(conn: &mut AnyConnection, keys: &[&IdempotencyKey]) -> Result<Vec<Prior>, StoreError> {
    let mut known = std::collections::HashMap::new();
    let marks = tally_projections::BindMarks::of(conn);
    for chunk in tally_projections::shaped_chunks(keys, 128) {
        let matches: Vec<String> = (0..chunk.len())
            .map(|k| format!("(principal = {} AND key = {})", marks.mark(2 * k + 1), marks.mark(2 * k + 2)))
            .collect();
        let sql = format!(
            "SELECT principal, key, request_hash, status, content_type, body FROM idempotency WHERE {}",
            matches.join(" OR ")
        );
        let mut query = sqlx::query(&sql);
        for key in chunk {
            query = query.bind(key.principal.as_str()).bind(key.key.as_str());
        }
        for row in query.fetch_all(&mut *conn).await? {
            let response = StoredResponse {
                status: row.try_get::<i32, _>(3)? as u16,
                content_type: row.try_get(4)?,
                body: row.try_get(5)?,
            };
            known.insert(
                (row.try_get::<String, _>(0)?, row.try_get::<String, _>(1)?),
                (row.try_get::<String, _>(2)?, response),
            );
        }
    }
    Ok(keys
        .iter()
        .map(|key| match known.get(&(key.principal.clone(), key.key.clone())) {
            None => Prior::None,
            Some((hash, response)) if *hash == key.request_hash => Prior::Same(response.clone()),
            Some(_) => Prior::Different,
        })
        .collect())
}

pub async fn lookup(conn: &mut AnyConnection, key: &IdempotencyKey) -> Result<Prior, StoreError> {
    let row = sqlx::query(
        "SELECT request_hash, status, content_type, body FROM idempotency WHERE principal = $1 AND key = $2",
    )
    .bind(&key.principal)
    .bind(&key.key)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(Prior::None);
    };
    let hash: String = row.try_get(0)?;
    if hash != key.request_hash {
        return Ok(Prior::Different);
    }
    Ok(Prior::Same(StoredResponse {
        status: row.try_get::<i32, _>(1)? as u16,
        content_type: row.try_get(2)?,
        body: row.try_get(3)?,
    }))
}

/// Saves the first responses of several keys in one statement.
pub async fn save_many(
    conn: &mut AnyConnection,
    records: &[(&IdempotencyKey, &StoredResponse)],
) -> Result<(), sqlx::Error> {
    let created_at = timestamp(chrono::Utc::now());
    let marks = tally_projections::BindMarks::of(conn);
    for chunk in tally_projections::shaped_chunks(records, 256) {
        let values: Vec<String> = (0..chunk.len()).map(|row| marks.row(row * 7 + 1, 7)).collect();
        let sql = format!(
            "INSERT INTO idempotency (principal, key, request_hash, status, content_type, body, created_at) VALUES {}",
            values.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for (key, response) in chunk {
            query = query
                .bind(key.principal.as_str())
                .bind(key.key.as_str())
                .bind(key.request_hash.as_str())
                .bind(response.status as i32)
                .bind(response.content_type.as_str())
                .bind(response.body.as_str())
                .bind(created_at.as_str());
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

pub async fn save(
    conn: &mut AnyConnection,
    key: &IdempotencyKey,
    response: &StoredResponse,
) -> Result<(), sqlx::Error> {
    save_many(conn, &[(key, response)]).await
}
