//! Access and refresh tokens, as `/api/token` hands them out: 256 random bits each, stored as digests only, bound
//! to the API client (and so the merchant) they were granted to and to the staff member who signed in, if any.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use blake2::{Blake2b512, Digest};
use chrono::{DateTime, Duration, Utc};
use sqlx::{AnyPool, Row};
use tally_events::Role;

use super::{parse_timestamp, timestamp, StoreError};

/// A grant as stored under its tokens' digests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub client_id: String,
    pub tenant: String,
    pub staff_id: Option<String>,
    pub role: Role,
}

/// A granted pair of tokens, in clear: shown to the caller once.
#[derive(Debug, Clone)]
pub struct Issued {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_at: DateTime<Utc>,
}

/// The digest a token is stored and found by. Tokens carry 256 random bits, so a fast digest is as safe as a slow
/// hash and costs a request nothing.
pub fn digest(token: &str) -> String {
    let mut hasher = Blake2b512::new();
    hasher.update(b"tally token\0");
    hasher.update(token.as_bytes());
    super::hex(&hasher.finalize()[..32])
}

fn fresh_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    super::hex(&bytes)
}

/// Stores a new pair of tokens for `grant`, valid for `access_ttl` and `refresh_ttl` from `now`, and forgets pairs
/// whose refresh token has expired.
pub async fn issue(
    pool: &AnyPool,
    grant: &Grant,
    now: DateTime<Utc>,
    access_ttl: Duration,
    refresh_ttl: Duration,
) -> Result<Issued, StoreError> {
    sqlx::query("DELETE FROM access_tokens WHERE refresh_expires_at < $1").bind(timestamp(now)).execute(pool).await?;
    let issued = Issued { access_token: fresh_token(), refresh_token: fresh_token(), expires_at: now + access_ttl };
    sqlx::query(
        "INSERT INTO access_tokens (access_digest, refresh_digest, client_id, tenant, staff_id, role, expires_at, \
         refresh_expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(digest(&issued.access_token))
    .bind(digest(&issued.refresh_token))
    .bind(&grant.client_id)
    .bind(&grant.tenant)
    .bind(&grant.staff_id)
    .bind(grant.role.as_str())
    .bind(timestamp(issued.expires_at))
    .bind(timestamp(now + refresh_ttl))
    .execute(pool)
    .await?;
    Ok(issued)
}

fn grant(row: &sqlx::any::AnyRow) -> Result<(Grant, DateTime<Utc>), StoreError> {
    let role: String = row.try_get(3)?;
    let expires_at: String = row.try_get(4)?;
    let grant = Grant {
        client_id: row.try_get(0)?,
        tenant: row.try_get(1)?,
        staff_id: row.try_get(2)?,
        role: super::stored_role(&role)?,
    };
    Ok((grant, parse_timestamp(&expires_at)?))
}

const GRANT: &str = "client_id, tenant, staff_id, role";

/// The grant of an access token, with the time it expires.
pub async fn find(pool: &AnyPool, access_token: &str) -> Result<Option<(Grant, DateTime<Utc>)>, StoreError> {
    let row = sqlx::query(&format!("SELECT {GRANT}, expires_at FROM access_tokens WHERE access_digest = $1"))
        .bind(digest(access_token))
        .fetch_optional(pool)
        .await?;
    row.map(|row| grant(&row)).transpose()
}

/// Takes a refresh token back (it is good for one refresh) and gives its grant, unless it is unknown or expired.
pub async fn redeem(pool: &AnyPool, refresh_token: &str, now: DateTime<Utc>) -> Result<Option<Grant>, StoreError> {
    let digest = digest(refresh_token);
    let row = sqlx::query(&format!(
        "DELETE FROM access_tokens WHERE refresh_digest = $1 RETURNING {GRANT}, refresh_expires_at"
    ))
    .bind(&digest)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| grant(&row)).transpose()?.filter(|(_, expires_at)| *expires_at > now).map(|(grant, _)| grant))
}
