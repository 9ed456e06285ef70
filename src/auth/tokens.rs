//! Bearer tokens (Footprints' `/api/token`): an API client trades its credentials — alone, or with a staff member's
//! username and password or PIN — for an access token and a refresh token. The access token stands for the client's
//! merchant and, when a staff member signed in, for that staff member, who is then the actor of every event the
//! token causes. A refresh token is good for one new pair; the access token it came with stays valid until it
//! expires (so an instance that remembers a token never has to ask whether another revoked it).

use std::{collections::HashMap, sync::RwLock, time::Duration};

use chrono::{DateTime, Utc};

use super::{throttle, AuthError, Authenticator, Principal};
use crate::store::{
    merchants,
    staff::{self, StaffMember},
    tokens::{self, Grant, Issued},
    Db, StoreError,
};

/// How long tokens live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenSettings {
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
}

impl Default for TokenSettings {
    /// A day for access tokens, thirty days for refresh tokens.
    fn default() -> TokenSettings {
        TokenSettings { access_ttl: Duration::from_secs(86_400), refresh_ttl: Duration::from_secs(30 * 86_400) }
    }
}

/// What the client asks to be granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantRequest {
    /// The application alone.
    ClientCredentials,
    /// A staff member by username and password.
    Password { username: String, password: String },
    /// A staff member by PIN.
    Pin { pin: String },
    /// A new pair for a refresh token of the same client.
    RefreshToken { refresh_token: String },
}

/// A granted pair of tokens, with whom they stand for.
#[derive(Debug, Clone)]
pub struct Granted {
    pub issued: Issued,
    /// The staff member who signed in, if one did.
    pub staff: Option<StaffMember>,
}

/// Why nothing was granted.
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    /// A wrong password, PIN or refresh token (or one of another client).
    #[error("the credentials of the grant are wrong")]
    InvalidGrant,
    /// Too many wrong attempts: try again after this long.
    #[error("too many wrong attempts")]
    Throttled(Duration),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Access tokens remembered at most per instance; past this the memory is cleared and tokens are read again.
const MAX_REMEMBERED: usize = 100_000;

/// Access tokens seen before, by digest: their principal and expiry.
#[derive(Default)]
pub struct TokenCache(RwLock<HashMap<String, (Principal, DateTime<Utc>)>>);

impl Authenticator {
    /// Grants `request` to the authenticated API client `client`.
    pub async fn grant(
        &self,
        db: &Db,
        client: &Principal,
        request: GrantRequest,
        settings: &TokenSettings,
    ) -> Result<Granted, GrantError> {
        let tenant = &client.tenant;
        let (staff, role) = match request {
            GrantRequest::ClientCredentials => (None, client.role),
            GrantRequest::Password { username, password } => {
                let key = format!("password:{tenant}:{username}");
                let found = self.guarded(db, &key, async move {
                    let Some((member, hash)) = staff::by_username(&db.read, tenant, &username).await? else {
                        return Ok(None);
                    };
                    let valid = tokio::task::spawn_blocking(move || merchants::verify_secret(&password, &hash));
                    Ok(valid.await.unwrap_or(false).then_some(member))
                });
                let member = found.await?;
                (Some(member.clone()), member.role)
            }
            GrantRequest::Pin { pin } => {
                let key = format!("pin:{}", client.client_id);
                let found = self.guarded(db, &key, async move {
                    let tenant = tenant.clone();
                    let hash = tokio::task::spawn_blocking(move || staff::pin_hash(&tenant, &pin));
                    let hash = hash.await.map_err(|e| StoreError::Database(sqlx::Error::Protocol(e.to_string())))??;
                    staff::by_pin_hash(&db.read, &client.tenant, &hash).await
                });
                let member = found.await?;
                (Some(member.clone()), member.role)
            }
            GrantRequest::RefreshToken { refresh_token } => {
                let grant = tokens::redeem(&db.write, &refresh_token, Utc::now()).await?;
                let grant =
                    grant.filter(|grant| grant.client_id == client.client_id).ok_or(GrantError::InvalidGrant)?;
                let member = match &grant.staff_id {
                    Some(id) => Some(staff::get(&db.read, tenant, id).await?.ok_or(GrantError::InvalidGrant)?),
                    None => None,
                };
                (member, grant.role)
            }
        };
        let grant = Grant {
            client_id: client.client_id.clone(),
            tenant: tenant.clone(),
            staff_id: staff.as_ref().map(|member| member.staff_id.clone()),
            role,
        };
        let ttl = |duration: Duration| chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX);
        let issued =
            tokens::issue(&db.write, &grant, Utc::now(), ttl(settings.access_ttl), ttl(settings.refresh_ttl)).await?;
        Ok(Granted { issued, staff })
    }

    /// Runs a check of a guessable secret under the throttle of `key`: refused unchecked while the key is
    /// throttled, counted when it finds nobody.
    async fn guarded(
        &self,
        db: &Db,
        key: &str,
        check: impl std::future::Future<Output = Result<Option<StaffMember>, StoreError>>,
    ) -> Result<StaffMember, GrantError> {
        if let Some(wait) = throttle::wait(db, key, Utc::now()).await? {
            return Err(GrantError::Throttled(wait));
        }
        match check.await? {
            Some(member) => {
                throttle::succeeded(db, key).await?;
                Ok(member)
            }
            None => {
                throttle::failed(db, key, Utc::now()).await?;
                Err(GrantError::InvalidGrant)
            }
        }
    }

    /// The principal an access token stands for.
    pub async fn verify_token(&self, db: &Db, access_token: &str) -> Result<Principal, AuthError> {
        let digest = tokens::digest(access_token);
        let remembered = self.tokens.0.read().expect("lock").get(&digest).cloned();
        let (principal, expires_at) = match remembered {
            Some(known) => known,
            None => {
                let (grant, expires_at) = tokens::find(&db.read, access_token).await?.ok_or(AuthError::Invalid)?;
                let principal = Principal {
                    client_id: grant.client_id,
                    tenant: grant.tenant,
                    role: grant.role,
                    staff_id: grant.staff_id,
                };
                let mut cache = self.tokens.0.write().expect("lock");
                if cache.len() >= MAX_REMEMBERED {
                    cache.clear();
                }
                cache.insert(digest, (principal.clone(), expires_at));
                (principal, expires_at)
            }
        };
        if expires_at <= Utc::now() {
            return Err(AuthError::Expired);
        }
        Ok(principal)
    }
}
