//! The published event contract of Tally: the envelope every ledger row carries and every event type, with their
//! JSON Schemas (generated into `events/schema/`) and golden fixtures (`events/fixtures/`).
//!
//! An event type, once shipped, never changes shape. A new shape is a new `schema_version` of the same `event_type`
//! with an upcaster in [`upcast`] that turns stored older payloads into the current one.

mod account;
mod card;
mod catalogue;
mod contact;
mod customer;
mod envelope;
mod lead;
mod loyalty;
mod money;
mod notification;
mod promotion;
pub mod schema;
mod sealed;
pub mod stream;
mod vending;

pub use account::*;
pub use card::*;
pub use catalogue::*;
pub use contact::*;
pub use customer::*;
pub use envelope::{Actor, Envelope, Role};
pub use lead::*;
pub use loyalty::*;
pub use money::*;
pub use notification::*;
pub use promotion::*;
pub use sealed::Sealed;
pub use vending::*;

use serde::{Deserialize, Serialize};

/// Declares the closed set of event types: the enum, its names, versions, families and the payload decoder.
macro_rules! event_catalogue {
    ($( $variant:ident ( $payload:ty ) = $version:literal, $family:literal ;)*) => {
        /// Every event Tally records. Serialized adjacently tagged as `{"event_type": .., "payload": ..}`.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "event_type", content = "payload")]
        pub enum Event {
            $( $variant($payload), )*
        }

        impl Event {
            /// Every event type name with its current schema version and family (the Kafka topic family).
            pub const CATALOGUE: &'static [(&'static str, u32, &'static str)] = &[
                $( (stringify!($variant), $version, $family), )*
            ];

            /// The stable type name, as stored in the ledger's `event_type` column.
            pub fn event_type(&self) -> &'static str {
                match self { $( Event::$variant(_) => stringify!($variant), )* }
            }

            /// The current schema version of this event's type.
            pub fn schema_version(&self) -> u32 {
                match self { $( Event::$variant(_) => $version, )* }
            }

            /// The payload alone, as stored in the ledger's `payload` column.
            pub fn payload_json(&self) -> serde_json::Value {
                match self { $( Event::$variant(p) => serde_json::to_value(p).expect("event payloads serialize"), )* }
            }

            /// Decodes a stored payload of the current schema version (after [`upcast`]).
            fn decode_current(event_type: &str, payload: serde_json::Value) -> Result<Event, DecodeError> {
                match event_type {
                    $( stringify!($variant) => serde_json::from_value(payload)
                        .map(Event::$variant)
                        .map_err(|e| DecodeError::Payload(event_type.to_owned(), e.to_string())), )*
                    other => Err(DecodeError::UnknownType(other.to_owned())),
                }
            }

            /// Decodes a stored payload text of the current schema version without an intermediate `Value`.
            fn decode_current_str(event_type: &str, payload: &str) -> Result<Event, DecodeError> {
                match event_type {
                    $( stringify!($variant) => serde_json::from_str(payload)
                        .map(Event::$variant)
                        .map_err(|e| DecodeError::Payload(event_type.to_owned(), e.to_string())), )*
                    other => Err(DecodeError::UnknownType(other.to_owned())),
                }
            }

            /// The JSON Schema of every event type's payload, keyed `Type.vN`.
            pub fn payload_schemas() -> Vec<(String, schemars::schema::RootSchema)> {
                vec![ $( (format!("{}.v{}", stringify!($variant), $version), schemars::schema_for!($payload)), )* ]
            }
        }
    };
}

event_catalogue! {
    ContactRegistered(ContactRegistered) = 3, "contacts";
    ContactUpdated(ContactUpdated) = 3, "contacts";
    CardRegistered(CardRegistered) = 1, "cards";
    CardIssued(CardIssued) = 1, "cards";
    CardBoundToContact(CardBoundToContact) = 1, "cards";
    CardActivated(CardActivated) = 1, "cards";
    CardBlocked(CardBlocked) = 1, "cards";
    CardUnblocked(CardUnblocked) = 1, "cards";
    BonusAccrued(BonusAccrued) = 2, "bonuses";
    BonusRedeemed(BonusRedeemed) = 2, "bonuses";
    BonusesFrozen(BonusesFrozen) = 1, "bonuses";
    BonusesUnfrozen(BonusesUnfrozen) = 1, "bonuses";
    BonusExpired(BonusExpired) = 1, "bonuses";
    AccrualReversed(AccrualReversed) = 1, "bonuses";
    RedemptionReversed(RedemptionReversed) = 1, "bonuses";
    BonusReserved(BonusReserved) = 1, "bonuses";
    ReservationCompleted(ReservationCompleted) = 1, "bonuses";
    ReservationReleased(ReservationReleased) = 1, "bonuses";
    BusinessRegistered(BusinessRegistered) = 1, "promotions";
    PromotionPublished(PromotionPublished) = 1, "promotions";
    PromotionChanged(PromotionChanged) = 1, "promotions";
    CouponClipped(CouponClipped) = 1, "promotions";
    CouponUsed(CouponUsed) = 1, "promotions";
    CouponScanRefused(CouponScanRefused) = 1, "promotions";
    CouponUseVoided(CouponUseVoided) = 1, "promotions";
    PromotionTurnedOff(PromotionTurnedOff) = 1, "promotions";
    PromotionTurnedOn(PromotionTurnedOn) = 1, "promotions";
    BillingModeChanged(BillingModeChanged) = 1, "promotions";
    MoneyAccountOpened(MoneyAccountOpened) = 1, "money";
    MoneyPaidIn(MoneyMovement) = 1, "money";
    MoneyPaidOut(MoneyMovement) = 1, "money";
    MoneyHeld(MoneyHeld) = 1, "money";
    MoneyHoldCaptured(MoneyHoldCaptured) = 1, "money";
    MoneyHoldReleased(MoneyHoldReleased) = 1, "money";
    PaymentReferenceStored(PaymentReferenceStored) = 1, "money";
    VendStarted(VendStarted) = 1, "vending";
    VendLocked(VendLocked) = 1, "vending";
    VendLockRefused(VendLockRefused) = 1, "vending";
    VendSelected(VendSelected) = 1, "vending";
    VendApproved(VendApproved) = 1, "vending";
    VendDeclined(VendDeclined) = 1, "vending";
    VendPaymentCharged(VendPaymentCharged) = 1, "vending";
    VendPaymentRefunded(VendPaymentRefunded) = 1, "vending";
    VendPaymentDeclined(VendPaymentDeclined) = 1, "vending";
    VendPaidAcknowledged(VendPaidAcknowledged) = 1, "vending";
    VendDispensed(VendDispensed) = 1, "vending";
    VendFailed(VendFailed) = 1, "vending";
    VendCancelled(VendCancelled) = 1, "vending";
    VendUnlockSent(VendUnlockSent) = 1, "vending";
    VendReconciled(VendReconciled) = 1, "vending";
    VendResultLate(VendResultLate) = 1, "vending";
    MachineDispensed(MachineDispensed) = 1, "vending";
    MachineRefilled(MachineRefilled) = 1, "vending";
    MachineAlerted(MachineAlerted) = 1, "vending";
    MachineButtonPressed(MachineButtonPressed) = 1, "vending";
    LeadAdded(LeadAdded) = 1, "leads";
    LeadUpdated(LeadUpdated) = 1, "leads";
    LeadStatusChanged(LeadStatusChanged) = 1, "leads";
    LeadLost(LeadLost) = 1, "leads";
    LeadNpsRecorded(LeadNpsRecorded) = 1, "leads";
    LeadActionAdded(LeadActionAdded) = 1, "leads";
    LeadActionUpdated(LeadActionUpdated) = 1, "leads";
    LeadDocumentAttached(LeadDocumentAttached) = 1, "leads";
    CustomerIdentified(CustomerIdentified) = 1, "customers";
    CustomerProfileUpdated(CustomerProfileUpdated) = 1, "customers";
    CustomerErased(CustomerErased) = 1, "customers";
    NotificationTemplateDeclared(NotificationTemplateDeclared) = 1, "notifications";
    NotificationRequested(NotificationRequested) = 1, "notifications";
    NotificationDelivered(NotificationDelivered) = 1, "notifications";
    NotificationFailed(NotificationFailed) = 1, "notifications";
    LoyaltyCampaignDeclared(LoyaltyCampaignDeclared) = 1, "loyalty";
    LoyaltyCodesIssued(LoyaltyCodesIssued) = 1, "loyalty";
    LoyaltyCodeAllocated(LoyaltyCodeAllocated) = 1, "loyalty";
    LoyaltyCodeRedeemed(LoyaltyCodeRedeemed) = 1, "loyalty";
    LoyaltyCodeBlocked(LoyaltyCodeBlocked) = 1, "loyalty";
    CatalogueItemDeclared(CatalogueItemDeclared) = 1, "catalogue";
    CatalogueItemRetired(CatalogueItemRetired) = 1, "catalogue";
}

/// Why a stored event could not be decoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    /// The ledger holds a type this build does not know (written by a newer Tally).
    #[error("unknown event type {0}")]
    UnknownType(String),
    /// A version newer than this build's, or one with no upcaster.
    #[error("event type {0} has schema version {1}, which this build cannot read")]
    UnknownVersion(String, u32),
    /// The payload does not match its type's schema.
    #[error("payload of {0} does not match its schema: {1}")]
    Payload(String, String),
}

/// Decodes a stored event, upcasting older schema versions to the current one first.
pub fn decode(event_type: &str, schema_version: u32, payload: serde_json::Value) -> Result<Event, DecodeError> {
    let payload = upcast(event_type, schema_version, payload)?;
    Event::decode_current(event_type, payload)
}

/// Decodes a stored payload text; the fast path for the current version, [`decode`] for older ones.
pub fn decode_str(event_type: &str, schema_version: u32, payload: &str) -> Result<Event, DecodeError> {
    if current_version(event_type) == Some(schema_version) {
        return Event::decode_current_str(event_type, payload);
    }
    let value =
        serde_json::from_str(payload).map_err(|e| DecodeError::Payload(event_type.to_owned(), e.to_string()))?;
    decode(event_type, schema_version, value)
}

fn current_version(event_type: &str) -> Option<u32> {
    Event::CATALOGUE.iter().find(|(name, _, _)| *name == event_type).map(|(_, version, _)| *version)
}

/// Turns a payload of an older schema version into the current version's shape, one version at a time.
///
/// - `BonusAccrued` and `BonusRedeemed` 1 → 2: the till transaction (`sale`) was added; version 1 had none.
/// - `ContactRegistered` and `ContactUpdated` 1 → 2: the details gained an optional `address`; a version 1 payload
///   is a version 2 payload without one.
/// - `ContactRegistered` and `ContactUpdated` 2 → 3: the details may be sealed ([`PersonalDetails`]); a version 2
///   payload is a version 3 payload with its details in the clear. (Sealing needs the contact's key, which an
///   upcaster does not have: Tally seals its stored ones when it starts.)
pub fn upcast(
    event_type: &str,
    schema_version: u32,
    mut payload: serde_json::Value,
) -> Result<serde_json::Value, DecodeError> {
    let current = current_version(event_type).ok_or_else(|| DecodeError::UnknownType(event_type.to_owned()))?;
    let unknown = || DecodeError::UnknownVersion(event_type.to_owned(), schema_version);
    if schema_version == 0 || schema_version > current {
        return Err(unknown());
    }
    for version in schema_version..current {
        match (event_type, version) {
            ("BonusAccrued" | "BonusRedeemed", 1) => {
                let object = payload.as_object_mut().ok_or_else(|| {
                    DecodeError::Payload(event_type.to_owned(), "version 1 payload is not an object".into())
                })?;
                object.insert("sale".into(), serde_json::Value::Null);
            }
            ("ContactRegistered" | "ContactUpdated", 1 | 2) => {}
            _ => return Err(unknown()),
        }
    }
    Ok(payload)
}

/// The family (Kafka topic family) of an event type, e.g. `cards`.
pub fn family_of(event_type: &str) -> Option<&'static str> {
    Event::CATALOGUE.iter().find(|(name, _, _)| *name == event_type).map(|(_, _, family)| *family)
}
