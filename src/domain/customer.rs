//! The customer of Footprints: the person their leads belong to, found by identities (keyed digests), with a
//! profile of their own, until they are erased. After the erasure nothing more is recorded of them; erasing again
//! is a retry and records nothing.

use std::collections::BTreeSet;

use tally_events::{CustomerErased, CustomerIdentified, CustomerProfileUpdated, Event, Sealed};

use super::{Aggregate, Context};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Customer {
    pub identities: BTreeSet<String>,
    pub erased: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CustomerCommand {
    /// Record the identities the customer is found by (the new ones) and the changes to their profile.
    Update {
        identities: Vec<String>,
        personal: Option<Sealed>,
    },
    Erase,
}

pub struct CustomerAggregate;

/// Why a customer command is refused.
#[derive(Debug, Clone, PartialEq)]
pub enum CustomerError {
    /// The customer was erased: nothing is recorded of them any more.
    Erased,
}

impl CustomerError {
    pub fn code(&self) -> &'static str {
        match self {
            CustomerError::Erased => "CustomerErased",
        }
    }
}

impl Aggregate for CustomerAggregate {
    type State = Customer;
    type Command = CustomerCommand;
    type Error = CustomerError;

    fn decide(customer: &Customer, command: CustomerCommand, _: &Context) -> Result<Vec<Event>, CustomerError> {
        match command {
            CustomerCommand::Erase if customer.erased => Ok(vec![]),
            CustomerCommand::Erase => Ok(vec![Event::CustomerErased(CustomerErased {})]),
            CustomerCommand::Update { .. } if customer.erased => Err(CustomerError::Erased),
            CustomerCommand::Update { identities, personal } => {
                let new: BTreeSet<String> =
                    identities.into_iter().filter(|identity| !customer.identities.contains(identity)).collect();
                let mut events: Vec<Event> = new
                    .into_iter()
                    .map(|identity| Event::CustomerIdentified(CustomerIdentified { identity }))
                    .collect();
                events.extend(
                    personal.map(|personal| Event::CustomerProfileUpdated(CustomerProfileUpdated { personal })),
                );
                Ok(events)
            }
        }
    }

    fn evolve(mut customer: Customer, event: &Event) -> Customer {
        match event {
            Event::CustomerIdentified(e) => {
                customer.identities.insert(e.identity.clone());
            }
            Event::CustomerErased(_) => customer.erased = true,
            _ => {}
        }
        customer
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::domain::given::{given, Then};

    fn identified(identity: &str) -> Event {
        Event::CustomerIdentified(CustomerIdentified { identity: identity.into() })
    }

    fn sealed() -> Sealed {
        Sealed { subject: Uuid::from_u128(1), sealed: "AAAA".into() }
    }

    #[test]
    fn an_update_records_new_identities_and_the_profile() {
        let update = CustomerCommand::Update { identities: vec!["a".into(), "b".into()], personal: Some(sealed()) };
        given::<CustomerAggregate>(&[identified("a")])
            .when(update)
            .then(&[identified("b"), Event::CustomerProfileUpdated(CustomerProfileUpdated { personal: sealed() })]);
        let nothing = CustomerCommand::Update { identities: vec!["a".into()], personal: None };
        given::<CustomerAggregate>(&[identified("a")]).when(nothing).then(&[]);
    }

    #[test]
    fn an_erased_customer_is_erased_once_and_changes_no_more() {
        let erased = Event::CustomerErased(CustomerErased {});
        given::<CustomerAggregate>(&[identified("a")]).when(CustomerCommand::Erase).then(std::slice::from_ref(&erased));
        given::<CustomerAggregate>(&[identified("a"), erased.clone()]).when(CustomerCommand::Erase).then(&[]);
        let update = CustomerCommand::Update { identities: vec!["b".into()], personal: None };
        given::<CustomerAggregate>(&[erased]).when(update).then_err(CustomerError::Erased);
    }
}
