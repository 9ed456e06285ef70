//! Tally's read models. Each is a pure fold over events ([`View::apply`]) with a SQL writer; the same fold serves
//! the inline update in the append's transaction and the rebuild from the ledger, so the two cannot disagree.

mod accounts;
mod cards;
mod catalogue;
mod contacts;
mod customers;
mod leads;
mod loyalty;
mod money;
mod notifications;
pub mod pipeline;
mod promotions;
pub mod rebuild;
mod registry;
mod sql;
pub mod tally;
mod vending;

pub use accounts::{AccountView, BonusBucket, BucketStatus, LotView};
pub use cards::CardView;
pub use catalogue::{list_catalogue, load_catalogue_item, CatalogueView};
pub use contacts::{postcode_key, search_form, ContactView};
pub use customers::{find_customer, load_customer, CustomerIdentityView, CustomerView};
pub use leads::{lead_actions, list_leads, load_lead, load_lead_action, DocumentRef, LeadActionView, LeadView};
pub use loyalty::{
    list_loyalty_codes, load_loyalty_campaign, loyalty_campaigns, loyalty_codes_of, CodeCounters, CodeStatus,
    LoyaltyCampaignView, LoyaltyCodeView,
};
pub use money::{MoneyAccountView, PaymentReferenceView};
pub use notifications::{
    load_notification, load_template, NotificationStatus, NotificationTemplateView, NotificationView,
};
pub use promotions::{BusinessView, PromotionState, PromotionView, WalletItemView};
pub use registry::{apply_batch, Views};
pub use sql::{
    accounts_due, find_contact_by_code, find_contact_by_mobile, find_live_card, load_account, load_business, load_card,
    load_contact, load_money_account, load_promotion, load_wallet_item, money_accounts_of, search_contacts_by_name,
    search_contacts_by_postcode, BindMarks, SqlView,
};
pub use vending::{
    find_vend, load_machine, load_vend, vends_due, vends_of, AlertView, MachineView, VendRefView, VendStatus, VendView,
};

use tally_events::{Event, Sealed};

/// Where an event was recorded: all a view needs besides the event itself.
#[derive(Clone, Copy)]
pub struct Source<'a> {
    pub tenant: &'a str,
    pub stream_id: &'a str,
    /// When the event happened (the envelope's `occurred_at`).
    pub occurred_at: chrono::DateTime<chrono::Utc>,
    /// The keys that open the personal data the views keep searchable (see [`Keys`]).
    pub keys: &'a dyn Keys,
}

impl std::fmt::Debug for Source<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("tenant", &self.tenant)
            .field("stream_id", &self.stream_id)
            .field("occurred_at", &self.occurred_at)
            .finish_non_exhaustive()
    }
}

/// Opens sealed personal data while views fold. Only the contact view opens (a till searches contacts by name and
/// postcode, which needs the words): whoever folds events hands in the keys of the subjects they carry, see
/// [`sealed_for_views`]. An erased customer's key is gone, so their data folds to nothing, in any replay.
pub trait Keys: Sync {
    /// The value sealed, if the subject's key is here and opens it.
    fn open(&self, tenant: &str, sealed: &Sealed) -> Option<serde_json::Value>;
}

/// No keys: for folds that keep no personal data (the tally, the tests of other views).
pub struct NoKeys;

impl Keys for NoKeys {
    fn open(&self, _: &str, _: &Sealed) -> Option<serde_json::Value> {
        None
    }
}

/// The sealed value of `event` that a view opens while folding, if any: whoever folds it needs its subject's key.
pub fn sealed_for_views(event: &Event) -> Option<&Sealed> {
    contacts::sealed(event)
}

/// Splits `items` into chunks whose sizes are powers of two, at most `max` (a power of two): multi-row statements
/// then come in a few shapes that the driver prepares once and caches, whatever the group sizes.
pub fn shaped_chunks<T>(items: &[T], max: usize) -> Vec<&[T]> {
    let mut chunks = Vec::new();
    let mut rest = items;
    while !rest.is_empty() {
        let size = max.min(1 << rest.len().ilog2());
        let (chunk, tail) = rest.split_at(size);
        chunks.push(chunk);
        rest = tail;
    }
    chunks
}

/// A read model row: which row an event touches, and how the event changes it.
pub trait View: Sized + Clone + PartialEq + serde::Serialize + serde::de::DeserializeOwned {
    /// The row's key columns as text, in table order (tenant first), or `None` when the event is not for this view.
    fn key(source: &Source<'_>, event: &Event) -> Option<Vec<String>>;
    /// The row after the event.
    fn apply(row: Option<Self>, source: &Source<'_>, event: &Event) -> Option<Self>;
}

#[cfg(test)]
mod tests {
    #[test]
    fn chunks_are_powers_of_two_that_cover_everything_in_order() {
        let items: Vec<usize> = (0..300).collect();
        let chunks = super::shaped_chunks(&items, 128);
        assert_eq!(chunks.iter().map(|c| c.len()).collect::<Vec<_>>(), vec![128, 128, 32, 8, 4]);
        assert_eq!(chunks.concat(), items);
        assert!(super::shaped_chunks::<u8>(&[], 8).is_empty());
    }
}
