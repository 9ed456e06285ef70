//! The vending timers: every purchase whose timer fell due (`vend_view.due_at`) gets its step — a lock never
//! answered or a selection never made is cancelled; a dispense result that never came is reconciled by asking the
//! platform about the machine (`/api/vmc_search`). The due times live in the view, so a restart resumes every
//! open purchase; the steps are decided on the stream, so two processes running the job change nothing twice.

use std::{sync::Arc, time::Duration};

use tokio::{sync::Semaphore, task::JoinSet};

use chrono::Utc;

use super::{step, By};
use crate::{
    app::App,
    domain::vend::{Phase, VendCommand},
    jobs::system,
    store::StoreError,
    subscriber::BoxError,
};

/// Purchases handled per look, at most.
const BATCH: i64 = 500;
/// Purchases settled at once (each may ask the platform about its machine, waiting up to its time-out).
const CONCURRENT: usize = 16;

/// Takes the step of every purchase whose timer fell due, a few at a time; returns how many there were. A purchase
/// whose step fails is logged and left for the next look; the others go on.
pub async fn settle_due(app: &Arc<App>) -> Result<usize, StoreError> {
    let due = tally_projections::vends_due(&mut *app.db.read.acquire().await?, Utc::now(), BATCH).await?;
    let count = due.len();
    let limit = Arc::new(Semaphore::new(CONCURRENT));
    let mut rows = JoinSet::new();
    for (tenant, txn_ref) in due {
        let permit = limit.clone().acquire_owned().await.expect("the semaphore is never closed");
        let app = app.clone();
        rows.spawn(async move {
            let _permit = permit;
            if let Err(error) = settle(&app, &tenant, &txn_ref).await {
                tracing::warn!(%error, %txn_ref, "a vending timer could not be settled; trying again");
            }
        });
    }
    while rows.join_next().await.is_some() {}
    Ok(count)
}

/// The step of one purchase whose timer fell due.
async fn settle(app: &App, tenant: &str, txn_ref: &str) -> Result<(), BoxError> {
    let vend = super::load(app, tenant, txn_ref).await?;
    let by = By { tenant, actor: system("vending-timers"), cause: None };
    let command = match (&vend.phase, &app.vending.platform, vend.started.as_ref()) {
        (Phase::Approved { .. }, Some(platform), Some(started)) => {
            let answer = platform.search(&started.vm_id).await?;
            // A machine the platform does not know any more is as good as offline.
            let machine = answer.vending_machine.filter(|_| answer.success);
            let (online, busy) = machine.map_or((false, false), |m| (m.online, m.busy));
            let timings = &app.vending.timings;
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
    Ok(())
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
