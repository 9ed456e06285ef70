//! The pure domain: one decider per aggregate (`decide` says what happens, `evolve` applies it). Nothing here does
//! IO, reads the clock or draws random numbers: [`Context`] carries `now` and the actor, and every command carries
//! what its handler looked up beforehand (a contact's other card, whether its data is sufficient, fresh ids).

pub mod account;
pub mod card;
pub mod contact;
#[cfg(test)]
mod given;
pub mod ids;
pub mod promotion;
pub mod roles;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use tally_events::{Actor, BonusType, CardStatus, Event};

/// What a decision may know about the world besides the stream's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Context {
    pub now: DateTime<Utc>,
    pub actor: Actor,
}

/// A command's refusal, in precedence order: when several rules fail, the first listed wins.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DomainError {
    /// A card with this number is already registered.
    #[error("card {0} is already registered")]
    CardAlreadyRegistered(String),
    /// No card with this number.
    #[error("no card with this number")]
    CardNotFound,
    /// A contact with this id already exists.
    #[error("the contact already exists")]
    ContactAlreadyRegistered,
    /// No such contact.
    #[error("no such contact")]
    ContactNotFound,
    /// Another contact already has this mobile number.
    #[error("another contact already has this mobile number")]
    MobileNumberTaken,
    /// Another contact already has this contact code.
    #[error("another contact already has this contact code")]
    ContactCodeTaken,
    /// The actor's role may not block with this reason.
    #[error("role {role} may not block a card for reason {reason}")]
    BlockReasonNotAllowed { role: &'static str, reason: u8 },
    /// The actor's role may not unblock with this reason, or the reason does not undo the block.
    #[error("{0}")]
    UnblockReasonNotAllowed(String),
    /// The card's status does not allow the action.
    #[error("card status mismatch: {detail}")]
    CardStatusMismatch { status: CardStatus, detail: &'static str },
    /// The card is bound to another contact.
    #[error("the card is bound to another contact")]
    CardBoundToAnotherContact,
    /// The contact already holds another card that is not blocked for good.
    #[error(
        "the contact is bound to card {0}; a new card can be bound only after that one is blocked for replacement"
    )]
    ContactHasAnotherCard(String),
    /// Amounts must be positive, with at most the supported scale.
    #[error("{0}")]
    InvalidAmount(String),
    /// Activation and expiry dates that cannot both hold.
    #[error("{0}")]
    InvalidDates(String),
    /// The account is frozen.
    #[error("the account's bonuses are frozen")]
    AccountFrozen,
    /// The account is not frozen.
    #[error("the account's bonuses are not frozen")]
    AccountNotFrozen,
    /// A redemption larger than the active balance.
    #[error("requested {requested} but only {available} {bonus_type:?} bonuses are active")]
    InsufficientBonuses { requested: Decimal, available: Decimal, bonus_type: BonusType },
    /// The event to reverse is not an accrual or redemption of this account.
    #[error("event {0} is not an accrual or redemption of this account")]
    NothingToReverse(String),
    /// The movement was already reversed.
    #[error("that movement was already reversed")]
    AlreadyReversed,
    /// A business id is registered already (to this or another merchant).
    #[error("this business id is registered already")]
    BusinessAlreadyRegistered,
    /// A promotion with this id exists for the business.
    #[error("this promotion is published already")]
    PromotionAlreadyPublished,
    /// No such promotion.
    #[error("no such promotion")]
    PromotionNotFound,
    /// Terms a promotion cannot have.
    #[error("{0}")]
    InvalidPromotion(String),
    /// The promotion's end date has passed.
    #[error("the promotion has ended")]
    PromotionEnded,
    /// No counted use with this identity.
    #[error("no counted use with this id")]
    UseNotFound,
    /// Part of the accrual was spent or burnt; reverse the redemption first.
    #[error("the accrual was partly spent or burnt ({remaining} of {original} left); reverse the redemptions first")]
    AccrualPartlySpent { original: Decimal, remaining: Decimal },
}

impl DomainError {
    /// The stable name of the refusal, as the native API reports it.
    pub fn code(&self) -> &'static str {
        match self {
            DomainError::CardAlreadyRegistered(_) => "CardAlreadyRegistered",
            DomainError::CardNotFound => "CardNotFound",
            DomainError::ContactAlreadyRegistered => "ContactAlreadyRegistered",
            DomainError::ContactNotFound => "ContactNotFound",
            DomainError::MobileNumberTaken => "MobileNumberTaken",
            DomainError::ContactCodeTaken => "ContactCodeTaken",
            DomainError::BlockReasonNotAllowed { .. } => "BlockReasonNotAllowed",
            DomainError::UnblockReasonNotAllowed(_) => "UnblockReasonNotAllowed",
            DomainError::CardStatusMismatch { .. } => "CardStatusMismatch",
            DomainError::CardBoundToAnotherContact => "CardBoundToAnotherContact",
            DomainError::ContactHasAnotherCard(_) => "ContactHasAnotherCard",
            DomainError::InvalidAmount(_) => "InvalidAmount",
            DomainError::InvalidDates(_) => "InvalidDates",
            DomainError::AccountFrozen => "AccountFrozen",
            DomainError::AccountNotFrozen => "AccountNotFrozen",
            DomainError::InsufficientBonuses { .. } => "InsufficientBonuses",
            DomainError::NothingToReverse(_) => "NothingToReverse",
            DomainError::AlreadyReversed => "AlreadyReversed",
            DomainError::AccrualPartlySpent { .. } => "AccrualPartlySpent",
            DomainError::BusinessAlreadyRegistered => "BusinessAlreadyRegistered",
            DomainError::PromotionAlreadyPublished => "PromotionAlreadyPublished",
            DomainError::PromotionNotFound => "PromotionNotFound",
            DomainError::InvalidPromotion(_) => "InvalidPromotion",
            DomainError::PromotionEnded => "PromotionEnded",
            DomainError::UseNotFound => "UseNotFound",
        }
    }
}

/// An aggregate: its state is a fold of its stream's events; commands are decided against that state.
pub trait Aggregate {
    type State: Default + Clone + Send + Sync + 'static;
    type Command;
    /// What the command makes happen, or why not.
    fn decide(state: &Self::State, command: Self::Command, context: &Context) -> Result<Vec<Event>, DomainError>;
    /// The state after one more event of this stream; events of other aggregates leave it unchanged.
    fn evolve(state: Self::State, event: &Event) -> Self::State;
}
