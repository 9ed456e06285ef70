//! Lead events (stream `lead/{tenant}/{lead_id}`, family `leads`): a lead is a person's interest in an offer, taken
//! by sales staff or a CRM and moved through the pipeline `prospect` → `lead` → `sale_lead` → `opportunity` →
//! `customer`, or marked `lost` with a reason. The person's data and every free text are [`Sealed`] with the key of
//! the customer the lead belongs to; the pipeline's facts (status, catalogue ids, dates, scores) are in the clear.

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Sealed;

/// Where a lead stands in the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LeadStatus {
    Prospect,
    Lead,
    SaleLead,
    Opportunity,
    Customer,
    Lost,
}

impl LeadStatus {
    pub const ALL: [LeadStatus; 6] = [
        LeadStatus::Prospect,
        LeadStatus::Lead,
        LeadStatus::SaleLead,
        LeadStatus::Opportunity,
        LeadStatus::Customer,
        LeadStatus::Lost,
    ];

    /// The wire name (`sale_lead`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            LeadStatus::Prospect => "prospect",
            LeadStatus::Lead => "lead",
            LeadStatus::SaleLead => "sale_lead",
            LeadStatus::Opportunity => "opportunity",
            LeadStatus::Customer => "customer",
            LeadStatus::Lost => "lost",
        }
    }

    pub fn parse(name: &str) -> Option<LeadStatus> {
        LeadStatus::ALL.into_iter().find(|status| status.as_str() == name)
    }

    /// Still being worked on: neither won nor lost.
    pub fn is_open(self) -> bool {
        !matches!(self, LeadStatus::Customer | LeadStatus::Lost)
    }
}

/// Why a lead was lost (Footprints' `reasonLost` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LostReason {
    PoorQualification,
    Need,
    WrongTime,
    PriceTooHigh,
    LostMomentum,
    Competition,
    Abandoned,
    Feature,
    Other,
}

impl LostReason {
    pub const ALL: [LostReason; 9] = [
        LostReason::PoorQualification,
        LostReason::Need,
        LostReason::WrongTime,
        LostReason::PriceTooHigh,
        LostReason::LostMomentum,
        LostReason::Competition,
        LostReason::Abandoned,
        LostReason::Feature,
        LostReason::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LostReason::PoorQualification => "poor_qualification",
            LostReason::Need => "need",
            LostReason::WrongTime => "wrong_time",
            LostReason::PriceTooHigh => "price_too_high",
            LostReason::LostMomentum => "lost_momentum",
            LostReason::Competition => "competition",
            LostReason::Abandoned => "abandoned",
            LostReason::Feature => "feature",
            LostReason::Other => "other",
        }
    }

    pub fn parse(name: &str) -> Option<LostReason> {
        LostReason::ALL.into_iter().find(|reason| reason.as_str() == name)
    }
}

/// Where a lead came from and who works on it: ids in the merchant's catalogue. Absent fields are unknown (in an
/// update: unchanged).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LeadPlacement {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline_campaign_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_category_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consultant_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku_external_id: Option<String>,
}

impl LeadPlacement {
    /// This placement with every field present in `changes` overlaid.
    pub fn overlay(&self, changes: &LeadPlacement) -> LeadPlacement {
        let pick = |new: &Option<String>, old: &Option<String>| new.clone().or_else(|| old.clone());
        LeadPlacement {
            offline_campaign_id: pick(&changes.offline_campaign_id, &self.offline_campaign_id),
            offer_category_id: pick(&changes.offer_category_id, &self.offer_category_id),
            offer_id: pick(&changes.offer_id, &self.offer_id),
            location_id: pick(&changes.location_id, &self.location_id),
            consultant_id: pick(&changes.consultant_id, &self.consultant_id),
            channel_id: pick(&changes.channel_id, &self.channel_id),
            sku_id: pick(&changes.sku_id, &self.sku_id),
            sku_external_id: pick(&changes.sku_external_id, &self.sku_external_id),
        }
    }
}

/// How a person may be reached for marketing, and whether they agreed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MarketingChannel {
    /// `sms`, `email`, `notification`, `dm` or `socialMedia`.
    pub channel: String,
    /// `owner`, `group` or `partners`.
    #[serde(rename = "type")]
    pub kind: String,
    pub agreed: bool,
}

/// The agreements a person gave (or refused) with the lead; absent ones were not asked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Agreements {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms_and_conditions: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy_policy: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targeted_messages: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_adult: Option<bool>,
}

/// A contract signed when a lead became a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Contract {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Sealed>,
}

/// A lead was taken (by `POST /api/lead`, or as a prospect).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LeadAdded {
    /// The customer the lead belongs to: their key seals the personal data.
    pub customer_id: Uuid,
    /// A keyed digest of the person's e-mail address and phone number, by which their customer is found again
    /// (none without both).
    pub identity: Option<String>,
    pub status: LeadStatus,
    pub placement: LeadPlacement,
    /// The person's data as the caller gave it (names, contacts, address, family, work, custom details).
    pub personal: Option<Sealed>,
    pub tags: Vec<String>,
    pub marketing_channels: Vec<MarketingChannel>,
    pub agreements: Agreements,
    /// Net promoter score, 0 to 10.
    pub nps: Option<u8>,
    /// The person's IANA time zone.
    pub timezone: Option<String>,
}

/// Some of a lead's data changed; absent fields are unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LeadUpdated {
    pub placement: LeadPlacement,
    /// The personal fields that changed, sealed.
    pub personal: Option<Sealed>,
    /// The whole new list of tags, when it changed.
    pub tags: Option<Vec<String>>,
}

/// A lead moved in the pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LeadStatusChanged {
    pub from: LeadStatus,
    pub to: LeadStatus,
    /// The contract, when the lead became a customer with one.
    pub contract: Option<Contract>,
}

/// A lead was lost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LeadLost {
    pub from: LeadStatus,
    pub reason: LostReason,
    pub comment: Option<Sealed>,
}

/// A net promoter score was given for a lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LeadNpsRecorded {
    /// 1 to 10.
    pub nps: u8,
    pub comment: Option<Sealed>,
}

/// Something was done, or is planned, about a lead (a call, a meeting…).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LeadActionAdded {
    /// 24 hexadecimal digits.
    pub action_id: String,
    pub action_type_id: String,
    pub detail: Option<Sealed>,
    /// When it happens, in the merchant's wall-clock time as the caller gave it.
    pub date: NaiveDateTime,
}

/// A lead action was changed; absent fields are unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LeadActionUpdated {
    pub action_id: String,
    pub action_type_id: Option<String>,
    pub detail: Option<Sealed>,
    pub date: Option<NaiveDateTime>,
}

/// The kinds of document a lead may carry (Footprints' `documentType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentType {
    Contracts,
    Offers,
    Consents,
}

impl DocumentType {
    pub const ALL: [DocumentType; 3] = [DocumentType::Contracts, DocumentType::Offers, DocumentType::Consents];

    pub fn as_str(self) -> &'static str {
        match self {
            DocumentType::Contracts => "contracts",
            DocumentType::Offers => "offers",
            DocumentType::Consents => "consents",
        }
    }

    pub fn parse(name: &str) -> Option<DocumentType> {
        DocumentType::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

/// A PDF document was attached to a lead. Its content is kept outside the ledger, sealed with the customer's key;
/// the event holds its digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LeadDocumentAttached {
    /// 24 hexadecimal digits.
    pub document_id: String,
    pub document_type: DocumentType,
    /// The file's name as uploaded.
    pub file_name: Sealed,
    /// SHA-256 of the content, in hexadecimal.
    pub sha256: String,
    pub size_bytes: u64,
    /// The lead action the document belongs to, if any.
    pub action_id: Option<String>,
}
