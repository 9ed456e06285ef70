//! The customer views of Footprints: each customer (their sealed profile, their leads, whether they were erased)
//! and the identities customers are found by.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;
use tally_events::{stream, Event, Sealed};
use uuid::Uuid;

use crate::{
    sql::{docs, load},
    Source, SqlView, View,
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerView {
    pub tenant: String,
    pub customer_id: Uuid,
    /// The profile changes, in order: opened and laid over the leads' data, each over the one before.
    pub profile: Vec<Sealed>,
    /// The customer's leads, oldest first.
    pub leads: Vec<String>,
    pub erased: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl View for CustomerView {
    fn key(source: &Source<'_>, event: &Event) -> Option<Vec<String>> {
        let customer_id = match event {
            Event::LeadAdded(e) => e.customer_id.to_string(),
            Event::CustomerIdentified(_) | Event::CustomerProfileUpdated(_) | Event::CustomerErased(_) => {
                stream::entity_id(source.stream_id, "customer")?.to_owned()
            }
            _ => return None,
        };
        Some(vec![source.tenant.to_owned(), customer_id])
    }

    fn apply(row: Option<Self>, source: &Source<'_>, event: &Event) -> Option<Self> {
        let at = source.occurred_at;
        let mut customer = match row {
            Some(customer) => customer,
            None => {
                let customer_id = match event {
                    Event::LeadAdded(e) => e.customer_id,
                    _ => stream::entity_id(source.stream_id, "customer")?.parse().ok()?,
                };
                CustomerView {
                    tenant: source.tenant.to_owned(),
                    customer_id,
                    profile: vec![],
                    leads: vec![],
                    erased: false,
                    created_at: at,
                    updated_at: at,
                }
            }
        };
        customer.updated_at = at;
        match event {
            Event::LeadAdded(_) => customer.leads.push(stream::entity_id(source.stream_id, "lead")?.to_owned()),
            Event::CustomerProfileUpdated(e) => customer.profile.push(e.personal.clone()),
            Event::CustomerErased(_) => {
                // Nothing sealed for them opens any more; the view keeps no ciphertext either.
                customer.erased = true;
                customer.profile.clear();
            }
            _ => {}
        }
        Some(customer)
    }
}

impl SqlView for CustomerView {
    const TABLE: &'static str = "customer_view";
    const COLUMNS: &'static [&'static str] = &["tenant", "customer_id", "erased", "doc"];
    const KEY_LEN: usize = 2;
    fn columns(&self) -> Vec<Option<String>> {
        vec![
            Some(self.tenant.clone()),
            Some(self.customer_id.to_string()),
            Some(if self.erased { "1" } else { "0" }.to_owned()),
            Some(self.doc()),
        ]
    }
}

/// An identity (a keyed digest) and the customer it finds: the latest one that took it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerIdentityView {
    pub tenant: String,
    pub identity: String,
    pub customer_id: Uuid,
}

impl View for CustomerIdentityView {
    fn key(source: &Source<'_>, event: &Event) -> Option<Vec<String>> {
        let identity = match event {
            Event::LeadAdded(e) => e.identity.clone()?,
            Event::CustomerIdentified(e) => e.identity.clone(),
            _ => return None,
        };
        Some(vec![source.tenant.to_owned(), identity])
    }

    fn apply(_: Option<Self>, source: &Source<'_>, event: &Event) -> Option<Self> {
        let (identity, customer_id) = match event {
            Event::LeadAdded(e) => (e.identity.clone()?, e.customer_id),
            Event::CustomerIdentified(e) => {
                (e.identity.clone(), stream::entity_id(source.stream_id, "customer")?.parse().ok()?)
            }
            _ => return None,
        };
        Some(CustomerIdentityView { tenant: source.tenant.to_owned(), identity, customer_id })
    }
}

impl SqlView for CustomerIdentityView {
    const TABLE: &'static str = "customer_identity_view";
    const COLUMNS: &'static [&'static str] = &["tenant", "identity", "customer_id", "doc"];
    const KEY_LEN: usize = 2;
    fn columns(&self) -> Vec<Option<String>> {
        vec![
            Some(self.tenant.clone()),
            Some(self.identity.clone()),
            Some(self.customer_id.to_string()),
            Some(self.doc()),
        ]
    }
}

/// The customer an identity finds, unless they were erased.
pub async fn find_customer(
    conn: &mut AnyConnection,
    tenant: &str,
    identity: &str,
) -> Result<Option<CustomerView>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT c.doc FROM customer_identity_view i JOIN customer_view c \
         ON c.tenant = i.tenant AND c.customer_id = i.customer_id \
         WHERE i.tenant = $1 AND i.identity = $2 AND c.erased = '0'",
    )
    .bind(tenant)
    .bind(identity)
    .fetch_all(&mut *conn)
    .await?;
    Ok(docs::<CustomerView>(&rows)?.pop())
}

/// A customer by id.
pub async fn load_customer(
    conn: &mut AnyConnection,
    tenant: &str,
    customer_id: Uuid,
) -> Result<Option<CustomerView>, sqlx::Error> {
    load(conn, vec![tenant.to_owned(), customer_id.to_string()]).await
}
