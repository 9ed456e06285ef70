//! Customer name search: the till's "Search by Name", answered as Enactor's paged array list.

use axum::{extract::State, http::StatusCode, response::Response, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use tally_events::Role;

use super::{Enactor, ErrorMessage, Refused};
use crate::{
    app::App,
    auth::Principal,
    http::{
        ingress::{Incoming, KeyPolicy},
        Shared,
    },
    queries,
};

/// Rows per page when the till does not say, and at most.
const DEFAULT_ROWS: i64 = 20;
const MAX_ROWS: i64 = 100;

pub fn routes() -> OpenApiRouter<Shared> {
    OpenApiRouter::new().routes(routes!(name_search))
}

/// Which page a till asks for.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = enactor::PageInfo)]
pub struct PageInfo {
    #[serde(rename = "@type", default)]
    #[schema(rename = "@type", pattern = "^pageInfo$")]
    kind: Option<String>,
    /// Rows to skip: 0 for the first page.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    row_offset: i64,
    /// Rows per page: 1 to 100; 20 when absent.
    #[schema(minimum = 1, maximum = 100)]
    row_count: Option<i64>,
}

/// `customerNameSearchRequest`: the text the operator typed, and the page.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = enactor::CustomerNameSearchRequest)]
pub struct NameSearch {
    #[serde(rename = "@type", default)]
    #[schema(rename = "@type", pattern = "^customerNameSearchRequest$")]
    kind: Option<String>,
    /// The start of the customer's name or surname, in any case: `pet` finds Anna Petrova, as do `anna` and
    /// `petrova a`.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    search_name: String,
    /// Customer types to search (Tally has one kind of customer: ignored).
    #[serde(default)]
    types: Vec<String>,
    #[serde(default)]
    page_info: PageInfo,
}

/// A customer's key.
#[derive(Serialize, ToSchema)]
#[schema(as = enactor::CustomerKey)]
pub struct CustomerKey {
    #[serde(rename = "@type")]
    #[schema(rename = "@type")]
    pub(super) kind: &'static str,
    /// The customer number (the contact code).
    pub(super) id: String,
}

/// A row's values, and the names of the properties they are, in the same order.
#[derive(Serialize, ToSchema)]
#[schema(as = enactor::ListData)]
pub struct ListData {
    pub(super) values: Vec<Option<String>>,
    pub(super) properties: &'static [&'static str],
}

/// One customer found.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = enactor::ListElement)]
pub struct ListElement {
    #[serde(rename = "@type")]
    #[schema(rename = "@type")]
    pub(super) kind: &'static str,
    pub(super) key: CustomerKey,
    /// What the till shows for the row: the name.
    pub(super) description_property: String,
    pub(super) data: ListData,
}

/// A page of customers, and where it sits in the whole result.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = enactor::PagedArrayList)]
pub struct PagedArrayList {
    #[serde(rename = "@type")]
    #[schema(rename = "@type")]
    pub(super) kind: &'static str,
    pub(super) rows_per_page: i64,
    pub(super) current_row_offset: i64,
    pub(super) total_rows: i64,
    pub(super) contents: Vec<ListElement>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = enactor::CustomerNameSearchResponse)]
pub struct NameSearchResponse {
    #[serde(rename = "@type")]
    #[schema(rename = "@type")]
    kind: &'static str,
    paged_array_list: PagedArrayList,
}

/// The properties of a row, in the order of its values.
const PROPERTIES: [&str; 4] = ["customerNumber", "name", "mobilePhoneNumber", "emailAddress"];

/// Customer name search: the customers whose name or surname starts with `searchName`, ordered by surname, a page
/// at a time (`pageInfo.rowOffset`, `pageInfo.rowCount`).
#[utoipa::path(post, path = "/customers/nameSearch", tag = "enactor", request_body = NameSearch, responses(
    (status = 200, description = "A page of the customers found", body = NameSearchResponse),
    (status = 403, description = "A customer's own session (role client) may not search", body = ErrorMessage),
    (status = 422, description = "No search text, or a page out of range", body = ErrorMessage),
))]
async fn name_search(State(app): State<Shared>, incoming: Incoming) -> Result<Json<NameSearchResponse>, Response> {
    let till = incoming.admit(&app, &Enactor, KeyPolicy::Optional).await?;
    let invalid = |text: String| Refused::new(StatusCode::UNPROCESSABLE_ENTITY, "InvalidRequest", text).rest();
    let request: NameSearch =
        serde_json::from_slice(&till.body).map_err(|e| invalid(format!("not a customerNameSearchRequest: {e}")))?;
    let typed = |kind: &Option<String>, name: &str| kind.as_deref().is_none_or(|kind| kind == name);
    if !typed(&request.kind, "customerNameSearchRequest") || !typed(&request.page_info.kind, "pageInfo") {
        return Err(invalid("@type must be customerNameSearchRequest, and pageInfo's pageInfo".into()));
    }
    tracing::debug!(types = ?request.types, "Enactor customer name search");
    let page = (request.page_info.row_offset, request.page_info.row_count);
    let list = search(&app, &till.principal, &request.search_name, page).await.map_err(Refused::rest)?;
    Ok(Json(NameSearchResponse { kind: "customerNameSearchResponse", paged_array_list: list }))
}

/// The page (`offset`, rows) of the customers whose surname or name starts with `text`, as the `principal` may see.
pub(super) async fn search(
    app: &App,
    principal: &Principal,
    text: &str,
    (offset, rows): (i64, Option<i64>),
) -> Result<PagedArrayList, Refused> {
    if principal.role == Role::Client {
        let text = "a customer's own session may not search other customers";
        return Err(Refused::new(StatusCode::FORBIDDEN, "Forbidden", text));
    }
    let invalid = |text: String| Refused::new(StatusCode::UNPROCESSABLE_ENTITY, "InvalidRequest", text);
    let rows = rows.unwrap_or(DEFAULT_ROWS);
    if text.trim().is_empty() || text.chars().count() > 100 {
        return Err(invalid("searchName must be 1 to 100 characters, not all blank".into()));
    }
    if !(1..=MAX_ROWS).contains(&rows) || !(0..=1_000_000_000).contains(&offset) {
        return Err(invalid(format!("pageInfo.rowCount must be 1 to {MAX_ROWS} and rowOffset not negative")));
    }
    let (total, contacts) = queries::contacts_by_name(&app.db, &principal.tenant, text.trim(), offset, rows)
        .await
        .map_err(|error| Refused::outage(&error))?;
    let contents = contacts
        .into_iter()
        .map(|contact| {
            // Only named customers match a name search.
            let details = contact.details;
            ListElement {
                kind: "listElement",
                description_property: details.name.clone().unwrap_or_default(),
                key: CustomerKey { kind: "customerKey", id: contact.code.clone() },
                data: ListData {
                    values: vec![Some(contact.code), details.name, details.mobile_number, details.email],
                    properties: &PROPERTIES,
                },
            }
        })
        .collect();
    Ok(PagedArrayList {
        kind: "pagedArrayList",
        rows_per_page: rows,
        current_row_offset: offset,
        total_rows: total,
        contents,
    })
}
