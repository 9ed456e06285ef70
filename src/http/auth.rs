//! Basic authentication of API clients. Secrets are stored as argon2 hashes; a secret that verified once is
//! remembered as a keyed digest so that later requests are checked in constant time without paying argon2 again.

use std::{collections::HashMap, sync::RwLock};

use axum::http::{header::AUTHORIZATION, HeaderMap};
use base64::{engine::general_purpose::STANDARD, Engine};
use blake2::{Blake2b512, Digest};
use subtle::ConstantTimeEq;
use tally_events::{Actor, Role};

use crate::store::{merchants, Db, StoreError};

/// The authenticated caller: an API client of one merchant, with one role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub client_id: String,
    pub tenant: String,
    pub role: Role,
}

impl Principal {
    pub fn actor(&self) -> Actor {
        Actor { principal: self.client_id.clone(), role: self.role }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("missing or malformed Authorization header: use Basic base64(client_id:secret)")]
    Missing,
    #[error("unknown client or wrong secret")]
    Invalid,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Verified credentials, by client id.
#[derive(Default)]
pub struct Authenticator {
    verified: RwLock<HashMap<String, ([u8; 64], Principal)>>,
    /// One argon2 check at a time per client: requests arriving together wait for the first one's verdict instead
    /// of each spending tens of milliseconds of CPU on the same check.
    in_flight: std::sync::Mutex<HashMap<String, std::sync::Arc<tokio::sync::Mutex<()>>>>,
}

fn digest(client_id: &str, secret: &str) -> [u8; 64] {
    let mut hasher = Blake2b512::new();
    hasher.update(client_id.as_bytes());
    hasher.update([0]);
    hasher.update(secret.as_bytes());
    hasher.finalize().into()
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

impl Authenticator {
    /// The principal of credentials verified before, compared in constant time.
    fn remembered(&self, client_id: &str, presented: &[u8; 64]) -> Option<Principal> {
        let verified = self.verified.read().expect("lock");
        let (known, principal) = verified.get(client_id)?;
        bool::from(known.ct_eq(presented)).then(|| principal.clone())
    }

    pub async fn authenticate(&self, db: &Db, headers: &HeaderMap) -> Result<Principal, AuthError> {
        let (client_id, secret) = basic_credentials(headers).ok_or(AuthError::Missing)?;
        let presented = digest(&client_id, &secret);
        if let Some(principal) = self.remembered(&client_id, &presented) {
            return Ok(principal);
        }
        let gate = self.in_flight.lock().expect("lock").entry(client_id.clone()).or_default().clone();
        let _turn = gate.lock().await;
        if let Some(principal) = self.remembered(&client_id, &presented) {
            return Ok(principal);
        }
        let client = merchants::find_client(&db.read, &client_id).await?.ok_or(AuthError::Invalid)?;
        let hash = client.secret_hash.clone();
        let valid =
            tokio::task::spawn_blocking(move || merchants::verify_secret(&secret, &hash)).await.unwrap_or(false);
        if !valid {
            return Err(AuthError::Invalid);
        }
        let principal = Principal { client_id: client.client_id, tenant: client.tenant, role: client.role };
        self.verified.write().expect("lock").insert(client_id, (presented, principal.clone()));
        Ok(principal)
    }
}
