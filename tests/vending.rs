//! Vending on Track end to end: the real `tally serve` and the platform simulator (`tally vending-simulator`) as
//! two processes calling each other over HTTP. Post billing and reference payment; failed, aborted, declined and
//! unconfirmed vends; repeated, reordered and renamed callbacks; two machines racing for one balance; a restart
//! with a saga open; the feed; and bad input answered in the vendor's envelope with nothing written.

mod common;

use std::time::Duration;

use common::vending::{Rig, Simulator, PLATFORM_KEY};
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn post_billing_charges_the_member_after_a_successful_vend_only() {
    let rig = Rig::start(2, &[]).await;
    rig.deposit("M-1", "10.00").await;
    let txn_ref = rig.purchase("VM0001", "M-1", None).await;
    let locked = rig.simulator.locked("VM0001").await;
    assert_eq!((locked["txn_ref"].as_str(), locked["balance"].as_i64()), (Some(txn_ref.as_str()), Some(1000)));
    assert_eq!(rig.simulator.select("VM0001", 13).await, json!({"success": true, "message": ""}));
    let purchase = rig.settled(&txn_ref, "dispensed").await;
    assert_eq!((purchase["price_minor"].as_i64(), purchase["charged_minor"].as_i64()), (Some(200), Some(200)));
    assert_eq!(rig.account("M-1").await, ("8".into(), "0".into(), "8".into()));
    let events = rig.events_of(&format!("vend/acme/{txn_ref}")).await;
    assert_eq!(
        events,
        ["VendStarted", "VendLocked", "VendSelected", "VendApproved", "VendPaidAcknowledged", "VendDispensed"]
    );
    let money = rig.events_of("money/acme/deposit/M-1").await;
    assert_eq!(money, ["MoneyAccountOpened", "MoneyPaidIn", "MoneyHeld", "MoneyHoldCaptured"]);

    // A failed vend charges nothing, and neither does a machine that aborts.
    rig.simulator.behave("VM0002", json!({"fail_code": "5"})).await;
    let failed = rig.purchase("VM0002", "M-1", None).await;
    rig.simulator.locked("VM0002").await;
    rig.simulator.select("VM0002", 16).await;
    assert_eq!(rig.settled(&failed, "failed").await["detail"], "5");
    let aborted = rig.purchase("VM0001", "M-1", None).await;
    rig.simulator.locked("VM0001").await;
    let (status, answer) = rig.simulator.post("/sim/machines/VM0001/abort", json!({})).await;
    assert_eq!((status, &answer["success"]), (StatusCode::OK, &json!(true)), "{answer}");
    assert_eq!(rig.settled(&aborted, "cancelled").await["cancel_reason"], "machine_unlocked");
    assert_eq!(rig.account("M-1").await, ("8".into(), "0".into(), "8".into()));
}

#[tokio::test]
async fn a_selection_the_balance_does_not_cover_is_declined_and_the_machine_unlocked() {
    let rig = Rig::start(1, &[]).await;
    rig.deposit("M-1", "1.50").await;
    let txn_ref = rig.purchase("VM0001", "M-1", None).await;
    rig.simulator.locked("VM0001").await;
    let answer = rig.simulator.select("VM0001", 13).await;
    assert_eq!(answer["success"], false, "{answer}");
    assert!(answer["message"].as_str().unwrap().starts_with("declined"), "{answer}");
    assert_eq!(rig.settled(&txn_ref, "declined").await["decline_reason"], "insufficient_funds");
    rig.simulator.idle("VM0001").await;
    let events = rig.events_of(&format!("vend/acme/{txn_ref}")).await;
    assert_eq!(events, ["VendStarted", "VendLocked", "VendSelected", "VendDeclined", "VendUnlockSent"]);
    assert_eq!(rig.account("M-1").await, ("1.5".into(), "0".into(), "1.5".into()));
}

#[tokio::test]
async fn repeated_renamed_and_reordered_callbacks_never_charge_twice() {
    let rig = Rig::start(1, &[]).await;
    rig.deposit("M-1", "10.00").await;
    rig.simulator.behave("VM0001", json!({"duplicate": true, "rename": true, "vend_before_paid": true})).await;
    for _ in 0..3 {
        let txn_ref = rig.purchase("VM0001", "M-1", None).await;
        rig.simulator.locked("VM0001").await;
        assert_eq!(rig.simulator.select("VM0001", 12).await["success"], true);
        let purchase = rig.settled(&txn_ref, "dispensed").await;
        assert_eq!(purchase["platform_ref"], format!("{txn_ref}-r"), "the platform renamed it");
    }
    assert_eq!(rig.account("M-1").await, ("5.5".into(), "0".into(), "5.5".into()));
    let money = rig.events_of("money/acme/deposit/M-1").await;
    assert_eq!(money.iter().filter(|e| *e == "MoneyHoldCaptured").count(), 3);
    // Every callback came twice; Tally answered the second as the first.
    let machine = rig.simulator.get("/sim/machines/VM0001").await;
    let answers = machine["answers"].as_array().unwrap();
    assert!(answers.iter().all(|a| a[1]["success"] == true), "{machine}");
}

#[tokio::test]
async fn two_machines_cannot_spend_the_same_money() {
    let rig = Rig::start(2, &[]).await;
    rig.deposit("M-1", "2.50").await;
    let first = rig.purchase("VM0001", "M-1", None).await;
    let second = rig.purchase("VM0002", "M-1", None).await;
    rig.simulator.locked("VM0001").await;
    rig.simulator.locked("VM0002").await;
    let (a, b) = tokio::join!(rig.simulator.select("VM0001", 13), rig.simulator.select("VM0002", 13));
    assert_eq!([&a["success"], &b["success"]].iter().filter(|s| ***s == json!(true)).count(), 1, "{a} {b}");
    let statuses = [
        rig.get(&format!("/v1/vending/purchases/{first}")).await["status"].clone(),
        rig.get(&format!("/v1/vending/purchases/{second}")).await["status"].clone(),
    ];
    assert!(statuses.contains(&json!("declined")), "{statuses:?}");
    let (approved, _) = if a["success"] == true { (first, second) } else { (second, first) };
    rig.settled(&approved, "dispensed").await;
    assert_eq!(rig.account("M-1").await, ("0.5".into(), "0".into(), "0.5".into()));
}

#[tokio::test]
async fn a_vend_result_that_never_comes_is_reconciled_and_not_charged() {
    let rig = Rig::start(1, &["--vending-result-secs", "1", "--vending-recheck-secs", "1"]).await;
    rig.deposit("M-1", "5.00").await;
    rig.simulator.behave("VM0001", json!({"never_vend": true})).await;
    let txn_ref = rig.purchase("VM0001", "M-1", None).await;
    rig.simulator.locked("VM0001").await;
    rig.simulator.select("VM0001", 11).await;
    let purchase = rig.settled(&txn_ref, "cancelled").await;
    assert_eq!(purchase["cancel_reason"], "unconfirmed");
    let events = rig.events_of(&format!("vend/acme/{txn_ref}")).await;
    assert!(events.contains(&"VendReconciled".to_owned()), "{events:?}");
    assert_eq!(rig.account("M-1").await, ("5".into(), "0".into(), "5".into()));
    // A result after the settlement is kept for the operator and charges nothing.
    let late = json!({"txn_ref": txn_ref, "success": true, "code": ""});
    let answer = platform_call(&rig, "/txn/vend", late).await;
    assert_eq!(answer.1["success"], true, "{answer:?}");
    assert_eq!(rig.get(&format!("/v1/vending/purchases/{txn_ref}")).await["status"], "cancelled");
    assert_eq!(rig.account("M-1").await.0, "5");
}

#[tokio::test]
async fn reference_payment_charges_the_stored_token_and_refunds_a_failed_vend() {
    let rig = Rig::start(2, &[]).await;
    rig.deposit("M-1", "1.00").await;
    for (id, token) in [("visa", "tok_visa"), ("bad", "tok_decline_1")] {
        let body = json!({"reference_id": id, "token": token, "label": "Visa 4242"});
        let (status, body) = rig.post("/v1/money-accounts/deposit/M-1/payment-references", body).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let card = json!({"reference_id": "pan", "token": "4111 1111 1111 1111"});
    let (status, body) = rig.post("/v1/money-accounts/deposit/M-1/payment-references", card).await;
    assert_eq!((status, &body["error"]["code"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("CardNumberNotAllowed")));

    let txn_ref = rig.purchase("VM0001", "M-1", Some("visa")).await;
    assert_eq!(rig.simulator.locked("VM0001").await["balance"], 65535, "the balance is unknown to the machine");
    assert_eq!(rig.simulator.select("VM0001", 14).await["success"], true);
    assert_eq!(rig.settled(&txn_ref, "dispensed").await["charged_minor"], 250);

    rig.simulator.behave("VM0002", json!({"fail_code": "4"})).await;
    let failed = rig.purchase("VM0002", "M-1", Some("visa")).await;
    rig.simulator.locked("VM0002").await;
    rig.simulator.select("VM0002", 11).await;
    rig.settled(&failed, "failed").await;
    for _ in 0..200 {
        if rig.get(&format!("/v1/vending/purchases/{failed}")).await["refunded"] == true {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(rig.get(&format!("/v1/vending/purchases/{failed}")).await["refunded"], true);
    let gateway = rig.simulator.get("/sim/gateway").await;
    assert_eq!((&gateway["charged_minor"], &gateway["refunded_minor"]), (&json!(350), &json!(100)), "{gateway}");

    let declined = rig.purchase("VM0001", "M-1", Some("bad")).await;
    rig.simulator.locked("VM0001").await;
    rig.simulator.select("VM0001", 11).await;
    assert_eq!(rig.settled(&declined, "declined").await["decline_reason"], "payment_declined");
    // Reference payment never touches the balance.
    assert_eq!(rig.account("M-1").await, ("1".into(), "0".into(), "1".into()));
}

#[tokio::test]
async fn a_restart_resumes_a_purchase_whose_lock_could_not_be_sent() {
    let (database_url, dir) = common::fresh_database().await;
    {
        let db = tally::store::Db::connect(&database_url).await.unwrap();
        common::seed_principals(&db).await;
    }
    let (tally_port, simulator_port) = (common::free_port(), common::free_port());
    // The platform is down when the purchase starts: the lock is retried with backoff.
    let mut tally = Rig::serve(&database_url, tally_port, simulator_port, &[]).await;
    let (status, body) = common::post_to(
        &tally.base,
        "/v1/money-accounts",
        json!({"account_type": "deposit",
        "account_id": "M-1", "currency": "GBP"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    common::post_to(&tally.base, "/v1/money-accounts/deposit/M-1/payments-in", json!({"amount": "3"})).await;
    let body = json!({"vm_id": "VM0001", "account_type": "deposit", "account_id": "M-1"});
    let (status, started) = common::post_to(&tally.base, "/v1/vending/purchases", body).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    tally.kill();
    let simulator = Simulator::start(simulator_port, tally_port, 1).await;
    let _tally = Rig::serve(&database_url, tally_port, simulator_port, &[]).await;
    let txn = simulator.locked("VM0001").await;
    assert_eq!(txn["txn_ref"], started["txn_ref"]);
    assert_eq!(simulator.select("VM0001", 11).await["success"], true);
    drop(dir);
}

/// Calls Tally's callback `path` as the platform does (`X-API-Key`), or with `key` instead.
async fn platform_call(rig: &Rig, path: &str, body: Value) -> (StatusCode, Value) {
    let (id, secret) = common::credentials("administrator");
    call_with_key(rig, path, &format!("{id}:{secret}"), body).await
}

async fn call_with_key(rig: &Rig, path: &str, key: &str, body: Value) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/vending{path}", rig.tally.base))
        .header("X-API-Key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap_or(Value::Null))
}

async fn event_count(rig: &Rig) -> i64 {
    let db = tally::store::Db::connect(&rig.database_url).await.unwrap();
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM events").fetch_one(&db.read).await.unwrap();
    count
}

#[tokio::test]
async fn bad_callbacks_are_answered_in_the_vendors_envelope_and_write_nothing() {
    let rig = Rig::start(1, &[]).await;
    rig.deposit("M-1", "10").await;
    let txn_ref = rig.purchase("VM0001", "M-1", None).await;
    rig.simulator.locked("VM0001").await;
    let before = event_count(&rig).await;
    let (status, answer) = call_with_key(&rig, "/txn/request", "acme-administrator:wrong", json!({})).await;
    assert_eq!((status, &answer["success"]), (StatusCode::UNAUTHORIZED, &json!(false)), "{answer}");
    let (status, _) = call_with_key(&rig, "/txn/request", PLATFORM_KEY, json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the platform's own key is not Tally's");
    let unlock = json!({"txn_ref": txn_ref, "code": "x"});
    let (status, answer) = call_with_key(&rig, "/txn/unlock", "acme-client:secret-client", unlock).await;
    assert_eq!((status, &answer["success"]), (StatusCode::FORBIDDEN, &json!(false)), "a customer is not the platform");
    let other_tenant = call_with_key(
        &rig,
        "/txn/vend",
        "other-administrator:secret-administrator",
        json!({"txn_ref": txn_ref, "success": true, "code": ""}),
    )
    .await;
    assert_eq!((other_tenant.0, &other_tenant.1["message"]), (StatusCode::OK, &json!("unknown txn_ref")));
    // Requests the vendor's schema does not allow are protocol errors: 400 in the vendor's envelope.
    let invalid = [
        ("/txn/request", json!({"txn_ref": txn_ref, "selection": "11", "cents": -1}), "invalid request"),
        ("/txn/request", json!({"txn_ref": txn_ref, "selection": "11", "cents": 1.5}), "invalid request"),
        ("/txn/request", json!({"txn_ref": txn_ref, "selection": "11", "cents": "100"}), "invalid request"),
        ("/txn/request", json!({"txn_ref": txn_ref, "selection": "", "cents": 100}), "selection"),
        ("/txn/request", json!({"txn_ref": "", "selection": "11", "cents": 100}), "txn_ref"),
        ("/feed/button_actions", json!({"vm_id": "VM0001", "time": 1764590000, "button": 4}), "button"),
        ("/feed/alerts", json!({"vm_id": "VM/1", "time": 1764590000, "message": "x", "level": "High"}), "vm_id"),
        (
            "/feed/alerts",
            json!({"vm_id": "VM0001", "time": 1764590000, "message": "x", "level": "Severe"}),
            "invalid request",
        ),
        ("/feed/transactions", json!({"vm_id": "VM0001", "time": -5, "dispense_quantity": 1, "code": 11}), "time"),
    ];
    // What the state refuses is a business failure: 200 with `success` false.
    let refused = [
        ("/txn/request", json!({"txn_ref": "nope", "selection": "11", "cents": 100}), "unknown txn_ref"),
        ("/txn/vend", json!({"txn_ref": txn_ref, "success": true, "code": ""}), "never approved"),
        ("/txn/vend", json!({"txn_ref": "nope", "success": true}), "unknown txn_ref"),
    ];
    for (expected_status, cases) in [(StatusCode::BAD_REQUEST, &invalid[..]), (StatusCode::OK, &refused[..])] {
        for (path, body, expected) in cases {
            let (status, answer) = platform_call(&rig, path, body.clone()).await;
            assert_eq!((status, &answer["success"]), (expected_status, &json!(false)), "{path} {body}: {answer}");
            let message = answer["message"].as_str().unwrap();
            assert!(message.contains(expected), "{path} {body}: {message}");
        }
    }
    assert_eq!(event_count(&rig).await, before, "nothing was written");
    let (status, answer) = platform_call(&rig, "/txn/unlock", json!({"txn_ref": txn_ref, "code": 7})).await;
    assert_eq!((status, &answer["success"]), (StatusCode::OK, &json!(true)), "{answer}");
    assert_eq!(rig.settled(&txn_ref, "cancelled").await["detail"], "7", "a numeric code is read as text");
}

#[tokio::test]
async fn the_feed_keeps_each_machines_stock_alerts_and_buttons_and_records_a_repeat_once() {
    let rig = Rig::start(1, &[]).await;
    assert_eq!(rig.simulator.post("/sim/machines/VM0001/cash-sale", json!({"code": 12})).await.1["success"], true);
    let alert = json!({"message": "Door open", "level": "High"});
    assert_eq!(rig.simulator.post("/sim/machines/VM0001/alert", alert).await.1["success"], true);
    assert_eq!(rig.simulator.post("/sim/machines/VM0001/button", json!({"button": 2})).await.1["success"], true);
    let machine = rig.get("/v1/vending/machines/VM0001").await;
    assert_eq!((&machine["dispenses"], &machine["cash_value"]), (&json!(1), &json!(150)), "{machine}");
    let coil = machine["coils"].as_array().unwrap().iter().find(|c| c["code"] == 12).unwrap().clone();
    assert_eq!(coil["current_stock"], 9);
    assert_eq!((&machine["last_alert"]["message"], &machine["last_button"]), (&json!("Door open"), &json!(2)));
    assert_eq!(rig.simulator.post("/sim/machines/VM0001/refill", json!({})).await.1["success"], true);
    let machine = rig.get("/v1/vending/machines/VM0001").await;
    assert!(machine["coils"].as_array().unwrap().iter().all(|c| c["current_stock"] == 10), "{machine}");
    let sale = json!({"vm_id": "VM0009", "time": 1764590000, "dispense_quantity": 2, "cash_value": 300,
        "cashless_value": 0, "code": "11", "planogram": []});
    for _ in 0..2 {
        let (status, answer) = platform_call(&rig, "/feed/transactions", sale.clone()).await;
        assert_eq!((status, &answer["success"]), (StatusCode::OK, &json!(true)), "{answer}");
    }
    assert_eq!(rig.get("/v1/vending/machines/VM0009").await["dispenses"], 2, "the repeat was recorded once");
    assert_eq!(rig.events_of("machine/acme/VM0009").await, ["MachineDispensed"]);
}

#[tokio::test]
async fn an_offline_machine_refuses_the_lock_and_a_credit_limit_is_the_only_overdraft() {
    let rig = Rig::start(2, &[]).await;
    rig.deposit("M-1", "5").await;
    rig.simulator.behave("VM0001", json!({"offline": true})).await;
    let refused = rig.purchase("VM0001", "M-1", None).await;
    let purchase = rig.settled(&refused, "lock_refused").await;
    assert_eq!(purchase["detail"], "vending machine is offline");

    let credit = json!({"account_type": "credit", "account_id": "C-1", "currency": "GBP", "credit_limit": "1.00"});
    assert_eq!(rig.post("/v1/money-accounts", credit).await.0, StatusCode::CREATED);
    let body = json!({"vm_id": "VM0002", "account_type": "credit", "account_id": "C-1"});
    let (status, started) = rig.post("/v1/vending/purchases", body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    rig.simulator.locked("VM0002").await;
    assert_eq!(rig.simulator.select("VM0002", 12).await["success"], false, "1.50 is beyond the limit");
    rig.simulator.idle("VM0002").await;
    let (_, started) = rig.post("/v1/vending/purchases", body).await;
    rig.simulator.locked("VM0002").await;
    assert_eq!(rig.simulator.select("VM0002", 11).await["success"], true, "1.00 is within it");
    rig.settled(started["txn_ref"].as_str().unwrap(), "dispensed").await;
    let account = rig.get("/v1/money-accounts/credit/C-1").await;
    assert_eq!((&account["balance"], &account["available"]), (&json!("-1.00"), &json!("0")), "{account}");

    // An employee allowance does not pay at machines.
    let employee = json!({"account_type": "employee", "account_id": "E-1", "currency": "GBP", "allowance": "10",
        "period": "monthly"});
    assert_eq!(rig.post("/v1/money-accounts", employee).await.0, StatusCode::CREATED);
    let body = json!({"vm_id": "VM0002", "account_type": "employee", "account_id": "E-1"});
    let (status, refused) = rig.post("/v1/vending/purchases", body).await;
    assert_eq!((status, &refused["error"]["code"]), (StatusCode::CONFLICT, &json!("AccountNotForVending")));
}
