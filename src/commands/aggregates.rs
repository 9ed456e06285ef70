//! Every aggregate the writer decides on, one `impl Stream` each: its stream naming and the view constraints that
//! stand for its refusals. Adding an aggregate is one more block here (and its decider under `domain/`).

use tally_events::stream;
use uuid::Uuid;

use super::target::Stream;
use crate::domain::{
    account::AccountAggregate,
    card::{CardAggregate, CardError},
    catalogue::CatalogueAggregate,
    contact::{ContactAggregate, ContactError},
    customer::CustomerAggregate,
    lead::LeadAggregate,
    loyalty::CampaignAggregate,
    machine::MachineAggregate,
    money::MoneyAggregate,
    notification::{NotificationAggregate, TemplateAggregate},
    promotion::{BillingAggregate, BusinessAggregate, PromotionAggregate},
    vend::VendAggregate,
};

impl Stream for CardAggregate {
    /// The card number.
    type Key = String;

    fn stream_id(tenant: &str, number: &String) -> String {
        stream::card(tenant, number)
    }

    fn refusal_for(constraint: &str) -> Option<CardError> {
        (constraint == "card_view_one_live_card").then_some(CardError::ContactHasAnotherCard { card: None })
    }
}

impl Stream for ContactAggregate {
    type Key = Uuid;

    fn stream_id(tenant: &str, contact_id: &Uuid) -> String {
        stream::contact(tenant, *contact_id)
    }

    fn refusal_for(constraint: &str) -> Option<ContactError> {
        match constraint {
            "contact_view_mobile" => Some(ContactError::MobileNumberTaken),
            "contact_view_code" => Some(ContactError::CodeTaken),
            _ => None,
        }
    }
}

impl Stream for AccountAggregate {
    /// The contact whose account it is.
    type Key = Uuid;

    fn stream_id(tenant: &str, contact_id: &Uuid) -> String {
        stream::account(tenant, *contact_id)
    }
}

impl Stream for MoneyAggregate {
    /// The account's type and id.
    type Key = (tally_events::MoneyAccountType, String);

    fn stream_id(tenant: &str, (account_type, account_id): &(tally_events::MoneyAccountType, String)) -> String {
        stream::money(tenant, account_type.as_str(), account_id)
    }
}

impl Stream for BusinessAggregate {
    /// The business id, network-wide (the `src` of its barcodes).
    type Key = String;

    fn stream_id(_: &str, business_id: &String) -> String {
        stream::business(business_id)
    }
}

impl Stream for PromotionAggregate {
    /// The business id and the network item id.
    type Key = (String, String);

    fn stream_id(_: &str, (business_id, promotion_id): &(String, String)) -> String {
        stream::promotion(business_id, promotion_id)
    }
}

impl Stream for BillingAggregate {
    /// One billing stream per merchant.
    type Key = ();

    fn stream_id(tenant: &str, _: &()) -> String {
        stream::billing(tenant)
    }
}

impl Stream for VendAggregate {
    /// The transaction reference Tally gave the purchase.
    type Key = String;

    fn stream_id(tenant: &str, txn_ref: &String) -> String {
        stream::vend(tenant, txn_ref)
    }
}

impl Stream for MachineAggregate {
    /// The platform's machine id.
    type Key = String;

    fn stream_id(tenant: &str, vm_id: &String) -> String {
        stream::machine(tenant, vm_id)
    }
}

impl Stream for TemplateAggregate {
    /// The template's key.
    type Key = String;

    fn stream_id(tenant: &str, key: &String) -> String {
        stream::template(tenant, key)
    }
}

impl Stream for NotificationAggregate {
    type Key = Uuid;

    fn stream_id(tenant: &str, notification_id: &Uuid) -> String {
        stream::notification(tenant, *notification_id)
    }
}

impl Stream for LeadAggregate {
    /// The lead id (24 hexadecimal digits).
    type Key = String;

    fn stream_id(tenant: &str, lead_id: &String) -> String {
        stream::lead(tenant, lead_id)
    }
}

impl Stream for CustomerAggregate {
    type Key = Uuid;

    fn stream_id(tenant: &str, customer_id: &Uuid) -> String {
        stream::customer(tenant, *customer_id)
    }
}

impl Stream for CampaignAggregate {
    /// The campaign's internal id.
    type Key = String;

    fn stream_id(tenant: &str, internal_id: &String) -> String {
        stream::loyalty_campaign(tenant, internal_id)
    }
}

impl Stream for CatalogueAggregate {
    /// The item's id.
    type Key = String;

    fn stream_id(tenant: &str, item_id: &String) -> String {
        stream::catalogue(tenant, item_id)
    }
}
