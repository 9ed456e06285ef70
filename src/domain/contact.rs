//! The contact (customer): registration and updates of personal data. Uniqueness of mobile numbers and codes across
//! contacts is held by the contact lookup projection's unique constraints, in the same transaction as the append.
//! The personal data arrives sealed with the contact's key (see [`crate::contacts`]): the decider records it without
//! reading it, and whoever builds the command leaves out what does not change.

use tally_events::{ContactRegistered, ContactUpdated, Event, PersonalDetails, Sealed};
use uuid::Uuid;

use super::{Aggregate, Context};

#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    pub contact_id: Uuid,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ContactCommand {
    Register {
        contact_id: Uuid,
        code: String,
        details: Sealed,
    },
    /// The details that change, sealed; none when nothing changes (then nothing is recorded).
    Update {
        changes: Option<Sealed>,
    },
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
                let details = PersonalDetails::Sealed(details);
                Ok(vec![Event::ContactRegistered(ContactRegistered { contact_id, code, details })])
            }
            (Some(_), ContactCommand::Register { .. }) => Err(ContactError::AlreadyRegistered),
            (None, ContactCommand::Update { .. }) => Err(ContactError::NotFound),
            (Some(_), ContactCommand::Update { changes: None }) => Ok(vec![]),
            (Some(contact), ContactCommand::Update { changes: Some(changes) }) => {
                let changes = PersonalDetails::Sealed(changes);
                Ok(vec![Event::ContactUpdated(ContactUpdated { contact_id: contact.contact_id, changes })])
            }
        }
    }

    fn evolve(state: Option<Contact>, event: &Event) -> Option<Contact> {
        match (state, event) {
            (None, Event::ContactRegistered(e)) => Some(Contact { contact_id: e.contact_id }),
            (state, _) => state,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::given::{given, Then};

    fn sealed(text: &str) -> Sealed {
        Sealed { subject: Uuid::from_u128(1), sealed: text.into() }
    }

    fn registered() -> Event {
        let details = PersonalDetails::Sealed(sealed("anna"));
        Event::ContactRegistered(ContactRegistered { contact_id: Uuid::from_u128(1), code: "C-1".into(), details })
    }

    #[test]
    fn registers_once() {
        let register =
            ContactCommand::Register { contact_id: Uuid::from_u128(1), code: "C-1".into(), details: sealed("anna") };
        given::<ContactAggregate>(&[]).when(register.clone()).then(&[registered()]);
        given::<ContactAggregate>(&[registered()]).when(register).then_err(ContactError::AlreadyRegistered);
    }

    #[test]
    fn updates_record_changes_and_nothing_when_nothing_changes() {
        let changes = PersonalDetails::Sealed(sealed("email"));
        given::<ContactAggregate>(&[registered()])
            .when(ContactCommand::Update { changes: Some(sealed("email")) })
            .then(&[Event::ContactUpdated(ContactUpdated { contact_id: Uuid::from_u128(1), changes })]);
        given::<ContactAggregate>(&[registered()]).when(ContactCommand::Update { changes: None }).then(&[]);
        given::<ContactAggregate>(&[]).when(ContactCommand::Update { changes: None }).then_err(ContactError::NotFound);
    }
}
