//! Two `tally serve` processes on one PostgreSQL database keep every invariant: concurrent redemptions through both
//! never overdraw an account, concurrent payments never overspend an employee's allowance, two cards bound to one
//! contact at once leave exactly one live card, and vending purchases started on both (the platform calling back one
//! of them, either holding the calls' lease) charge each dispense exactly once, and wrong PINs are counted across
//! both. Needs
//! `TALLY_TEST_DATABASE_URL` (a PostgreSQL server); `scripts/test.sh` runs it in its PostgreSQL phase.

mod common;

use common::Core as Shared;
use common::{get_from, post_to as post, Instance};
use reqwest::StatusCode;
use serde_json::json;

async fn setup() -> (String, Shared) {
    assert!(
        std::env::var("TALLY_TEST_DATABASE_URL").is_ok(),
        "set TALLY_TEST_DATABASE_URL to a PostgreSQL server (scripts/test.sh does)"
    );
    let (app, database_url) = common::core_app().await;
    common::seed_principals(&app.db).await;
    (database_url, app)
}

#[tokio::test]
#[ignore = "needs TALLY_TEST_DATABASE_URL; scripts/test.sh runs it against PostgreSQL"]
async fn two_instances_never_overdraw_an_account() {
    let (database_url, app) = setup().await;
    let (a, b) = (Instance::start(&database_url, &[]).await, Instance::start(&database_url, &[]).await);
    let (status, contact) =
        post(&a.base, "/v1/contacts", json!({"name": "Race", "mobile_number": "+79990000077"})).await;
    assert_eq!(status, StatusCode::CREATED, "{contact}");
    let contact_id = contact["contact_id"].as_str().unwrap().to_owned();
    let accrual = post(&b.base, &format!("/v1/accounts/{contact_id}/accruals"), json!({"amount": "100.00"})).await;
    assert_eq!(accrual.0, StatusCode::CREATED, "{}", accrual.1);

    let redemptions = (0..40).map(|i| {
        let base = if i % 2 == 0 { a.base.clone() } else { b.base.clone() };
        let path = format!("/v1/accounts/{contact_id}/redemptions");
        tokio::spawn(async move { post(&base, &path, json!({"amount": "5.00"})).await })
    });
    let mut accepted = 0;
    for handle in redemptions.collect::<Vec<_>>() {
        let (status, body) = handle.await.unwrap();
        match status {
            StatusCode::CREATED => accepted += 1,
            StatusCode::CONFLICT => assert_eq!(body["error"]["code"], "InsufficientBonuses", "{body}"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(accepted, 20, "exactly the balance is redeemed");
    let account = tally::queries::account(&app.db, common::TENANT, contact_id.parse().unwrap()).await.unwrap();
    let active: rust_decimal::Decimal = account.lots.values().map(|lot| lot.remaining).sum();
    assert_eq!(active, rust_decimal::Decimal::ZERO);
    // The stream's versions are contiguous: every append was decided on the version before it.
    let versions: Vec<(i64,)> =
        sqlx::query_as("SELECT stream_version FROM events WHERE stream_id = $1 ORDER BY stream_version")
            .bind(tally_events::stream::account(common::TENANT, contact_id.parse().unwrap()))
            .fetch_all(&app.db.read)
            .await
            .unwrap();
    assert_eq!(versions.iter().map(|v| v.0).collect::<Vec<_>>(), (1..=21).collect::<Vec<i64>>());
}

#[tokio::test]
#[ignore = "needs TALLY_TEST_DATABASE_URL; scripts/test.sh runs it against PostgreSQL"]
async fn two_instances_never_overspend_an_employee_allowance() {
    let (database_url, app) = setup().await;
    let (a, b) = (Instance::start(&database_url, &[]).await, Instance::start(&database_url, &[]).await);
    let opened = json!({"account_type": "employee", "account_id": "EMP-1", "currency": "GBP", "allowance": "60",
        "period": "monthly"});
    let (status, body) = post(&a.base, "/v1/money-accounts", opened).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let payments = (0..30).map(|i| {
        let base = if i % 2 == 0 { a.base.clone() } else { b.base.clone() };
        tokio::spawn(async move {
            post(&base, "/v1/money-accounts/employee/EMP-1/payments-out", json!({"amount": "7.50"})).await
        })
    });
    let mut accepted = 0;
    for handle in payments.collect::<Vec<_>>() {
        let (status, body) = handle.await.unwrap();
        match status {
            StatusCode::CREATED => accepted += 1,
            StatusCode::CONFLICT => assert_eq!(body["error"]["code"], "InsufficientFunds", "{body}"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(accepted, 8, "exactly the allowance is spent");
    let account =
        tally::queries::money_account(&app.db, common::TENANT, tally_events::MoneyAccountType::Employee, "EMP-1")
            .await
            .unwrap()
            .unwrap();
    assert_eq!(account.available(chrono::Utc::now()), rust_decimal::Decimal::ZERO);
}

#[tokio::test]
#[ignore = "needs TALLY_TEST_DATABASE_URL; scripts/test.sh runs it against PostgreSQL"]
async fn two_instances_bind_at_most_one_live_card_per_contact() {
    let (database_url, _app) = setup().await;
    let (a, b) = (Instance::start(&database_url, &[]).await, Instance::start(&database_url, &[]).await);
    let mobile = "+79990000088";
    let (status, _) = post(&a.base, "/v1/contacts", json!({"name": "Twice", "mobile_number": mobile})).await;
    assert_eq!(status, StatusCode::CREATED);
    for round in 0..10 {
        let numbers = [format!("81000000{round:02}1"), format!("81000000{round:02}2")];
        for number in &numbers {
            let (status, body) =
                post(&a.base, "/v1/cards", json!({"number": number, "category": "Plastic", "card_type": "Bonus"}))
                    .await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            let (status, body) = post(&b.base, &format!("/api/card/issue?Number={number}"), json!({})).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        let binds = numbers.iter().zip([&a.base, &b.base]).map(|(number, base)| {
            let (base, body) = (base.clone(), json!({"Number": number, "MobileNumber": mobile}));
            tokio::spawn(async move { post(&base, "/api/card/bindto", body).await })
        });
        let mut bound = 0;
        for handle in binds.collect::<Vec<_>>() {
            let (status, body) = handle.await.unwrap();
            if body["Status"] == true {
                bound += 1;
            } else {
                assert_eq!(
                    (status, body["Key"].as_str()),
                    (StatusCode::CONFLICT, Some("ContactBindToAnotherCardNumber"))
                );
            }
        }
        let expected = if round == 0 { 1 } else { 0 };
        assert_eq!(bound, expected, "round {round}: the contact already holds a live card after the first round");
    }
}

#[tokio::test]
#[ignore = "needs TALLY_TEST_DATABASE_URL; scripts/test.sh runs it against PostgreSQL"]
async fn two_instances_accept_exactly_the_cap_of_a_promotion() {
    let (database_url, _app) = setup().await;
    let (a, b) = (Instance::start(&database_url, &[]).await, Instance::start(&database_url, &[]).await);
    let (status, body) = post(&a.base, "/v1/businesses", json!({"business_id": "CB-9", "name": "Shared"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let ends_at = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let promotion = json!({"business_id": "CB-9", "promotion_id": "CAP", "title": "Race", "cap": 11,
        "ends_at": ends_at, "price_per_use": "1", "price_per_clip": "0"});
    let (status, body) = post(&b.base, "/v1/promotions", promotion).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let scans = (0..64).map(|n| {
        let base = if n % 2 == 0 { a.base.clone() } else { b.base.clone() };
        tokio::spawn(async move {
            post(&base, "/scantrack", json!({"barcode": {"src": "CB-9", "id": "CAP", "key": format!("K{n}")}})).await
        })
    });
    let mut accepted = 0;
    for scan in scans.collect::<Vec<_>>() {
        let (status, body) = scan.await.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
        match body["result"].as_str() {
            Some("accepted") => accepted += 1,
            Some("refused") => assert_eq!(body["reason"], "cap_reached", "{body}"),
            other => panic!("unexpected result {other:?}: {body}"),
        }
    }
    assert_eq!(accepted, 11, "exactly the cap is accepted across both instances");
}

#[tokio::test]
#[ignore = "needs TALLY_TEST_DATABASE_URL; scripts/test.sh runs it against PostgreSQL"]
async fn two_instances_run_vending_purchases_and_charge_each_dispense_exactly_once() {
    use common::vending::{Rig, Simulator};
    let (database_url, _app) = setup().await;
    let (a_port, b_port, simulator_port) = (common::free_port(), common::free_port(), common::free_port());
    // The platform calls back instance A; purchases start on both; either may hold the calls' lease.
    let simulator = Simulator::start(simulator_port, a_port, 12).await;
    let a = Rig::serve(&database_url, a_port, simulator_port, &[]).await;
    let b = Rig::serve(&database_url, b_port, simulator_port, &[]).await;
    let (status, body) =
        post(&a.base, "/v1/money-accounts", json!({"account_type": "deposit", "account_id": "V-1", "currency": "EUR"}))
            .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    post(&b.base, "/v1/money-accounts/deposit/V-1/payments-in", json!({"amount": "100.00"})).await;
    for machine in 1..=12 {
        let behaviour = json!({"auto_select": 11 + machine % 6, "duplicate": machine % 3 == 0,
            "fail_code": if machine % 4 == 0 { json!("5") } else { json!(null) }});
        simulator.behave(&format!("VM{machine:04}"), behaviour).await;
    }
    let starts = (1..=12).map(|machine| {
        let base = if machine % 2 == 0 { a.base.clone() } else { b.base.clone() };
        let body = json!({"vm_id": format!("VM{machine:04}"), "account_type": "deposit", "account_id": "V-1"});
        tokio::spawn(async move { post(&base, "/v1/vending/purchases", body).await })
    });
    let mut purchases = Vec::new();
    for start in starts.collect::<Vec<_>>() {
        let (status, body) = start.await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{body}");
        purchases.push(body["txn_ref"].as_str().unwrap().to_owned());
    }
    let mut charged = 0;
    for txn_ref in &purchases {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let purchase = loop {
            let purchase = get_from(&b.base, &format!("/v1/vending/purchases/{txn_ref}")).await;
            if ["dispensed", "failed", "declined", "cancelled"].contains(&purchase["status"].as_str().unwrap()) {
                break purchase;
            }
            assert!(std::time::Instant::now() < deadline, "never settled: {purchase}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        };
        if purchase["status"] == "dispensed" {
            charged += purchase["charged_minor"].as_i64().unwrap();
        } else {
            assert_eq!(purchase["status"], "failed", "{purchase}");
        }
    }
    assert!(charged > 0);
    let account = get_from(&a.base, "/v1/money-accounts/deposit/V-1").await;
    let balance: rust_decimal::Decimal = account["balance"].as_str().unwrap().parse().unwrap();
    let expected = rust_decimal::Decimal::new(10_000 - charged, 2);
    assert_eq!((balance, account["held"].as_str()), (expected, Some("0")), "{account}");
}

#[tokio::test]
#[ignore = "needs TALLY_TEST_DATABASE_URL; scripts/test.sh runs it against PostgreSQL"]
async fn wrong_pins_are_counted_across_instances() {
    let (database_url, app) = setup().await;
    let sign_in = tally::store::staff::SignIn { username: None, password: None, pin: Some("4242") };
    tally::store::staff::create(&app.db.write, common::TENANT, "Pin Pad", tally_events::Role::Marketer, sign_in)
        .await
        .unwrap();
    let (a, b) = (Instance::start(&database_url, &[]).await, Instance::start(&database_url, &[]).await);
    let (id, secret) = common::credentials("marketer");
    let token = async |base: &str, pin: &str| {
        let response = reqwest::Client::new()
            .post(format!("{base}/api/token"))
            .basic_auth(&id, Some(&secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("grant_type=pin&pin={pin}"))
            .send()
            .await
            .unwrap();
        response.status()
    };
    for attempt in 0..5 {
        let base = if attempt % 2 == 0 { &a.base } else { &b.base };
        assert_eq!(token(base, "0000").await, StatusCode::BAD_REQUEST, "wrong PIN {attempt}");
    }
    // Five wrong PINs, three on one instance and two on the other: both refuse the right one now.
    assert_eq!(token(&a.base, "4242").await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(token(&b.base, "4242").await, StatusCode::TOO_MANY_REQUESTS);
}
