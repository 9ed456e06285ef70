//! The `erasures` ledger subscriber: for every `CustomerErased`, the customer's key is destroyed. The request that
//! erased the customer destroys it at once; this makes sure of it whatever happened in between (a crash after the
//! commit), once, at least.

use std::sync::Arc;

use tally_events::{stream, Envelope};

use crate::{
    app::App,
    subscriber::{BoxError, Subscriber, Ticket},
};

pub struct Erasures(pub Arc<App>);

impl Subscriber for Erasures {
    fn name(&self) -> &str {
        "erasures"
    }

    async fn handle(&mut self, page: &[Envelope]) -> Result<Ticket, BoxError> {
        for envelope in page.iter().filter(|e| e.event_type == "CustomerErased") {
            let customer = stream::entity_id(&envelope.stream_id, "customer")
                .and_then(|id| id.parse().ok())
                .ok_or_else(|| format!("a CustomerErased on the stream {}", envelope.stream_id))?;
            self.0.vault.erase(&self.0.db, &envelope.tenant, customer).await?;
        }
        Ok(Ticket::done())
    }
}
