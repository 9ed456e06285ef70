//! The loyalty card: registration, the lifecycle New -> Issued -> Active <-> Blocked, binding to a contact, and the
//! role rules of blocking and unblocking.

use tally_events::{
    BlockReason, CardActivated, CardBlocked, CardBoundToContact, CardCategory, CardIssued, CardRegistered, CardStatus,
    CardType, CardUnblocked, Event, Role, UnblockReason,
};
use uuid::Uuid;

use super::{roles, Aggregate, Context};

/// A registered card; `None` state means the number is unknown.
#[derive(Debug, Clone, PartialEq)]
pub struct Card {
    pub number: String,
    pub category: CardCategory,
    pub card_type: CardType,
    pub status: CardStatus,
    pub contact_id: Option<Uuid>,
    /// The current block's reason and the role that set it.
    pub block: Option<(BlockReason, Role)>,
}

impl Card {
    /// Blocked for replacement: the card will never be live again, so its contact may take a new one.
    pub fn blocked_for_good(&self) -> bool {
        matches!(self.block, Some((BlockReason::Replacement, _)))
    }
}

/// What can be asked of a card. Lookups are made by the handler and passed in.
#[derive(Debug, Clone, PartialEq)]
pub enum CardCommand {
    Register {
        number: String,
        category: CardCategory,
        card_type: CardType,
    },
    Issue,
    BindTo {
        contact_id: Uuid,
        /// The contact's current card other than this one, unless that card is blocked for good.
        contact_live_card: Option<String>,
    },
    Activate {
        /// Whether the bound contact has every field the merchant requires.
        contact_data_sufficient: bool,
    },
    Block {
        reason: BlockReason,
    },
    Unblock {
        reason: UnblockReason,
        contact_data_sufficient: bool,
    },
}

pub struct CardAggregate;

/// What was asked of a card whose status does not allow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardAction {
    Issue,
    BindTo,
    Activate,
    Block,
}

/// Why a card command is refused, in precedence order.
#[derive(Debug, Clone, PartialEq)]
pub enum CardError {
    /// A card with this number is registered already.
    AlreadyRegistered,
    /// No card with this number.
    NotFound,
    /// The actor's role may not block with this reason.
    BlockReasonNotAllowed { role: Role, reason: BlockReason },
    /// The actor's role may not unblock with this reason.
    UnblockReasonNotAllowed { role: Role, reason: UnblockReason },
    /// A block for replacement is permanent.
    BlockedForReplacement,
    /// A card blocked by an administrator is unblocked only by an administrator.
    BlockedByAdministrator,
    /// The unblock reason does not undo the block's reason.
    ReasonDoesNotUndoBlock { reason: UnblockReason, block_reason: BlockReason },
    /// The card's status does not allow the action.
    StatusMismatch { status: CardStatus, action: CardAction },
    /// The action needs a card bound to a contact.
    NotBound { action: CardAction },
    /// The bound contact lacks personal data the merchant requires for activation.
    ContactDataInsufficient,
    /// Only a blocked card can be unblocked.
    NotBlocked,
    /// The card is bound to another contact.
    BoundToAnotherContact,
    /// The contact already holds another card that is not blocked for good (its number, when known: a race found
    /// by the one-live-card constraint does not tell it).
    ContactHasAnotherCard { card: Option<String> },
}

impl CardError {
    /// The stable name of the refusal.
    pub fn code(&self) -> &'static str {
        match self {
            CardError::AlreadyRegistered => "CardAlreadyRegistered",
            CardError::NotFound => "CardNotFound",
            CardError::BlockReasonNotAllowed { .. } => "BlockReasonNotAllowed",
            CardError::UnblockReasonNotAllowed { .. }
            | CardError::BlockedForReplacement
            | CardError::BlockedByAdministrator
            | CardError::ReasonDoesNotUndoBlock { .. } => "UnblockReasonNotAllowed",
            CardError::StatusMismatch { .. }
            | CardError::NotBound { .. }
            | CardError::ContactDataInsufficient
            | CardError::NotBlocked => "CardStatusMismatch",
            CardError::BoundToAnotherContact => "CardBoundToAnotherContact",
            CardError::ContactHasAnotherCard { .. } => "ContactHasAnotherCard",
        }
    }
}

impl Aggregate for CardAggregate {
    type State = Option<Card>;
    type Command = CardCommand;
    type Error = CardError;

    fn decide(state: &Option<Card>, command: CardCommand, context: &Context) -> Result<Vec<Event>, CardError> {
        let card = match (state, command) {
            (None, CardCommand::Register { number, category, card_type }) => {
                return Ok(vec![Event::CardRegistered(CardRegistered { number, category, card_type })]);
            }
            (Some(_), CardCommand::Register { .. }) => return Err(CardError::AlreadyRegistered),
            (None, _) => return Err(CardError::NotFound),
            (Some(card), command) => (card, command),
        };
        match card {
            (card, CardCommand::Issue) => issue(card),
            (card, CardCommand::BindTo { contact_id, contact_live_card }) => bind(card, contact_id, contact_live_card),
            (card, CardCommand::Activate { contact_data_sufficient }) => activate(card, contact_data_sufficient),
            (card, CardCommand::Block { reason }) => block(card, reason, context.actor.role),
            (card, CardCommand::Unblock { reason, contact_data_sufficient }) => {
                unblock(card, reason, contact_data_sufficient, context.actor.role)
            }
            (_, CardCommand::Register { .. }) => unreachable!("handled above"),
        }
    }

    fn evolve(state: Option<Card>, event: &Event) -> Option<Card> {
        match (state, event) {
            (None, Event::CardRegistered(e)) => Some(Card {
                number: e.number.clone(),
                category: e.category,
                card_type: e.card_type,
                status: CardStatus::New,
                contact_id: None,
                block: None,
            }),
            (Some(card), Event::CardIssued(_)) => Some(Card { status: CardStatus::Issued, ..card }),
            (Some(card), Event::CardBoundToContact(e)) => Some(Card { contact_id: Some(e.contact_id), ..card }),
            (Some(card), Event::CardActivated(_)) => Some(Card { status: CardStatus::Active, ..card }),
            (Some(card), Event::CardBlocked(e)) => {
                Some(Card { status: CardStatus::Blocked, block: Some((e.reason, e.blocked_by_role)), ..card })
            }
            (Some(card), Event::CardUnblocked(e)) => Some(Card { status: e.status_after, block: None, ..card }),
            (state, _) => state,
        }
    }
}

fn mismatch(card: &Card, action: CardAction) -> CardError {
    CardError::StatusMismatch { status: card.status, action }
}

fn issue(card: &Card) -> Result<Vec<Event>, CardError> {
    match card.status {
        CardStatus::New => Ok(vec![Event::CardIssued(CardIssued { number: card.number.clone() })]),
        // Issuing an issued card again is a retried sale scan: nothing changes.
        CardStatus::Issued => Ok(vec![]),
        CardStatus::Active | CardStatus::Blocked => Err(mismatch(card, CardAction::Issue)),
    }
}

fn bind(card: &Card, contact_id: Uuid, contact_live_card: Option<String>) -> Result<Vec<Event>, CardError> {
    match card.status {
        CardStatus::New | CardStatus::Blocked => return Err(mismatch(card, CardAction::BindTo)),
        CardStatus::Issued | CardStatus::Active => {}
    }
    match card.contact_id {
        Some(bound) if bound == contact_id => return Ok(vec![]),
        Some(_) => return Err(CardError::BoundToAnotherContact),
        None => {}
    }
    if let Some(other) = contact_live_card.filter(|other| *other != card.number) {
        return Err(CardError::ContactHasAnotherCard { card: Some(other) });
    }
    Ok(vec![Event::CardBoundToContact(CardBoundToContact { number: card.number.clone(), contact_id })])
}

fn activate(card: &Card, contact_data_sufficient: bool) -> Result<Vec<Event>, CardError> {
    match card.status {
        CardStatus::New | CardStatus::Blocked => Err(mismatch(card, CardAction::Activate)),
        CardStatus::Active => Ok(vec![]),
        CardStatus::Issued if card.contact_id.is_none() => Err(CardError::NotBound { action: CardAction::Activate }),
        CardStatus::Issued if !contact_data_sufficient => Err(CardError::ContactDataInsufficient),
        CardStatus::Issued => Ok(vec![Event::CardActivated(CardActivated { number: card.number.clone() })]),
    }
}

fn block(card: &Card, reason: BlockReason, role: Role) -> Result<Vec<Event>, CardError> {
    if !roles::may_block(role, reason) {
        return Err(CardError::BlockReasonNotAllowed { role, reason });
    }
    match card.status {
        CardStatus::New | CardStatus::Blocked => Err(mismatch(card, CardAction::Block)),
        CardStatus::Issued | CardStatus::Active if card.contact_id.is_none() => {
            Err(CardError::NotBound { action: CardAction::Block })
        }
        previous_status @ (CardStatus::Issued | CardStatus::Active) => Ok(vec![Event::CardBlocked(CardBlocked {
            number: card.number.clone(),
            reason,
            blocked_by_role: role,
            previous_status,
        })]),
    }
}

fn unblock(
    card: &Card,
    reason: UnblockReason,
    contact_data_sufficient: bool,
    role: Role,
) -> Result<Vec<Event>, CardError> {
    if !roles::may_unblock(role, reason) {
        return Err(CardError::UnblockReasonNotAllowed { role, reason });
    }
    let Some((block_reason, blocked_by)) = card.block else {
        return Err(CardError::NotBlocked);
    };
    if block_reason == BlockReason::Replacement {
        return Err(CardError::BlockedForReplacement);
    }
    if blocked_by == Role::Administrator && !matches!(role, Role::Administrator | Role::System) {
        return Err(CardError::BlockedByAdministrator);
    }
    if roles::undoes(reason) != block_reason {
        return Err(CardError::ReasonDoesNotUndoBlock { reason, block_reason });
    }
    let status_after = if contact_data_sufficient { CardStatus::Active } else { CardStatus::Issued };
    Ok(vec![Event::CardUnblocked(CardUnblocked { number: card.number.clone(), reason, status_after })])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::given::{given, Then};

    const NUMBER: &str = "7000000000001";

    fn contact() -> Uuid {
        Uuid::from_u128(1)
    }

    fn registered() -> Event {
        Event::CardRegistered(CardRegistered {
            number: NUMBER.into(),
            category: CardCategory::Plastic,
            card_type: CardType::Bonus,
        })
    }

    fn issued() -> Event {
        Event::CardIssued(CardIssued { number: NUMBER.into() })
    }

    fn bound() -> Event {
        Event::CardBoundToContact(CardBoundToContact { number: NUMBER.into(), contact_id: contact() })
    }

    fn activated() -> Event {
        Event::CardActivated(CardActivated { number: NUMBER.into() })
    }

    fn blocked(reason: BlockReason, by: Role, previous_status: CardStatus) -> Event {
        Event::CardBlocked(CardBlocked { number: NUMBER.into(), reason, blocked_by_role: by, previous_status })
    }

    fn mismatch_err(status: CardStatus, action: CardAction) -> CardError {
        CardError::StatusMismatch { status, action }
    }

    #[test]
    fn a_new_number_registers_once() {
        let register = CardCommand::Register {
            number: NUMBER.into(),
            category: CardCategory::Plastic,
            card_type: CardType::Bonus,
        };
        given::<CardAggregate>(&[]).when(register.clone()).then(&[registered()]);
        given::<CardAggregate>(&[registered()]).when(register).then_err(CardError::AlreadyRegistered);
    }

    #[test]
    fn commands_on_an_unknown_card_are_refused() {
        given::<CardAggregate>(&[]).when(CardCommand::Issue).then_err(CardError::NotFound);
    }

    #[test]
    fn issue_moves_new_to_issued_and_is_a_no_op_when_issued() {
        given::<CardAggregate>(&[registered()]).when(CardCommand::Issue).then(&[issued()]);
        given::<CardAggregate>(&[registered(), issued()]).when(CardCommand::Issue).then(&[]);
    }

    #[test]
    fn issue_is_refused_for_active_and_blocked_cards() {
        given::<CardAggregate>(&[registered(), issued(), bound(), activated()])
            .when(CardCommand::Issue)
            .then_err(mismatch_err(CardStatus::Active, CardAction::Issue));
        given::<CardAggregate>(&[
            registered(),
            issued(),
            bound(),
            blocked(BlockReason::Loss, Role::Client, CardStatus::Issued),
        ])
        .when(CardCommand::Issue)
        .then_err(mismatch_err(CardStatus::Blocked, CardAction::Issue));
    }

    #[test]
    fn bind_needs_a_card_that_is_neither_new_nor_blocked() {
        let bind = CardCommand::BindTo { contact_id: contact(), contact_live_card: None };
        given::<CardAggregate>(&[registered()])
            .when(bind.clone())
            .then_err(mismatch_err(CardStatus::New, CardAction::BindTo));
        given::<CardAggregate>(&[registered(), issued()]).when(bind).then(&[bound()]);
    }

    #[test]
    fn bind_to_another_contact_or_a_contact_with_a_live_card_is_refused() {
        let other = CardCommand::BindTo { contact_id: Uuid::from_u128(2), contact_live_card: None };
        given::<CardAggregate>(&[registered(), issued(), bound()])
            .when(other)
            .then_err(CardError::BoundToAnotherContact);
        let holder = CardCommand::BindTo { contact_id: contact(), contact_live_card: Some("7000000000002".into()) };
        given::<CardAggregate>(&[registered(), issued()])
            .when(holder)
            .then_err(CardError::ContactHasAnotherCard { card: Some("7000000000002".into()) });
    }

    #[test]
    fn binding_again_to_the_same_contact_changes_nothing() {
        let bind = CardCommand::BindTo { contact_id: contact(), contact_live_card: Some(NUMBER.into()) };
        given::<CardAggregate>(&[registered(), issued(), bound()]).when(bind).then(&[]);
    }

    #[test]
    fn activation_needs_a_bound_card_and_sufficient_data() {
        given::<CardAggregate>(&[registered(), issued()])
            .when(CardCommand::Activate { contact_data_sufficient: true })
            .then_err(CardError::NotBound { action: CardAction::Activate });
        given::<CardAggregate>(&[registered(), issued(), bound()])
            .when(CardCommand::Activate { contact_data_sufficient: false })
            .then_err(CardError::ContactDataInsufficient);
        given::<CardAggregate>(&[registered(), issued(), bound()])
            .when(CardCommand::Activate { contact_data_sufficient: true })
            .then(&[activated()]);
        given::<CardAggregate>(&[registered()])
            .when(CardCommand::Activate { contact_data_sufficient: true })
            .then_err(mismatch_err(CardStatus::New, CardAction::Activate));
    }

    #[test]
    fn block_needs_a_bound_issued_or_active_card() {
        let block = CardCommand::Block { reason: BlockReason::Loss };
        given::<CardAggregate>(&[registered()])
            .when(block.clone())
            .then_err(mismatch_err(CardStatus::New, CardAction::Block));
        given::<CardAggregate>(&[registered(), issued()])
            .when(block.clone())
            .then_err(CardError::NotBound { action: CardAction::Block });
        given::<CardAggregate>(&[registered(), issued(), bound(), activated()])
            .acting_as(Role::Client)
            .when(block)
            .then(&[blocked(BlockReason::Loss, Role::Client, CardStatus::Active)]);
    }

    #[test]
    fn block_reason_must_match_the_role() {
        given::<CardAggregate>(&[registered(), issued(), bound()])
            .acting_as(Role::CcOperator)
            .when(CardCommand::Block { reason: BlockReason::Blacklist })
            .then_err(CardError::BlockReasonNotAllowed { role: Role::CcOperator, reason: BlockReason::Blacklist });
    }

    #[test]
    fn unblock_returns_to_active_or_issued_by_data_sufficiency() {
        let history = [
            registered(),
            issued(),
            bound(),
            activated(),
            blocked(BlockReason::Loss, Role::Client, CardStatus::Active),
        ];
        let unblocked = |status_after| {
            Event::CardUnblocked(CardUnblocked {
                number: NUMBER.into(),
                reason: UnblockReason::CardFound,
                status_after,
            })
        };
        given::<CardAggregate>(&history)
            .acting_as(Role::Client)
            .when(CardCommand::Unblock { reason: UnblockReason::CardFound, contact_data_sufficient: true })
            .then(&[unblocked(CardStatus::Active)]);
        given::<CardAggregate>(&history)
            .acting_as(Role::Client)
            .when(CardCommand::Unblock { reason: UnblockReason::CardFound, contact_data_sufficient: false })
            .then(&[unblocked(CardStatus::Issued)]);
    }

    #[test]
    fn unblock_must_undo_the_block_reason_and_respect_roles() {
        let history =
            [registered(), issued(), bound(), blocked(BlockReason::RefusalToUse, Role::Marketer, CardStatus::Issued)];
        given::<CardAggregate>(&history)
            .acting_as(Role::Marketer)
            .when(CardCommand::Unblock { reason: UnblockReason::CardFound, contact_data_sufficient: true })
            .then_err(CardError::ReasonDoesNotUndoBlock {
                reason: UnblockReason::CardFound,
                block_reason: BlockReason::RefusalToUse,
            });
        given::<CardAggregate>(&history)
            .acting_as(Role::Client)
            .when(CardCommand::Unblock { reason: UnblockReason::RestoredAfterRefusal, contact_data_sufficient: true })
            .then_err(CardError::UnblockReasonNotAllowed {
                role: Role::Client,
                reason: UnblockReason::RestoredAfterRefusal,
            });
    }

    #[test]
    fn an_administrators_block_is_undone_only_by_an_administrator() {
        let history =
            [registered(), issued(), bound(), blocked(BlockReason::Loss, Role::Administrator, CardStatus::Issued)];
        let unblock = CardCommand::Unblock { reason: UnblockReason::CardFound, contact_data_sufficient: false };
        given::<CardAggregate>(&history)
            .acting_as(Role::Director)
            .when(unblock.clone())
            .then_err(CardError::BlockedByAdministrator);
        assert!(given::<CardAggregate>(&history).acting_as(Role::Administrator).when(unblock).is_ok());
    }

    #[test]
    fn a_replacement_block_is_never_undone_and_unblocking_a_live_card_is_a_mismatch() {
        let history = [
            registered(),
            issued(),
            bound(),
            blocked(BlockReason::Replacement, Role::Administrator, CardStatus::Issued),
        ];
        given::<CardAggregate>(&history)
            .when(CardCommand::Unblock { reason: UnblockReason::CardFound, contact_data_sufficient: true })
            .then_err(CardError::BlockedForReplacement);
        given::<CardAggregate>(&[registered(), issued(), bound()])
            .when(CardCommand::Unblock { reason: UnblockReason::CardFound, contact_data_sufficient: true })
            .then_err(CardError::NotBlocked);
    }
}
