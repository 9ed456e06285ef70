//! SQL writers of the views: one row per key, the view as a JSON document plus the columns look-ups and unique
//! constraints need. The same SQL runs on SQLite and PostgreSQL (`$n` binds, `ON CONFLICT … DO UPDATE`).

use std::collections::HashMap;

use sqlx::{AnyConnection, Row};
use tally_events::Event;

use crate::{AccountView, CardView, ContactView, Source, View};

/// A view's table: how to load a row by key and how to write it back.
pub trait SqlView: View {
    const TABLE: &'static str;
    /// Selects `doc` by the key columns, bound in order.
    const LOAD: &'static str;
    /// Inserts or replaces the row; binds are [`SqlView::columns`] in order.
    const UPSERT: &'static str;
    /// Every column value of the row, in the order of `UPSERT`'s binds (the JSON document last).
    fn columns(&self) -> Vec<Option<String>>;

    fn doc(&self) -> String {
        serde_json::to_string(self).expect("views serialize")
    }
}

impl SqlView for CardView {
    const TABLE: &'static str = "card_view";
    const LOAD: &'static str = "SELECT doc FROM card_view WHERE tenant = $1 AND number = $2";
    const UPSERT: &'static str = "INSERT INTO card_view (tenant, number, live_contact_id, doc) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (tenant, number) DO UPDATE SET live_contact_id = excluded.live_contact_id, doc = excluded.doc";
    fn columns(&self) -> Vec<Option<String>> {
        vec![
            Some(self.tenant.clone()),
            Some(self.number.clone()),
            self.live_contact_id().map(|id| id.to_string()),
            Some(self.doc()),
        ]
    }
}

impl SqlView for ContactView {
    const TABLE: &'static str = "contact_view";
    const LOAD: &'static str = "SELECT doc FROM contact_view WHERE tenant = $1 AND contact_id = $2";
    const UPSERT: &'static str =
        "INSERT INTO contact_view (tenant, contact_id, code, mobile_number, doc) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (tenant, contact_id) DO UPDATE SET code = excluded.code, mobile_number = excluded.mobile_number, \
         doc = excluded.doc";
    fn columns(&self) -> Vec<Option<String>> {
        vec![
            Some(self.tenant.clone()),
            Some(self.contact_id.to_string()),
            Some(self.code.clone()),
            self.details.mobile_number.clone(),
            Some(self.doc()),
        ]
    }
}

impl SqlView for AccountView {
    const TABLE: &'static str = "account_view";
    const LOAD: &'static str = "SELECT doc FROM account_view WHERE tenant = $1 AND contact_id = $2";
    const UPSERT: &'static str = "INSERT INTO account_view (tenant, contact_id, next_expiry, doc) \
         VALUES ($1, $2, $3, $4) \
         ON CONFLICT (tenant, contact_id) DO UPDATE SET next_expiry = excluded.next_expiry, doc = excluded.doc";
    fn columns(&self) -> Vec<Option<String>> {
        let next_expiry = self
            .next_expiry()
            .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true));
        vec![
            Some(self.tenant.clone()),
            Some(self.contact_id.to_string()),
            next_expiry,
            Some(self.doc()),
        ]
    }
}

async fn load<V: SqlView>(
    conn: &mut AnyConnection,
    key: &[String],
) -> Result<Option<V>, sqlx::Error> {
    select_doc(conn, V::LOAD, key).await
}

/// Runs a query selecting one `doc` column with text binds and decodes the row's view.
async fn select_doc<V: View>(
    conn: &mut AnyConnection,
    sql: &str,
    binds: &[String],
) -> Result<Option<V>, sqlx::Error> {
    let mut query = sqlx::query(sql);
    for part in binds {
        query = query.bind(part.as_str());
    }
    let Some(row) = query.fetch_optional(&mut *conn).await? else {
        return Ok(None);
    };
    let doc: String = row.try_get(0)?;
    serde_json::from_str(&doc)
        .map(Some)
        .map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

pub(crate) async fn upsert<V: SqlView>(
    conn: &mut AnyConnection,
    row: &V,
) -> Result<(), sqlx::Error> {
    let mut query = sqlx::query(V::UPSERT);
    for value in row.columns() {
        query = query.bind(value);
    }
    query.execute(&mut *conn).await?;
    Ok(())
}

/// Applies one event to one view inside the caller's transaction, when the event concerns it.
async fn apply_one<V: SqlView>(
    conn: &mut AnyConnection,
    source: &Source<'_>,
    event: &Event,
) -> Result<(), sqlx::Error> {
    let Some(key) = V::key(source, event) else {
        return Ok(());
    };
    let before = load::<V>(conn, &key).await?;
    if let Some(after) = V::apply(before.clone(), source, event) {
        if Some(&after) != before.as_ref() {
            upsert(conn, &after).await?;
        }
    }
    Ok(())
}

/// Updates every inline view for events just appended, in the append's transaction. A unique constraint of a view
/// (one live card per contact, one contact per mobile number or code) fails the whole append.
pub async fn apply_inline(
    conn: &mut AnyConnection,
    source: &Source<'_>,
    events: &[Event],
) -> Result<(), sqlx::Error> {
    for event in events {
        apply_one::<CardView>(conn, source, event).await?;
        apply_one::<ContactView>(conn, source, event).await?;
        apply_one::<AccountView>(conn, source, event).await?;
    }
    Ok(())
}

/// The card view of a number.
pub async fn load_card(
    conn: &mut AnyConnection,
    tenant: &str,
    number: &str,
) -> Result<Option<CardView>, sqlx::Error> {
    load(conn, &[tenant.to_owned(), number.to_owned()]).await
}

/// The contact view of an id.
pub async fn load_contact(
    conn: &mut AnyConnection,
    tenant: &str,
    contact_id: uuid::Uuid,
) -> Result<Option<ContactView>, sqlx::Error> {
    load(conn, &[tenant.to_owned(), contact_id.to_string()]).await
}

/// The account view of a contact.
pub async fn load_account(
    conn: &mut AnyConnection,
    tenant: &str,
    contact_id: uuid::Uuid,
) -> Result<Option<AccountView>, sqlx::Error> {
    load(conn, &[tenant.to_owned(), contact_id.to_string()]).await
}

/// Folds events into in-memory rows of one view: the rebuild's working set.
pub(crate) fn fold_into<V: View>(
    rows: &mut HashMap<Vec<String>, V>,
    source: &Source<'_>,
    event: &Event,
) {
    let Some(key) = V::key(source, event) else {
        return;
    };
    let before = rows.remove(&key);
    if let Some(after) = V::apply(before, source, event) {
        rows.insert(key, after);
    }
}

/// The contact with this normalized mobile number.
pub async fn find_contact_by_mobile(
    conn: &mut AnyConnection,
    tenant: &str,
    mobile_number: &str,
) -> Result<Option<ContactView>, sqlx::Error> {
    let sql = "SELECT doc FROM contact_view WHERE tenant = $1 AND mobile_number = $2";
    select_doc(conn, sql, &[tenant.to_owned(), mobile_number.to_owned()]).await
}

/// The contact with this contact code.
pub async fn find_contact_by_code(
    conn: &mut AnyConnection,
    tenant: &str,
    code: &str,
) -> Result<Option<ContactView>, sqlx::Error> {
    let sql = "SELECT doc FROM contact_view WHERE tenant = $1 AND code = $2";
    select_doc(conn, sql, &[tenant.to_owned(), code.to_owned()]).await
}

/// The contact's live card: bound to it and not blocked for replacement.
pub async fn find_live_card(
    conn: &mut AnyConnection,
    tenant: &str,
    contact_id: uuid::Uuid,
) -> Result<Option<CardView>, sqlx::Error> {
    let sql = "SELECT doc FROM card_view WHERE tenant = $1 AND live_contact_id = $2";
    select_doc(conn, sql, &[tenant.to_owned(), contact_id.to_string()]).await
}

/// Accounts holding a lot whose expiry is at or before `now`, as (tenant, contact id).
pub async fn accounts_due(
    conn: &mut AnyConnection,
    now: chrono::DateTime<chrono::Utc>,
    limit: i64,
) -> Result<Vec<(String, uuid::Uuid)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT tenant, contact_id FROM account_view WHERE next_expiry <= $1 ORDER BY next_expiry LIMIT $2",
    )
    .bind(now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let contact_id: String = row.try_get(1)?;
            let contact_id = contact_id
                .parse()
                .map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
            Ok((row.try_get(0)?, contact_id))
        })
        .collect()
}
