//! Money accounts through the native API: deposit, credit, employee allowance and credit notes, each keeping its rule
//! under concurrency, with clear refusals that write nothing.

mod common;

use common::{spawn_app, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

const ADMIN: &str = "administrator";

async fn open(app: &TestApp, body: Value) -> common::Reply {
    app.post(ADMIN, "/v1/money-accounts", body).await
}

async fn account(app: &TestApp, path: &str) -> Value {
    let reply = app.get(ADMIN, &format!("/v1/money-accounts/{path}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body
}

async fn pay(app: &TestApp, path: &str, direction: &str, amount: &str) -> common::Reply {
    app.post(ADMIN, &format!("/v1/money-accounts/{path}/payments-{direction}"), json!({ "amount": amount })).await
}

#[tokio::test]
async fn each_money_account_keeps_its_rule() {
    let app = spawn_app().await;
    let contact_id = app.register_contact(json!({"name": "Anna", "mobile_number": "+79990000101"})).await;

    // A deposit: paid into, paid out of, never below zero.
    let opened = open(
        &app,
        json!({"account_type": "deposit", "account_id": "DEP-1", "contact_id": contact_id, "currency": "GBP"}),
    )
    .await;
    assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.body);
    assert_eq!((&opened.body["account_type"], &opened.body["account_id"]), (&json!("deposit"), &json!("DEP-1")));
    assert_eq!(pay(&app, "deposit/DEP-1", "in", "50").await.status, StatusCode::CREATED);
    assert_eq!(pay(&app, "deposit/DEP-1", "out", "20.25").await.status, StatusCode::CREATED);
    let too_much = pay(&app, "deposit/DEP-1", "out", "29.76").await;
    assert_eq!((too_much.status, &too_much.body["error"]["code"]), (StatusCode::CONFLICT, &json!("InsufficientFunds")));
    let deposit = account(&app, "deposit/DEP-1").await;
    assert_eq!((&deposit["balance"], &deposit["available"]), (&json!("29.75"), &json!("29.75")));

    // A credit account: down to minus its limit.
    open(&app, json!({"account_type": "credit", "account_id": "CR-1", "currency": "GBP", "credit_limit": "100"})).await;
    assert_eq!(pay(&app, "credit/CR-1", "out", "100").await.status, StatusCode::CREATED);
    assert_eq!(pay(&app, "credit/CR-1", "out", "0.01").await.status, StatusCode::CONFLICT);
    let credit = account(&app, "credit/CR-1").await;
    assert_eq!((&credit["balance"], &credit["available"]), (&json!("-100"), &json!("0")));

    // An employee allowance: spent per month.
    let employee = json!({"account_type": "employee", "account_id": "EMP-1", "currency": "GBP", "allowance": "150",
        "period": "monthly"});
    assert_eq!(open(&app, employee).await.status, StatusCode::CREATED);
    assert_eq!(pay(&app, "employee/EMP-1", "out", "120").await.status, StatusCode::CREATED);
    assert_eq!(pay(&app, "employee/EMP-1", "out", "30.01").await.status, StatusCode::CONFLICT);
    assert_eq!(pay(&app, "employee/EMP-1", "in", "120.01").await.body["error"]["code"], "AllowanceExceeded");
    assert_eq!(pay(&app, "employee/EMP-1", "in", "20").await.status, StatusCode::CREATED);
    let allowance = account(&app, "employee/EMP-1").await;
    assert_eq!((&allowance["available"], &allowance["spent_this_period"]), (&json!("50"), &json!("100")));

    // A credit note: issued with its value, redeemed, never paid into again.
    let note =
        open(&app, json!({"account_type": "credit_note", "account_id": "CN-0001", "currency": "GBP", "amount": "25"}))
            .await;
    assert_eq!(note.status, StatusCode::CREATED, "{}", note.body);
    assert_eq!(note.body["events"].as_array().unwrap().len(), 2);
    assert_eq!(pay(&app, "credit_note/CN-0001", "in", "5").await.body["error"]["code"], "CreditNoteIssued");
    assert_eq!(pay(&app, "credit_note/CN-0001", "out", "25").await.status, StatusCode::CREATED);
    assert_eq!(account(&app, "credit_note/CN-0001").await["balance"], "0");
}

#[tokio::test]
async fn concurrent_payments_never_overdraw_a_deposit() {
    let app = spawn_app().await;
    open(&app, json!({"account_type": "deposit", "account_id": "DEP-1", "currency": "EUR"})).await;
    pay(&app, "deposit/DEP-1", "in", "100").await;
    let mut tills = tokio::task::JoinSet::new();
    for _ in 0..30 {
        let (http, url) = (app.http.clone(), format!("{}/v1/money-accounts/deposit/DEP-1/payments-out", app.base));
        let (id, secret) = common::credentials(ADMIN);
        tills.spawn(async move {
            let request = http.post(url).basic_auth(id, Some(secret)).json(&json!({"amount": "10"}));
            let request = request.header("Idempotency-Key", uuid::Uuid::new_v4().to_string());
            request.send().await.unwrap().status()
        });
    }
    let statuses = tills.join_all().await;
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 10, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT), "{statuses:?}");
    assert_eq!(account(&app, "deposit/DEP-1").await["balance"], "0");
}

#[tokio::test]
async fn bad_openings_and_payments_are_refused_and_write_nothing() {
    let app = spawn_app().await;
    open(&app, json!({"account_type": "deposit", "account_id": "DEP-1", "currency": "GBP"})).await;
    let before = app.event_count().await;
    for (body, status) in [
        (json!({"account_type": "deposit", "account_id": "DEP-1", "currency": "GBP"}), StatusCode::CONFLICT),
        (json!({"account_type": "deposit", "currency": "pounds"}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"account_type": "deposit", "currency": "GBP", "credit_limit": "10"}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"account_type": "employee", "currency": "GBP", "allowance": "10"}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"account_type": "credit_note", "currency": "GBP"}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"account_type": "deposit", "currency": "GBP", "amount": "5"}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"account_type": "gift", "currency": "GBP"}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"account_type": "deposit", "account_id": "a/b", "currency": "GBP"}), StatusCode::UNPROCESSABLE_ENTITY),
        (
            json!({"account_type": "deposit", "currency": "GBP", "contact_id": uuid::Uuid::new_v4()}),
            StatusCode::NOT_FOUND,
        ),
    ] {
        assert_eq!(open(&app, body.clone()).await.status, status, "{body}");
    }
    for (path, amount, status) in [
        ("deposit/DEP-1", "1.001", StatusCode::UNPROCESSABLE_ENTITY),
        ("deposit/DEP-1", "-1", StatusCode::UNPROCESSABLE_ENTITY),
        ("deposit/NOPE", "1", StatusCode::NOT_FOUND),
        ("gift/DEP-1", "1", StatusCode::BAD_REQUEST),
    ] {
        assert_eq!(pay(&app, path, "in", amount).await.status, status, "{path} {amount}");
    }
    assert_eq!(app.event_count().await, before);
    assert_eq!(app.get(ADMIN, "/v1/money-accounts/deposit/NOPE").await.status, StatusCode::NOT_FOUND);
}
