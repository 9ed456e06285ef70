//! The card view: status, category, type, binding and block, for balance look-ups and lifecycle checks.

use serde::{Deserialize, Serialize};
use tally_events::{BlockReason, CardCategory, CardStatus, CardType, Event, Role};
use uuid::Uuid;

use crate::{Source, View};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CardView {
    pub tenant: String,
    pub number: String,
    pub category: CardCategory,
    pub card_type: CardType,
    pub status: CardStatus,
    pub contact_id: Option<Uuid>,
    pub block_reason: Option<BlockReason>,
    pub blocked_by_role: Option<Role>,
}

impl CardView {
    /// The contact this card counts as the live card of: none once it is blocked for replacement.
    pub fn live_contact_id(&self) -> Option<Uuid> {
        self.contact_id.filter(|_| self.block_reason != Some(BlockReason::Replacement))
    }
}

impl View for CardView {
    fn key(source: &Source<'_>, event: &Event) -> Option<Vec<String>> {
        let number = match event {
            Event::CardRegistered(e) => &e.number,
            Event::CardIssued(e) => &e.number,
            Event::CardBoundToContact(e) => &e.number,
            Event::CardActivated(e) => &e.number,
            Event::CardBlocked(e) => &e.number,
            Event::CardUnblocked(e) => &e.number,
            _ => return None,
        };
        Some(vec![source.tenant.to_owned(), number.clone()])
    }

    fn apply(row: Option<Self>, source: &Source<'_>, event: &Event) -> Option<Self> {
        match (row, event) {
            (None, Event::CardRegistered(e)) => Some(CardView {
                tenant: source.tenant.to_owned(),
                number: e.number.clone(),
                category: e.category,
                card_type: e.card_type,
                status: CardStatus::New,
                contact_id: None,
                block_reason: None,
                blocked_by_role: None,
            }),
            (Some(card), Event::CardIssued(_)) => Some(CardView { status: CardStatus::Issued, ..card }),
            (Some(card), Event::CardBoundToContact(e)) => Some(CardView { contact_id: Some(e.contact_id), ..card }),
            (Some(card), Event::CardActivated(_)) => Some(CardView { status: CardStatus::Active, ..card }),
            (Some(card), Event::CardBlocked(e)) => Some(CardView {
                status: CardStatus::Blocked,
                block_reason: Some(e.reason),
                blocked_by_role: Some(e.blocked_by_role),
                ..card
            }),
            (Some(card), Event::CardUnblocked(e)) => {
                Some(CardView { status: e.status_after, block_reason: None, blocked_by_role: None, ..card })
            }
            (row, _) => row,
        }
    }
}
