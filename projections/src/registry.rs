//! Every read model, listed once. Adding a view is one line in [`views!`]'s invocation below (plus its fold, its
//! `SqlView` table and its migration): the inline update, the rebuild, the in-memory replay, the live snapshot and
//! the comparison all come from this list.

use std::collections::HashMap;

use sqlx::AnyConnection;
use tally_events::Event;

use crate::{
    sql::{apply_view, fold_into, load_all, rewrite_totals, upsert_many},
    tally::TallyRow,
    AccountView, BusinessView, CardView, CatalogueView, ContactView, CustomerIdentityView, CustomerView,
    LeadActionView, LeadView, LoyaltyCampaignView, LoyaltyCodeView, MachineView, MoneyAccountView,
    NotificationTemplateView, NotificationView, PromotionView, Source, SqlView, VendRefView, VendView, WalletItemView,
};

macro_rules! views {
    ($($field:ident: $view:ty),* $(,)?) => {
        /// The views in memory, folded from events, keyed as in their tables.
        #[derive(Debug, Default, PartialEq)]
        pub struct Views {
            $($field: HashMap<Vec<String>, $view>,)*
        }

        /// The table of every view.
        pub const TABLES: &[&str] = &[$(<$view as SqlView>::TABLE),*];

        impl Views {
            /// Rows over all views.
            pub fn rows(&self) -> u64 {
                0 $(+ self.$field.len() as u64)*
            }

            /// Folds one event into every view. A view's row depends on one stream only, so events of different
            /// streams may come in any order (as from Kafka partitions); a stream's own events must come in order.
            pub fn apply(&mut self, source: &Source<'_>, event: &Event) {
                $(fold_into(&mut self.$field, source, event);)*
            }

            /// The live projection: every row of every view as stored.
            pub async fn load_live(conn: &mut AnyConnection) -> Result<Views, sqlx::Error> {
                Ok(Views { $($field: load_all(conn).await?,)* })
            }

            /// Per view: its table, this side's row count, and whether the other side has exactly the same rows.
            pub fn compare(&self, other: &Views) -> Vec<(&'static str, usize, bool)> {
                vec![$((<$view as SqlView>::TABLE, self.$field.len(), self.$field == other.$field),)*]
            }

            /// Writes every row (the tables are expected empty, or to be overwritten row by row).
            pub(crate) async fn write(&self, conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
                $(
                    let rows = self.$field.values().collect::<Vec<_>>();
                    upsert_many(conn, &rows).await?;
                    rewrite_totals(conn, &rows).await?;
                )*
                Ok(())
            }
        }

        /// Updates every view for the events of a group of commands, in the append's transaction: a few statements
        /// per view whatever the group's size. A unique constraint of a view (one live card per contact, one
        /// contact per mobile number or code) fails the whole call.
        pub async fn apply_batch(conn: &mut AnyConnection, batch: &[(Source<'_>, &[Event])]) -> Result<(), sqlx::Error> {
            $(apply_view::<$view>(conn, batch).await?;)*
            Ok(())
        }
    };
}

views! {
    cards: CardView,
    contacts: ContactView,
    accounts: AccountView,
    money_accounts: MoneyAccountView,
    promotions: PromotionView,
    businesses: BusinessView,
    wallet_items: WalletItemView,
    tally: TallyRow,
    vends: VendView,
    vend_refs: VendRefView,
    machines: MachineView,
    leads: LeadView,
    lead_actions: LeadActionView,
    customers: CustomerView,
    customer_identities: CustomerIdentityView,
    notification_templates: NotificationTemplateView,
    notifications: NotificationView,
    loyalty_campaigns: LoyaltyCampaignView,
    loyalty_codes: LoyaltyCodeView,
    catalogue: CatalogueView,
}
