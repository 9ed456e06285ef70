//! SQL writers of the views: one row per key, the view as a JSON document plus the columns look-ups and unique
//! constraints need. The same SQL runs on SQLite and PostgreSQL (`$n` binds, `ON CONFLICT … DO UPDATE`).

use std::collections::HashMap;

use sqlx::{AnyConnection, Row};
use tally_events::Event;

use crate::{
    AccountView, BusinessView, CardView, ContactView, MoneyAccountView, PromotionView, Source, View, WalletItemView,
};

/// Running totals kept from a view's rows: sums per group, in a table of their own, moved by every row's change in
/// the same transaction, so that a figure over millions of rows is read from a few. A row counts in one group
/// ([`SqlView::totals_entry`]); when it changes, its old entry is taken away and its new one added.
pub struct Totals {
    pub table: &'static str,
    /// The group's columns (text, never NULL), then the summed columns (integers).
    pub keys: &'static [&'static str],
    pub values: &'static [&'static str],
}

/// A view's table: its columns, key first, and the row's values for them.
pub trait SqlView: View {
    /// The totals kept from the rows, if any.
    const TOTALS: Option<&'static Totals> = None;

    /// The row's group in [`SqlView::TOTALS`] and what it adds to the sums there.
    fn totals_entry(&self) -> Option<(Vec<String>, Vec<i64>)> {
        None
    }

    const TABLE: &'static str;
    /// Every column, the key columns first and `doc` last.
    const COLUMNS: &'static [&'static str];
    /// How many of the first `COLUMNS` form the primary key.
    const KEY_LEN: usize;
    /// Every column value of the row, in `COLUMNS` order.
    fn columns(&self) -> Vec<Option<String>>;

    fn doc(&self) -> String {
        serde_json::to_string(self).expect("views serialize")
    }
}

impl SqlView for CardView {
    const TABLE: &'static str = "card_view";
    const COLUMNS: &'static [&'static str] = &["tenant", "number", "live_contact_id", "doc"];
    const KEY_LEN: usize = 2;
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
    const COLUMNS: &'static [&'static str] =
        &["tenant", "contact_id", "code", "mobile_number", "name_key", "surname_key", "postcode_key", "doc"];
    const KEY_LEN: usize = 2;
    fn columns(&self) -> Vec<Option<String>> {
        let (name_key, surname_key) = self.name_keys();
        vec![
            Some(self.tenant.clone()),
            Some(self.contact_id.to_string()),
            Some(self.code.clone()),
            self.details.mobile_number.clone(),
            Some(name_key),
            Some(surname_key),
            self.postcode_key(),
            Some(self.doc()),
        ]
    }
}

impl SqlView for AccountView {
    const TABLE: &'static str = "account_view";
    const COLUMNS: &'static [&'static str] = &["tenant", "contact_id", "next_expiry", "doc"];
    const KEY_LEN: usize = 2;
    fn columns(&self) -> Vec<Option<String>> {
        let next_expiry = self.next_expiry().map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true));
        vec![Some(self.tenant.clone()), Some(self.contact_id.to_string()), next_expiry, Some(self.doc())]
    }
}

impl SqlView for MoneyAccountView {
    const TABLE: &'static str = "money_account_view";
    const COLUMNS: &'static [&'static str] = &["tenant", "account_type", "account_id", "contact_id", "doc"];
    const KEY_LEN: usize = 3;
    fn columns(&self) -> Vec<Option<String>> {
        vec![
            Some(self.tenant.clone()),
            Some(self.account_type.as_str().to_owned()),
            Some(self.account_id.clone()),
            self.contact_id.map(|id| id.to_string()),
            Some(self.doc()),
        ]
    }
}

impl SqlView for PromotionView {
    const TABLE: &'static str = "promotion_view";
    const COLUMNS: &'static [&'static str] = &["business_id", "promotion_id", "tenant", "doc"];
    const KEY_LEN: usize = 2;
    fn columns(&self) -> Vec<Option<String>> {
        vec![
            Some(self.business_id.clone()),
            Some(self.promotion_id.clone()),
            Some(self.tenant.clone()),
            Some(self.doc()),
        ]
    }
}

impl SqlView for BusinessView {
    const TABLE: &'static str = "business_view";
    const COLUMNS: &'static [&'static str] = &["business_id", "tenant", "doc"];
    const KEY_LEN: usize = 1;
    fn columns(&self) -> Vec<Option<String>> {
        vec![Some(self.business_id.clone()), Some(self.tenant.clone()), Some(self.doc())]
    }
}

impl SqlView for WalletItemView {
    const TABLE: &'static str = "wallet_item_view";
    const COLUMNS: &'static [&'static str] = &["wallet_item_id", "business_id", "promotion_id", "doc"];
    const KEY_LEN: usize = 1;
    fn columns(&self) -> Vec<Option<String>> {
        vec![
            Some(self.wallet_item_id.clone()),
            Some(self.business_id.clone()),
            Some(self.promotion_id.clone()),
            Some(self.doc()),
        ]
    }
}

impl SqlView for crate::tally::TallyRow {
    const TABLE: &'static str = "tally_view";
    const COLUMNS: &'static [&'static str] = &["tenant", "business_day", "business_id", "promotion_id", "doc"];
    const KEY_LEN: usize = 4;
    fn columns(&self) -> Vec<Option<String>> {
        vec![
            Some(self.tenant.clone()),
            Some(self.business_day.to_string()),
            Some(self.business_id.clone()),
            Some(self.promotion_id.clone()),
            Some(self.doc()),
        ]
    }
}

/// A stored timestamp (RFC 3339 text).
pub(crate) fn parse_time(text: &str) -> Result<chrono::DateTime<chrono::Utc>, sqlx::Error> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&chrono::Utc))
        .map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// Keys per bulk load.
const KEYS_PER_LOAD: usize = 128;
/// Rows per bulk upsert.
const ROWS_PER_UPSERT: usize = 256;

/// How a statement marks its binds: `$n` on PostgreSQL; on SQLite plain `?`, bound by position. SQLite finds a named
/// bind (`$n`) by a linear scan of the statement's names, and the driver asks once per bind, so a multi-row statement
/// with names costs the square of its binds; positional ones cost nothing to find.
#[derive(Debug, Clone, Copy)]
pub struct BindMarks {
    positional: bool,
}

impl BindMarks {
    pub fn of(conn: &AnyConnection) -> BindMarks {
        BindMarks { positional: conn.backend_name() == "SQLite" }
    }

    /// The mark of the `n`-th bind (from 1); binds must appear in the statement in their order.
    pub fn mark(self, n: usize) -> String {
        if self.positional {
            "?".to_owned()
        } else {
            format!("${n}")
        }
    }

    /// `(mark first, mark first+1, …)` for `count` binds.
    pub fn row(self, first: usize, count: usize) -> String {
        let list: Vec<String> = (first..first + count).map(|n| self.mark(n)).collect();
        format!("({})", list.join(", "))
    }
}

/// Loads the rows of `keys` that exist.
async fn load_many<V: SqlView>(
    conn: &mut AnyConnection,
    keys: &[&Vec<String>],
) -> Result<HashMap<Vec<String>, V>, sqlx::Error> {
    let mut rows = HashMap::new();
    let key_columns = &V::COLUMNS[..V::KEY_LEN];
    let marks = BindMarks::of(conn);
    for chunk in crate::shaped_chunks(keys, KEYS_PER_LOAD) {
        let matches: Vec<String> = (0..chunk.len())
            .map(|k| {
                let terms: Vec<String> = key_columns
                    .iter()
                    .enumerate()
                    .map(|(c, column)| format!("{column} = {}", marks.mark(k * V::KEY_LEN + c + 1)))
                    .collect();
                format!("({})", terms.join(" AND "))
            })
            .collect();
        let sql = format!("SELECT {}, doc FROM {} WHERE {}", key_columns.join(", "), V::TABLE, matches.join(" OR "));
        let mut query = sqlx::query(&sql);
        for key in chunk {
            for part in key.iter() {
                query = query.bind(part.as_str());
            }
        }
        for row in query.fetch_all(&mut *conn).await? {
            let key = (0..V::KEY_LEN).map(|column| row.try_get::<String, _>(column)).collect::<Result<_, _>>()?;
            let doc: &str = row.try_get(V::KEY_LEN)?;
            let view: V = serde_json::from_str(doc).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
            rows.insert(key, view);
        }
    }
    Ok(rows)
}

/// Every row of a view's table, keyed as in memory.
pub(crate) async fn load_all<V: SqlView>(conn: &mut AnyConnection) -> Result<HashMap<Vec<String>, V>, sqlx::Error> {
    let rows: Vec<(String,)> = sqlx::query_as(&format!("SELECT doc FROM {}", V::TABLE)).fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|(doc,)| {
            let view: V = serde_json::from_str(doc).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
            let key = view.columns().into_iter().take(V::KEY_LEN).map(Option::unwrap_or_default).collect();
            Ok((key, view))
        })
        .collect()
}

/// Inserts or replaces rows, many per statement.
pub(crate) async fn upsert_many<V: SqlView>(conn: &mut AnyConnection, rows: &[&V]) -> Result<(), sqlx::Error> {
    let width = V::COLUMNS.len();
    let updates: Vec<String> = V::COLUMNS[V::KEY_LEN..].iter().map(|c| format!("{c} = excluded.{c}")).collect();
    let marks = BindMarks::of(conn);
    for chunk in crate::shaped_chunks(rows, ROWS_PER_UPSERT) {
        let values: Vec<String> = (0..chunk.len()).map(|row| marks.row(row * width + 1, width)).collect();
        let sql = format!(
            "INSERT INTO {} ({}) VALUES {} ON CONFLICT ({}) DO UPDATE SET {}",
            V::TABLE,
            V::COLUMNS.join(", "),
            values.join(", "),
            V::COLUMNS[..V::KEY_LEN].join(", "),
            updates.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for row in chunk {
            for value in row.columns() {
                query = query.bind(value);
            }
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Applies events to one view: loads the rows they touch, folds, and writes back the rows that changed.
pub(crate) async fn apply_view<V: SqlView>(
    conn: &mut AnyConnection,
    batch: &[(Source<'_>, &[Event])],
) -> Result<(), sqlx::Error> {
    let touched: Vec<(Vec<String>, &Source<'_>, &Event)> = batch
        .iter()
        .flat_map(|(source, events)| events.iter().map(move |event| (source, event)))
        .filter_map(|(source, event)| V::key(source, event).map(|key| (key, source, event)))
        .collect();
    if touched.is_empty() {
        return Ok(());
    }
    let mut keys: Vec<&Vec<String>> = touched.iter().map(|(key, _, _)| key).collect();
    keys.sort();
    keys.dedup();
    let mut rows = load_many::<V>(conn, &keys).await?;
    let mut totals = TotalsDelta::default();
    if V::TOTALS.is_some() {
        keys.iter().filter_map(|key| rows.get(*key)?.totals_entry()).for_each(|entry| totals.add(entry, -1));
    }
    for (key, source, event) in &touched {
        fold_keyed(&mut rows, key.clone(), source, event);
    }
    let touched_rows: Vec<&V> = keys.iter().filter_map(|key| rows.get(*key)).collect();
    upsert_many(conn, &touched_rows).await?;
    if let Some(table) = V::TOTALS {
        touched_rows.iter().filter_map(|row| row.totals_entry()).for_each(|entry| totals.add(entry, 1));
        totals.write(conn, table).await?;
    }
    Ok(())
}

/// Changes to running totals, per group.
#[derive(Default)]
pub(crate) struct TotalsDelta(HashMap<Vec<String>, Vec<i64>>);

impl TotalsDelta {
    /// Adds (`sign` 1) or takes away (-1) a row's entry.
    pub(crate) fn add(&mut self, (group, values): (Vec<String>, Vec<i64>), sign: i64) {
        let sums = self.0.entry(group).or_insert_with(|| vec![0; values.len()]);
        sums.iter_mut().zip(values).for_each(|(sum, value)| *sum += sign * value);
    }

    /// Adds the changes to the totals table (groups whose changes cancel out are left alone).
    pub(crate) async fn write(self, conn: &mut AnyConnection, totals: &Totals) -> Result<(), sqlx::Error> {
        let changed: Vec<(Vec<String>, Vec<i64>)> =
            self.0.into_iter().filter(|(_, values)| values.iter().any(|v| *v != 0)).collect();
        let width = totals.keys.len() + totals.values.len();
        let updates: Vec<String> =
            totals.values.iter().map(|c| format!("{c} = {}.{c} + excluded.{c}", totals.table)).collect();
        let marks = BindMarks::of(conn);
        for chunk in crate::shaped_chunks(&changed, ROWS_PER_UPSERT) {
            let rows: Vec<String> = (0..chunk.len()).map(|row| marks.row(row * width + 1, width)).collect();
            let sql = format!(
                "INSERT INTO {} ({}, {}) VALUES {} ON CONFLICT ({}) DO UPDATE SET {}",
                totals.table,
                totals.keys.join(", "),
                totals.values.join(", "),
                rows.join(", "),
                totals.keys.join(", "),
                updates.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for (group, values) in chunk {
                for part in group {
                    query = query.bind(part.as_str());
                }
                for value in values {
                    query = query.bind(*value);
                }
            }
            query.execute(&mut *conn).await?;
        }
        Ok(())
    }
}

/// Replaces a view's totals by those of `rows` (after a rebuild).
pub(crate) async fn rewrite_totals<V: SqlView>(conn: &mut AnyConnection, rows: &[&V]) -> Result<(), sqlx::Error> {
    let Some(table) = V::TOTALS else { return Ok(()) };
    sqlx::query(&format!("DELETE FROM {}", table.table)).execute(&mut *conn).await?;
    let mut totals = TotalsDelta::default();
    rows.iter().filter_map(|row| row.totals_entry()).for_each(|entry| totals.add(entry, 1));
    totals.write(conn, table).await
}

/// Runs a query selecting one `doc` column with text binds and decodes the row's view.
async fn select_doc<V: View>(conn: &mut AnyConnection, sql: &str, binds: &[String]) -> Result<Option<V>, sqlx::Error> {
    let mut query = sqlx::query(sql);
    for part in binds {
        query = query.bind(part.as_str());
    }
    let Some(row) = query.fetch_optional(&mut *conn).await? else { return Ok(None) };
    let doc: String = row.try_get(0)?;
    serde_json::from_str(&doc).map(Some).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

pub(crate) async fn load<V: SqlView>(conn: &mut AnyConnection, key: Vec<String>) -> Result<Option<V>, sqlx::Error> {
    Ok(load_many::<V>(conn, &[&key]).await?.remove(&key))
}

/// The card view of a number.
pub async fn load_card(conn: &mut AnyConnection, tenant: &str, number: &str) -> Result<Option<CardView>, sqlx::Error> {
    load(conn, vec![tenant.to_owned(), number.to_owned()]).await
}

/// The contact view of an id.
pub async fn load_contact(
    conn: &mut AnyConnection,
    tenant: &str,
    contact_id: uuid::Uuid,
) -> Result<Option<ContactView>, sqlx::Error> {
    load(conn, vec![tenant.to_owned(), contact_id.to_string()]).await
}

/// The account view of a contact.
pub async fn load_account(
    conn: &mut AnyConnection,
    tenant: &str,
    contact_id: uuid::Uuid,
) -> Result<Option<AccountView>, sqlx::Error> {
    load(conn, vec![tenant.to_owned(), contact_id.to_string()]).await
}

/// A money account.
pub async fn load_money_account(
    conn: &mut AnyConnection,
    tenant: &str,
    account_type: tally_events::MoneyAccountType,
    account_id: &str,
) -> Result<Option<MoneyAccountView>, sqlx::Error> {
    load(conn, vec![tenant.to_owned(), account_type.as_str().to_owned(), account_id.to_owned()]).await
}

/// The money accounts of a customer, by type and id.
pub async fn money_accounts_of(
    conn: &mut AnyConnection,
    tenant: &str,
    contact_id: uuid::Uuid,
) -> Result<Vec<MoneyAccountView>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT doc FROM money_account_view WHERE tenant = $1 AND contact_id = $2 ORDER BY account_type, account_id",
    )
    .bind(tenant)
    .bind(contact_id.to_string())
    .fetch_all(&mut *conn)
    .await?;
    docs(&rows)
}

/// The views of rows whose first column is a `doc`.
pub(crate) fn docs<V: serde::de::DeserializeOwned>(rows: &[sqlx::any::AnyRow]) -> Result<Vec<V>, sqlx::Error> {
    rows.iter()
        .map(|row| {
            let doc: String = row.try_get(0)?;
            serde_json::from_str(&doc).map_err(|e| sqlx::Error::Decode(Box::new(e)))
        })
        .collect()
}

/// Folds events into in-memory rows of one view: the rebuild's working set.
pub(crate) fn fold_into<V: View>(rows: &mut HashMap<Vec<String>, V>, source: &Source<'_>, event: &Event) {
    if let Some(key) = V::key(source, event) {
        fold_keyed(rows, key, source, event);
    }
}

fn fold_keyed<V: View>(rows: &mut HashMap<Vec<String>, V>, key: Vec<String>, source: &Source<'_>, event: &Event) {
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

/// A page of the merchant's contacts whose surname or name starts with `term` (in
/// [`search_form`](crate::contacts::search_form)), and how many match in all. Those whose surname matches come first,
/// ordered by surname; then those whose name matches (and surname does not), ordered by name.
///
/// Each key has a covering index (tenant, key, the other key, contact id), so each part is one range of one index,
/// read in its order: the counts and the page come from the indexes alone, and only the page's rows from the table.
pub async fn search_contacts_by_name(
    conn: &mut AnyConnection,
    tenant: &str,
    term: &str,
    offset: i64,
    limit: i64,
) -> Result<(i64, Vec<ContactView>), sqlx::Error> {
    // Keys are compared byte by byte (SQLite's BINARY, PostgreSQL's "C" collation): every key that starts with
    // `term` sorts between it and it followed by the greatest code point.
    let upper = format!("{term}\u{10FFFF}");
    let mut tx = snapshot(conn).await?;
    let by_surname = "FROM contact_view WHERE tenant = $1 AND surname_key >= $2 AND surname_key < $3";
    let by_name_only = "FROM contact_view WHERE tenant = $1 AND name_key >= $2 AND name_key < $3 \
                        AND NOT (surname_key >= $2 AND surname_key < $3)";
    let counts = sqlx::query(&format!("SELECT (SELECT COUNT(*) {by_surname}), (SELECT COUNT(*) {by_name_only})"))
        .bind(tenant)
        .bind(term)
        .bind(upper.as_str())
        .fetch_one(&mut *tx)
        .await?;
    let (surnames, names): (i64, i64) = (counts.try_get(0)?, counts.try_get(1)?);
    let mut ids: Vec<String> = Vec::new();
    for (part, count, order, skip) in [
        (by_surname, surnames, "surname_key, name_key", offset),
        (by_name_only, names, "name_key, surname_key", (offset - surnames).max(0)),
    ] {
        let wanted = limit - ids.len() as i64;
        if wanted <= 0 || skip >= count {
            continue;
        }
        let rows = sqlx::query(&format!("SELECT contact_id {part} ORDER BY {order}, contact_id LIMIT $4 OFFSET $5"))
            .bind(tenant)
            .bind(term)
            .bind(upper.as_str())
            .bind(wanted)
            .bind(skip)
            .fetch_all(&mut *tx)
            .await?;
        for row in rows {
            ids.push(row.try_get(0)?);
        }
    }
    Ok((surnames + names, page_of(tx, tenant, ids).await?))
}

/// A transaction in which a search's counts and page come from one snapshot, so that they agree while contacts are
/// being registered.
async fn snapshot(conn: &mut AnyConnection) -> Result<sqlx::Transaction<'_, sqlx::Any>, sqlx::Error> {
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    if tx.backend_name() == "PostgreSQL" {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ").execute(&mut *tx).await?;
    }
    Ok(tx)
}

/// The contacts `ids` of a search's page, in that order, read in its snapshot.
async fn page_of(
    mut tx: sqlx::Transaction<'_, sqlx::Any>,
    tenant: &str,
    ids: Vec<String>,
) -> Result<Vec<ContactView>, sqlx::Error> {
    let keys: Vec<Vec<String>> = ids.into_iter().map(|id| vec![tenant.to_owned(), id]).collect();
    let mut found = load_many::<ContactView>(&mut tx, &keys.iter().collect::<Vec<_>>()).await?;
    tx.commit().await?;
    Ok(keys.iter().filter_map(|key| found.remove(key)).collect())
}

/// A page of the merchant's contacts whose postcode starts with `prefix` (a [`postcode_key`](crate::postcode_key)),
/// ordered by postcode, then surname, and how many match in all: a range of one covering index, as for names.
pub async fn search_contacts_by_postcode(
    conn: &mut AnyConnection,
    tenant: &str,
    prefix: &str,
    offset: i64,
    limit: i64,
) -> Result<(i64, Vec<ContactView>), sqlx::Error> {
    let upper = format!("{prefix}\u{10FFFF}");
    let mut tx = snapshot(conn).await?;
    let matching = "FROM contact_view WHERE tenant = $1 AND postcode_key >= $2 AND postcode_key < $3";
    let total: i64 = sqlx::query(&format!("SELECT COUNT(*) {matching}"))
        .bind(tenant)
        .bind(prefix)
        .bind(upper.as_str())
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
    let rows = sqlx::query(&format!(
        "SELECT contact_id {matching} ORDER BY postcode_key, surname_key, contact_id LIMIT $4 OFFSET $5"
    ))
    .bind(tenant)
    .bind(prefix)
    .bind(upper.as_str())
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *tx)
    .await?;
    let ids = rows.iter().map(|row| row.try_get(0)).collect::<Result<_, sqlx::Error>>()?;
    Ok((total, page_of(tx, tenant, ids).await?))
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
            let contact_id = contact_id.parse().map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
            Ok((row.try_get(0)?, contact_id))
        })
        .collect()
}

/// A promotion's counters.
pub async fn load_promotion(
    conn: &mut AnyConnection,
    business_id: &str,
    promotion_id: &str,
) -> Result<Option<PromotionView>, sqlx::Error> {
    load(conn, vec![business_id.to_owned(), promotion_id.to_owned()]).await
}

/// Who owns a business.
pub async fn load_business(conn: &mut AnyConnection, business_id: &str) -> Result<Option<BusinessView>, sqlx::Error> {
    load(conn, vec![business_id.to_owned()]).await
}

/// The promotion of a wallet item.
pub async fn load_wallet_item(
    conn: &mut AnyConnection,
    wallet_item_id: &str,
) -> Result<Option<WalletItemView>, sqlx::Error> {
    load(conn, vec![wallet_item_id.to_owned()]).await
}
