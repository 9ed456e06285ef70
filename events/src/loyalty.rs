//! Loyalty campaign events (stream `loyalty-campaign/{tenant}/{internal_id}`, family `loyalty`): a campaign of
//! Footprints' loyalty codes, declared through the native API; the codes issued to it, per prize type; each code
//! allocated to a client, then redeemed or blocked once. The client is named by a keyed digest of their e-mail
//! address and phone (the identity their customer is found by), never in the clear.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A campaign was declared, or changed (the whole declaration each time; a new version: the stream's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LoyaltyCampaignDeclared {
    /// Footprints' `_id` (24 hexadecimal digits), given at the first declaration and kept.
    pub id: String,
    pub name: String,
    /// Footprints' campaign `type` (`drive_loyalty`, …).
    pub campaign_type: String,
    /// Codes are allocated from `starts_at` until `ends_at`.
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Codes are redeemed or blocked until then.
    pub codes_expire_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<CampaignLocation>,
    pub settings: LoyaltySettings,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub landing_page_url: Option<String>,
}

/// Where a campaign runs (a location of the catalogue).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CampaignLocation {
    pub id: String,
    pub name: String,
}

/// How a campaign's codes look, and the prizes they stand for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LoyaltySettings {
    /// Footprints' `loyaltySettings.type` (`standard` or `instant`).
    pub kind: String,
    /// The characters generated codes are made of.
    pub allowed_chars: String,
    /// The length of generated codes.
    pub code_length: u8,
    pub prize_types: Vec<PrizeType>,
}

/// A prize a code stands for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PrizeType {
    /// 24 hexadecimal digits.
    pub id: String,
    pub name: String,
    pub points_value: i64,
}

/// Codes were issued to the campaign for a prize type: free until allocated. One call issues them all or none;
/// a large one is recorded as several of these (at most 5,000 codes each), appended together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LoyaltyCodesIssued {
    pub prize_id: String,
    pub codes: Vec<String>,
}

/// A free code was handed to a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LoyaltyCodeAllocated {
    pub code: String,
    pub prize_id: String,
    /// The client: a keyed digest of their e-mail address and phone.
    pub holder: String,
    /// The customer the client is (whose key seals their data).
    pub customer_id: Uuid,
    /// Who handed it out (the caller's principal).
    pub handed_out_by: String,
}

/// The client's code was redeemed: its prize was given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LoyaltyCodeRedeemed {
    pub code: String,
    /// The code's prize type.
    pub prize_id: String,
    pub by: String,
}

/// The client's code was blocked: it can no longer be redeemed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LoyaltyCodeBlocked {
    pub code: String,
    /// The code's prize type.
    pub prize_id: String,
    pub by: String,
}
