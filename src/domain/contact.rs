//! The contact (customer): registration and updates of personal data. Uniqueness of mobile numbers and codes across
//! contacts is held by the contact lookup projection's unique constraints, in the same transaction as the append.

use tally_events::{ContactDetails, ContactRegistered, ContactUpdated, Event};
use uuid::Uuid;

use super::{Aggregate, Context};

#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    pub contact_id: Uuid,
    pub code: String,
    pub details: ContactDetails,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ContactCommand {
    Register { contact_id: Uuid, code: String, details: ContactDetails },
    Update { changes: ContactDetails },
}

pub struct ContactAggregate;

/// Why a contact command is refused, in precedence order.
#[derive(Debug, Clone, PartialEq)]
pub enum ContactError {
    /// A contact with this id exists already.
    AlreadyRegistered,
    /// No such contact.
    NotFound,
    /// Another contact has this mobile number (found by the contact view's unique constraint).
    MobileNumberTaken,
    /// Another contact has this contact code (found by the contact view's unique constraint).
    CodeTaken,
}

impl ContactError {
    /// The stable name of the refusal.
    pub fn code(&self) -> &'static str {
        match self {
            ContactError::AlreadyRegistered => "ContactAlreadyRegistered",
            ContactError::NotFound => "ContactNotFound",
            ContactError::MobileNumberTaken => "MobileNumberTaken",
            ContactError::CodeTaken => "ContactCodeTaken",
        }
    }
}

impl Aggregate for ContactAggregate {
    type State = Option<Contact>;
    type Command = ContactCommand;
    type Error = ContactError;

    fn decide(state: &Option<Contact>, command: ContactCommand, _: &Context) -> Result<Vec<Event>, ContactError> {
        match (state, command) {
            (None, ContactCommand::Register { contact_id, code, details }) => {
                Ok(vec![Event::ContactRegistered(ContactRegistered { contact_id, code, details })])
            }
            (Some(_), ContactCommand::Register { .. }) => Err(ContactError::AlreadyRegistered),
            (None, ContactCommand::Update { .. }) => Err(ContactError::NotFound),
            (Some(contact), ContactCommand::Update { changes }) => {
                // Only what really changes is recorded; an update that changes nothing records nothing.
                let merged = contact.details.overlay(&changes);
                if merged == contact.details {
                    return Ok(vec![]);
                }
                Ok(vec![Event::ContactUpdated(ContactUpdated { contact_id: contact.contact_id, changes })])
            }
        }
    }

    fn evolve(state: Option<Contact>, event: &Event) -> Option<Contact> {
        match (state, event) {
            (None, Event::ContactRegistered(e)) => {
                Some(Contact { contact_id: e.contact_id, code: e.code.clone(), details: e.details.clone() })
            }
            (Some(contact), Event::ContactUpdated(e)) => {
                Some(Contact { details: contact.details.overlay(&e.changes), ..contact })
            }
            (state, _) => state,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::given::{given, Then};

    fn registered() -> Event {
        Event::ContactRegistered(ContactRegistered {
            contact_id: Uuid::from_u128(1),
            code: "C-1".into(),
            details: ContactDetails { name: Some("Anna".into()), ..Default::default() },
        })
    }

    #[test]
    fn registers_once() {
        let register = ContactCommand::Register {
            contact_id: Uuid::from_u128(1),
            code: "C-1".into(),
            details: ContactDetails { name: Some("Anna".into()), ..Default::default() },
        };
        given::<ContactAggregate>(&[]).when(register.clone()).then(&[registered()]);
        given::<ContactAggregate>(&[registered()]).when(register).then_err(ContactError::AlreadyRegistered);
    }

    #[test]
    fn updates_record_changes_and_nothing_when_nothing_changes() {
        let email = ContactDetails { email: Some("a@example.com".into()), ..Default::default() };
        given::<ContactAggregate>(&[registered()])
            .when(ContactCommand::Update { changes: email.clone() })
            .then(&[Event::ContactUpdated(ContactUpdated { contact_id: Uuid::from_u128(1), changes: email })]);
        let same = ContactDetails { name: Some("Anna".into()), ..Default::default() };
        given::<ContactAggregate>(&[registered()]).when(ContactCommand::Update { changes: same }).then(&[]);
        given::<ContactAggregate>(&[])
            .when(ContactCommand::Update { changes: ContactDetails::default() })
            .then_err(ContactError::NotFound);
    }
}
