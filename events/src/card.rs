//! Loyalty card events: registration, the lifecycle New -> Issued -> Active <-> Blocked, and binding to a contact.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Role;

/// Card category, as the CashDesk seed codes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CardCategory {
    Plastic,
    Virtual,
}

/// Card type, as the CashDesk seed codes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CardType {
    Bonus,
    Discount,
    BonusDiscount,
}

/// Card status codes: New 0, Issued 1, Active 2, Blocked 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CardStatus {
    New,
    Issued,
    Active,
    Blocked,
}

/// Why a card was blocked; codes 0..=4 as in the CashDesk seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum BlockReason {
    /// 0: the card was lost.
    Loss,
    /// 1: the customer is on the merchant's unwanted-customers list.
    UnwantedCustomersList,
    /// 2: the customer's phone or card is blacklisted.
    Blacklist,
    /// 3: the customer refuses to use the card.
    RefusalToUse,
    /// 4: the card is replaced by another; permanent.
    Replacement,
}

/// Why a card was unblocked; codes 0..=3 as in the CashDesk seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnblockReason {
    /// 0: the card was found (undoes a loss block).
    CardFound,
    /// 1: the customer left the unwanted-customers list.
    LeftUnwantedList,
    /// 2: the customer left the blacklist.
    LeftBlacklist,
    /// 3: the card is restored after a refusal to use.
    RestoredAfterRefusal,
}

/// A card was registered in the merchant's stock, status New, bound to nobody.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CardRegistered {
    pub number: String,
    pub category: CardCategory,
    pub card_type: CardType,
}

/// The card was sold (its number scanned at the till): New -> Issued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CardIssued {
    pub number: String,
}

/// The card was bound to a contact (customer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CardBoundToContact {
    pub number: String,
    pub contact_id: Uuid,
}

/// The bound card's contact has sufficient personal data: Issued -> Active.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CardActivated {
    pub number: String,
}

/// The card was blocked; bonuses and programme participation stop until it is unblocked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CardBlocked {
    pub number: String,
    pub reason: BlockReason,
    /// The role that blocked it: a block by an administrator can only be undone by an administrator.
    pub blocked_by_role: Role,
    /// The status the card had before the block.
    pub previous_status: CardStatus,
}

/// The card was unblocked; it returns to Active when its contact's data is sufficient, else to Issued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CardUnblocked {
    pub number: String,
    pub reason: UnblockReason,
    pub status_after: CardStatus,
}
