//! The simulator's control API under `/sim` (no authentication): what customers, machines and operators do.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    machines::{self, Behaviour},
    Shared,
};

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/sim/machines/{vm_id}", get(machine))
        .route("/sim/machines/{vm_id}/behaviour", post(behave))
        .route("/sim/machines/{vm_id}/select", post(select))
        .route("/sim/machines/{vm_id}/abort", post(abort))
        .route("/sim/machines/{vm_id}/cash-sale", post(cash_sale))
        .route("/sim/machines/{vm_id}/refill", post(refill))
        .route("/sim/machines/{vm_id}/alert", post(alert))
        .route("/sim/machines/{vm_id}/button", post(button))
}

fn missing() -> Response {
    (StatusCode::NOT_FOUND, Json(json!({"error": "no such machine"}))).into_response()
}

/// A machine's state, with Tally's answers to its callbacks.
async fn machine(State(sim): State<Shared>, Path(vm_id): Path<String>) -> Response {
    match sim.machines.lock().await.get(&vm_id) {
        Some(machine) => Json(machine).into_response(),
        None => missing(),
    }
}

/// Sets how the machine behaves from now on (the whole behaviour: fields left out are reset).
async fn behave(State(sim): State<Shared>, Path(vm_id): Path<String>, Json(behaviour): Json<Behaviour>) -> Response {
    match sim.machines.lock().await.get_mut(&vm_id) {
        Some(machine) => {
            machine.behaviour = behaviour;
            Json(&machine.behaviour).into_response()
        }
        None => missing(),
    }
}

#[derive(Deserialize)]
struct Coil {
    code: i64,
}

/// A customer selects a coil at the locked machine; answers with Tally's answer to `/txn/request`.
async fn select(State(sim): State<Shared>, Path(vm_id): Path<String>, Json(coil): Json<Coil>) -> Response {
    match machines::select(&sim, &vm_id, coil.code).await {
        Ok(answer) => Json(answer).into_response(),
        Err(message) => (StatusCode::CONFLICT, Json(json!({"error": message}))).into_response(),
    }
}

/// The machine aborts its transaction (`/txn/unlock` with code `aborted`).
async fn abort(State(sim): State<Shared>, Path(vm_id): Path<String>) -> Response {
    let txn = match sim.machines.lock().await.get_mut(&vm_id) {
        Some(machine) => machine.txn.take(),
        None => return missing(),
    };
    let Some(txn) = txn else { return (StatusCode::CONFLICT, Json(json!({"error": "not locked"}))).into_response() };
    let answer =
        machines::callback(&sim, &vm_id, "/txn/unlock", json!({"txn_ref": txn.txn_ref, "code": "aborted"})).await;
    Json(answer).into_response()
}

/// A sale for cash, without Tally: only the feed reports it.
async fn cash_sale(State(sim): State<Shared>, Path(vm_id): Path<String>, Json(coil): Json<Coil>) -> Response {
    let (price, planogram) = {
        let mut machines = sim.machines.lock().await;
        let Some(machine) = machines.get_mut(&vm_id) else { return missing() };
        let Some(found) = machine.coils.iter_mut().find(|c| c.code == coil.code) else {
            return (StatusCode::CONFLICT, Json(json!({"error": "no such coil"}))).into_response();
        };
        found.current_stock = (found.current_stock - 1).max(0);
        let price = found.price;
        (price, machine.planogram())
    };
    let feed = json!({"vm_id": vm_id, "time": Utc::now().timestamp(), "dispense_quantity": 1, "cash_value": price,
        "cashless_value": 0, "code": coil.code.to_string(), "planogram": planogram});
    Json(machines::callback(&sim, &vm_id, "/feed/transactions", feed).await).into_response()
}

/// An operator fills every coil to its capacity.
async fn refill(State(sim): State<Shared>, Path(vm_id): Path<String>) -> Response {
    let (detail, planogram) = {
        let mut machines = sim.machines.lock().await;
        let Some(machine) = machines.get_mut(&vm_id) else { return missing() };
        let detail: Vec<Value> = machine
            .coils
            .iter_mut()
            .map(|c| {
                let quantity = c.capacity - c.current_stock;
                c.current_stock = c.capacity;
                json!({"refill_quantity": quantity, "code": c.code.to_string()})
            })
            .collect();
        (detail, machine.planogram())
    };
    let feed = json!({"vm_id": vm_id, "time": Utc::now().timestamp(), "refill_detail": detail, "planogram": planogram});
    Json(machines::callback(&sim, &vm_id, "/feed/refills", feed).await).into_response()
}

/// The machine raises an alert: `{"message", "level"}` as the feed sends them.
async fn alert(State(sim): State<Shared>, Path(vm_id): Path<String>, Json(alert): Json<Value>) -> Response {
    let feed =
        json!({"vm_id": vm_id, "time": Utc::now().timestamp(), "message": alert["message"], "level": alert["level"]});
    Json(machines::callback(&sim, &vm_id, "/feed/alerts", feed).await).into_response()
}

/// A button of the telemetry box is pressed: `{"button"}`.
async fn button(State(sim): State<Shared>, Path(vm_id): Path<String>, Json(press): Json<Value>) -> Response {
    let feed = json!({"vm_id": vm_id, "time": Utc::now().timestamp(), "button": press["button"]});
    Json(machines::callback(&sim, &vm_id, "/feed/button_actions", feed).await).into_response()
}
