//! Enactor REST under `/WebRestApi/rest`: a till finds a customer's loyalty account by customer number or card
//! number, reads its balance, and gets Enactor's outcomes and `ErrorMessage`s.

mod common;

use common::{spawn_app, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const CARD: &str = "7000000000001";
const MOBILE: &str = "+79991112233";
const TILL: &str = "cc_operator";
const EXPIRY_MS: i64 = 32_472_144_000_000;

/// A customer with an active card, 25.5 points spendable, 10 not active yet and 3 status points.
async fn customer(app: &TestApp) -> String {
    let contact_id = app.bound_card(CARD, MOBILE, true).await;
    let accrue = |body: Value| {
        let path = format!("/v1/accounts/{contact_id}/accruals");
        async move { assert_eq!(app.post("administrator", &path, body).await.status, StatusCode::CREATED) }
    };
    accrue(json!({"amount": "25.5", "expires_at": "2999-01-01T00:00:00Z"})).await;
    accrue(json!({"amount": "10", "active_from": "2999-01-01T00:00:00Z"})).await;
    accrue(json!({"amount": "3", "bonus_type": "status"})).await;
    let contact = app.get("administrator", &format!("/v1/contacts/{contact_id}")).await;
    contact.body["code"].as_str().unwrap().to_owned()
}

async fn get(app: &TestApp, path: &str) -> (StatusCode, Value) {
    let reply = app.get(TILL, &format!("/WebRestApi/rest{path}")).await;
    (reply.status, reply.body)
}

fn check_account(output: &Value, code: &str) {
    let account = &output["account"];
    assert_eq!(account["@type"], "customerLoyaltyAccount");
    assert_eq!((&account["accountId"], &account["customerNumber"]), (&json!(code), &json!(code)));
    assert_eq!(account["status"], "ACTIVE");
    let total = &output["customerLoyaltyAccountTotal"];
    assert_eq!(
        (&total["pointsBalance"], &total["pendingPoints"], &total["statusPoints"]),
        (&json!("25.5"), &json!("10"), &json!("3"))
    );
    // 2999-01-01T00:00:00Z in epoch milliseconds, with the points that expire then.
    assert_eq!((&total["nextExpiryDate"], &total["nextExpiryPoints"]), (&json!(EXPIRY_MS), &json!("25.5")));
    assert_eq!(output["customerCard"]["cardNumber"], CARD);
    assert_eq!(output["customer"]["mobilePhoneNumber"], MOBILE);
}

#[tokio::test]
async fn a_till_finds_the_loyalty_account_by_customer_number_or_card_number() {
    let app = spawn_app().await;
    let code = customer(&app).await;

    let (status, found) = get(&app, &format!("/accounts/search/?accountId={code}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found[0]["@type"], "accountBalanceEnquiryResponse");
    assert_eq!(found[0]["outcome"]["name"], "Success");
    check_account(&found[0]["accountBalanceEnquiryOutput"], &code);

    let (_, by_pan) = get(&app, &format!("/accounts/search/?pan={CARD}&accountType=CustomerLoyaltyAccount")).await;
    assert_eq!(by_pan, found);

    // The vendor's own sample misspells the type; it is read as the loyalty account.
    let (status, one) = get(&app, &format!("/accounts/customerLoyalatyAccount/{code}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one, found[0]);

    let (_, flat) = get(&app, &format!("/accountbalances?pan={CARD}&currencyId=POINTS")).await;
    assert_eq!((&flat["@type"], &flat["outcome"]["name"]), (&json!("accountBalances"), &json!("Success")));
    check_account(&flat, &code);
}

#[tokio::test]
async fn unknown_accounts_and_types_are_outcomes_not_errors() {
    let app = spawn_app().await;
    let code = customer(&app).await;
    let outcome = |body: &Value| body["outcome"]["name"].as_str().unwrap().to_owned();

    let (status, body) = get(&app, "/accounts/customerLoyaltyAccount/NOBODY").await;
    assert_eq!((status, outcome(&body)), (StatusCode::OK, "NoAccount".into()));
    assert!(body.get("accountBalanceEnquiryOutput").is_none());
    let (_, body) = get(&app, &format!("/accounts/giftAccount/{code}")).await;
    assert_eq!(outcome(&body), "UnknownAccountType");
    let (_, body) = get(&app, &format!("/accountbalances?accountId={code}&accountType=bogus")).await;
    assert_eq!(outcome(&body), "UnknownAccountType");
    // Types Tally holds no accounts of, a card and a customer number that disagree, another currency, a hashed
    // PAN (none is kept): no account.
    for query in [
        format!("accountId={code}&accountType=customerDepositAccount"),
        format!("accountId=SOMEONE-ELSE&pan={CARD}"),
        format!("accountId={code}&currencyId=GBP"),
        "hashedPan=abc".to_owned(),
        "pan=7000000009999".to_owned(),
    ] {
        let (_, body) = get(&app, &format!("/accountbalances?{query}")).await;
        assert_eq!(outcome(&body), "NoAccount", "{query}");
        let (_, found) = get(&app, &format!("/accounts/search/?{query}")).await;
        assert_eq!(found, json!([]), "{query}");
    }
}

#[tokio::test]
async fn the_subject_header_restricts_a_session_to_its_customers_accounts() {
    let app = spawn_app().await;
    let code = customer(&app).await;
    let ask = |subject: &str| {
        let url = format!("{}/WebRestApi/rest/accounts/search/?pan={CARD}", app.base);
        let (id, secret) = common::credentials(TILL);
        let request = app.http.get(url).basic_auth(id, Some(secret)).header("subject", subject);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    assert_eq!(ask("SOMEONE-ELSE").await, json!([]));
    assert_eq!(ask(&code).await.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn protocol_errors_are_error_messages_and_merchants_are_kept_apart() {
    let app = spawn_app().await;
    let code = customer(&app).await;
    let anonymous = app.http.get(format!("{}/WebRestApi/rest/accounts/search/?accountId={code}", app.base)).send();
    let anonymous = anonymous.await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let body: Value = anonymous.json().await.unwrap();
    assert_eq!((&body["@type"], &body["errorCode"]), (&json!("errorMessage"), &json!("Unauthorized")));

    for (path, code_wanted) in
        [("/accounts/search/", "InvalidRequest"), ("/accountbalances?accountId=A&colour=red", "InvalidParameter")]
    {
        let (status, body) = get(&app, path).await;
        assert_eq!((status, &body["errorCode"]), (StatusCode::BAD_REQUEST, &json!(code_wanted)), "{path}");
        assert!(body["messageText"].as_str().is_some_and(|t| !t.is_empty()));
    }
    let wrong = app.send(TILL, Method::POST, "/WebRestApi/rest/accountbalances", None, None).await;
    assert_eq!((wrong.status, &wrong.body["errorCode"]), (StatusCode::METHOD_NOT_ALLOWED, &json!("MethodNotAllowed")));

    let other = app
        .send_as(
            "other-administrator",
            "secret-administrator",
            Method::GET,
            &format!("/WebRestApi/rest/accountbalances?accountId={code}"),
            None,
            None,
        )
        .await;
    assert_eq!(other.body["outcome"]["name"], "NoAccount");
}
