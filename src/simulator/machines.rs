//! A simulated machine: its coils, the transaction it is locked for, how it misbehaves when told to, and the
//! callbacks it makes to Tally.

use std::time::Duration;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::Shared;

/// What a machine is told to do differently.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Behaviour {
    /// Offline: locks are refused.
    pub offline: bool,
    /// Fail every vend with this vendor code (`1` … `6`, `1000`).
    pub fail_code: Option<String>,
    /// Never report the vend (the dispense result times out).
    pub never_vend: bool,
    /// Send every `/txn/*` callback twice.
    pub duplicate: bool,
    /// Report the vend before answering `/api/paid`.
    pub vend_before_paid: bool,
    /// Rename the transaction (`new_txn_ref`) when reporting the selection.
    pub rename: bool,
    /// Select this coil as soon as the machine is locked (a customer standing at the machine).
    pub auto_select: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CoilState {
    pub code: i64,
    pub name: String,
    pub price: i64,
    pub capacity: i64,
    pub current_stock: i64,
}

/// The transaction a machine is locked for.
#[derive(Debug, Clone, Serialize)]
pub struct Txn {
    /// The reference the platform uses now.
    pub txn_ref: String,
    pub balance: i64,
    pub selection: Option<(i64, i64)>,
    pub paid: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub id: String,
    pub coils: Vec<CoilState>,
    pub txn: Option<Txn>,
    pub behaviour: Behaviour,
    /// Tally's answers to this machine's callbacks, oldest first: path and answer.
    pub answers: Vec<(String, Value)>,
    pub dispensed: u64,
}

impl Machine {
    pub fn new(id: &str) -> Machine {
        let coils = (0..6)
            .map(|n| CoilState {
                code: 11 + n,
                name: format!("Item {}", 11 + n),
                price: 100 + 50 * n,
                capacity: 10,
                current_stock: 10,
            })
            .collect();
        Machine {
            id: id.to_owned(),
            coils,
            txn: None,
            behaviour: Behaviour::default(),
            answers: Vec::new(),
            dispensed: 0,
        }
    }

    pub fn planogram(&self) -> Value {
        let coils: Vec<Value> = self
            .coils
            .iter()
            .map(|c| {
                json!({"code": c.code, "formatted_code": c.code.to_string(), "name": c.name, "price": c.price,
                    "placeholder": false, "capacity": c.capacity, "restock_count": 0, "current_stock": c.current_stock})
            })
            .collect();
        Value::Array(coils)
    }
}

/// Sends a callback to Tally (twice when the machine duplicates) and keeps Tally's answer on the machine.
pub async fn callback(sim: &Shared, vm_id: &str, path: &str, body: Value) -> Value {
    let duplicate =
        sim.machines.lock().await.get(vm_id).is_some_and(|m| m.behaviour.duplicate && path.starts_with("/txn"));
    let mut answer = Value::Null;
    for _ in 0..if duplicate { 2 } else { 1 } {
        answer = match sim.tally.post::<_, Value>(path, &body).await {
            Ok(answer) => answer,
            Err(error) => json!({"success": false, "message": error.to_string()}),
        };
    }
    if let Some(machine) = sim.machines.lock().await.get_mut(vm_id) {
        machine.answers.push((path.to_owned(), answer.clone()));
    }
    answer
}

/// The customer selects coil `code` at the machine: the platform reports it with `/txn/request`.
pub async fn select(sim: &Shared, vm_id: &str, code: i64) -> Result<Value, String> {
    let (txn_ref, new_txn_ref, price) = {
        let mut machines = sim.machines.lock().await;
        let machine = machines.get_mut(vm_id).ok_or("no such machine")?;
        let price = machine.coils.iter().find(|c| c.code == code).ok_or("no such coil")?.price;
        let rename = machine.behaviour.rename;
        let txn = machine.txn.as_mut().ok_or("the machine is not locked")?;
        if txn.selection.is_some() {
            return Err("a selection was made already".into());
        }
        txn.selection = Some((code, price));
        let old = txn.txn_ref.clone();
        let renamed = rename.then(|| format!("{old}-r"));
        if let Some(renamed) = &renamed {
            txn.txn_ref = renamed.clone();
        }
        (old, renamed, price)
    };
    let body = json!({"txn_ref": txn_ref, "new_txn_ref": new_txn_ref.unwrap_or_default(),
        "selection": code.to_string(), "cents": price});
    Ok(callback(sim, vm_id, "/txn/request", body).await)
}

/// The machine dispenses after `/api/paid` (or fails to, or never says) and reports it.
pub async fn dispense(sim: Shared, vm_id: String) {
    let (txn, behaviour, planogram) = {
        let mut machines = sim.machines.lock().await;
        let Some(machine) = machines.get_mut(&vm_id) else { return };
        let Some(txn) = machine.txn.take() else { return };
        let success = machine.behaviour.fail_code.is_none();
        if success && !machine.behaviour.never_vend {
            if let Some(coil) = machine.coils.iter_mut().find(|c| Some(c.code) == txn.selection.map(|s| s.0)) {
                coil.current_stock = (coil.current_stock - 1).max(0);
            }
            machine.dispensed += 1;
        }
        (txn, machine.behaviour.clone(), machine.planogram())
    };
    if behaviour.never_vend {
        return;
    }
    let code = behaviour.fail_code.clone().unwrap_or_default();
    let success = code.is_empty();
    callback(&sim, &vm_id, "/txn/vend", json!({"txn_ref": txn.txn_ref, "success": success, "code": code})).await;
    if let (true, Some((coil, price))) = (success, txn.selection) {
        let feed = json!({"vm_id": vm_id, "time": Utc::now().timestamp(), "dispense_quantity": 1, "cash_value": 0,
            "cashless_value": price, "code": coil.to_string(), "planogram": planogram});
        callback(&sim, &vm_id, "/feed/transactions", feed).await;
    }
}

/// The machine gives up a lock nobody used within its timeout, and says so with `/txn/unlock`.
pub async fn lapse(sim: Shared, vm_id: String, txn_ref: String, after: Duration) {
    tokio::time::sleep(after).await;
    let lapsed = {
        let mut machines = sim.machines.lock().await;
        let Some(machine) = machines.get_mut(&vm_id) else { return };
        match &machine.txn {
            Some(txn) if !txn.paid && (txn.txn_ref == txn_ref || txn.txn_ref == format!("{txn_ref}-r")) => {
                machine.txn.take()
            }
            _ => None,
        }
    };
    if let Some(txn) = lapsed {
        callback(&sim, &vm_id, "/txn/unlock", json!({"txn_ref": txn.txn_ref, "code": "timeout"})).await;
    }
}
