//! The pure domain: one decider per aggregate (`decide` says what happens, `evolve` applies it). Nothing here does
//! IO, reads the clock or draws random numbers: [`Context`] carries `now` and the actor, and every command carries
//! what its handler looked up beforehand (a contact's other card, whether its data is sufficient, fresh ids).
//!
//! Refusals are typed per aggregate ([`card::CardError`], [`account::AccountError`], …) and carry structured
//! reasons, never sentences: each dialect words its own messages.

pub mod account;
pub mod card;
pub mod catalogue;
pub mod contact;
pub mod customer;
#[cfg(test)]
mod given;
pub mod ids;
pub mod lead;
pub mod loyalty;
pub mod machine;
pub mod money;
pub mod notification;
pub mod promotion;
pub mod roles;
pub mod till;
pub mod vend;

use std::{convert::Infallible, fmt::Debug};

use chrono::{DateTime, Utc};
use tally_events::{Actor, Event};

use account::AccountError;
use card::CardError;
use catalogue::CatalogueError;
use contact::ContactError;
use customer::CustomerError;
use lead::LeadError;
use loyalty::LoyaltyError;
use money::MoneyError;
use promotion::{BusinessError, PromotionError};
use vend::VendError;

/// What a decision may know about the world besides the stream's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Context {
    pub now: DateTime<Utc>,
    pub actor: Actor,
}

/// A command's refusal by the aggregate that refused it.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    Card(CardError),
    Contact(ContactError),
    Account(AccountError),
    Money(MoneyError),
    Promotion(PromotionError),
    Business(BusinessError),
    Vend(VendError),
    Lead(LeadError),
    Customer(CustomerError),
    Loyalty(LoyaltyError),
    Catalogue(CatalogueError),
}

macro_rules! refusal_from {
    ($($error:ty => $variant:ident),* $(,)?) => {
        $(impl From<$error> for Refusal {
            fn from(error: $error) -> Refusal {
                Refusal::$variant(error)
            }
        })*
    };
}
refusal_from!(CardError => Card, ContactError => Contact, AccountError => Account, MoneyError => Money,
    PromotionError => Promotion, BusinessError => Business, VendError => Vend, LeadError => Lead,
    CustomerError => Customer, LoyaltyError => Loyalty, CatalogueError => Catalogue);

/// For aggregates that never refuse.
impl From<Infallible> for Refusal {
    fn from(never: Infallible) -> Refusal {
        match never {}
    }
}

impl Refusal {
    /// The stable name of the refusal, as the native API and ScanTrack report it.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Card(error) => error.code(),
            Refusal::Contact(error) => error.code(),
            Refusal::Account(error) => error.code(),
            Refusal::Money(error) => error.code(),
            Refusal::Promotion(error) => error.code(),
            Refusal::Business(BusinessError::AlreadyRegistered) => "BusinessAlreadyRegistered",
            Refusal::Vend(error) => error.code(),
            Refusal::Lead(error) => error.code(),
            Refusal::Customer(error) => error.code(),
            Refusal::Loyalty(error) => error.code(),
            Refusal::Catalogue(error) => error.code(),
        }
    }
}

/// An aggregate: its state is a fold of its stream's events; commands are decided against that state.
pub trait Aggregate: 'static {
    type State: Default + Clone + Send + Sync + 'static;
    type Command: Clone + Debug + Send + Sync + 'static;
    /// Why a command is refused, in precedence order: when several rules fail, the first listed wins.
    type Error: Clone + Debug + PartialEq + Into<Refusal>;
    /// What the command makes happen, or why not.
    fn decide(state: &Self::State, command: Self::Command, context: &Context) -> Result<Vec<Event>, Self::Error>;
    /// The state after one more event of this stream; events of other aggregates leave it unchanged.
    fn evolve(state: Self::State, event: &Event) -> Self::State;
}
