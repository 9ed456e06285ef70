//! Authentication of API clients by id and secret, whatever carries them (each dialect's ingress reads them from
//! its own header), and of the bearer tokens granted to them ([`tokens`]). Secrets are stored as argon2 hashes; a
//! secret that verified once is remembered as a keyed digest so that later requests are checked in constant time
//! without paying argon2 again.

pub mod throttle;
pub mod tokens;

use std::{collections::HashMap, sync::RwLock};

use blake2::{Blake2b512, Digest};
use subtle::ConstantTimeEq;
use tally_events::{Actor, Role};

use crate::store::{merchants, Db, StoreError};

/// The authenticated caller: an API client of one merchant, with one role, or a staff member of the merchant
/// signed in through the client (with a token), with the staff member's role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub client_id: String,
    pub tenant: String,
    pub role: Role,
    pub staff_id: Option<String>,
}

impl Principal {
    /// Who the ledger records as the cause: the staff member when one signed in (`staff:<id>`), else the client.
    pub fn actor(&self) -> Actor {
        let principal = match &self.staff_id {
            Some(staff_id) => format!("staff:{staff_id}"),
            None => self.client_id.clone(),
        };
        Actor { principal, role: self.role }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("unknown client or wrong secret")]
    Invalid,
    #[error("the access token has expired")]
    Expired,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Verified credentials, by client id.
#[derive(Default)]
pub struct Authenticator {
    verified: RwLock<HashMap<String, ([u8; 64], Principal)>>,
    /// Access tokens seen before, by digest, with their principal and expiry (see [`tokens`]).
    tokens: tokens::TokenCache,
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

impl Authenticator {
    /// The principal of credentials verified before, compared in constant time.
    fn remembered(&self, client_id: &str, presented: &[u8; 64]) -> Option<Principal> {
        let verified = self.verified.read().expect("lock");
        let (known, principal) = verified.get(client_id)?;
        bool::from(known.ct_eq(presented)).then(|| principal.clone())
    }

    /// The principal of the client `client_id` if `secret` is its secret.
    pub async fn verify(&self, db: &Db, client_id: &str, secret: &str) -> Result<Principal, AuthError> {
        let presented = digest(client_id, secret);
        if let Some(principal) = self.remembered(client_id, &presented) {
            return Ok(principal);
        }
        let gate = self.in_flight.lock().expect("lock").entry(client_id.to_owned()).or_default().clone();
        let _turn = gate.lock().await;
        if let Some(principal) = self.remembered(client_id, &presented) {
            return Ok(principal);
        }
        let client = merchants::find_client(&db.read, client_id).await?.ok_or(AuthError::Invalid)?;
        let hash = client.secret_hash.clone();
        let secret = secret.to_owned();
        let valid =
            tokio::task::spawn_blocking(move || merchants::verify_secret(&secret, &hash)).await.unwrap_or(false);
        if !valid {
            return Err(AuthError::Invalid);
        }
        let principal =
            Principal { client_id: client.client_id, tenant: client.tenant, role: client.role, staff_id: None };
        self.verified.write().expect("lock").insert(client_id.to_owned(), (presented, principal.clone()));
        Ok(principal)
    }
}
