//! The platform's inbound API as the simulator serves it: every call a POST with `X-API-Key` (or Basic with the key
//! as password), answered HTTP 200 with `success` and `message`.

use std::time::Duration;

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
    Json, Router,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{machines, Shared};
use crate::vending::platform::{LockRequest, PaidRequest, SearchRequest, UnlockRequest};

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/lock", post(lock))
        .route("/api/paid", post(paid))
        .route("/api/unlock", post(unlock))
        .route("/api/vmc_search", post(search))
        .route("/api/vmc_bulk_search", post(bulk_search))
        .route("/api/vmc_user_keys", post(user_keys))
}

fn no(message: &str) -> Response {
    Json(json!({"success": false, "message": message})).into_response()
}

fn ok(extra: Value) -> Response {
    let mut answer = json!({"success": true, "message": ""});
    if let (Some(answer), Value::Object(extra)) = (answer.as_object_mut(), extra) {
        answer.extend(extra);
    }
    Json(answer).into_response()
}

/// Whether the caller sent the simulator's key.
fn authorized(sim: &Shared, headers: &HeaderMap) -> bool {
    use base64::{engine::general_purpose::STANDARD, Engine};
    let key = headers.get("x-api-key").and_then(|k| k.to_str().ok());
    let basic = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|pair| pair.split_once(':').map(|(_, password)| password.to_owned()));
    key == Some(sim.args.key.as_str()) || basic.as_deref() == Some(sim.args.key.as_str())
}

/// Reads an authorized call's body, or answers why not.
fn read<T: for<'de> Deserialize<'de>>(
    sim: &Shared,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, (StatusCode, Json<Value>)> {
    if !authorized(sim, headers) {
        return Err((StatusCode::UNAUTHORIZED, Json(json!({"success": false, "message": "invalid API key"}))));
    }
    serde_json::from_slice(body)
        .map_err(|e| (StatusCode::OK, Json(json!({"success": false, "message": format!("invalid request: {e}")}))))
}

async fn lock(State(sim): State<Shared>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let request: LockRequest = match read(&sim, &headers, &body) {
        Ok(request) => request,
        Err(rejection) => return rejection.into_response(),
    };
    let auto_select = {
        let mut machines = sim.machines.lock().await;
        let Some(machine) = machines.get_mut(&request.vm_id) else { return no("vending machine not found") };
        if machine.behaviour.offline {
            return no("vending machine is offline");
        }
        match &machine.txn {
            Some(txn) if txn.txn_ref == request.txn_ref => return ok(json!({"timeout": sim.args.lock_timeout})),
            Some(_) => return no("vending machine is busy"),
            None => {}
        }
        machine.txn = Some(machines::Txn {
            txn_ref: request.txn_ref.clone(),
            balance: request.balance,
            selection: None,
            paid: false,
        });
        machine.behaviour.auto_select
    };
    let timeout = Duration::from_secs(u64::from(sim.args.lock_timeout));
    tokio::spawn(machines::lapse(sim.clone(), request.vm_id.clone(), request.txn_ref.clone(), timeout));
    if let Some(code) = auto_select {
        let (sim, vm_id) = (sim.clone(), request.vm_id.clone());
        tokio::spawn(async move { machines::select(&sim, &vm_id, code).await });
    }
    ok(json!({"timeout": sim.args.lock_timeout}))
}

async fn paid(State(sim): State<Shared>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let request: PaidRequest = match read(&sim, &headers, &body) {
        Ok(request) => request,
        Err(rejection) => return rejection.into_response(),
    };
    if request.price < 0 || request.surcharge < 0 || request.discount < 0 {
        return no("amounts must not be negative");
    }
    let (vm_id, before) = {
        let mut machines = sim.machines.lock().await;
        let found = machines.values_mut().find(|m| m.txn.as_ref().is_some_and(|t| t.txn_ref == request.txn_ref));
        let Some(machine) = found else { return no("transaction not found") };
        let txn = machine.txn.as_mut().expect("found by its transaction");
        if txn.selection.is_none() {
            return no("no selection was made");
        }
        if txn.paid {
            return ok(json!({}));
        }
        txn.paid = true;
        (machine.id.clone(), machine.behaviour.vend_before_paid)
    };
    if before {
        machines::dispense(sim.clone(), vm_id).await;
    } else {
        let delay = Duration::from_millis(sim.args.vend_ms);
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            machines::dispense(sim, vm_id).await;
        });
    }
    ok(json!({}))
}

async fn unlock(State(sim): State<Shared>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let request: UnlockRequest = match read(&sim, &headers, &body) {
        Ok(request) => request,
        Err(rejection) => return rejection.into_response(),
    };
    let mut machines = sim.machines.lock().await;
    let Some(machine) = machines.get_mut(&request.vm_id) else { return no("vending machine not found") };
    match &machine.txn {
        Some(txn) if txn.txn_ref == request.txn_ref && txn.paid => no("the transaction was paid: unlock has no effect"),
        Some(txn) if txn.txn_ref == request.txn_ref => {
            machine.txn = None;
            ok(json!({}))
        }
        _ => no("transaction not found"),
    }
}

fn status(machine: &machines::Machine) -> Value {
    json!({"id": machine.id, "online": !machine.behaviour.offline, "busy": machine.txn.is_some(),
        "address": "1 Simulated Street", "business_address": "1 Simulated Street",
        "company_external_name": "Tally simulator", "operator_name": "Simulated operator",
        "operator_contact_number": "+440000000000", "photo_url": null,
        "keypad_configuration": {"virtual_keypad_enabled": true, "total_action_needed": 1, "total_row_number": 2,
            "total_column_number": 3, "keypad_items": machine.coils.iter().enumerate().map(|(i, c)| json!({
                "id": i, "display_value": c.code.to_string(), "x": i % 3, "y": i / 3, "w": 1, "h": 1})).collect::<Vec<_>>()}})
}

async fn search(State(sim): State<Shared>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let request: SearchRequest = match read(&sim, &headers, &body) {
        Ok(request) => request,
        Err(rejection) => return rejection.into_response(),
    };
    match sim.machines.lock().await.get(&request.vm_id) {
        Some(machine) => ok(json!({"vendingMachine": status(machine)})),
        None => no("vending machine not found"),
    }
}

#[derive(Deserialize)]
struct BulkSearch {
    vms: Vec<String>,
}

async fn bulk_search(State(sim): State<Shared>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let request: BulkSearch = match read(&sim, &headers, &body) {
        Ok(request) => request,
        Err(rejection) => return rejection.into_response(),
    };
    let machines = sim.machines.lock().await;
    let found: Vec<Value> = request.vms.iter().filter_map(|id| machines.get(id)).map(status).collect();
    ok(json!({"vendingMachines": found}))
}

#[derive(Deserialize)]
struct UserKeys {
    vm_id: String,
    #[serde(rename = "txnRef")]
    txn_ref: String,
    keys: Vec<usize>,
}

/// A selection on the virtual keypad: the key indexes name a coil.
async fn user_keys(State(sim): State<Shared>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let request: UserKeys = match read(&sim, &headers, &body) {
        Ok(request) => request,
        Err(rejection) => return rejection.into_response(),
    };
    let code = {
        let machines = sim.machines.lock().await;
        let Some(machine) = machines.get(&request.vm_id) else { return no("vending machine not found") };
        if machine.txn.as_ref().is_none_or(|t| t.txn_ref != request.txn_ref) {
            return no("transaction not found");
        }
        match request.keys.first().and_then(|key| machine.coils.get(*key)) {
            Some(coil) => coil.code,
            None => return no("no such key"),
        }
    };
    match machines::select(&sim, &request.vm_id, code).await {
        Ok(_) => ok(json!({})),
        Err(message) => no(&message),
    }
}
