//! Stream ids, part of the published contract (every envelope carries one; Kafka messages are keyed by it):
//! `card/{tenant}/{number}`, `contact/{tenant}/{contact_id}`, `account/{tenant}/{contact_id}`, `business/{id}`,
//! `promotion/{business_id}/{promotion_id}`, `billing/{tenant}`, `money/{tenant}/{account_type}/{account_id}`, `vend/{tenant}/{txn_ref}`,
//! `machine/{tenant}/{vm_id}`, `lead/{tenant}/{lead_id}`,
//! `customer/{tenant}/{customer_id}`, `template/{tenant}/{key}`, `notification/{tenant}/{notification_id}`,
//! `loyalty-campaign/{tenant}/{internal_id}`, `catalogue/{tenant}/{item_id}`.
//! Tenant ids never contain `/` (they are validated as `[a-z0-9_-]`), so the parts split unambiguously.

use uuid::Uuid;

pub fn card(tenant: &str, number: &str) -> String {
    format!("card/{tenant}/{number}")
}

pub fn contact(tenant: &str, contact_id: Uuid) -> String {
    format!("contact/{tenant}/{contact_id}")
}

/// A Footprints customer: the data subject whose key seals their personal data.
pub fn customer(tenant: &str, customer_id: Uuid) -> String {
    format!("customer/{tenant}/{customer_id}")
}

/// A lead: `lead_id` is 24 hexadecimal digits.
pub fn lead(tenant: &str, lead_id: &str) -> String {
    format!("lead/{tenant}/{lead_id}")
}

/// A notification template: `key` is 1 to 64 of `[A-Za-z0-9_-]`.
pub fn template(tenant: &str, key: &str) -> String {
    format!("template/{tenant}/{key}")
}

/// An e-mail notification.
pub fn notification(tenant: &str, notification_id: Uuid) -> String {
    format!("notification/{tenant}/{notification_id}")
}

/// A loyalty campaign: `internal_id` is 1 to 64 of `[A-Za-z0-9_-]`.
pub fn loyalty_campaign(tenant: &str, internal_id: &str) -> String {
    format!("loyalty-campaign/{tenant}/{internal_id}")
}

/// An item of the merchant's catalogue: `item_id` is 1 to 64 of `[A-Za-z0-9_-]`.
pub fn catalogue(tenant: &str, item_id: &str) -> String {
    format!("catalogue/{tenant}/{item_id}")
}

pub fn account(tenant: &str, contact_id: Uuid) -> String {
    format!("account/{tenant}/{contact_id}")
}

/// The id after `kind/tenant/` in a stream id.
pub fn entity_id<'a>(stream_id: &'a str, kind: &str) -> Option<&'a str> {
    let rest = stream_id.strip_prefix(kind)?.strip_prefix('/')?;
    rest.split_once('/').map(|(_, id)| id)
}

/// Business ids are network-wide (the `src` of barcodes), so their streams are not scoped by tenant.
pub fn business(business_id: &str) -> String {
    format!("business/{business_id}")
}

/// A promotion: the network item `promotion_id` of a business.
pub fn promotion(business_id: &str, promotion_id: &str) -> String {
    format!("promotion/{business_id}/{promotion_id}")
}

/// A money account: `account_type` in its snake-case name (`deposit`, `credit_note`…). Account ids never contain `/`
/// (they are validated as `[A-Za-z0-9_-]`).
pub fn money(tenant: &str, account_type: &str, account_id: &str) -> String {
    format!("money/{tenant}/{account_type}/{account_id}")
}

/// The merchant's billing mode.
pub fn billing(tenant: &str) -> String {
    format!("billing/{tenant}")
}

/// The business and promotion ids of a promotion stream (ids never contain `/`).
pub fn promotion_ids(stream_id: &str) -> Option<(&str, &str)> {
    stream_id.strip_prefix("promotion/")?.split_once('/')
}

/// A vend (a purchase at a vending machine), named by the transaction reference Tally gave it. Transaction
/// references never contain `/` (they are generated as hex).
pub fn vend(tenant: &str, txn_ref: &str) -> String {
    format!("vend/{tenant}/{txn_ref}")
}

/// A vending machine's feed, by the platform's machine id (validated without `/`).
pub fn machine(tenant: &str, vm_id: &str) -> String {
    format!("machine/{tenant}/{vm_id}")
}
