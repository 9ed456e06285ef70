//! Customer events (stream `customer/{tenant}/{customer_id}`, family `customers`): what Footprints' customer calls
//! record about a person beyond their leads, and their erasure. A customer's personal data is sealed with their key
//! (see [`crate::Sealed`]); erasing them destroys the key, and the erasure itself is this stream's last event.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Sealed;

/// The customer can be found by this identity from now on: a keyed digest of an e-mail address with a phone number,
/// or of a national id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CustomerIdentified {
    pub identity: String,
}

/// Some of the customer's personal data changed: the fields given, sealed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CustomerProfileUpdated {
    pub personal: Sealed,
}

/// The customer was erased: their key is destroyed, so nothing sealed for them can be read again; their leads stay,
/// counted, without a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CustomerErased {}
