//! The catalogue and organisation lists (`/api/offerCategory`, `/api/offer`, `/api/sku`, `/api/location`,
//! `/api/offlineCampaign`, `/api/business-users`, `/api/channels`): the merchant's live items of each kind, by id,
//! with the seed's fields and paging (`page`; `X-Total-Pages`, `X-Records`, `X-Current-Page`). The catalogue is kept
//! through the native API (`/v1/catalogue`).

use std::collections::HashMap;

use axum::{extract::State, response::Response};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tally_events::CatalogueItem;
use tally_projections::CatalogueView;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{answer, answered, fields::Fields, ErrorBody, FpCaller, FpQuery, Paging, Refused};
use crate::{app::App, auth::Principal, catalogue, http::Shared};

/// Items per page.
const PAGE_SIZE: i64 = 50;

pub fn routes() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(offer_categories))
        .routes(routes!(offers))
        .routes(routes!(skus))
        .routes(routes!(locations))
        .routes(routes!(offline_campaigns))
        .routes(routes!(business_users))
        .routes(routes!(channels))
}

/// The page asked for.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The page, from 1 (50 items a page).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1_000_000)]
    page: Option<String>,
}

/// The page asked for, and where the locations are.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LocationQuery {
    /// The page, from 1 (50 items a page).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1_000_000)]
    page: Option<String>,
    /// Only the locations in this country (in any case).
    country_name: Option<String>,
    /// Only the locations in this county (in any case).
    county_name: Option<String>,
}

/// A price as a JSON number, exactly.
fn number(amount: Decimal) -> Value {
    amount.normalize().to_string().parse().map(Value::Number).unwrap_or(Value::Null)
}

/// The names of the items an answer refers to, each read once.
#[derive(Default)]
struct Names(HashMap<String, Option<String>>);

impl Names {
    /// `{_id, name}` of the item `id` (the name null when it is not in the catalogue any more).
    async fn of(&mut self, app: &App, tenant: &str, id: &str) -> Result<Value, Refused> {
        if !self.0.contains_key(id) {
            let name = catalogue::item(&app.db, tenant, id).await?.map(|view| view.item.name());
            self.0.insert(id.to_owned(), name);
        }
        Ok(json!({"_id": id, "name": self.0[id]}))
    }
}

/// An item as Footprints lists it.
async fn item_answer(app: &App, view: &CatalogueView, names: &mut Names) -> Result<Value, Refused> {
    let tenant = &view.tenant;
    let mut out = Map::new();
    out.insert("_id".into(), json!(view.item_id));
    let fields = match &view.item {
        CatalogueItem::OfferCategory { name } => json!({"name": name}),
        CatalogueItem::Offer { name, price, external_id, offer_category_id } => json!({
            "name": name,
            "price": number(*price),
            "externalId": external_id,
            "offerCategory": names.of(app, tenant, offer_category_id).await?,
        }),
        CatalogueItem::Sku { name, price, external_id, quantity, offer_id } => json!({
            "name": name,
            "price": number(*price),
            "externalId": external_id,
            "quantity": quantity,
            "offer": names.of(app, tenant, offer_id).await?,
        }),
        CatalogueItem::Location { name, description, address, area_id, country, county, coords, image } => json!({
            "timestamp": answer::time(view.updated_at),
            "createdAt": answer::time(view.created_at),
            "areaId": area_id,
            "name": name,
            "description": description.clone().unwrap_or_default(),
            "address": address.clone().unwrap_or_default(),
            "country": country,
            "county": county,
            "__v": view.version - 1,
            "coords": coords.map_or(json!([0, 0]), |[lng, lat]| json!([number(lng), number(lat)])),
            "image": image.clone().unwrap_or_default(),
        }),
        CatalogueItem::OfflineCampaign { name, description, location_id, budget, starts_at, ends_at, image } => json!({
            "locationId": location_id,
            "name": name,
            "description": description.clone().unwrap_or_default(),
            "image": image,
            "type": "offline",
            "budget": number(*budget),
            "startDate": answer::time(*starts_at),
            "endDate": answer::time(*ends_at),
            "timestamp": answer::time(view.updated_at),
            "createdAt": answer::time(view.created_at),
            "drawFrequency": {"repeats": "none", "frequency": null, "day": null, "end": {"type": "", "value": ""}},
            "winningType": [],
            "__v": view.version - 1,
        }),
        CatalogueItem::Channel { name, media_type } => json!({"name": name, "mediaType": media_type}),
        CatalogueItem::BusinessUser {
            first_name,
            last_name,
            email,
            phone,
            group_role,
            role,
            location_ids,
            offer_category_ids,
        } => {
            let mut locations = Vec::with_capacity(location_ids.len());
            for id in location_ids {
                locations.push(names.of(app, tenant, id).await?);
            }
            let mut categories = Vec::with_capacity(offer_category_ids.len());
            for id in offer_category_ids {
                categories.push(names.of(app, tenant, id).await?);
            }
            json!({
                "locations": locations,
                "offerCategories": categories,
                "firstName": first_name,
                "lastName": last_name,
                "email": email,
                "phone": phone.clone().unwrap_or_default(),
                "groupRole": group_role,
                "role": role,
            })
        }
    };
    if let Value::Object(fields) = fields {
        out.extend(fields);
    }
    Ok(Value::Object(out))
}

/// A page of the live items of `kind`, answered with the paging headers.
async fn page_of(
    app: &App,
    principal: &Principal,
    kind: &str,
    page: Option<&str>,
    place: (Option<&str>, Option<&str>),
) -> Response {
    let mut paging = None;
    let listed = async {
        let fields = Fields(Map::from_iter([("page".to_owned(), json!(page))]));
        let page = fields.whole("page", 1, 1_000_000)?.unwrap_or(1);
        let (views, total) =
            catalogue::list(&app.db, &principal.tenant, kind, place, (page - 1) * PAGE_SIZE, PAGE_SIZE).await?;
        paging = Some(Paging { page, size: PAGE_SIZE, total });
        let mut names = Names::default();
        let mut answers = Vec::with_capacity(views.len());
        for view in &views {
            answers.push(item_answer(app, view, &mut names).await?);
        }
        Ok(Value::Array(answers))
    };
    let response = answered(listed.await);
    match paging {
        Some(paging) => paging.headers(response),
        None => response,
    }
}

/// List the offer categories (catalogues).
#[utoipa::path(get, path = "/api/offerCategory", tag = "footprints", params(PageQuery), responses(
    (status = 200, description = "[{_id, name}], 50 a page; X-Total-Pages, X-Records, X-Current-Page"),
    (status = 400, description = "page is not a whole number from 1", body = ErrorBody),
))]
async fn offer_categories(
    State(app): State<Shared>,
    FpCaller { 0: principal, .. }: FpCaller,
    FpQuery { 0: query, .. }: FpQuery<PageQuery>,
) -> Response {
    page_of(&app, &principal, "offer_category", query.page.as_deref(), (None, None)).await
}

/// List the offers.
#[utoipa::path(get, path = "/api/offer", tag = "footprints", params(PageQuery), responses(
    (status = 200, description = "[{_id, name, price, externalId, offerCategory: {_id, name}}], 50 a page; \
        X-Total-Pages, X-Records, X-Current-Page"),
    (status = 400, description = "page is not a whole number from 1", body = ErrorBody),
))]
async fn offers(
    State(app): State<Shared>,
    FpCaller { 0: principal, .. }: FpCaller,
    FpQuery { 0: query, .. }: FpQuery<PageQuery>,
) -> Response {
    page_of(&app, &principal, "offer", query.page.as_deref(), (None, None)).await
}

/// List the SKUs.
#[utoipa::path(get, path = "/api/sku", tag = "footprints", params(PageQuery), responses(
    (status = 200, description = "[{_id, name, price, externalId, quantity, offer: {_id, name}}], 50 a page; \
        X-Total-Pages, X-Records, X-Current-Page"),
    (status = 400, description = "page is not a whole number from 1", body = ErrorBody),
))]
async fn skus(
    State(app): State<Shared>,
    FpCaller { 0: principal, .. }: FpCaller,
    FpQuery { 0: query, .. }: FpQuery<PageQuery>,
) -> Response {
    page_of(&app, &principal, "sku", query.page.as_deref(), (None, None)).await
}

/// List the business locations.
#[utoipa::path(get, path = "/api/location", tag = "footprints", params(LocationQuery), responses(
    (status = 200, description = "[{_id, name, description, address, areaId, coords, image, …}], 50 a page; \
        X-Total-Pages, X-Records, X-Current-Page"),
    (status = 400, description = "page is not a whole number from 1", body = ErrorBody),
))]
async fn locations(
    State(app): State<Shared>,
    FpCaller { 0: principal, .. }: FpCaller,
    FpQuery { 0: query, .. }: FpQuery<LocationQuery>,
) -> Response {
    let place = (query.country_name.as_deref(), query.county_name.as_deref());
    page_of(&app, &principal, "location", query.page.as_deref(), place).await
}

/// List the offline campaigns.
#[utoipa::path(get, path = "/api/offlineCampaign", tag = "footprints", params(PageQuery), responses(
    (status = 200, description = "[{_id, locationId, name, type, budget, startDate, endDate, …}], 50 a page; \
        X-Total-Pages, X-Records, X-Current-Page"),
    (status = 400, description = "page is not a whole number from 1", body = ErrorBody),
))]
async fn offline_campaigns(
    State(app): State<Shared>,
    FpCaller { 0: principal, .. }: FpCaller,
    FpQuery { 0: query, .. }: FpQuery<PageQuery>,
) -> Response {
    page_of(&app, &principal, "offline_campaign", query.page.as_deref(), (None, None)).await
}

/// List the business users (sales staff: a lead's consultant).
#[utoipa::path(get, path = "/api/business-users", tag = "footprints", params(PageQuery), responses(
    (status = 200, description = "[{_id, locations, offerCategories, firstName, lastName, email, phone, groupRole, \
        role}], 50 a page; X-Total-Pages, X-Records, X-Current-Page"),
    (status = 400, description = "page is not a whole number from 1", body = ErrorBody),
))]
async fn business_users(
    State(app): State<Shared>,
    FpCaller { 0: principal, .. }: FpCaller,
    FpQuery { 0: query, .. }: FpQuery<PageQuery>,
) -> Response {
    page_of(&app, &principal, "business_user", query.page.as_deref(), (None, None)).await
}

/// List the channels.
#[utoipa::path(get, path = "/api/channels", tag = "footprints", params(PageQuery), responses(
    (status = 200, description = "[{_id, name, mediaType}], 50 a page; X-Total-Pages, X-Records, X-Current-Page"),
    (status = 400, description = "page is not a whole number from 1", body = ErrorBody),
))]
async fn channels(
    State(app): State<Shared>,
    FpCaller { 0: principal, .. }: FpCaller,
    FpQuery { 0: query, .. }: FpQuery<PageQuery>,
) -> Response {
    page_of(&app, &principal, "channel", query.page.as_deref(), (None, None)).await
}
