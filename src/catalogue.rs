//! The merchant's catalogue, as every surface works with it: an item, a page of one kind's items, and whether the
//! ids a lead refers to name live items of their kinds.

use tally_projections::CatalogueView;

use crate::store::{Db, StoreError};

/// Every kind of item, by name.
pub const KINDS: [&str; 7] =
    ["offer_category", "offer", "sku", "location", "offline_campaign", "channel", "business_user"];

pub async fn item(db: &Db, tenant: &str, item_id: &str) -> Result<Option<CatalogueView>, StoreError> {
    Ok(tally_projections::load_catalogue_item(&mut *db.read.acquire().await?, tenant, item_id).await?)
}

/// The item `item_id` if it is a live one of `kind`.
pub async fn live(db: &Db, tenant: &str, kind: &str, item_id: &str) -> Result<Option<CatalogueView>, StoreError> {
    Ok(item(db, tenant, item_id).await?.filter(|view| !view.retired && view.item.kind() == kind))
}

/// A page of the live items of `kind` (locations in the country and county given), and how many there are.
pub async fn list(
    db: &Db,
    tenant: &str,
    kind: &str,
    place: (Option<&str>, Option<&str>),
    offset: i64,
    limit: i64,
) -> Result<(Vec<CatalogueView>, i64), StoreError> {
    let mut conn = db.read.acquire().await?;
    Ok(tally_projections::list_catalogue(&mut conn, tenant, kind, place, offset, limit).await?)
}

/// A reference to an item: its kind, the field that holds it, and the id.
pub struct Ref<'a> {
    pub kind: &'static str,
    pub field: &'static str,
    pub id: Option<&'a str>,
}

/// The field and id of the first of `refs` that names no live item of its kind.
pub async fn first_unknown(
    db: &Db,
    tenant: &str,
    refs: &[Ref<'_>],
) -> Result<Option<(&'static str, String)>, StoreError> {
    for reference in refs {
        if let Some(id) = reference.id {
            if live(db, tenant, reference.kind, id).await?.is_none() {
                return Ok(Some((reference.field, id.to_owned())));
            }
        }
    }
    Ok(None)
}
