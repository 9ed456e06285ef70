//! `/v1/catalogue`: the merchant's catalogue (offer categories, offers, SKUs, locations, offline campaigns, channels
//! and business users), which Footprints lists and leads refer to. Reference data: each declaration of an item is
//! an event; a retired item is no longer listed nor taken by new leads.

use axum::{extract::State, http::StatusCode, response::Response, Json};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tally_events::CatalogueItem;
use tally_projections::CatalogueView;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{identifier, required_text, write, ApiError, ErrorBody, V1Caller, V1Path, V1Query, Written};
use crate::{
    app::App,
    auth::Principal,
    catalogue,
    commands::Stream,
    domain::{
        catalogue::{CatalogueAggregate, CatalogueCommand},
        ids::is_email,
    },
    http::ingress::Incoming,
    http::{openapi::decimal, Shared},
};

/// Items per page of the list.
const PAGE_SIZE: u32 = 100;
/// The most locations or offer categories a business user has.
const MAX_LINKS: usize = 100;

pub fn routes() -> OpenApiRouter<Shared> {
    OpenApiRouter::new().routes(routes!(declare_item, get_item, retire_item)).routes(routes!(list_items))
}

/// An item's id.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ItemPath {
    /// 1 to 64 letters, digits, `_` or `-` (what leads give as `locationId`, `offerId`, …).
    #[param(pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    item_id: String,
}

fn price_schema() -> impl Into<utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>> {
    decimal("0 to 1,000,000,000, at most 4 decimal places")
}

fn coords_schema() -> impl Into<utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>> {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(decimal("a longitude (-180 to 180), then a latitude (-90 to 90)"))
        .min_items(Some(2))
        .max_items(Some(2))
}

/// An item, by its `kind`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ItemText {
    OfferCategory {
        name: String,
    },
    Offer {
        name: String,
        #[schema(schema_with = price_schema)]
        price: Decimal,
        #[serde(default)]
        external_id: Option<String>,
        /// A live offer category.
        offer_category_id: String,
    },
    Sku {
        name: String,
        #[schema(schema_with = price_schema)]
        price: Decimal,
        #[serde(default)]
        external_id: Option<String>,
        #[schema(minimum = 0, maximum = 1_000_000)]
        quantity: u32,
        /// A live offer.
        offer_id: String,
    },
    Location {
        name: String,
        #[serde(default)]
        description: Option<String>,
        #[serde(default)]
        address: Option<String>,
        #[serde(default)]
        area_id: Option<String>,
        /// What `GET /api/location?country_name=` finds it by.
        #[serde(default)]
        country: Option<String>,
        /// What `GET /api/location?county_name=` finds it by.
        #[serde(default)]
        county: Option<String>,
        /// Longitude (-180 to 180) and latitude (-90 to 90).
        #[serde(default)]
        #[schema(schema_with = coords_schema)]
        coords: Option<[Decimal; 2]>,
        #[serde(default)]
        image: Option<String>,
    },
    OfflineCampaign {
        name: String,
        #[serde(default)]
        description: Option<String>,
        /// A live location.
        #[serde(default)]
        location_id: Option<String>,
        #[schema(schema_with = price_schema)]
        budget: Decimal,
        start_date: DateTime<Utc>,
        /// After `start_date`.
        end_date: DateTime<Utc>,
        #[serde(default)]
        image: Option<String>,
    },
    Channel {
        name: String,
        /// `Earned Media`, `Owned Media`, `Paid Media`, …
        media_type: String,
    },
    BusinessUser {
        first_name: String,
        last_name: String,
        email: String,
        #[serde(default)]
        phone: Option<String>,
        /// E.g. `sales`.
        group_role: String,
        /// E.g. `consultant`.
        role: String,
        /// Live locations (at most 100).
        #[serde(default)]
        location_ids: Vec<String>,
        /// Live offer categories (at most 100).
        #[serde(default)]
        offer_category_ids: Vec<String>,
    },
}

/// A price or budget that can be kept.
fn price(amount: Decimal, name: &str) -> Result<Decimal, ApiError> {
    if amount < Decimal::ZERO || amount > Decimal::from(1_000_000_000) || amount.normalize().scale() > 4 {
        return Err(ApiError::invalid(format!("{name} must be 0 to 1,000,000,000 with at most 4 decimal places")));
    }
    Ok(amount.normalize())
}

/// An optional text of 1 to 200 characters.
fn optional(text: Option<String>, name: &str) -> Result<Option<String>, ApiError> {
    if let Some(text) = &text {
        required_text(text, name)?;
    }
    Ok(text)
}

/// `id` must name a live item of `kind`.
async fn live(app: &App, tenant: &str, kind: &str, id: &str, name: &str) -> Result<String, ApiError> {
    let id = identifier(id, name)?;
    match catalogue::live(&app.db, tenant, kind, &id).await? {
        Some(_) => Ok(id),
        None => Err(ApiError::invalid(format!("{name} {id} names no {kind} of the catalogue"))),
    }
}

/// The item `text` declares, checked (the items it refers to must be live).
async fn item_of(app: &App, tenant: &str, text: ItemText) -> Result<CatalogueItem, ApiError> {
    Ok(match text {
        ItemText::OfferCategory { name } => {
            required_text(&name, "name")?;
            CatalogueItem::OfferCategory { name }
        }
        ItemText::Offer { name, price: amount, external_id, offer_category_id } => {
            required_text(&name, "name")?;
            CatalogueItem::Offer {
                name,
                price: price(amount, "price")?,
                external_id: optional(external_id, "external_id")?,
                offer_category_id: live(app, tenant, "offer_category", &offer_category_id, "offer_category_id").await?,
            }
        }
        ItemText::Sku { name, price: amount, external_id, quantity, offer_id } => {
            required_text(&name, "name")?;
            if quantity > 1_000_000 {
                return Err(ApiError::invalid("quantity must be 0 to 1,000,000"));
            }
            CatalogueItem::Sku {
                name,
                price: price(amount, "price")?,
                external_id: optional(external_id, "external_id")?,
                quantity,
                offer_id: live(app, tenant, "offer", &offer_id, "offer_id").await?,
            }
        }
        ItemText::Location { name, description, address, area_id, country, county, coords, image } => {
            required_text(&name, "name")?;
            if let Some([lng, lat]) = coords {
                if lng.abs() > Decimal::from(180) || lat.abs() > Decimal::from(90) {
                    return Err(ApiError::invalid(
                        "coords must be a longitude (-180 to 180) and a latitude (-90 to 90)",
                    ));
                }
            }
            CatalogueItem::Location {
                name,
                description: optional(description, "description")?,
                address: optional(address, "address")?,
                area_id: optional(area_id, "area_id")?,
                country: optional(country, "country")?,
                county: optional(county, "county")?,
                coords,
                image: optional(image, "image")?,
            }
        }
        ItemText::OfflineCampaign { name, description, location_id, budget, start_date, end_date, image } => {
            required_text(&name, "name")?;
            if start_date >= end_date {
                return Err(ApiError::invalid("start_date must be before end_date"));
            }
            let location_id = match location_id {
                Some(id) => Some(live(app, tenant, "location", &id, "location_id").await?),
                None => None,
            };
            CatalogueItem::OfflineCampaign {
                name,
                description: optional(description, "description")?,
                location_id,
                budget: price(budget, "budget")?,
                starts_at: start_date,
                ends_at: end_date,
                image: optional(image, "image")?,
            }
        }
        ItemText::Channel { name, media_type } => {
            required_text(&name, "name")?;
            required_text(&media_type, "media_type")?;
            CatalogueItem::Channel { name, media_type }
        }
        ItemText::BusinessUser {
            first_name,
            last_name,
            email,
            phone,
            group_role,
            role,
            location_ids,
            offer_category_ids,
        } => {
            for (text, name) in
                [(&first_name, "first_name"), (&last_name, "last_name"), (&group_role, "group_role"), (&role, "role")]
            {
                required_text(text, name)?;
            }
            if !is_email(&email) {
                return Err(ApiError::invalid("email must be an e-mail address"));
            }
            if location_ids.len() > MAX_LINKS || offer_category_ids.len() > MAX_LINKS {
                return Err(ApiError::invalid(format!("at most {MAX_LINKS} locations and offer categories")));
            }
            let mut locations = Vec::with_capacity(location_ids.len());
            for id in &location_ids {
                locations.push(live(app, tenant, "location", id, "location_ids").await?);
            }
            let mut categories = Vec::with_capacity(offer_category_ids.len());
            for id in &offer_category_ids {
                categories.push(live(app, tenant, "offer_category", id, "offer_category_ids").await?);
            }
            CatalogueItem::BusinessUser {
                first_name,
                last_name,
                email,
                phone: optional(phone, "phone")?,
                group_role,
                role,
                location_ids: locations,
                offer_category_ids: categories,
            }
        }
    })
}

/// The text of a kept item.
fn text_of(item: CatalogueItem) -> ItemText {
    match item {
        CatalogueItem::OfferCategory { name } => ItemText::OfferCategory { name },
        CatalogueItem::Offer { name, price, external_id, offer_category_id } => {
            ItemText::Offer { name, price, external_id, offer_category_id }
        }
        CatalogueItem::Sku { name, price, external_id, quantity, offer_id } => {
            ItemText::Sku { name, price, external_id, quantity, offer_id }
        }
        CatalogueItem::Location { name, description, address, area_id, country, county, coords, image } => {
            ItemText::Location { name, description, address, area_id, country, county, coords, image }
        }
        CatalogueItem::OfflineCampaign { name, description, location_id, budget, starts_at, ends_at, image } => {
            ItemText::OfflineCampaign {
                name,
                description,
                location_id,
                budget,
                start_date: starts_at,
                end_date: ends_at,
                image,
            }
        }
        CatalogueItem::Channel { name, media_type } => ItemText::Channel { name, media_type },
        CatalogueItem::BusinessUser {
            first_name,
            last_name,
            email,
            phone,
            group_role,
            role,
            location_ids,
            offer_category_ids,
        } => ItemText::BusinessUser {
            first_name,
            last_name,
            email,
            phone,
            group_role,
            role,
            location_ids,
            offer_category_ids,
        },
    }
}

/// Declare an item of the catalogue, or change one (a change records an event; the same item again records
/// nothing). An id keeps its kind.
#[utoipa::path(put, path = "/catalogue/{item_id}", tag = "v1", params(ItemPath), request_body = ItemText, responses(
    (status = 200, description = "Declared (no events when nothing changed)", body = Written),
    (status = 409, description = "The id names an item of another kind (CatalogueKindChanged)", body = ErrorBody),
    (status = 422, description = "An item that cannot be kept, or one that refers to no live item", body = ErrorBody),
))]
async fn declare_item(
    State(app): State<Shared>,
    V1Path { 0: ItemPath { item_id }, .. }: V1Path<ItemPath>,
    incoming: Incoming,
) -> Response {
    let plan = async move |app: &App, principal: &Principal, text: ItemText| {
        let item_id = identifier(&item_id, "item_id")?;
        let item = item_of(app, &principal.tenant, text).await?;
        Ok(CatalogueAggregate::target(item_id, CatalogueCommand::Declare(Box::new(item))))
    };
    write(&app, incoming, plan, |envelopes| (StatusCode::OK, Written::of(envelopes))).await
}

/// Retire an item: it is no longer listed, nor taken by new leads.
#[utoipa::path(delete, path = "/catalogue/{item_id}", tag = "v1", params(ItemPath), responses(
    (status = 200, description = "Retired (no events when it was already)", body = Written),
    (status = 404, description = "No such item", body = ErrorBody),
))]
async fn retire_item(
    State(app): State<Shared>,
    V1Path { 0: ItemPath { item_id }, .. }: V1Path<ItemPath>,
    incoming: Incoming,
) -> Response {
    let plan = async move |_: &App, _: &Principal, _: Option<serde_json::Value>| {
        let item_id = identifier(&item_id, "item_id")?;
        Ok(CatalogueAggregate::target(item_id, CatalogueCommand::Retire))
    };
    write(&app, incoming, plan, |envelopes| (StatusCode::OK, Written::of(envelopes))).await
}

/// An item as it is now.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemBody {
    item_id: String,
    /// How many times it was declared.
    version: u32,
    item: ItemText,
    updated_at: DateTime<Utc>,
}

impl From<CatalogueView> for ItemBody {
    fn from(view: CatalogueView) -> ItemBody {
        ItemBody { item_id: view.item_id, version: view.version, item: text_of(view.item), updated_at: view.updated_at }
    }
}

/// A live item.
#[utoipa::path(get, path = "/catalogue/{item_id}", tag = "v1", params(ItemPath), responses(
    (status = 200, description = "The item", body = ItemBody),
    (status = 404, description = "No such item (CatalogueItemNotFound), or it was retired (CatalogueItemRetired)",
        body = ErrorBody),
))]
async fn get_item(
    State(app): State<Shared>,
    V1Caller { 0: principal, .. }: V1Caller,
    V1Path { 0: ItemPath { item_id }, .. }: V1Path<ItemPath>,
) -> Result<Json<ItemBody>, ApiError> {
    let view = catalogue::item(&app.db, &principal.tenant, &item_id)
        .await?
        .ok_or_else(|| ApiError::not_found("CatalogueItemNotFound", "no catalogue item with this id"))?;
    if view.retired {
        return Err(ApiError::not_found("CatalogueItemRetired", "the item was retired (a PUT declares it again)"));
    }
    Ok(Json(view.into()))
}

/// Which items to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `offer_category`, `offer`, `sku`, `location`, `offline_campaign`, `channel` or `business_user`.
    #[param(pattern = "^(offer_category|offer|sku|location|offline_campaign|channel|business_user)$")]
    kind: String,
    /// The page, from 1 (100 items a page).
    #[param(minimum = 1)]
    page: Option<u32>,
}

/// A page of the live items of a kind, by id.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemList {
    items: Vec<ItemBody>,
    /// Live items of the kind in all.
    total: i64,
    page: u32,
}

/// The live items of a kind.
#[utoipa::path(get, path = "/catalogue", tag = "v1", params(ListQuery), responses(
    (status = 200, description = "A page of the live items of the kind, by id", body = ItemList),
    (status = 422, description = "An unknown kind, or a page below 1", body = ErrorBody),
))]
async fn list_items(
    State(app): State<Shared>,
    V1Caller { 0: principal, .. }: V1Caller,
    V1Query { 0: query, .. }: V1Query<ListQuery>,
) -> Result<Json<ItemList>, ApiError> {
    if !catalogue::KINDS.contains(&query.kind.as_str()) {
        return Err(ApiError::invalid(format!("kind must be one of {}", catalogue::KINDS.join(", "))));
    }
    let page = query.page.unwrap_or(1);
    if page == 0 {
        return Err(ApiError::invalid("page must be 1 or more"));
    }
    let offset = i64::from(page - 1) * i64::from(PAGE_SIZE);
    let (views, total) =
        catalogue::list(&app.db, &principal.tenant, &query.kind, (None, None), offset, i64::from(PAGE_SIZE)).await?;
    Ok(Json(ItemList { items: views.into_iter().map(ItemBody::from).collect(), total, page }))
}
