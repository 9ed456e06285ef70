//! The catalogue view: each item of the merchant's catalogue as declared last, with its version, and whether it was
//! retired. It folds one item's stream only.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;
use tally_events::{stream, CatalogueItem, Event};

use crate::{
    sql::{docs, load},
    Source, SqlView, View,
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogueView {
    pub tenant: String,
    pub item_id: String,
    pub item: CatalogueItem,
    /// How many times it was declared.
    pub version: u32,
    pub retired: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl View for CatalogueView {
    fn key(source: &Source<'_>, event: &Event) -> Option<Vec<String>> {
        match event {
            Event::CatalogueItemDeclared(_) | Event::CatalogueItemRetired(_) => {
                Some(vec![source.tenant.to_owned(), stream::entity_id(source.stream_id, "catalogue")?.to_owned()])
            }
            _ => None,
        }
    }

    fn apply(row: Option<Self>, source: &Source<'_>, event: &Event) -> Option<Self> {
        let at = source.occurred_at;
        match (row, event) {
            (None, Event::CatalogueItemDeclared(e)) => Some(CatalogueView {
                tenant: source.tenant.to_owned(),
                item_id: stream::entity_id(source.stream_id, "catalogue")?.to_owned(),
                item: e.item.clone(),
                version: 1,
                retired: false,
                created_at: at,
                updated_at: at,
            }),
            (Some(row), Event::CatalogueItemDeclared(e)) => Some(CatalogueView {
                item: e.item.clone(),
                version: row.version + 1,
                retired: false,
                updated_at: at,
                ..row
            }),
            (Some(row), Event::CatalogueItemRetired(_)) => Some(CatalogueView { retired: true, updated_at: at, ..row }),
            (row, _) => row,
        }
    }
}

/// A place's name as the filters compare it.
fn folded(name: &Option<String>) -> Option<String> {
    name.as_ref().map(|name| name.trim().to_lowercase())
}

impl SqlView for CatalogueView {
    const TABLE: &'static str = "catalogue_view";
    const COLUMNS: &'static [&'static str] = &["tenant", "item_id", "kind", "country", "county", "retired", "doc"];
    const KEY_LEN: usize = 2;
    fn columns(&self) -> Vec<Option<String>> {
        let (country, county) = match &self.item {
            CatalogueItem::Location { country, county, .. } => (folded(country), folded(county)),
            _ => (None, None),
        };
        vec![
            Some(self.tenant.clone()),
            Some(self.item_id.clone()),
            Some(self.item.kind().to_owned()),
            country,
            county,
            Some(if self.retired { "1" } else { "0" }.to_owned()),
            Some(self.doc()),
        ]
    }
}

/// An item by id, retired or not.
pub async fn load_catalogue_item(
    conn: &mut AnyConnection,
    tenant: &str,
    item_id: &str,
) -> Result<Option<CatalogueView>, sqlx::Error> {
    load(conn, vec![tenant.to_owned(), item_id.to_owned()]).await
}

/// A page of the items of `kind` not retired, by id, in the country and county given (in any case), and how many
/// there are in all.
pub async fn list_catalogue(
    conn: &mut AnyConnection,
    tenant: &str,
    kind: &str,
    place: (Option<&str>, Option<&str>),
    offset: i64,
    limit: i64,
) -> Result<(Vec<CatalogueView>, i64), sqlx::Error> {
    let country = place.0.map(|c| c.trim().to_lowercase()).unwrap_or_default();
    let county = place.1.map(|c| c.trim().to_lowercase()).unwrap_or_default();
    let filter = "FROM catalogue_view WHERE tenant = $1 AND kind = $2 AND retired = '0' \
        AND ($3 = '' OR country = $3) AND ($4 = '' OR county = $4)";
    let (total,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) {filter}"))
        .bind(tenant)
        .bind(kind)
        .bind(&country)
        .bind(&county)
        .fetch_one(&mut *conn)
        .await?;
    let rows = sqlx::query(&format!("SELECT doc {filter} ORDER BY item_id LIMIT $5 OFFSET $6"))
        .bind(tenant)
        .bind(kind)
        .bind(&country)
        .bind(&county)
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await?;
    Ok((docs(&rows)?, total))
}
