//! The vending views: each purchase with where it stands and when its next timer falls due (`vend_view`), the
//! transaction references the platform may use for it (`vend_ref_view`, since the platform may rename one), and each
//! machine's feed: stock by coil, last alert, last button (`machine_view`).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row};
use tally_events::{stream, AlertLevel, CancelReason, Coil, DeclineReason, Event, MoneyAccountType};

use crate::{
    sql::{docs, load},
    Source, SqlView, View,
};

/// Where a purchase stands, as the native API shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VendStatus {
    /// The lock is asked for.
    Started,
    /// The machine is locked for the member.
    Locked,
    /// Selected; the payment reference is being charged.
    Selected,
    /// Approved; the machine is told to dispense.
    Approved,
    LockRefused,
    Declined,
    Dispensed,
    Failed,
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VendView {
    pub tenant: String,
    /// The reference Tally gave the purchase (its stream).
    pub txn_ref: String,
    /// The reference the platform uses now (another one after a rename).
    pub platform_ref: String,
    pub vm_id: String,
    pub account_type: MoneyAccountType,
    pub account_id: String,
    pub payment_reference: Option<String>,
    pub status: VendStatus,
    pub selection: Option<String>,
    pub price_minor: Option<i64>,
    pub charged_minor: Option<i64>,
    pub paid_acknowledged: bool,
    pub decline_reason: Option<DeclineReason>,
    pub cancel_reason: Option<CancelReason>,
    /// The platform's failure code, or its message for a refused lock or paid call.
    pub detail: Option<String>,
    pub charge_id: Option<String>,
    pub refunded: bool,
    /// When the next timer of the purchase falls due (none once it is over).
    pub due_at: Option<DateTime<Utc>>,
    /// A dispense result that came after the purchase was settled.
    pub late_result: Option<bool>,
}

impl VendView {
    fn end(&mut self, status: VendStatus) {
        self.status = status;
        self.due_at = None;
    }
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

impl View for VendView {
    fn key(source: &Source<'_>, event: &Event) -> Option<Vec<String>> {
        let txn_ref = stream::entity_id(source.stream_id, "vend")?;
        match event {
            Event::VendStarted(_)
            | Event::VendLocked(_)
            | Event::VendLockRefused(_)
            | Event::VendSelected(_)
            | Event::VendApproved(_)
            | Event::VendDeclined(_)
            | Event::VendPaymentCharged(_)
            | Event::VendPaymentRefunded(_)
            | Event::VendPaidAcknowledged(_)
            | Event::VendDispensed(_)
            | Event::VendFailed(_)
            | Event::VendCancelled(_)
            | Event::VendReconciled(_)
            | Event::VendResultLate(_) => Some(vec![source.tenant.to_owned(), txn_ref.to_owned()]),
            _ => None,
        }
    }

    fn apply(row: Option<Self>, source: &Source<'_>, event: &Event) -> Option<Self> {
        let mut vend = match (row, event) {
            (None, Event::VendStarted(e)) => {
                let txn_ref = stream::entity_id(source.stream_id, "vend")?.to_owned();
                return Some(VendView {
                    tenant: source.tenant.to_owned(),
                    platform_ref: txn_ref.clone(),
                    txn_ref,
                    vm_id: e.vm_id.clone(),
                    account_type: e.account_type,
                    account_id: e.account_id.clone(),
                    payment_reference: e.payment_reference.clone(),
                    status: VendStatus::Started,
                    selection: None,
                    price_minor: None,
                    charged_minor: None,
                    paid_acknowledged: false,
                    decline_reason: None,
                    cancel_reason: None,
                    detail: None,
                    charge_id: None,
                    refunded: false,
                    due_at: Some(e.answer_due),
                    late_result: None,
                });
            }
            (Some(vend), _) => vend,
            (None, _) => return None,
        };
        match event {
            Event::VendLocked(e) => {
                vend.status = VendStatus::Locked;
                vend.due_at = Some(e.locked_until + Duration::seconds(tally_events::LOCK_GRACE_SECONDS));
            }
            Event::VendLockRefused(e) => {
                vend.detail = Some(e.message.clone());
                vend.end(VendStatus::LockRefused);
            }
            Event::VendSelected(e) => {
                // A selection that beats the lock's answer waits until the answer was due, and its grace.
                if vend.status == VendStatus::Started {
                    vend.due_at = vend.due_at.map(|due| due + Duration::seconds(tally_events::LOCK_GRACE_SECONDS));
                }
                vend.status = VendStatus::Selected;
                vend.selection = Some(e.selection.clone());
                vend.price_minor = Some(e.price_minor);
                if let Some(renamed) = &e.new_txn_ref {
                    vend.platform_ref = renamed.clone();
                }
            }
            Event::VendApproved(e) => {
                vend.status = VendStatus::Approved;
                vend.charged_minor = Some(e.charged_minor);
                vend.due_at = Some(e.result_due);
            }
            Event::VendDeclined(e) => {
                vend.decline_reason = Some(e.reason);
                vend.detail = e.message.clone();
                vend.end(VendStatus::Declined);
            }
            Event::VendPaymentCharged(e) => vend.charge_id = Some(e.charge_id.clone()),
            Event::VendPaymentRefunded(_) => vend.refunded = true,
            Event::VendPaidAcknowledged(_) => vend.paid_acknowledged = true,
            Event::VendDispensed(_) => vend.end(VendStatus::Dispensed),
            Event::VendFailed(e) => {
                vend.detail = Some(e.code.clone());
                vend.end(VendStatus::Failed);
            }
            Event::VendCancelled(e) => {
                vend.cancel_reason = Some(e.reason);
                vend.detail = e.detail.clone();
                vend.end(VendStatus::Cancelled);
            }
            Event::VendReconciled(e) => {
                if let Some(next) = e.next_check {
                    vend.due_at = Some(next);
                }
            }
            Event::VendResultLate(e) => vend.late_result = Some(e.success),
            _ => {}
        }
        Some(vend)
    }
}

impl SqlView for VendView {
    const TABLE: &'static str = "vend_view";
    const COLUMNS: &'static [&'static str] = &["tenant", "txn_ref", "account_type", "account_id", "due_at", "doc"];
    const KEY_LEN: usize = 2;
    fn columns(&self) -> Vec<Option<String>> {
        vec![
            Some(self.tenant.clone()),
            Some(self.txn_ref.clone()),
            Some(self.account_type.as_str().to_owned()),
            Some(self.account_id.clone()),
            self.due_at.map(timestamp),
            Some(self.doc()),
        ]
    }
}

/// A transaction reference the platform may call with, and the purchase it names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VendRefView {
    pub tenant: String,
    pub platform_ref: String,
    pub txn_ref: String,
}

impl View for VendRefView {
    fn key(source: &Source<'_>, event: &Event) -> Option<Vec<String>> {
        let txn_ref = stream::entity_id(source.stream_id, "vend")?;
        let platform_ref = match event {
            Event::VendStarted(_) => txn_ref,
            Event::VendSelected(e) => e.new_txn_ref.as_deref()?,
            _ => return None,
        };
        Some(vec![source.tenant.to_owned(), platform_ref.to_owned()])
    }

    fn apply(row: Option<Self>, source: &Source<'_>, event: &Event) -> Option<Self> {
        let key = Self::key(source, event)?;
        let txn_ref = stream::entity_id(source.stream_id, "vend")?.to_owned();
        Some(row.unwrap_or(VendRefView { tenant: key[0].clone(), platform_ref: key[1].clone(), txn_ref }))
    }
}

impl SqlView for VendRefView {
    const TABLE: &'static str = "vend_ref_view";
    const COLUMNS: &'static [&'static str] = &["tenant", "platform_ref", "txn_ref", "doc"];
    const KEY_LEN: usize = 2;
    fn columns(&self) -> Vec<Option<String>> {
        vec![Some(self.tenant.clone()), Some(self.platform_ref.clone()), Some(self.txn_ref.clone()), Some(self.doc())]
    }
}

/// A machine's last alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertView {
    pub time: DateTime<Utc>,
    pub message: String,
    pub level: AlertLevel,
}

/// What the feed says about a machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MachineView {
    pub tenant: String,
    pub vm_id: String,
    /// The latest planogram, by coil code: stock, capacity, price.
    pub coils: BTreeMap<i64, Coil>,
    pub dispenses: i64,
    pub cash_value: i64,
    pub cashless_value: i64,
    pub last_dispense: Option<DateTime<Utc>>,
    pub last_refill: Option<DateTime<Utc>>,
    pub last_alert: Option<AlertView>,
    pub last_button: Option<u8>,
}

impl MachineView {
    fn planogram(&mut self, planogram: &[Coil]) {
        if !planogram.is_empty() {
            self.coils = planogram.iter().map(|coil| (coil.code, coil.clone())).collect();
        }
    }
}

impl View for MachineView {
    fn key(source: &Source<'_>, event: &Event) -> Option<Vec<String>> {
        let vm_id = stream::entity_id(source.stream_id, "machine")?;
        match event {
            Event::MachineDispensed(_)
            | Event::MachineRefilled(_)
            | Event::MachineAlerted(_)
            | Event::MachineButtonPressed(_) => Some(vec![source.tenant.to_owned(), vm_id.to_owned()]),
            _ => None,
        }
    }

    fn apply(row: Option<Self>, source: &Source<'_>, event: &Event) -> Option<Self> {
        let mut machine = row.unwrap_or_else(|| MachineView {
            tenant: source.tenant.to_owned(),
            vm_id: stream::entity_id(source.stream_id, "machine").unwrap_or_default().to_owned(),
            coils: BTreeMap::new(),
            dispenses: 0,
            cash_value: 0,
            cashless_value: 0,
            last_dispense: None,
            last_refill: None,
            last_alert: None,
            last_button: None,
        });
        match event {
            Event::MachineDispensed(e) => {
                // Saturating: a view must never fail on a value the ledger holds.
                machine.dispenses = machine.dispenses.saturating_add(e.dispense_quantity);
                machine.cash_value = machine.cash_value.saturating_add(e.cash_value);
                machine.cashless_value = machine.cashless_value.saturating_add(e.cashless_value);
                machine.last_dispense = Some(e.time);
                machine.planogram(&e.planogram);
            }
            Event::MachineRefilled(e) => {
                machine.last_refill = Some(e.time);
                machine.planogram(&e.planogram);
            }
            Event::MachineAlerted(e) => {
                machine.last_alert = Some(AlertView { time: e.time, message: e.message.clone(), level: e.level })
            }
            Event::MachineButtonPressed(e) => machine.last_button = Some(e.button),
            _ => {}
        }
        Some(machine)
    }
}

impl SqlView for MachineView {
    const TABLE: &'static str = "machine_view";
    const COLUMNS: &'static [&'static str] = &["tenant", "vm_id", "doc"];
    const KEY_LEN: usize = 2;
    fn columns(&self) -> Vec<Option<String>> {
        vec![Some(self.tenant.clone()), Some(self.vm_id.clone()), Some(self.doc())]
    }
}

/// Tally's reference of the purchase the platform's reference names (its own, or the one it renamed it to).
pub async fn find_vend(
    conn: &mut AnyConnection,
    tenant: &str,
    platform_ref: &str,
) -> Result<Option<String>, sqlx::Error> {
    let known = load::<VendRefView>(conn, vec![tenant.to_owned(), platform_ref.to_owned()]).await?;
    Ok(known.map(|known| known.txn_ref))
}

/// A purchase by the reference Tally gave it.
pub async fn load_vend(conn: &mut AnyConnection, tenant: &str, txn_ref: &str) -> Result<Option<VendView>, sqlx::Error> {
    load(conn, vec![tenant.to_owned(), txn_ref.to_owned()]).await
}

/// A machine's feed view.
pub async fn load_machine(
    conn: &mut AnyConnection,
    tenant: &str,
    vm_id: &str,
) -> Result<Option<MachineView>, sqlx::Error> {
    load(conn, vec![tenant.to_owned(), vm_id.to_owned()]).await
}

/// Purchases whose timer fell due by `now`, oldest first: tenant and transaction reference. (`due_at` is the
/// decider's `Vend::due_at`, kept by the same events.)
pub async fn vends_due(
    conn: &mut AnyConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let rows = sqlx::query("SELECT tenant, txn_ref FROM vend_view WHERE due_at <= $1 ORDER BY due_at LIMIT $2")
        .bind(timestamp(now))
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|row| Ok((row.try_get(0)?, row.try_get(1)?))).collect()
}

/// A member's purchases, newest first, after `before` (a transaction reference, for paging).
pub async fn vends_of(
    conn: &mut AnyConnection,
    tenant: &str,
    account: (MoneyAccountType, &str),
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<VendView>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT doc FROM vend_view WHERE tenant = $1 AND account_type = $2 AND account_id = $3 AND txn_ref < $4 \
         ORDER BY txn_ref DESC LIMIT $5",
    )
    .bind(tenant)
    .bind(account.0.as_str())
    .bind(account.1)
    .bind(before.unwrap_or("~"))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    docs(&rows)
}
