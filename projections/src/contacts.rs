//! The contact view: personal data and the identifiers a customer is found by (code, mobile number). The events
//! carry the personal data sealed; this view keeps it opened, so that a till can search by name and postcode, and
//! forgets it when the customer is erased (a replay after the erasure has no key to open it with).

use serde::{Deserialize, Serialize};
use tally_events::{stream, ContactDetails, Event, PersonalDetails, Sealed};
use uuid::Uuid;

use crate::{Source, View};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactView {
    pub tenant: String,
    pub contact_id: Uuid,
    pub code: String,
    pub details: ContactDetails,
}

impl ContactView {
    /// The names of the fields this contact has filled in.
    pub fn filled_fields(&self) -> Vec<&'static str> {
        let d = &self.details;
        [
            ("name", d.name.is_some()),
            ("mobile_number", d.mobile_number.is_some()),
            ("email", d.email.is_some()),
            ("birth_date", d.birth_date.is_some()),
            ("external_id", d.external_id.is_some()),
            ("address", d.address.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, filled)| filled.then_some(name))
        .collect()
    }
}

impl ContactView {
    /// The keys a name search runs on (see [`name_keys`]).
    pub fn name_keys(&self) -> (String, String) {
        name_keys(self.details.name.as_deref().unwrap_or_default())
    }

    /// The key a postcode search runs on (see [`postcode_key`]); none without a postcode.
    pub fn postcode_key(&self) -> Option<String> {
        let postcode = self.details.address.as_ref()?.postcode.as_deref()?;
        Some(postcode_key(postcode)).filter(|key| !key.is_empty())
    }
}

/// A postcode as a search compares it: its (ASCII) letters and digits only, in capitals — `sw1a 2aa`, `SW1A2AA` and
/// `SW1A 2AA` are one postcode, and `SW1A` is the start of it.
pub fn postcode_key(text: &str) -> String {
    text.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect()
}

/// A name as a search compares it: lowercased, its words separated by one space.
pub fn search_form(text: &str) -> String {
    // Character by character, so that a word's form does not depend on its length (`str::to_lowercase` turns a
    // final capital sigma into ς, and a typed prefix would then miss the stored word's σ).
    let lower = |word: &str| word.chars().flat_map(char::to_lowercase).collect::<String>();
    text.split_whitespace().map(lower).collect::<Vec<_>>().join(" ")
}

/// The keys a name search runs on: the name in [`search_form`] with its words in order ("anna petrova"), and with
/// its last word (the surname) first ("petrova anna"). A search term matches a contact when either key starts with
/// it; both are empty without a name.
pub fn name_keys(name: &str) -> (String, String) {
    let name = search_form(name);
    let surname_first = match name.rsplit_once(' ') {
        Some((given, surname)) => format!("{surname} {given}"),
        None => name.clone(),
    };
    (name, surname_first)
}

/// The sealed personal data of a contact event.
pub(crate) fn sealed(event: &Event) -> Option<&Sealed> {
    match event {
        Event::ContactRegistered(e) => sealed_part(&e.details),
        Event::ContactUpdated(e) => sealed_part(&e.changes),
        _ => None,
    }
}

fn sealed_part(personal: &PersonalDetails) -> Option<&Sealed> {
    match personal {
        PersonalDetails::Sealed(sealed) => Some(sealed),
        PersonalDetails::Clear(_) => None,
    }
}

/// The details carried, opened; none when the key is gone (the customer was erased).
fn opened(source: &Source<'_>, personal: &PersonalDetails) -> ContactDetails {
    match personal {
        PersonalDetails::Clear(details) => details.as_ref().clone(),
        PersonalDetails::Sealed(sealed) => source
            .keys
            .open(source.tenant, sealed)
            .and_then(|value| serde_json::from_value(value).ok())
            .unwrap_or_default(),
    }
}

impl View for ContactView {
    fn key(source: &Source<'_>, event: &Event) -> Option<Vec<String>> {
        let contact_id = match event {
            Event::ContactRegistered(e) => e.contact_id.to_string(),
            Event::ContactUpdated(e) => e.contact_id.to_string(),
            // A contact is a customer: erasing the customer with the contact's id erases the contact.
            Event::CustomerErased(_) => stream::entity_id(source.stream_id, "customer")?.to_owned(),
            _ => return None,
        };
        Some(vec![source.tenant.to_owned(), contact_id])
    }

    fn apply(row: Option<Self>, source: &Source<'_>, event: &Event) -> Option<Self> {
        match (row, event) {
            (None, Event::ContactRegistered(e)) => Some(ContactView {
                tenant: source.tenant.to_owned(),
                contact_id: e.contact_id,
                code: e.code.clone(),
                details: opened(source, &e.details),
            }),
            (Some(contact), Event::ContactUpdated(e)) => {
                Some(ContactView { details: contact.details.overlay(&opened(source, &e.changes)), ..contact })
            }
            (Some(contact), Event::CustomerErased(_)) => {
                Some(ContactView { details: ContactDetails::default(), ..contact })
            }
            (row, _) => row,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_found_by_its_first_words_or_by_its_surname() {
        assert_eq!(name_keys("  Anna   Maria PETROVA "), ("anna maria petrova".into(), "petrova anna maria".into()));
        assert_eq!(name_keys("Пётр"), ("пётр".into(), "пётр".into()));
        // A typed prefix lowercases as the stored word does.
        assert!(name_keys("Κωσταντίνος").0.starts_with(&search_form("ΚΩΣ")));
        assert_eq!(name_keys(""), (String::new(), String::new()));
    }

    #[test]
    fn a_postcode_is_compared_without_spaces_or_case() {
        assert_eq!(postcode_key(" sw1a 2aa "), "SW1A2AA");
        assert_eq!(postcode_key("SW1A-2AA"), postcode_key("SW1A2AA"));
        assert_eq!(postcode_key(" - "), "");
        assert_eq!(postcode_key("×ø"), "");
    }
}
