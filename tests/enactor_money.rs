//! Enactor and money accounts: a till finds a customer's deposit, credit and allowance accounts beside the loyalty
//! account, reads their balances, pays from and into them at the end of a sale (refunds within their sale), and
//! issues and redeems credit notes.

mod common;

use common::{
    enactor::{customer, get, CARD, TILL},
    spawn_app, TestApp,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn update(app: &TestApp, fields: Value) -> common::Reply {
    let mut body = json!({
        "@type": "accountBalanceUpdate",
        "deviceId": {"@type": "deviceKey", "id": "pos1@0001.enactor"},
        "locationId": "0001",
    });
    body.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
    app.send(TILL, Method::POST, "/WebRestApi/rest/accountBalances/update", Some(body), None).await
}

fn outcome(reply: &common::Reply) -> (String, String) {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let messages = reply.body["messages"].as_array().map(|m| m.iter().filter_map(Value::as_str).collect::<Vec<_>>());
    (reply.body["outcome"]["name"].as_str().unwrap().to_owned(), messages.unwrap_or_default().join(" "))
}

/// A customer with a card and points, and a deposit account `DEP-1` holding 50.
async fn with_deposit(app: &TestApp) -> String {
    let code = customer(app).await;
    let contact_id = app.get("administrator", &format!("/v1/contacts?code={code}")).await.body["contact_id"].clone();
    let opened = app
        .post(
            "administrator",
            "/v1/money-accounts",
            json!({"account_type": "deposit", "account_id": "DEP-1",
            "contact_id": contact_id, "currency": "GBP"}),
        )
        .await;
    assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.body);
    let paid = app.post("administrator", "/v1/money-accounts/deposit/DEP-1/payments-in", json!({"amount": "50"})).await;
    assert_eq!(paid.status, StatusCode::CREATED);
    code
}

#[tokio::test]
async fn a_till_finds_a_customers_money_accounts_beside_the_loyalty_account() {
    let app = spawn_app().await;
    let code = with_deposit(&app).await;

    let (status, found) = get(&app, "/accounts/customerDepositAccount/DEP-1").await;
    assert_eq!((status, &found["outcome"]["name"]), (StatusCode::OK, &json!("Success")));
    let output = &found["accountBalanceEnquiryOutput"];
    assert_eq!(output["account"]["@type"], "customerDepositAccount");
    assert_eq!((&output["account"]["customerNumber"], &output["account"]["currencyId"]), (&json!(code), &json!("GBP")));
    assert_eq!(
        (&output["accountTotal"]["balance"], &output["accountTotal"]["available"]),
        (&json!("50"), &json!("50"))
    );
    assert_eq!(output["customerCard"]["cardNumber"], CARD);
    assert!(output.get("customerLoyaltyAccountTotal").is_none(), "{output}");

    // By card: every account of the customer, or those of one type, or of one currency.
    let (_, all) = get(&app, &format!("/accounts/search/?pan={CARD}")).await;
    let types: Vec<&Value> =
        all.as_array().unwrap().iter().map(|a| &a["accountBalanceEnquiryOutput"]["account"]["@type"]).collect();
    assert_eq!(types, [&json!("customerLoyaltyAccount"), &json!("customerDepositAccount")]);
    let (_, deposits) = get(&app, &format!("/accounts/search/?pan={CARD}&accountType=CustomerDepositAccount")).await;
    assert_eq!(deposits.as_array().unwrap().len(), 1);
    let (_, points) = get(&app, &format!("/accounts/search/?pan={CARD}&currencyId=POINTS")).await;
    assert_eq!(points[0]["accountBalanceEnquiryOutput"]["account"]["@type"], "customerLoyaltyAccount");
    assert_eq!(points.as_array().unwrap().len(), 1);
    let (_, none) = get(&app, "/accounts/customerCreditAccount/DEP-1").await;
    assert_eq!(none["outcome"]["name"], "NoAccount");
    // A session restricted to a customer (`subject`) sees only that customer's money accounts.
    let ask = |subject: &str| {
        let url = format!("{}/WebRestApi/rest/accounts/customerDepositAccount/DEP-1", app.base);
        let (id, secret) = common::credentials(TILL);
        let request = app.http.get(url).basic_auth(id, Some(secret)).header("subject", subject);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap()["outcome"]["name"].clone() }
    };
    assert_eq!((ask("SOMEONE-ELSE").await, ask(&code).await), (json!("NoAccount"), json!("Success")));
}

#[tokio::test]
async fn a_till_pays_from_and_into_a_deposit_once_per_sale_and_refunds_within_the_sale() {
    let app = spawn_app().await;
    with_deposit(&app).await;
    let deposit = |transaction: &str, amount: &str| {
        json!({"transactionId": transaction,
        "accountType": "customerDepositAccount", "accountId": "DEP-1", "updateAmount": amount})
    };
    let balance = || async {
        get(&app, "/accounts/customerDepositAccount/DEP-1").await.1["accountBalanceEnquiryOutput"]["accountTotal"]
            ["balance"]
            .clone()
    };

    assert_eq!(outcome(&update(&app, deposit("S-1", "-20")).await).0, "Success");
    let retry = update(&app, deposit("S-1", "-20")).await;
    assert_eq!(retry.headers["idempotency-hit"], "true");
    assert_eq!(balance().await, "30");
    let (name, why) = outcome(&update(&app, deposit("S-2", "-30.01")).await);
    assert_eq!((name.as_str(), why.contains("only 30")), ("Fail", true), "{why}");

    let mut refund = deposit("R-1", "15");
    refund["originalTransactionId"] = json!("S-1");
    refund["originalTransactionDeviceId"] = json!("pos1@0001.enactor");
    assert_eq!(outcome(&update(&app, refund.clone()).await).0, "Success");
    refund["transactionId"] = json!("R-2");
    refund["updateAmount"] = json!("5.01");
    let (name, why) = outcome(&update(&app, refund).await);
    assert_eq!((name.as_str(), why.contains("at most 5 is left")), ("Fail", true), "{why}");
    assert_eq!(balance().await, "45");
    let (name, _) = outcome(
        &update(
            &app,
            json!({"transactionId": "S-3", "accountType": "customerDepositAccount",
        "accountId": "NOPE", "updateAmount": "-1"}),
        )
        .await,
    );
    assert_eq!(name, "NoAccount");
}

#[tokio::test]
async fn a_credit_note_is_issued_on_a_refund_and_redeemed_as_a_tender() {
    let app = spawn_app().await;
    let note = |transaction: &str, amount: &str| {
        json!({"transactionId": transaction, "accountType": "creditNoteAccount",
        "accountId": "CN-0001", "updateAmount": amount, "currencyId": "GBP"})
    };
    assert_eq!(outcome(&update(&app, note("R-1", "15")).await).0, "Success");
    let (_, issued) = get(&app, "/accounts/creditNoteAccount/CN-0001").await;
    let output = &issued["accountBalanceEnquiryOutput"];
    assert_eq!(
        (&output["account"]["@type"], &output["accountTotal"]["balance"]),
        (&json!("creditNoteAccount"), &json!("15"))
    );
    assert!(output.get("customer").is_none(), "a credit note is the bearer's: {output}");
    // Issued once: the same serial cannot be paid into again.
    let (name, why) = outcome(&update(&app, note("R-2", "5")).await);
    assert_eq!((name.as_str(), why.contains("paid into once")), ("Fail", true), "{why}");
    assert_eq!(outcome(&update(&app, note("S-1", "-10")).await).0, "Success");
    let (name, why) = outcome(&update(&app, note("S-2", "-5.01")).await);
    assert_eq!((name.as_str(), why.contains("only 5")), ("Fail", true), "{why}");
}

#[tokio::test]
async fn money_updates_that_cannot_be_applied_are_refused_and_write_nothing() {
    let app = spawn_app().await;
    with_deposit(&app).await;
    let before = app.event_count().await;
    for (fields, status) in [
        (
            json!({"transactionId": "T", "accountType": "creditNoteAccount", "accountId": "CN-9", "updateAmount": "5"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"transactionId": "T", "accountType": "customerDepositAccount", "accountId": "DEP-1",
            "updateAmount": "-5", "status": "PENDING"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"transactionId": "T", "accountType": "customerDepositAccount", "cardNumber": CARD,
            "updateAmount": "-5"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"transactionId": "T", "accountType": "creditNoteAccount", "accountId": "CN 1/2",
                "updateAmount": "5", "currencyId": "GBP"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"transactionId": "T", "accountType": "creditNoteAccount", "accountId": "CN-1",
                "updateAmount": "5", "currencyId": "pounds"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"transactionId": "T", "accountType": "customerDepositAccount", "accountId": "DEP-1",
                "updateAmount": "-5", "dateTimeUpdated": 253_402_300_800_000_i64}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"transactionId": "T", "accountType": "customerDepositAccount", "accountId": "DEP-1",
            "updateAmount": "-5.001"}),
            StatusCode::OK,
        ),
    ] {
        let reply = update(&app, fields.clone()).await;
        assert_eq!(reply.status, status, "{fields}: {}", reply.body);
        if status == StatusCode::OK {
            let (name, why) = outcome(&reply);
            assert_eq!((name.as_str(), why.contains("2 decimal places")), ("Fail", true), "{why}");
        }
    }
    assert_eq!(app.event_count().await, before);
}
