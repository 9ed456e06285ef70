//! A merchant's staff members: the people who sign in to its applications (Footprints' "hostess"), by username and
//! password or by PIN, and who are the actor of every event their tokens cause.

use argon2::{
    password_hash::{PasswordHasher, SaltString},
    Argon2,
};
use blake2::{Blake2b512, Digest};
use sqlx::{AnyPool, Row};
use tally_events::Role;

use super::{merchants, timestamp, violated_constraint, StoreError};

/// A staff member as the token endpoint answers with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffMember {
    pub tenant: String,
    /// 24 hexadecimal digits, as Footprints' ids are.
    pub staff_id: String,
    pub name: String,
    pub role: Role,
}

/// What a new staff member signs in with: a username and password, a PIN, or both.
pub struct SignIn<'a> {
    pub username: Option<&'a str>,
    pub password: Option<&'a str>,
    pub pin: Option<&'a str>,
}

/// Why a staff member could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error("another staff member of this merchant has this username")]
    UsernameTaken,
    #[error("another staff member of this merchant has this PIN")]
    PinTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The hash a PIN is stored and found by: argon2 with a salt of the merchant's own, so that one hash finds the
/// staff member (PINs are few digits: a per-row salt would mean trying every staff member's hash in turn).
pub fn pin_hash(tenant: &str, pin: &str) -> Result<String, StoreError> {
    let mut salt = Blake2b512::new();
    salt.update(b"tally staff pin\0");
    salt.update(tenant.as_bytes());
    let salt = SaltString::encode_b64(&salt.finalize()[..16]).map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    let hash = Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map_err(|e| sqlx::Error::Protocol(format!("hashing failed: {e}")))?;
    Ok(hash.to_string())
}

pub async fn create(
    pool: &AnyPool,
    tenant: &str,
    name: &str,
    role: Role,
    sign_in: SignIn<'_>,
) -> Result<StaffMember, StaffError> {
    let staff_id = super::object_id();
    let password_hash = sign_in.password.map(merchants::hash_secret).transpose()?;
    let pin_hash = sign_in.pin.map(|pin| pin_hash(tenant, pin)).transpose()?;
    let inserted = sqlx::query(
        "INSERT INTO staff_members (tenant, staff_id, name, role, username, password_hash, pin_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(tenant)
    .bind(&staff_id)
    .bind(name)
    .bind(role.as_str())
    .bind(sign_in.username)
    .bind(password_hash)
    .bind(pin_hash)
    .bind(timestamp(chrono::Utc::now()))
    .execute(pool)
    .await;
    match inserted {
        Ok(_) => Ok(StaffMember { tenant: tenant.to_owned(), staff_id, name: name.to_owned(), role }),
        Err(error) => Err(match violated_constraint(&error) {
            Some("staff_members_username") => StaffError::UsernameTaken,
            Some("staff_members_pin") => StaffError::PinTaken,
            _ => StaffError::Store(error.into()),
        }),
    }
}

const COLUMNS: &str = "staff_id, name, role";

fn member(tenant: &str, row: &sqlx::any::AnyRow) -> Result<StaffMember, StoreError> {
    let role: String = row.try_get(2)?;
    Ok(StaffMember {
        tenant: tenant.to_owned(),
        staff_id: row.try_get(0)?,
        name: row.try_get(1)?,
        role: super::stored_role(&role)?,
    })
}

/// The staff member with this username, with their password hash.
pub async fn by_username(
    pool: &AnyPool,
    tenant: &str,
    username: &str,
) -> Result<Option<(StaffMember, String)>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS}, password_hash FROM staff_members WHERE tenant = $1 AND username = $2 \
         AND password_hash IS NOT NULL"
    ))
    .bind(tenant)
    .bind(username)
    .fetch_optional(pool)
    .await?;
    row.map(|row| Ok((member(tenant, &row)?, row.try_get(3)?))).transpose()
}

/// The staff member whose PIN has this [`pin_hash`].
pub async fn by_pin_hash(pool: &AnyPool, tenant: &str, pin_hash: &str) -> Result<Option<StaffMember>, StoreError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM staff_members WHERE tenant = $1 AND pin_hash = $2"))
        .bind(tenant)
        .bind(pin_hash)
        .fetch_optional(pool)
        .await?;
    row.map(|row| member(tenant, &row)).transpose()
}

/// A staff member by id.
pub async fn get(pool: &AnyPool, tenant: &str, staff_id: &str) -> Result<Option<StaffMember>, StoreError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM staff_members WHERE tenant = $1 AND staff_id = $2"))
        .bind(tenant)
        .bind(staff_id)
        .fetch_optional(pool)
        .await?;
    row.map(|row| member(tenant, &row)).transpose()
}
