//! The vending timers: every purchase whose timer fell due (`vend_view.due_at`) gets its step — a lock never
//! answered or a selection never made is cancelled; a dispense result that never came is reconciled by asking the
//! platform about the machine (`/api/vmc_search`). The due times live in the view, so a restart resumes every
//! open purchase; the steps are decided on the stream, so two processes running the job change nothing twice.

use std::{sync::Arc, time::Duration};

use chrono::Utc;

use super::{step, By};
use crate::{
    app::App,
    domain::vend::{Phase, VendCommand},
    jobs::system,
    store::StoreError,
};

/// Purchases handled per look, at most.
const BATCH: i64 = 500;

/// Takes the step of every purchase whose timer fell due; returns how many there were.
pub async fn settle_due(app: &App) -> Result<usize, StoreError> {
    let due = tally_projections::vends_due(&mut *app.db.read.acquire().await?, Utc::now(), BATCH).await?;
    let timings = &app.vending.timings;
    for (tenant, txn_ref) in &due {
        let vend = super::load(app, tenant, txn_ref).await?;
        let by = By { tenant, actor: system("vending-timers"), cause: None };
        let command = match (&vend.phase, &app.vending.platform, vend.started.as_ref()) {
            (Phase::Approved { .. }, Some(platform), Some(started)) => {
                let machine = match platform.search(&started.vm_id).await {
                    Ok(answer) => answer.vending_machine.filter(|_| answer.success),
                    Err(error) => {
                        tracing::warn!(%error, %txn_ref, "could not ask the platform about a machine; trying again");
                        continue;
                    }
                };
                // A machine the platform does not know any more is as good as offline.
                let (online, busy) = machine.map_or((false, false), |m| (m.online, m.busy));
                VendCommand::Reconcile {
                    online,
                    busy,
                    attempt: 0,
                    next_check: Utc::now() + timings.recheck,
                    max_attempts: timings.max_checks,
                    holds: false,
                }
            }
            _ => VendCommand::Expire,
        };
        step(app, &by, txn_ref, |_| Some(command.clone())).await?;
    }
    Ok(due.len())
}

/// Runs [`settle_due`] every `interval` for as long as the process lives.
pub async fn run(app: Arc<App>, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    loop {
        ticks.tick().await;
        if let Err(error) = settle_due(&app).await {
            tracing::error!(%error, "vending timers failed; they will try again");
        }
    }
}
