//! Enactor balance updates from the till: points earned and spent once per transaction, tenders reserved during a
//! sale (`PENDING`) until completed, cancelled or lapsed, and refunds that never give back or take back more than
//! their sale, under retries and concurrency.

mod common;

use common::{
    enactor::{customer, get, CARD, TILL},
    spawn_app, TestApp,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A till's balance update for the customer `code`.
fn till_update(code: &str, transaction: &str, amount: &str) -> Value {
    json!({
        "@type": "accountBalanceUpdate",
        "transactionId": transaction,
        "deviceId": {"@type": "deviceKey", "id": "pos1@0001.enactor"},
        "locationId": "0001",
        "accountId": code,
        "accountType": "customerLoyalatyAccount",
        "updateAmount": amount,
        "dateTimeUpdated": 1_764_000_000_000_i64,
    })
}

async fn post_update(app: &TestApp, role: &str, body: Value) -> common::Reply {
    app.send(role, Method::POST, "/WebRestApi/rest/accountBalances/update", Some(body), None).await
}

async fn points(app: &TestApp, code: &str) -> Value {
    get(app, &format!("/accountbalances?accountId={code}")).await.1["customerLoyaltyAccountTotal"]["pointsBalance"]
        .clone()
}

#[tokio::test]
async fn a_tills_update_earns_or_spends_points_once_per_transaction() {
    let app = spawn_app().await;
    let code = customer(&app).await;

    let earned = post_update(&app, TILL, till_update(&code, "T-1", "10")).await;
    assert_eq!((earned.status, &earned.body["outcome"]["name"]), (StatusCode::OK, &json!("Success")));
    assert_eq!(earned.body["accountBalanceUpdateOutput"]["accountBalanceUpdate"]["transactionId"], "T-1");
    assert_eq!(points(&app, &code).await, "35.5");

    // The till retries, or replays after being offline: the first answer, nothing applied twice.
    let events = app.event_count().await;
    let retry = post_update(&app, TILL, till_update(&code, "T-1", "10")).await;
    assert_eq!((retry.status, &retry.body), (StatusCode::OK, &earned.body));
    assert_eq!(retry.headers["idempotency-hit"], "true");
    // The same transaction with another amount is refused, not applied.
    let changed = post_update(&app, TILL, till_update(&code, "T-1", "99")).await;
    assert_eq!(
        (changed.status, &changed.body["errorCode"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("IdempotencyKeyReused"))
    );
    assert_eq!(app.event_count().await, events);

    // Points spent as a tender, by card number; more than the balance fails and changes nothing.
    let mut tender = till_update(&code, "T-2", "-5.5");
    tender["accountId"] = Value::Null;
    tender["cardNumber"] = json!(CARD);
    let spent = post_update(&app, TILL, tender).await;
    assert_eq!(spent.body["outcome"]["name"], "Success", "{}", spent.body);
    assert_eq!(points(&app, &code).await, "30");
    let too_much = post_update(&app, TILL, till_update(&code, "T-3", "-1000")).await;
    assert_eq!((too_much.status, &too_much.body["outcome"]["name"]), (StatusCode::OK, &json!("Fail")));
    assert!(too_much.body["messages"][0].as_str().unwrap().contains("active"), "{}", too_much.body);
    assert_eq!(points(&app, &code).await, "30");
}

#[tokio::test]
async fn updates_that_cannot_be_applied_are_refused_and_write_nothing() {
    let app = spawn_app().await;
    let code = customer(&app).await;
    let before = app.event_count().await;
    let with = |field: &str, value: Value| {
        let mut body = till_update(&code, "T-9", "5");
        body[field] = value;
        body
    };
    for body in [
        with("status", json!("PENDING")),
        with("originalTransactionId", json!("T-1")),
        with("updateAmount", json!("0")),
        with("updateAmount", json!("ten")),
        with("transactionId", json!(" ")),
        with("@type", json!("accountBalanceEnquiry")),
        with("colour", json!("red")),
    ] {
        let reply = post_update(&app, TILL, body.clone()).await;
        assert_eq!(
            (reply.status, &reply.body["errorCode"]),
            (StatusCode::UNPROCESSABLE_ENTITY, &json!("InvalidRequest")),
            "{body}"
        );
    }
    let outcome = |reply: common::Reply| reply.body["outcome"]["name"].as_str().unwrap().to_owned();
    assert_eq!(outcome(post_update(&app, TILL, with("accountId", json!("NOBODY"))).await), "NoAccount");
    assert_eq!(outcome(post_update(&app, TILL, with("accountType", json!("giftAccount"))).await), "UnknownAccountType");
    let customer_session = post_update(&app, "client", till_update(&code, "T-9", "5")).await;
    assert_eq!(customer_session.status, StatusCode::FORBIDDEN);
    assert_eq!(app.event_count().await, before);
}

fn outcome(reply: &common::Reply) -> (String, String) {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let messages: Vec<&str> =
        reply.body["messages"].as_array().map(|m| m.iter().map(|t| t.as_str().unwrap()).collect()).unwrap_or_default();
    (reply.body["outcome"]["name"].as_str().unwrap().to_owned(), messages.join(" "))
}

fn pending(code: &str, transaction: &str, amount: &str, expiry_ms: Option<i64>) -> Value {
    let mut body = till_update(code, transaction, amount);
    body["status"] = json!("PENDING");
    if let Some(ms) = expiry_ms {
        body["expiryTime"] = json!(ms);
    }
    body
}

async fn settle(app: &TestApp, body: &Value, status: &str) -> common::Reply {
    let mut body = body.clone();
    body["status"] = json!(status);
    app.send(TILL, Method::PATCH, "/WebRestApi/rest/accountBalances", Some(body), None).await
}

/// The event types of the customer's account stream, oldest first.
async fn account_events(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar("SELECT event_type FROM events WHERE stream_id LIKE 'account/%' ORDER BY global_position")
        .fetch_all(&app.app.db.read)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_pending_tender_reserves_points_until_the_till_completes_or_cancels_it() {
    let app = spawn_app().await;
    let code = customer(&app).await;

    let reserve = pending(&code, "T-1", "-5", None);
    assert_eq!(outcome(&post_update(&app, TILL, reserve.clone()).await).0, "Success");
    assert_eq!(points(&app, &code).await, "20.5", "reserved points are not spendable");
    // Completing spends them; a retry of the completion is the first answer; a cancel after it fails.
    let completed = settle(&app, &reserve, "COMPLETE").await;
    assert_eq!(outcome(&completed).0, "Success");
    assert_eq!(completed.body["accountBalanceUpdateOutput"]["accountBalanceUpdate"]["status"], "COMPLETE");
    let retry = settle(&app, &reserve, "COMPLETE").await;
    assert_eq!(
        (retry.body.clone(), retry.headers["idempotency-hit"].clone()),
        (completed.body, "true".parse().unwrap())
    );
    let (name, why) = outcome(&settle(&app, &reserve, "CANCELLED").await);
    assert_eq!((name.as_str(), why.contains("completed already")), ("Fail", true), "{why}");
    assert_eq!(points(&app, &code).await, "20.5");

    // Cancelling gives the points back; settling another amount, or a transaction that reserved nothing, fails.
    let reserve = pending(&code, "T-2", "-3", None);
    assert_eq!(outcome(&post_update(&app, TILL, reserve.clone()).await).0, "Success");
    assert_eq!(points(&app, &code).await, "17.5");
    let mut other_amount = reserve.clone();
    other_amount["updateAmount"] = json!("-2");
    let (name, why) = outcome(&settle(&app, &other_amount, "COMPLETE").await);
    assert_eq!((name.as_str(), why.contains("differs")), ("Fail", true), "{why}");
    assert_eq!(outcome(&settle(&app, &reserve, "CANCELLED").await).0, "Success");
    assert_eq!(points(&app, &code).await, "20.5");
    let (name, why) = outcome(&settle(&app, &pending(&code, "T-3", "-1", None), "COMPLETE").await);
    assert_eq!((name.as_str(), why.contains("reserved no points")), ("Fail", true), "{why}");

    // A reservation larger than the balance fails; a PENDING transaction cannot also spend directly: the till's key
    // says so, and from another location (another key) the account does.
    assert_eq!(outcome(&post_update(&app, TILL, pending(&code, "T-4", "-100", None)).await).0, "Fail");
    let reused = post_update(&app, TILL, till_update(&code, "T-2", "-1")).await;
    assert_eq!(reused.body["errorCode"], "IdempotencyKeyReused");
    let mut elsewhere = till_update(&code, "T-2", "-1");
    elsewhere["locationId"] = json!("0002");
    let (name, why) = outcome(&post_update(&app, TILL, elsewhere).await);
    assert_eq!((name.as_str(), why.contains("already took")), ("Fail", true), "{why}");
    assert_eq!(
        account_events(&app).await[3..],
        ["BonusReserved", "ReservationCompleted", "BonusReserved", "ReservationReleased"]
    );
}

#[tokio::test]
async fn a_reservation_nobody_settles_lapses_at_its_expiry_and_gives_the_points_back() {
    let app = spawn_app().await;
    let code = customer(&app).await;
    let soon = chrono::Utc::now().timestamp_millis() + 1_500;
    let reserve = pending(&code, "T-1", "-7.25", Some(soon));
    assert_eq!(outcome(&post_update(&app, TILL, reserve.clone()).await).0, "Success");
    assert_eq!(points(&app, &code).await, "18.25");
    assert_eq!(tally::jobs::expire_due(&app.app).await.unwrap(), 0, "not due yet");

    tokio::time::sleep(std::time::Duration::from_millis(1_700)).await;
    let (name, why) = outcome(&settle(&app, &reserve, "COMPLETE").await);
    assert_eq!((name.as_str(), why.contains("expired")), ("Fail", true), "{why}");
    assert_eq!(tally::jobs::expire_due(&app.app).await.unwrap(), 1);
    assert_eq!(points(&app, &code).await, "25.5");
    assert_eq!(tally::jobs::expire_due(&app.app).await.unwrap(), 0, "lapses once");
    let (name, why) = outcome(&settle(&app, &reserve, "CANCELLED").await);
    assert_eq!((name.as_str(), why.contains("lapsed already")), ("Fail", true), "{why}");
    let reason: String = sqlx::query_scalar(
        "SELECT payload FROM events WHERE event_type = 'ReservationReleased' ORDER BY global_position DESC",
    )
    .fetch_one(&app.app.db.read)
    .await
    .unwrap();
    assert!(reason.contains(r#""reason":"lapsed""#), "{reason}");
}

fn refund(code: &str, transaction: &str, amount: &str, original: &str) -> Value {
    let mut body = till_update(code, transaction, amount);
    body["originalTransactionId"] = json!(original);
    body["originalTransactionDeviceId"] = json!("pos1@0001.enactor");
    body
}

#[tokio::test]
async fn refunds_take_back_what_the_sale_earned_and_give_back_what_it_spent_never_more_and_never_twice() {
    let app = spawn_app().await;
    let code = customer(&app).await;
    assert_eq!(outcome(&post_update(&app, TILL, till_update(&code, "S-1", "10")).await).0, "Success");
    assert_eq!(outcome(&post_update(&app, TILL, till_update(&code, "S-1", "-5")).await).0, "Success");
    assert_eq!(points(&app, &code).await, "30.5");

    // Part of the sale is refunded: 4 of the 10 earned points go, and the 5 spent come back.
    let take_back = refund(&code, "R-1", "-4", "S-1");
    assert_eq!(outcome(&post_update(&app, TILL, take_back.clone()).await).0, "Success");
    assert_eq!(outcome(&post_update(&app, TILL, refund(&code, "R-1", "5", "S-1")).await).0, "Success");
    assert_eq!(points(&app, &code).await, "31.5");
    // The same refund again (a retry) is the first answer; from another location it is refused by the account.
    let retry = post_update(&app, TILL, take_back.clone()).await;
    assert_eq!(retry.headers["idempotency-hit"], "true");
    let mut elsewhere = take_back.clone();
    elsewhere["locationId"] = json!("0002");
    let (name, why) = outcome(&post_update(&app, TILL, elsewhere).await);
    assert_eq!((name.as_str(), why.contains("already")), ("Fail", true), "{why}");

    // Never more than the sale: 6 earned points are left to take back, no spent ones to give back.
    let (name, why) = outcome(&post_update(&app, TILL, refund(&code, "R-2", "-6.01", "S-1")).await);
    assert_eq!((name.as_str(), why.contains("at most 6 is left")), ("Fail", true), "{why}");
    let (name, why) = outcome(&post_update(&app, TILL, refund(&code, "R-2", "1", "S-1")).await);
    assert_eq!((name.as_str(), why.contains("at most 0 is left")), ("Fail", true), "{why}");
    let (name, why) = outcome(&post_update(&app, TILL, refund(&code, "R-3", "-1", "S-404")).await);
    assert_eq!((name.as_str(), why.contains("added nothing")), ("Fail", true), "{why}");
    assert_eq!(points(&app, &code).await, "31.5");

    // An exchange: one transaction gives back what the sale spent and earns on the new item; both apply.
    assert_eq!(outcome(&post_update(&app, TILL, till_update(&code, "S-2", "-2")).await).0, "Success");
    let exchange_back = refund(&code, "X-1", "2", "S-2");
    assert_eq!(outcome(&post_update(&app, TILL, exchange_back).await).0, "Success");
    assert_eq!(outcome(&post_update(&app, TILL, till_update(&code, "X-1", "3")).await).0, "Success");
    assert_eq!(points(&app, &code).await, "34.5");
    assert_eq!(outcome(&post_update(&app, TILL, refund(&code, "X-2", "-3", "X-1")).await).0, "Success");
    assert_eq!(points(&app, &code).await, "31.5");

    // Twelve tills refund the rest at once, 1.5 points each: exactly four succeed.
    let mut tills = tokio::task::JoinSet::new();
    for n in 0..12 {
        let (http, url) = (app.http.clone(), format!("{}/WebRestApi/rest/accountBalances/update", app.base));
        let (id, secret) = common::credentials(TILL);
        let body = refund(&code, &format!("R-1{n:02}"), "-1.5", "S-1");
        tills.spawn(async move {
            let reply = http.post(url).basic_auth(id, Some(secret)).json(&body).send().await.unwrap();
            let reply: Value = reply.json().await.unwrap();
            reply["outcome"]["name"].as_str().unwrap().to_owned()
        });
    }
    let names = tills.join_all().await;
    assert_eq!(names.iter().filter(|name| *name == "Success").count(), 4, "{names:?}");
    assert_eq!(points(&app, &code).await, "25.5");
}

#[tokio::test]
async fn pending_and_settling_updates_that_cannot_be_applied_are_refused_and_write_nothing() {
    let app = spawn_app().await;
    let code = customer(&app).await;
    let before = app.event_count().await;
    let far = chrono::Utc::now().timestamp_millis() + 8 * 24 * 3_600_000;
    let mut refund_pending = refund(&code, "R-1", "-1", "S-1");
    refund_pending["status"] = json!("PENDING");
    let mut half_refund = till_update(&code, "R-1", "-1");
    half_refund["originalTransactionId"] = json!("S-1");
    for body in
        [pending(&code, "T-1", "5", None), pending(&code, "T-1", "-5", Some(far)), refund_pending, half_refund, {
            let mut body = till_update(&code, "T-1", "-1");
            body["status"] = json!("CANCELLED");
            body
        }]
    {
        let reply = post_update(&app, TILL, body.clone()).await;
        assert_eq!(
            (reply.status, &reply.body["errorCode"]),
            (StatusCode::UNPROCESSABLE_ENTITY, &json!("InvalidRequest")),
            "{body}"
        );
    }
    for (body, status) in [
        (pending(&code, "T-1", "-5", None), "PENDING"),
        (till_update(&code, "T-1", "5"), "COMPLETE"),
        (refund(&code, "R-1", "-1", "S-1"), "COMPLETE"),
    ] {
        let reply = settle(&app, &body, status).await;
        assert_eq!(
            (reply.status, &reply.body["errorCode"]),
            (StatusCode::UNPROCESSABLE_ENTITY, &json!("InvalidRequest")),
            "{body} {status}"
        );
    }
    assert_eq!(app.event_count().await, before);
}
