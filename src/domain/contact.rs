//! The contact (customer): registration and updates of personal data. Uniqueness of mobile numbers and codes across
//! contacts is held by the contact lookup projection's unique constraints, in the same transaction as the append.

use tally_events::{ContactDetails, ContactRegistered, ContactUpdated, Event};
use uuid::Uuid;

use super::{Aggregate, Context, DomainError};

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

impl Aggregate for ContactAggregate {
    type State = Option<Contact>;
    type Command = ContactCommand;

    fn decide(state: &Option<Contact>, command: ContactCommand, _: &Context) -> Result<Vec<Event>, DomainError> {
        match (state, command) {
            (None, ContactCommand::Register { contact_id, code, details }) => {
                Ok(vec![Event::ContactRegistered(ContactRegistered { contact_id, code, details })])
            }
            (Some(_), ContactCommand::Register { .. }) => Err(DomainError::ContactAlreadyRegistered),
            (None, ContactCommand::Update { .. }) => Err(DomainError::ContactNotFound),
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
        given::<ContactAggregate>(&[registered()]).when(register).then_err(DomainError::ContactAlreadyRegistered);
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
            .then_err(DomainError::ContactNotFound);
    }
}
