//! Customer search: the till's "Search by Name" and "Search by Postcode", answered as Enactor's paged array list.

use axum::{extract::State, http::StatusCode, response::Response, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use tally_events::Role;
use tally_projections::postcode_key;

use super::{Enactor, ErrorMessage, Refused};
use crate::{
    app::App,
    auth::Principal,
    http::{
        ingress::{Incoming, KeyPolicy},
        Shared,
    },
    queries::{self, CustomerSearch},
};

/// Rows per page when the till does not say, and at most.
const DEFAULT_ROWS: i64 = 20;
const MAX_ROWS: i64 = 100;

pub fn routes() -> OpenApiRouter<Shared> {
    OpenApiRouter::new().routes(routes!(name_search)).routes(routes!(postcode_search))
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

/// `customerPostcodeSearchRequest`: the postcode, or its start, and the page.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = enactor::CustomerPostcodeSearchRequest)]
pub struct PostcodeSearch {
    #[serde(rename = "@type", default)]
    #[schema(rename = "@type", pattern = "^customerPostcodeSearchRequest$")]
    kind: Option<String>,
    /// A postcode or its start, in any case, with or without spaces: `sw1a` finds `SW1A 2AA`.
    #[schema(min_length = 1, max_length = 16, pattern = r"[A-Za-z0-9]")]
    postcode: String,
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

/// A search's answer: `customerNameSearchResponse` or `customerPostcodeSearchResponse`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = enactor::CustomerSearchResponse)]
pub struct SearchResponse {
    #[serde(rename = "@type")]
    #[schema(rename = "@type", pattern = "^customer(Name|Postcode)SearchResponse$")]
    kind: &'static str,
    paged_array_list: PagedArrayList,
}

/// The properties of a row, in the order of its values.
const PROPERTIES: [&str; 10] = [
    "customerNumber",
    "name",
    "mobilePhoneNumber",
    "emailAddress",
    "street1",
    "street2",
    "town",
    "county",
    "postCode",
    "country",
];

/// A customer search request: its `@type` and page, and what it looks for.
trait SearchRequest: serde::de::DeserializeOwned {
    /// The request's `@type`, and its answer's.
    const KIND: &'static str;
    const ANSWER: &'static str;
    fn kind(&self) -> &Option<String>;
    fn page(&self) -> &PageInfo;
    fn types(&self) -> &[String];
    fn search(&self) -> CustomerSearch<'_>;
}

impl SearchRequest for NameSearch {
    const KIND: &'static str = "customerNameSearchRequest";
    const ANSWER: &'static str = "customerNameSearchResponse";
    fn kind(&self) -> &Option<String> {
        &self.kind
    }
    fn page(&self) -> &PageInfo {
        &self.page_info
    }
    fn types(&self) -> &[String] {
        &self.types
    }
    fn search(&self) -> CustomerSearch<'_> {
        CustomerSearch::Name(&self.search_name)
    }
}

impl SearchRequest for PostcodeSearch {
    const KIND: &'static str = "customerPostcodeSearchRequest";
    const ANSWER: &'static str = "customerPostcodeSearchResponse";
    fn kind(&self) -> &Option<String> {
        &self.kind
    }
    fn page(&self) -> &PageInfo {
        &self.page_info
    }
    fn types(&self) -> &[String] {
        &self.types
    }
    fn search(&self) -> CustomerSearch<'_> {
        CustomerSearch::Postcode(&self.postcode)
    }
}

/// Customer name search: the customers whose name or surname starts with `searchName`, ordered by surname, a page
/// at a time (`pageInfo.rowOffset`, `pageInfo.rowCount`).
#[utoipa::path(post, path = "/customers/nameSearch", tag = "enactor", request_body = NameSearch, responses(
    (status = 200, description = "A page of the customers found", body = SearchResponse),
    (status = 403, description = "A customer's own session (role client) may not search", body = ErrorMessage),
    (status = 422, description = "No search text, or a page out of range", body = ErrorMessage),
))]
async fn name_search(State(app): State<Shared>, incoming: Incoming) -> Result<Json<SearchResponse>, Response> {
    answer::<NameSearch>(&app, incoming).await
}

/// Customer postcode search: the customers whose postcode starts with `postcode`, ordered by postcode and surname,
/// a page at a time.
#[utoipa::path(post, path = "/customers/postcodeSearch", tag = "enactor", request_body = PostcodeSearch, responses(
    (status = 200, description = "A page of the customers found", body = SearchResponse),
    (status = 403, description = "A customer's own session (role client) may not search", body = ErrorMessage),
    (status = 422, description = "No postcode, or a page out of range", body = ErrorMessage),
))]
async fn postcode_search(State(app): State<Shared>, incoming: Incoming) -> Result<Json<SearchResponse>, Response> {
    answer::<PostcodeSearch>(&app, incoming).await
}

/// A search over REST: the request read and its `@type`s checked (the page's, when given, must be `pageInfo`).
async fn answer<T: SearchRequest>(app: &App, incoming: Incoming) -> Result<Json<SearchResponse>, Response> {
    let till = incoming.admit(app, &Enactor, KeyPolicy::Optional).await?;
    let request: T =
        serde_json::from_slice(&till.body).map_err(|e| invalid(format!("not a {}: {e}", T::KIND)).rest())?;
    let typed = |kind: &Option<String>, name: &str| kind.as_deref().is_none_or(|kind| kind == name);
    if !typed(request.kind(), T::KIND) || !typed(&request.page().kind, "pageInfo") {
        return Err(invalid(format!("@type must be {}, and pageInfo's pageInfo", T::KIND)).rest());
    }
    tracing::debug!(types = ?request.types(), search = T::KIND, "Enactor customer search");
    let page = (request.page().row_offset, request.page().row_count);
    let list = search_customers(app, &till.principal, request.search(), page).await.map_err(Refused::rest)?;
    Ok(Json(SearchResponse { kind: T::ANSWER, paged_array_list: list }))
}

fn invalid(text: String) -> Refused {
    Refused::new(StatusCode::UNPROCESSABLE_ENTITY, "InvalidRequest", text)
}

/// The page (`offset`, rows) of the customers a search finds, as the `principal` may see them.
pub(super) async fn search_customers(
    app: &App,
    principal: &Principal,
    search: CustomerSearch<'_>,
    (offset, rows): (i64, Option<i64>),
) -> Result<PagedArrayList, Refused> {
    if principal.role == Role::Client {
        let text = "a customer's own session may not search other customers";
        return Err(Refused::new(StatusCode::FORBIDDEN, "Forbidden", text));
    }
    let rows = rows.unwrap_or(DEFAULT_ROWS);
    let search = match search {
        CustomerSearch::Name(text) if text.trim().is_empty() || text.chars().count() > 100 => {
            return Err(invalid("searchName must be 1 to 100 characters, not all blank".into()));
        }
        CustomerSearch::Postcode(text) if postcode_key(text).is_empty() || text.chars().count() > 16 => {
            return Err(invalid("postcode must be 1 to 16 characters, with a letter or digit (A to Z, 0 to 9)".into()));
        }
        CustomerSearch::Name(text) => CustomerSearch::Name(text.trim()),
        postcode => postcode,
    };
    if !(1..=MAX_ROWS).contains(&rows) || !(0..=1_000_000_000).contains(&offset) {
        return Err(invalid(format!("pageInfo.rowCount must be 1 to {MAX_ROWS} and rowOffset not negative")));
    }
    let (total, contacts) = queries::search_contacts(&app.db, &principal.tenant, search, offset, rows)
        .await
        .map_err(|error| Refused::outage(&error))?;
    let contents = contacts
        .into_iter()
        .map(|contact| {
            let details = contact.details;
            let address = details.address.unwrap_or_default();
            let values = vec![
                Some(contact.code.clone()),
                details.name.clone(),
                details.mobile_number,
                details.email,
                address.street1,
                address.street2,
                address.town,
                address.county,
                address.postcode,
                address.country,
            ];
            ListElement {
                kind: "listElement",
                description_property: details.name.unwrap_or_default(),
                key: CustomerKey { kind: "customerKey", id: contact.code },
                data: ListData { values, properties: &PROPERTIES },
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
