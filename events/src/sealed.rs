//! Personal data in events is sealed: encrypted with a key of the person's own (the data subject, a customer),
//! held outside the ledger. Erasing the person destroys the key, and every sealed value of theirs, in the ledger,
//! on Kafka and in any copy, becomes unreadable for good (crypto-shredding). What is not personal — statuses,
//! amounts, catalogue ids, consents, dates — stays in the clear, so counts, balances and tallies never need a key.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A sealed value: the data subject whose key opens it, and the ciphertext.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Sealed {
    /// The customer whose key seals the value.
    pub subject: Uuid,
    /// Base64 of a 24-byte nonce and the XChaCha20-Poly1305 ciphertext of the value's JSON text, authenticated with
    /// the tenant and subject (so it opens only as what it is).
    pub sealed: String,
}
