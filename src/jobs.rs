//! Periodic jobs of the core: burning expired bonus lots and letting stale till reservations lapse.

use std::time::Duration;

use chrono::Utc;
use tally_events::{Actor, Role};

use crate::{
    app::App,
    commands::{Command, Outcome, Stream},
    domain::account::{AccountAggregate, AccountCommand},
    store::StoreError,
};

/// The actor of commands the system issues on its own.
pub fn system(principal: &str) -> Actor {
    Actor { principal: principal.to_owned(), role: Role::System }
}

/// Burns expired lots and lapses stale reservations: every account with a lot or an open reservation past its
/// expiry gets an `ExpireDue` command. Returns the number of lots burnt and reservations lapsed.
pub async fn expire_due(app: &App) -> Result<usize, StoreError> {
    let due = tally_projections::accounts_due(&mut *app.db.read.acquire().await?, Utc::now(), 1000).await?;
    let mut burnt = 0;
    for (tenant, contact_id) in due {
        let target = AccountAggregate::target(contact_id, AccountCommand::ExpireDue);
        if let Outcome::Executed { result: Ok(events), .. } =
            app.executor.execute(Command::new(&tenant, system("expiry-job"), target)).await?
        {
            burnt += events.len();
        }
    }
    Ok(burnt)
}

/// Runs [`expire_due`] every `interval`, for as long as the process lives.
pub async fn expiry_job(app: std::sync::Arc<App>, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    loop {
        ticks.tick().await;
        match expire_due(&app).await {
            Ok(0) => {}
            Ok(done) => tracing::info!(done, "expired bonus lots burnt and stale reservations lapsed"),
            Err(error) => tracing::error!(%error, "expiry job failed; it will try again"),
        }
    }
}
