//! The merchant's billing mode for ScanTrack: per clip until its first report through ScanTrack, per use from then
//! on. The switch is a command on the merchant's billing stream, issued once per merchant and process.

use std::{collections::HashSet, sync::RwLock};

use tally_events::{Actor, BillingMode, Event, Role};

use crate::{
    commands::{Command, Executor, Stream},
    domain::promotion::{BillingAggregate, ReportedThroughScanTrack},
    store::{ledger, Db, StoreError},
};

/// Merchants known to be billed per use (a switch that is never undone, so it can be remembered for good).
#[derive(Default)]
pub struct Billing {
    pay_per_use: RwLock<HashSet<String>>,
}

impl Billing {
    fn known(&self, tenant: &str) -> bool {
        self.pay_per_use.read().expect("lock").contains(tenant)
    }

    fn remember(&self, tenant: &str) {
        self.pay_per_use.write().expect("lock").insert(tenant.to_owned());
    }

    /// Records that the merchant reports through ScanTrack: the billing stream switches to pay-per-use on the first
    /// report and ignores the rest.
    pub async fn switch_to_pay_per_use(&self, executor: &Executor, tenant: &str) -> Result<(), StoreError> {
        if self.known(tenant) {
            return Ok(());
        }
        let actor = Actor { principal: "scantrack".into(), role: Role::System };
        let target = BillingAggregate::target((), ReportedThroughScanTrack);
        executor.execute(Command::new(tenant, actor, target)).await?;
        self.remember(tenant);
        Ok(())
    }

    /// Whether the merchant is billed per use: it has reported through ScanTrack (read from its billing stream).
    pub async fn bills_per_use(&self, db: &Db, tenant: &str) -> Result<bool, StoreError> {
        if self.known(tenant) {
            return Ok(true);
        }
        let stream_id = tally_events::stream::billing(tenant);
        let events = ledger::read_stream(&mut *db.read.acquire().await?, &stream_id, 0).await?;
        let switched = events
            .iter()
            .any(|(_, event)| matches!(event, Event::BillingModeChanged(e) if e.mode == BillingMode::PayPerUse));
        if switched {
            self.remember(tenant);
        }
        Ok(switched)
    }
}
