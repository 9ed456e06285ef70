//! Catalogue events (stream `catalogue/{tenant}/{item_id}`, family `catalogue`): the merchant's reference data that
//! Footprints lists and leads refer to — offer categories, offers, SKUs, locations, offline campaigns, channels and
//! business users. Each declaration holds the whole item (a new version: the stream's); a retired item is no longer
//! listed nor taken by new leads.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An item of the catalogue, by kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CatalogueItem {
    OfferCategory {
        name: String,
    },
    Offer {
        name: String,
        price: Decimal,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        external_id: Option<String>,
        offer_category_id: String,
    },
    Sku {
        name: String,
        price: Decimal,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        external_id: Option<String>,
        quantity: u32,
        offer_id: String,
    },
    Location {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        address: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        area_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        country: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        county: Option<String>,
        /// Longitude and latitude, exact decimals (a float would not survive the tagged enum with arbitrary
        /// precision numbers).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        coords: Option<[Decimal; 2]>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        image: Option<String>,
    },
    OfflineCampaign {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        location_id: Option<String>,
        budget: Decimal,
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        image: Option<String>,
    },
    Channel {
        name: String,
        /// `Earned Media`, `Owned Media`, `Paid Media`, …
        media_type: String,
    },
    /// A member of the merchant's sales staff (a lead's consultant): their work contact details, as the merchant
    /// lists them.
    BusinessUser {
        first_name: String,
        last_name: String,
        email: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        phone: Option<String>,
        group_role: String,
        role: String,
        location_ids: Vec<String>,
        offer_category_ids: Vec<String>,
    },
}

impl CatalogueItem {
    /// The kind's name (`offer_category`, `offer`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            CatalogueItem::OfferCategory { .. } => "offer_category",
            CatalogueItem::Offer { .. } => "offer",
            CatalogueItem::Sku { .. } => "sku",
            CatalogueItem::Location { .. } => "location",
            CatalogueItem::OfflineCampaign { .. } => "offline_campaign",
            CatalogueItem::Channel { .. } => "channel",
            CatalogueItem::BusinessUser { .. } => "business_user",
        }
    }

    /// The name it is listed by.
    pub fn name(&self) -> String {
        match self {
            CatalogueItem::OfferCategory { name }
            | CatalogueItem::Offer { name, .. }
            | CatalogueItem::Sku { name, .. }
            | CatalogueItem::Location { name, .. }
            | CatalogueItem::OfflineCampaign { name, .. }
            | CatalogueItem::Channel { name, .. } => name.clone(),
            CatalogueItem::BusinessUser { first_name, last_name, .. } => format!("{first_name} {last_name}"),
        }
    }
}

/// An item was declared, or changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CatalogueItemDeclared {
    pub item: CatalogueItem,
}

/// The item was retired: no longer listed, nor taken by new leads (those that have it keep it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CatalogueItemRetired {}
