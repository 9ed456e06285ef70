//! Merchants (tenants) with their settings, and the API clients that act for them.

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use sqlx::{AnyPool, Row};
use tally_events::Role;
use uuid::Uuid;

use super::{timestamp, StoreError};

/// Contact fields a merchant may require before a card is activated.
pub const CONTACT_FIELDS: [&str; 5] = ["name", "mobile_number", "email", "birth_date", "external_id"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merchant {
    pub tenant: String,
    pub name: String,
    /// IANA time zone in which the merchant's business day is cut.
    pub time_zone: String,
    /// The contact fields that make personal data "sufficient" to activate a card.
    pub required_contact_fields: Vec<String>,
}

/// A merchant id: 1..=64 of `[a-z0-9_-]`, so it can sit inside stream ids and topic keys.
pub fn valid_tenant(tenant: &str) -> bool {
    (1..=64).contains(&tenant.len())
        && tenant.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

pub async fn get(pool: &AnyPool, tenant: &str) -> Result<Option<Merchant>, StoreError> {
    let row = sqlx::query("SELECT name, time_zone, required_contact_fields FROM merchants WHERE tenant = $1")
        .bind(tenant)
        .fetch_optional(pool)
        .await?;
    row.map(|row| {
        let fields: String = row.try_get(2)?;
        Ok(Merchant {
            tenant: tenant.to_owned(),
            name: row.try_get(0)?,
            time_zone: row.try_get(1)?,
            required_contact_fields: fields.split(',').filter(|f| !f.is_empty()).map(str::to_owned).collect(),
        })
    })
    .transpose()
}

/// Whether any merchant exists.
pub async fn any(pool: &AnyPool) -> Result<bool, StoreError> {
    let row: Option<(String,)> = sqlx::query_as("SELECT tenant FROM merchants LIMIT 1").fetch_optional(pool).await?;
    Ok(row.is_some())
}

/// Creates the merchant unless it exists; returns whether it was created.
pub async fn create(pool: &AnyPool, merchant: &Merchant) -> Result<bool, StoreError> {
    let result = sqlx::query(
        "INSERT INTO merchants (tenant, name, time_zone, required_contact_fields, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant) DO NOTHING",
    )
    .bind(&merchant.tenant)
    .bind(&merchant.name)
    .bind(&merchant.time_zone)
    .bind(merchant.required_contact_fields.join(","))
    .bind(timestamp(chrono::Utc::now()))
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// An API client as stored.
#[derive(Debug, Clone)]
pub struct ApiClient {
    pub client_id: String,
    pub tenant: String,
    pub role: Role,
    pub secret_hash: String,
}

pub async fn find_client(pool: &AnyPool, client_id: &str) -> Result<Option<ApiClient>, StoreError> {
    let row = sqlx::query("SELECT tenant, role, secret_hash FROM api_clients WHERE client_id = $1")
        .bind(client_id)
        .fetch_optional(pool)
        .await?;
    row.map(|row| {
        let role: String = row.try_get(1)?;
        Ok(ApiClient {
            client_id: client_id.to_owned(),
            tenant: row.try_get(0)?,
            role: super::stored_role(&role)?,
            secret_hash: row.try_get(2)?,
        })
    })
    .transpose()
}

/// Stores a client with its secret hashed by argon2. Fails if the id exists.
pub async fn create_client(
    pool: &AnyPool,
    client_id: &str,
    secret: &str,
    tenant: &str,
    role: Role,
) -> Result<(), StoreError> {
    let secret_hash = hash_secret(secret)?;
    sqlx::query(
        "INSERT INTO api_clients (client_id, tenant, role, secret_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(client_id)
    .bind(tenant)
    .bind(role.as_str())
    .bind(secret_hash)
    .bind(timestamp(chrono::Utc::now()))
    .execute(pool)
    .await?;
    Ok(())
}

/// A secret's argon2 hash with a fresh salt, as stored.
pub fn hash_secret(secret: &str) -> Result<String, StoreError> {
    let salt = SaltString::generate(&mut OsRng);
    let hash = Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map_err(|e| sqlx::Error::Protocol(format!("hashing failed: {e}")))?;
    Ok(hash.to_string())
}

/// A fresh client id and secret (the secret has 244 random bits).
pub fn new_credentials() -> (String, String) {
    let id = format!("tc_{}", &Uuid::new_v4().simple().to_string()[..16]);
    let secret = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
    (id, secret)
}

/// Checks a secret against its argon2 hash (constant-time inside argon2).
pub fn verify_secret(secret: &str, secret_hash: &str) -> bool {
    PasswordHash::new(secret_hash).is_ok_and(|hash| Argon2::default().verify_password(secret.as_bytes(), &hash).is_ok())
}
