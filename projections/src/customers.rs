//! The customer views of Footprints: each customer (their sealed profile, their leads, whether they were erased)
//! and the identities customers are found by. Both fold events of several streams (a customer's own and their
//! leads'), so each is built to come out the same in any order of those streams (as a replay from Kafka's
//! partitions delivers them): sets rather than lists, the earliest and latest times rather than the first and last
//! seen.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;
use tally_events::{stream, Event, Sealed};
use uuid::Uuid;

use crate::{sql::load, Source, SqlView, View};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerView {
    pub tenant: String,
    pub customer_id: Uuid,
    /// The profile changes, in order: opened and laid over the leads' data, each over the one before.
    pub profile: Vec<Sealed>,
    /// The customer's leads, oldest first (lead ids sort in creation order).
    pub leads: BTreeSet<String>,
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
                    leads: BTreeSet::new(),
                    erased: false,
                    created_at: at,
                    updated_at: at,
                }
            }
        };
        customer.created_at = customer.created_at.min(at);
        customer.updated_at = customer.updated_at.max(at);
        match event {
            Event::LeadAdded(_) => {
                customer.leads.insert(stream::entity_id(source.stream_id, "lead")?.to_owned());
            }
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

/// An identity (a keyed digest) and the customers who had it: the newest of them who is not erased is the one it
/// finds (customer ids sort in creation order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerIdentityView {
    pub tenant: String,
    pub identity: String,
    pub customers: BTreeSet<Uuid>,
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

    fn apply(row: Option<Self>, source: &Source<'_>, event: &Event) -> Option<Self> {
        let (identity, customer_id) = match event {
            Event::LeadAdded(e) => (e.identity.clone()?, e.customer_id),
            Event::CustomerIdentified(e) => {
                (e.identity.clone(), stream::entity_id(source.stream_id, "customer")?.parse().ok()?)
            }
            _ => return row,
        };
        let mut row = row.unwrap_or(CustomerIdentityView {
            tenant: source.tenant.to_owned(),
            identity,
            customers: BTreeSet::new(),
        });
        row.customers.insert(customer_id);
        Some(row)
    }
}

impl SqlView for CustomerIdentityView {
    const TABLE: &'static str = "customer_identity_view";
    const COLUMNS: &'static [&'static str] = &["tenant", "identity", "doc"];
    const KEY_LEN: usize = 2;
    fn columns(&self) -> Vec<Option<String>> {
        vec![Some(self.tenant.clone()), Some(self.identity.clone()), Some(self.doc())]
    }
}

/// The customer an identity finds: the newest who had it and is not erased.
pub async fn find_customer(
    conn: &mut AnyConnection,
    tenant: &str,
    identity: &str,
) -> Result<Option<CustomerView>, sqlx::Error> {
    let Some(known) = load::<CustomerIdentityView>(conn, vec![tenant.to_owned(), identity.to_owned()]).await? else {
        return Ok(None);
    };
    for customer_id in known.customers.iter().rev() {
        match load_customer(conn, tenant, *customer_id).await? {
            Some(customer) if !customer.erased => return Ok(Some(customer)),
            _ => {}
        }
    }
    Ok(None)
}

/// A customer by id.
pub async fn load_customer(
    conn: &mut AnyConnection,
    tenant: &str,
    customer_id: Uuid,
) -> Result<Option<CustomerView>, sqlx::Error> {
    load(conn, vec![tenant.to_owned(), customer_id.to_string()]).await
}
