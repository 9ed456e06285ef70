//! The vault of personal data keys: one key per customer (data subject) and merchant, held outside the ledger, that
//! seals the customer's personal data in events ([`Sealed`]) and opens it again for an answer. Erasing a customer
//! destroys the key and leaves a tombstone, so that nothing is sealed for them again; every sealed value of theirs
//! becomes unreadable wherever it was copied (crypto-shredding).
//!
//! Each merchant also has a lookup key: identities (an e-mail address with a phone number) are recorded as keyed
//! digests of it, so that a customer can be found again without the ledger holding anything that could be matched
//! against a list of addresses by whoever reads it.

use std::{collections::HashMap, sync::RwLock};

use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64::{engine::general_purpose::STANDARD, Engine};
use blake2::{digest::Mac, Blake2bMac512};
use chacha20poly1305::{aead::Aead, aead::Payload, KeyInit, XChaCha20Poly1305, XNonce};
use sqlx::{AnyConnection, Row};
use tally_events::{Event, Sealed};
use tally_projections::{sealed_for_views, Keys};
use uuid::Uuid;

use crate::store::{hex, timestamp, Db, StoreError};

type Key = [u8; 32];

/// Why a value could not be sealed.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The customer was erased: nothing is kept of them any more.
    #[error("the customer was erased")]
    Erased,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Keys seen before (never those of erased customers: opening always reads the key, so an erasure on any instance
/// holds at once).
#[derive(Default)]
pub struct Vault {
    sealing: RwLock<HashMap<(String, Uuid), Key>>,
    lookup: RwLock<HashMap<String, Key>>,
}

fn fresh_key() -> Key {
    let mut key = [0u8; 32];
    OsRng.fill_bytes(&mut key);
    key
}

fn key_of(text: &str) -> Result<Key, sqlx::Error> {
    let bytes = STANDARD.decode(text).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    bytes.try_into().map_err(|_| sqlx::Error::Decode("a vault key is not 32 bytes".into()))
}

/// The key of `subject`, unless they were erased (or never had one).
async fn live_key(conn: &mut AnyConnection, tenant: &str, subject: Uuid) -> Result<Option<Key>, sqlx::Error> {
    let row = sqlx::query("SELECT key FROM subject_keys WHERE tenant = $1 AND subject_id = $2")
        .bind(tenant)
        .bind(subject.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    match row.map(|row| row.try_get::<Option<String>, _>(0)).transpose()?.flatten() {
        Some(text) => Ok(Some(key_of(&text)?)),
        None => Ok(None),
    }
}

fn associated(tenant: &str, subject: Uuid) -> String {
    format!("{tenant}/{subject}")
}

impl Vault {
    /// Seals `value` with the key of `subject` (made on first use).
    pub async fn seal(
        &self,
        db: &Db,
        tenant: &str,
        subject: Uuid,
        value: &serde_json::Value,
    ) -> Result<Sealed, VaultError> {
        let plaintext = serde_json::to_vec(value).expect("values serialize");
        let sealed = self.seal_bytes(db, tenant, subject, &plaintext).await?;
        Ok(Sealed { subject, sealed: STANDARD.encode(sealed) })
    }

    /// Seals bytes (a document) with the key of `subject`: the nonce, then the ciphertext.
    pub async fn seal_bytes(
        &self,
        db: &Db,
        tenant: &str,
        subject: Uuid,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, VaultError> {
        let key = self.sealing_key(db, tenant, subject).await?;
        let mut nonce = [0u8; 24];
        OsRng.fill_bytes(&mut nonce);
        let aad = associated(tenant, subject);
        let ciphertext = XChaCha20Poly1305::new(&key.into())
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext, aad: aad.as_bytes() })
            .expect("encryption of a bounded value does not fail");
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    /// Opens bytes sealed by [`Vault::seal_bytes`]; `None` once the customer was erased.
    pub async fn open_bytes(
        &self,
        db: &Db,
        tenant: &str,
        subject: Uuid,
        sealed: &[u8],
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let keys = self.keys(db, tenant, &[subject]).await?;
        Ok(keys.get(&subject).and_then(|key| decrypt(key, tenant, subject, sealed)))
    }

    async fn sealing_key(&self, db: &Db, tenant: &str, subject: Uuid) -> Result<Key, VaultError> {
        let id = (tenant.to_owned(), subject);
        if let Some(key) = self.sealing.read().expect("lock").get(&id) {
            return Ok(*key);
        }
        sqlx::query(
            "INSERT INTO subject_keys (tenant, subject_id, key, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant, subject_id) DO NOTHING",
        )
        .bind(tenant)
        .bind(subject.to_string())
        .bind(STANDARD.encode(fresh_key()))
        .bind(timestamp(chrono::Utc::now()))
        .execute(&db.write)
        .await
        .map_err(StoreError::from)?;
        let keys = self.keys(db, tenant, &[subject]).await?;
        let key = keys.get(&subject).copied().ok_or(VaultError::Erased)?;
        self.sealing.write().expect("lock").insert(id, key);
        Ok(key)
    }

    /// The live keys of `subjects` (erased ones are missing), read from the database through the read pool: on
    /// SQLite the write pool is the command writer's one connection, which answers must not queue behind.
    async fn keys(&self, db: &Db, tenant: &str, subjects: &[Uuid]) -> Result<HashMap<Uuid, Key>, StoreError> {
        let mut conn = db.read.acquire().await?;
        let mut keys = HashMap::new();
        for subject in subjects {
            if let Some(key) = live_key(&mut conn, tenant, *subject).await? {
                keys.insert(*subject, key);
            }
        }
        Ok(keys)
    }

    /// Destroys the key of `subject` for good, leaving a tombstone so that nothing is sealed for them again.
    pub async fn erase(&self, db: &Db, tenant: &str, subject: Uuid) -> Result<(), StoreError> {
        let now = timestamp(chrono::Utc::now());
        sqlx::query(
            "INSERT INTO subject_keys (tenant, subject_id, key, created_at, erased_at) VALUES ($1, $2, NULL, $3, $3) \
             ON CONFLICT (tenant, subject_id) DO UPDATE SET key = NULL, \
             erased_at = COALESCE(subject_keys.erased_at, excluded.erased_at)",
        )
        .bind(tenant)
        .bind(subject.to_string())
        .bind(now)
        .execute(&db.write)
        .await?;
        self.sealing.write().expect("lock").remove(&(tenant.to_owned(), subject));
        Ok(())
    }

    /// Opens sealed values, each to its JSON value, or to `None` when its customer was erased (or it does not open).
    pub async fn open_all(
        &self,
        db: &Db,
        tenant: &str,
        sealed: &[&Sealed],
    ) -> Result<Vec<Option<serde_json::Value>>, StoreError> {
        let mut subjects: Vec<Uuid> = sealed.iter().map(|s| s.subject).collect();
        subjects.sort();
        subjects.dedup();
        let keys = self.keys(db, tenant, &subjects).await?;
        Ok(sealed.iter().map(|value| open(&keys, tenant, value)).collect())
    }

    /// The keyed digest an identity is recorded by: the merchant's lookup key over the parts.
    pub async fn identity(&self, db: &Db, tenant: &str, parts: &[&str]) -> Result<String, StoreError> {
        let key = self.lookup_key(db, tenant).await?;
        let mut mac = <Blake2bMac512 as Mac>::new_from_slice(&key).expect("32 bytes is a valid key length");
        for part in parts {
            mac.update(part.as_bytes());
            mac.update(&[0]);
        }
        Ok(hex(&mac.finalize().into_bytes()[..32]))
    }

    async fn lookup_key(&self, db: &Db, tenant: &str) -> Result<Key, StoreError> {
        if let Some(key) = self.lookup.read().expect("lock").get(tenant) {
            return Ok(*key);
        }
        sqlx::query(
            "INSERT INTO lookup_keys (tenant, key, created_at) VALUES ($1, $2, $3) ON CONFLICT (tenant) DO NOTHING",
        )
        .bind(tenant)
        .bind(STANDARD.encode(fresh_key()))
        .bind(timestamp(chrono::Utc::now()))
        .execute(&db.write)
        .await?;
        let text: String = sqlx::query("SELECT key FROM lookup_keys WHERE tenant = $1")
            .bind(tenant)
            .fetch_one(&db.read)
            .await?
            .try_get(0)?;
        let key = key_of(&text)?;
        self.lookup.write().expect("lock").insert(tenant.to_owned(), key);
        Ok(key)
    }
}

/// The keys a fold of events needs to open what the views keep searchable (see [`Keys`]): read for the events about
/// to be folded, or all of them for a replay of the whole ledger. Keys by tenant, then subject.
#[derive(Default)]
pub struct KeyRing(HashMap<String, HashMap<Uuid, Key>>);

impl KeyRing {
    /// What of `events` (each with its tenant) the views open while folding them: [`KeyRing::for_sealed`] reads
    /// the keys. Empty, and nothing allocated, when they carry nothing of the kind.
    pub fn sealed_in<'a>(events: impl Iterator<Item = (&'a str, &'a Event)>) -> Vec<(&'a str, &'a Sealed)> {
        events.filter_map(|(tenant, event)| Some((tenant, sealed_for_views(event)?))).collect()
    }

    /// The live keys of the subjects of `sealed` (no query when there are none), read on `conn` (a writer reads
    /// them in its own transaction).
    pub async fn for_sealed(conn: &mut AnyConnection, sealed: &[(&str, &Sealed)]) -> Result<KeyRing, sqlx::Error> {
        let mut ring = KeyRing::default();
        for (tenant, sealed) in sealed.iter().copied() {
            let subjects = ring.0.entry(tenant.to_owned()).or_default();
            if subjects.contains_key(&sealed.subject) {
                continue;
            }
            if let Some(key) = live_key(conn, tenant, sealed.subject).await? {
                subjects.insert(sealed.subject, key);
            }
        }
        Ok(ring)
    }

    /// Every live key, for a replay of the whole ledger.
    pub async fn all(conn: &mut AnyConnection) -> Result<KeyRing, sqlx::Error> {
        let rows = sqlx::query("SELECT tenant, subject_id, key FROM subject_keys WHERE key IS NOT NULL")
            .fetch_all(&mut *conn)
            .await?;
        let mut ring = KeyRing::default();
        for row in rows {
            let subject: &str = row.try_get(1)?;
            let subject = subject.parse().map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
            ring.0.entry(row.try_get(0)?).or_default().insert(subject, key_of(row.try_get(2)?)?);
        }
        Ok(ring)
    }
}

impl Keys for KeyRing {
    fn open(&self, tenant: &str, sealed: &Sealed) -> Option<serde_json::Value> {
        open_with(self.0.get(tenant)?.get(&sealed.subject)?, tenant, sealed)
    }
}

fn open(keys: &HashMap<Uuid, Key>, tenant: &str, sealed: &Sealed) -> Option<serde_json::Value> {
    open_with(keys.get(&sealed.subject)?, tenant, sealed)
}

fn open_with(key: &Key, tenant: &str, sealed: &Sealed) -> Option<serde_json::Value> {
    let bytes = STANDARD.decode(&sealed.sealed).ok()?;
    serde_json::from_slice(&decrypt(key, tenant, sealed.subject, &bytes)?).ok()
}

/// The plaintext of a nonce and ciphertext, if the key opens it as the subject's.
fn decrypt(key: &Key, tenant: &str, subject: Uuid, sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < 24 {
        return None;
    }
    let (nonce, ciphertext) = sealed.split_at(24);
    let aad = associated(tenant, subject);
    XChaCha20Poly1305::new(&(*key).into())
        .decrypt(XNonce::from_slice(nonce), Payload { msg: ciphertext, aad: aad.as_bytes() })
        .ok()
}
