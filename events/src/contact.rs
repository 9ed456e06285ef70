//! Contact (customer) events. A contact is reached by mobile number, contact code, e-mail or external id; all are
//! one customer in the ledger. Since version 3 the contact's personal data is [`Sealed`] with the contact's key (the
//! contact id is the data subject), so that erasing the customer shreds it.

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Sealed;

/// A contact's personal data. Every field is optional; a merchant decides which ones are "sufficient" to activate
/// a card.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContactDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Normalized E.164 form: `+` and 10..=15 digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The postal address (since version 2). An update that gives one replaces the whole address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
}

/// A postal address, as a till's customer search and enquiry show it. Every part is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Address {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub town: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub county: Option<String>,
    /// As written, e.g. `SW1A 1AA`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postcode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

impl ContactDetails {
    /// These details with every field present in `changes` overlaid: how a `ContactUpdated` applies.
    pub fn overlay(&self, changes: &ContactDetails) -> ContactDetails {
        ContactDetails {
            name: changes.name.clone().or_else(|| self.name.clone()),
            mobile_number: changes.mobile_number.clone().or_else(|| self.mobile_number.clone()),
            email: changes.email.clone().or_else(|| self.email.clone()),
            birth_date: changes.birth_date.or(self.birth_date),
            external_id: changes.external_id.clone().or_else(|| self.external_id.clone()),
            address: changes.address.clone().or_else(|| self.address.clone()),
        }
    }

    /// The fields of these changes that differ from `current`: what an update really changes (nothing, when it is
    /// all the default).
    pub fn changed_from(&self, current: &ContactDetails) -> ContactDetails {
        fn differs<T: Clone + PartialEq>(new: &Option<T>, old: &Option<T>) -> Option<T> {
            new.as_ref().filter(|value| old.as_ref() != Some(*value)).cloned()
        }
        ContactDetails {
            name: differs(&self.name, &current.name),
            mobile_number: differs(&self.mobile_number, &current.mobile_number),
            email: differs(&self.email, &current.email),
            birth_date: differs(&self.birth_date, &current.birth_date),
            external_id: differs(&self.external_id, &current.external_id),
            address: differs(&self.address, &current.address),
        }
    }
}

/// A contact's personal data as an event carries it: sealed (what Tally writes since version 3), or in the clear as
/// versions 1 and 2 wrote it. Tally seals the clear ones in its own ledger when it starts; a Kafka topic keeps the
/// clear copies it was sent before until its retention drops them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum PersonalDetails {
    Sealed(Sealed),
    Clear(Box<ContactDetails>),
}

/// A contact was registered with a unique contact code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ContactRegistered {
    pub contact_id: Uuid,
    pub code: String,
    /// The [`ContactDetails`] given.
    pub details: PersonalDetails,
}

/// Some of a contact's details changed; fields absent here are unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ContactUpdated {
    pub contact_id: Uuid,
    /// The [`ContactDetails`] that changed.
    pub changes: PersonalDetails,
}
