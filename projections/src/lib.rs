//! Tally's read models. Each is a pure fold over events ([`View::apply`]) with a SQL writer; the same fold serves
//! the inline update in the append's transaction and the rebuild from the ledger, so the two cannot disagree.

mod accounts;
mod cards;
mod contacts;
pub mod rebuild;
mod sql;
pub mod stream;

pub use accounts::{AccountView, BonusBucket, BucketStatus, LotView};
pub use cards::CardView;
pub use contacts::ContactView;
pub use sql::{
    accounts_due, apply_batch, apply_inline, find_contact_by_code, find_contact_by_mobile, find_live_card,
    load_account, load_card, load_contact, SqlView,
};

use tally_events::Event;

/// Key of the PostgreSQL advisory lock that appends hold (so that global positions follow commit order) and that a
/// rebuild takes to see a ledger nobody is appending to.
pub const APPEND_LOCK: i64 = 0x7a11_1ed9;

/// Where an event was recorded: all a view needs besides the event itself.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub tenant: &'a str,
    pub stream_id: &'a str,
}

/// A read model row: which row an event touches, and how the event changes it.
pub trait View: Sized + Clone + PartialEq + serde::Serialize + serde::de::DeserializeOwned {
    /// The row's key columns as text, in table order (tenant first), or `None` when the event is not for this view.
    fn key(source: &Source<'_>, event: &Event) -> Option<Vec<String>>;
    /// The row after the event.
    fn apply(row: Option<Self>, source: &Source<'_>, event: &Event) -> Option<Self>;
}
