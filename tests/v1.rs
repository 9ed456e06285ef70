//! The native `/v1` API end to end: cards, contacts, accruals and redemptions, freezing, expiry, reversals,
//! statements, idempotency, authorization and tenancy, refusal of bad input, and concurrent writes.

mod common;

use std::{future::Future, sync::Arc, time::Duration as StdDuration};

use chrono::{Duration, SecondsFormat, Utc};
use common::{spawn_app, Reply, TestApp};
use reqwest::{Method, StatusCode};
use rust_decimal::Decimal;
use serde_json::{json, Value};

const ADMIN: &str = "administrator";
const CASHIER: &str = "cc_operator";
const OK: StatusCode = StatusCode::OK;
const CREATED: StatusCode = StatusCode::CREATED;
const CONFLICT: StatusCode = StatusCode::CONFLICT;
const NOT_FOUND: StatusCode = StatusCode::NOT_FOUND;
const UNPROCESSABLE: StatusCode = StatusCode::UNPROCESSABLE_ENTITY;
const UNAUTHORIZED: StatusCode = StatusCode::UNAUTHORIZED;
// Refusal codes.
const INSUFFICIENT: &str = "InsufficientBonuses";
const INVALID: &str = "InvalidRequest";
const NO_CONTACT: &str = "ContactNotFound";
const NO_CARD: &str = "CardNotFound";

// ---- helpers ----

fn dec(text: &str) -> Decimal {
    text.parse().expect("a decimal")
}

/// An amount as the API shows it (a decimal string), exactly.
fn amount_of(value: &Value) -> Decimal {
    dec(value.as_str().expect("an amount"))
}

fn in_days(days: i64) -> String {
    (Utc::now() + Duration::days(days)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn new_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Asserts a refusal: its status and the `{"error": {"code", "message"}}` envelope.
#[track_caller]
fn assert_error(reply: &Reply, status: StatusCode, code: &str) {
    assert_eq!(reply.status, status, "{:?}", reply.body);
    assert_eq!(reply.body["error"]["code"], code, "{:?}", reply.body);
    assert!(reply.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{:?}", reply.body);
}

#[track_caller]
fn assert_status(reply: &Reply, status: StatusCode) {
    assert_eq!(reply.status, status, "{:?}", reply.body);
}

/// Asserts one field of a JSON document, named by a JSON pointer.
#[track_caller]
fn same(doc: &Value, pointer: &str, expected: impl Into<Value>) {
    assert_eq!(doc.pointer(pointer).unwrap_or(&Value::Null), &expected.into(), "{pointer} in {doc}");
}

fn acct(id: &str, what: &str) -> String {
    format!("/v1/accounts/{id}/{what}")
}

fn contact_url(id: &str) -> String {
    format!("/v1/contacts/{id}")
}

fn card(number: &str) -> Value {
    json!({"number": number, "category": "Plastic", "card_type": "Bonus"})
}

fn batch(numbers: impl IntoIterator<Item = u64>) -> Value {
    let cards: Vec<Value> = numbers.into_iter().map(|n| card(&n.to_string())).collect();
    json!({ "cards": cards })
}

/// A POST with a raw body, as acme's administrator or (`signed` false) without credentials.
async fn raw(app: &TestApp, signed: bool, path: &str, body: &[u8], key: &str) -> Reply {
    let mut request = app.http.post(format!("{}{path}", app.base)).header("Idempotency-Key", key);
    if signed {
        let (id, secret) = common::credentials(ADMIN);
        request = request.basic_auth(id, Some(secret));
    }
    let response = request.header("content-type", "application/json").body(body.to_vec()).send().await.expect("sent");
    let (status, headers) = (response.status(), response.headers().clone());
    let body = serde_json::from_str(&response.text().await.expect("body")).unwrap_or(Value::Null);
    Reply { status, body, headers }
}

/// A POST as acme's administrator with the given idempotency key.
async fn keyed(app: &TestApp, path: &str, body: &Value, key: &str) -> Reply {
    app.send(ADMIN, Method::POST, path, Some(body.clone()), Some(key)).await
}

async fn patch(app: &TestApp, role: &str, id: &str, body: Value) -> Reply {
    let (path, key) = (contact_url(id), new_key());
    app.send(role, Method::PATCH, &path, Some(body), Some(&key)).await
}

/// A request as the administrator of merchant `other`, with a fresh idempotency key.
async fn as_other(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Reply {
    let (id, secret, k) = ("other-administrator", "secret-administrator", new_key());
    app.send_as(id, secret, method, path, body, Some(&k)).await
}

/// Runs `n` requests at the same moment and returns their replies.
async fn at_once<F>(n: usize, request: impl Fn() -> F) -> Vec<Reply>
where
    F: Future<Output = Reply> + Send + 'static,
{
    let start = Arc::new(tokio::sync::Barrier::new(n));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (start, request) = (start.clone(), request());
        tasks.spawn(async move {
            start.wait().await;
            request.await
        });
    }
    tasks.join_all().await
}

/// A running service with one customer of acme.
async fn with_customer() -> (TestApp, String) {
    let app = spawn_app().await;
    let id = customer(&app, "+79990001122").await;
    (app, id)
}

async fn customer(app: &TestApp, mobile: &str) -> String {
    app.register_contact(json!({"name": "Test Person", "mobile_number": mobile})).await
}

async fn accrue(app: &TestApp, id: &str, body: Value) -> Reply {
    app.post(ADMIN, &acct(id, "accruals"), body).await
}

/// Accrues and returns the accrual's movement.
async fn accrued(app: &TestApp, id: &str, body: Value) -> Value {
    let reply = accrue(app, id, body).await;
    assert_status(&reply, CREATED);
    reply.body["movements"][0].clone()
}

async fn redeem(app: &TestApp, id: &str, amount: &str) -> Reply {
    app.post(CASHIER, &acct(id, "redemptions"), json!({ "amount": amount })).await
}

async fn reverse(app: &TestApp, id: &str, event_id: &Value) -> Reply {
    app.post(ADMIN, &acct(id, "reversals"), json!({"event_id": event_id, "reason": "mistake"})).await
}

/// freeze, unfreeze or expiry.
async fn act(app: &TestApp, id: &str, action: &str) -> Reply {
    app.post(ADMIN, &acct(id, action), json!({})).await
}

async fn balance(app: &TestApp, id: &str) -> Value {
    let reply = app.get(CASHIER, &acct(id, "balance")).await;
    assert_status(&reply, OK);
    reply.body
}

fn bucket<'a>(balance: &'a Value, kind: &str, status: &str) -> Option<&'a Value> {
    let buckets = balance["buckets"].as_array().expect("buckets");
    buckets.iter().find(|b: &&Value| b["bonus_type"] == kind && b["status"] == status)
}

/// The amount of one bucket of the balance; the bucket must be listed.
#[track_caller]
fn figure(balance: &Value, kind: &str, status: &str) -> Decimal {
    let found = bucket(balance, kind, status).unwrap_or_else(|| panic!("no {kind} {status} bucket in {balance}"));
    amount_of(&found["amount"])
}

#[track_caller]
fn cash(balance: &Value, status: &str) -> Decimal {
    figure(balance, "cash", status)
}

async fn active(app: &TestApp, id: &str) -> Decimal {
    cash(&balance(app, id).await, "active")
}

/// Every movement of the account (one page holds them all).
async fn movements(app: &TestApp, id: &str) -> Vec<Value> {
    let reply = app.get(CASHIER, &acct(id, "statement?limit=500")).await;
    assert_status(&reply, OK);
    same(&reply.body, "/next_after_version", Value::Null);
    reply.body["movements"].as_array().expect("list").clone()
}

fn types(movements: &[Value]) -> Vec<&str> {
    movements.iter().map(|m| m["event_type"].as_str()).map(|name| name.expect("event_type")).collect()
}

// ---- cards ----

#[tokio::test]
async fn a_registered_card_is_new_with_its_category_and_type() {
    let app = spawn_app().await;
    let before = app.event_count().await;
    let body = json!({"number": "7000000000011", "category": "Virtual", "card_type": "Discount"});
    assert_status(&app.post(ADMIN, "/v1/cards", body).await, CREATED);
    assert_eq!(app.event_count().await, before + 1);
    let card = app.get(CASHIER, "/v1/cards/7000000000011").await;
    same(&card.body, "/status", "New");
    same(&card.body, "/category", "Virtual");
    same(&card.body, "/card_type", "Discount");
}

#[tokio::test]
async fn a_card_number_registers_only_once() {
    let app = spawn_app().await;
    app.register_card("7000000000012").await;
    let before = app.event_count().await;
    assert_error(&app.post(ADMIN, "/v1/cards", card("7000000000012")).await, CONFLICT, "CardAlreadyRegistered");
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn an_invalid_card_number_is_refused() {
    let app = spawn_app().await;
    let before = app.event_count().await;
    for bad in ["12345", "70000000000a1", "7000-0000", &"1".repeat(20)] {
        assert_error(&app.post(ADMIN, "/v1/cards", card(bad)).await, UNPROCESSABLE, INVALID);
    }
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn a_batch_registers_every_card() {
    let app = spawn_app().await;
    let before = app.event_count().await;
    let numbers = 7100000000001..=7100000000003;
    let reply = app.post(ADMIN, "/v1/cards/batch", batch(numbers.clone())).await;
    assert_status(&reply, CREATED);
    same(&reply.body, "/registered", 3);
    assert_eq!(app.event_count().await, before + 3);
    for number in numbers {
        same(&app.get(CASHIER, &format!("/v1/cards/{number}")).await.body, "/status", "New");
    }
}

#[tokio::test]
async fn a_batch_with_one_registered_card_registers_none() {
    let app = spawn_app().await;
    app.register_card("7100000000002").await;
    let before = app.event_count().await;
    let reply = app.post(ADMIN, "/v1/cards/batch", batch(7100000000001..=7100000000003)).await;
    assert_error(&reply, CONFLICT, "CardAlreadyRegistered");
    assert_eq!(app.event_count().await, before);
    for number in ["7100000000001", "7100000000003"] {
        assert_error(&app.get(CASHIER, &format!("/v1/cards/{number}")).await, NOT_FOUND, NO_CARD);
    }
}

#[tokio::test]
async fn a_batch_naming_a_card_twice_is_refused() {
    let app = spawn_app().await;
    let before = app.event_count().await;
    let cards = batch([7100000000001, 7100000000002, 7100000000001]);
    assert_error(&app.post(ADMIN, "/v1/cards/batch", cards).await, UNPROCESSABLE, INVALID);
    assert_eq!(app.event_count().await, before);
    assert_error(&app.get(CASHIER, "/v1/cards/7100000000002").await, NOT_FOUND, NO_CARD);
}

#[tokio::test]
async fn a_batch_holds_one_to_a_thousand_cards() {
    let app = spawn_app().await;
    let before = app.event_count().await;
    for cards in [batch([]), batch(100000..101001)] {
        assert_error(&app.post(ADMIN, "/v1/cards/batch", cards).await, UNPROCESSABLE, INVALID);
    }
    assert_eq!(app.event_count().await, before);
    let cards = batch(200000..201000);
    same(&app.post(ADMIN, "/v1/cards/batch", cards).await.body, "/registered", 1000);
    assert_eq!(app.event_count().await, before + 1000);
}

// ---- contacts ----

#[tokio::test]
async fn a_registered_contact_gets_a_code_and_reads_back() {
    let app = spawn_app().await;
    let body = json!({"name": "Anna", "mobile_number": "+7 999 000 11 22", "email": "a@b.ru"});
    let reply = app.post(ADMIN, "/v1/contacts", body).await;
    assert_status(&reply, CREATED);
    let id = reply.body["contact_id"].as_str().expect("contact_id");
    let code = reply.body["code"].as_str().expect("a generated code");
    let contact = app.get(CASHIER, &contact_url(id)).await;
    same(&contact.body, "/code", code);
    same(&contact.body, "/name", "Anna");
    same(&contact.body, "/mobile_number", "+79990001122");
    same(&contact.body, "/email", "a@b.ru");
    assert_error(&app.get(CASHIER, &contact_url(&new_key())).await, NOT_FOUND, NO_CONTACT);
}

#[tokio::test]
async fn a_contact_is_found_by_mobile_in_any_notation_and_by_code() {
    let app = spawn_app().await;
    let id = app.register_contact(json!({"name": "Anna", "mobile_number": "+79990001122", "code": "FIND-1"})).await;
    let notations = ["+7 (999) 000-11-22", "79990001122", "0079990001122"];
    for notation in notations.into_iter().chain(["+7.999.000.11.22"]) {
        let query = notation.replace('+', "%2B").replace(' ', "%20");
        same(&app.get(CASHIER, &format!("/v1/contacts?mobile_number={query}")).await.body, "/contact_id", &*id);
    }
    same(&app.get(CASHIER, "/v1/contacts?code=FIND-1").await.body, "/contact_id", &*id);
    for query in ["mobile_number=79990009999", "code=NOPE"] {
        assert_error(&app.get(CASHIER, &format!("/v1/contacts?{query}")).await, NOT_FOUND, NO_CONTACT);
    }
}

#[tokio::test]
async fn a_mobile_number_or_code_belongs_to_one_contact() {
    let (app, _) = with_customer().await;
    let other = app.register_contact(json!({"name": "Anna", "mobile_number": "+79990005566", "code": "ONE"})).await;
    let before = app.event_count().await;
    let reply = app.post(ADMIN, "/v1/contacts", json!({"name": "Boris", "mobile_number": "+7 (999) 000-11-22"})).await;
    assert_error(&reply, CONFLICT, "MobileNumberTaken");
    let same_code = json!({"name": "Vera", "mobile_number": "+79990003344", "code": "ONE"});
    assert_error(&app.post(ADMIN, "/v1/contacts", same_code).await, CONFLICT, "ContactCodeTaken");
    assert_error(
        &patch(&app, ADMIN, &other, json!({"mobile_number": "79990001122"})).await,
        CONFLICT,
        "MobileNumberTaken",
    );
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn patching_a_contact_changes_its_details_but_never_its_code() {
    let app = spawn_app().await;
    let id = app.register_contact(json!({"name": "Anna", "mobile_number": "+79990001122", "code": "KEEP"})).await;
    assert_status(&patch(&app, ADMIN, &id, json!({"name": "Anna K", "email": "a@b.ru"})).await, OK);
    let before = app.event_count().await;
    assert_error(&patch(&app, ADMIN, &id, json!({"code": "OTHER"})).await, UNPROCESSABLE, INVALID);
    assert_eq!(app.event_count().await, before);
    let contact = app.get(CASHIER, &contact_url(&id)).await;
    same(&contact.body, "/name", "Anna K");
    same(&contact.body, "/email", "a@b.ru");
    same(&contact.body, "/code", "KEEP");
    assert_error(&patch(&app, ADMIN, &new_key(), json!({"name": "X"})).await, NOT_FOUND, NO_CONTACT);
}

#[tokio::test]
async fn a_bad_email_or_phone_is_refused() {
    let (app, id) = with_customer().await;
    let before = app.event_count().await;
    let bad_email = json!({"name": "A", "mobile_number": "+79990002233", "email": "no"});
    let bad_phones = ["12345", "phone", "+7 999 abc"].map(|m| json!({ "mobile_number": m }));
    for body in bad_phones.into_iter().chain([bad_email]) {
        assert_error(&app.post(ADMIN, "/v1/contacts", body).await, UNPROCESSABLE, INVALID);
    }
    for body in [json!({"email": "nope"}), json!({"mobile_number": "1"})] {
        assert_error(&patch(&app, ADMIN, &id, body).await, UNPROCESSABLE, INVALID);
    }
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn an_address_is_read_back_replaced_whole_and_refused_when_malformed() {
    let (app, id) = with_customer().await;
    let home = json!({"street1": " 221B Baker Street ", "town": "London", "postcode": "NW1 6XE", "country": "GB"});
    assert_status(&patch(&app, ADMIN, &id, json!({ "address": home })).await, OK);
    let contact = app.get(CASHIER, &contact_url(&id)).await;
    same(&contact.body, "/address/street1", "221B Baker Street");
    same(&contact.body, "/address/postcode", "NW1 6XE");
    assert_status(&patch(&app, ADMIN, &id, json!({"address": {"postcode": "E14 5AB"}})).await, OK);
    let contact = app.get(CASHIER, &contact_url(&id)).await;
    assert_eq!(contact.body["address"], json!({"postcode": "E14 5AB"}), "a new address replaces the old one whole");
    let before = app.event_count().await;
    for address in [
        json!({}),
        json!({"postcode": " - "}),
        json!({"postcode": "A".repeat(17)}),
        json!({"town": " "}),
        json!({"street1": "x".repeat(101)}),
        json!({"zip": "12345"}),
        json!("NW1 6XE"),
    ] {
        let reply = patch(&app, ADMIN, &id, json!({ "address": address })).await;
        assert_error(&reply, UNPROCESSABLE, INVALID);
    }
    assert_eq!(app.event_count().await, before);
}

// ---- accruals and redemptions ----

#[tokio::test]
async fn amounts_are_exact_decimals() {
    let (app, id) = with_customer().await;
    for _ in 0..3 {
        assert_eq!(amount_of(&accrued(&app, &id, json!({"amount": "0.10"})).await["amount"]), dec("0.1"));
    }
    assert_eq!(amount_of(&redeem(&app, &id, "0.30").await.body["movements"][0]["amount"]), dec("-0.3"));
    assert_eq!(active(&app, &id).await, Decimal::ZERO);
    // JSON numbers are read as written, not as binary floats: 1.1 + 2.2 is 3.3.
    accrued(&app, &id, json!({"amount": 1.1})).await;
    accrued(&app, &id, json!({"amount": "2.2"})).await;
    assert_eq!(active(&app, &id).await, dec("3.3"));
    assert_status(&redeem(&app, &id, "3.3").await, CREATED);
    assert_eq!(active(&app, &id).await, Decimal::ZERO);
}

#[tokio::test]
async fn a_redemption_never_exceeds_the_active_amount() {
    let (app, id) = with_customer().await;
    accrued(&app, &id, json!({"amount": "10"})).await;
    let before = app.event_count().await;
    assert_error(&redeem(&app, &id, "10.01").await, CONFLICT, INSUFFICIENT);
    assert_eq!(app.event_count().await, before);
    assert_eq!(active(&app, &id).await, dec("10"));
    assert_status(&redeem(&app, &id, "10").await, CREATED);
}

#[tokio::test]
async fn a_redemption_spends_the_lots_nearest_expiry_first() {
    let (app, id) = with_customer().await;
    let lot = |movement: Value| movement["cause"]["lot_id"].clone();
    let never = lot(accrued(&app, &id, json!({"amount": "10"})).await);
    let late = lot(accrued(&app, &id, json!({"amount": "5", "expires_at": in_days(60)})).await);
    let soon = lot(accrued(&app, &id, json!({"amount": "4", "expires_at": in_days(10)})).await);
    let reply = redeem(&app, &id, "12").await;
    let expected = [(soon, dec("4")), (late, dec("5")), (never, dec("3"))];
    let split = |movement: &Value| -> Vec<(Value, Decimal)> {
        let parts = movement.pointer("/cause/allocations").and_then(Value::as_array);
        parts.expect("allocations").iter().map(|a: &Value| (a["lot_id"].clone(), amount_of(&a["amount"]))).collect()
    };
    assert_eq!(split(&reply.body["movements"][0]), expected);
    assert_eq!(split(movements(&app, &id).await.last().unwrap()), expected);
    assert_eq!(active(&app, &id).await, dec("7"));
}

#[tokio::test]
async fn a_future_accrual_is_inactive_and_not_redeemable() {
    let (app, id) = with_customer().await;
    accrued(&app, &id, json!({"amount": "10"})).await;
    accrued(&app, &id, json!({"amount": "50", "active_from": in_days(1)})).await;
    let shown = balance(&app, &id).await;
    assert_eq!(cash(&shown, "active"), dec("10"));
    assert_eq!(cash(&shown, "inactive"), dec("50"));
    let before = app.event_count().await;
    assert_error(&redeem(&app, &id, "11").await, CONFLICT, INSUFFICIENT);
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn an_expiry_date_shows_in_the_nearest_expiry_bucket() {
    let (app, id) = with_customer().await;
    let (soon, late) = (in_days(10), in_days(20));
    accrued(&app, &id, json!({"amount": "7", "expires_at": soon})).await;
    accrued(&app, &id, json!({"amount": "3", "expires_at": late})).await;
    accrued(&app, &id, json!({"amount": "5"})).await;
    let shown = balance(&app, &id).await;
    assert_eq!(cash(&shown, "active"), dec("15"));
    assert_eq!(cash(&shown, "nearest_expiry"), dec("7"));
    same(bucket(&shown, "cash", "nearest_expiry").unwrap(), "/expire_date", soon);
}

#[tokio::test]
async fn the_nearest_expiry_bucket_ignores_spent_lots() {
    let (app, id) = with_customer().await;
    let late = in_days(60);
    accrued(&app, &id, json!({"amount": "4", "expires_at": in_days(10)})).await;
    accrued(&app, &id, json!({"amount": "5", "expires_at": late})).await;
    assert_status(&redeem(&app, &id, "4").await, CREATED);
    // The 4 expiring in 10 days are spent: what expires next is the 5 in 60 days.
    let shown = balance(&app, &id).await;
    let nearest = bucket(&shown, "cash", "nearest_expiry").unwrap();
    same(nearest, "/expire_date", late);
    assert_eq!(amount_of(&nearest["amount"]), dec("5"), "{shown}");
}

#[tokio::test]
async fn invalid_amounts_are_refused() {
    let (app, id) = with_customer().await;
    accrued(&app, &id, json!({"amount": "10"})).await;
    let before = app.event_count().await;
    let amounts = [json!("0"), json!(0), json!("-5"), json!(-5)];
    for amount in amounts.into_iter().chain([json!("1.00001")]) {
        assert_error(&accrue(&app, &id, json!({ "amount": amount })).await, UNPROCESSABLE, "InvalidAmount");
        let reply = app.post(CASHIER, &acct(&id, "redemptions"), json!({ "amount": amount })).await;
        assert_error(&reply, UNPROCESSABLE, "InvalidAmount");
    }
    assert_eq!(app.event_count().await, before);
    assert_eq!(active(&app, &id).await, dec("10"));
}

#[tokio::test]
async fn status_bonuses_are_kept_apart_from_cash() {
    let (app, id) = with_customer().await;
    accrued(&app, &id, json!({"amount": "10"})).await;
    accrued(&app, &id, json!({"amount": "50", "bonus_type": "status"})).await;
    assert_error(&redeem(&app, &id, "20").await, CONFLICT, INSUFFICIENT);
    let reply = app.post(CASHIER, &acct(&id, "redemptions"), json!({"amount": "20", "bonus_type": "status"})).await;
    same(&reply.body, "/movements/0/bonus_type", "status");
    let shown = balance(&app, &id).await;
    assert_eq!(cash(&shown, "active"), dec("10"));
    assert_eq!(figure(&shown, "status", "active"), dec("30"));
}

#[tokio::test]
async fn amounts_too_large_to_add_up_do_not_break_the_service() {
    let (app, id) = with_customer().await;
    let before = app.event_count().await;
    // One movement is capped at 1,000,000,000, so that no sum over an account can overflow.
    let max = json!({ "amount": Decimal::MAX.to_string() });
    assert_error(&accrue(&app, &id, max).await, UNPROCESSABLE, "InvalidAmount");
    assert_error(&accrue(&app, &id, json!({"amount": "1000000000.0001"})).await, UNPROCESSABLE, "InvalidAmount");
    assert_eq!(app.event_count().await, before);
    for _ in 0..3 {
        accrued(&app, &id, json!({"amount": "1000000000"})).await;
    }
    assert_status(&redeem(&app, &id, "1").await, CREATED);
    assert_eq!(cash(&balance(&app, &id).await, "active"), dec("2999999999"));
    // The service still serves other customers.
    accrued(&app, &customer(&app, "+79990003344").await, json!({"amount": "1"})).await;
}

// ---- freeze ----

#[tokio::test]
async fn a_frozen_account_cannot_redeem_until_unfrozen() {
    let (app, id) = with_customer().await;
    accrued(&app, &id, json!({"amount": "10"})).await;
    assert_status(&act(&app, &id, "freeze").await, CREATED);
    let shown = balance(&app, &id).await;
    same(&shown, "/frozen", true);
    assert_eq!(cash(&shown, "frozen"), dec("10"));
    assert_eq!(cash(&shown, "active"), Decimal::ZERO);
    let before = app.event_count().await;
    assert_error(&redeem(&app, &id, "1").await, CONFLICT, "AccountFrozen");
    assert_error(&act(&app, &id, "freeze").await, CONFLICT, "AccountFrozen");
    assert_eq!(app.event_count().await, before);
    assert_status(&act(&app, &id, "unfreeze").await, CREATED);
    let shown = balance(&app, &id).await;
    same(&shown, "/frozen", false);
    assert_eq!(cash(&shown, "frozen"), Decimal::ZERO);
    assert_eq!(cash(&shown, "active"), dec("10"));
    assert_error(&act(&app, &id, "unfreeze").await, CONFLICT, "AccountNotFrozen");
    assert_status(&redeem(&app, &id, "4").await, CREATED);
}

// ---- expiry ----

/// Accrues `amount` expiring 1.5 s from now, waits until that has passed, and returns the lot id.
async fn expired(app: &TestApp, id: &str, amount: &str, then: &[&str]) -> Value {
    let until = Utc::now() + Duration::milliseconds(1500);
    let expires_at = until.to_rfc3339_opts(SecondsFormat::Millis, true);
    let lot = accrued(app, id, json!({"amount": amount, "expires_at": expires_at})).await["cause"]["lot_id"].clone();
    for redemption in then {
        assert_status(&redeem(app, id, redemption).await, CREATED);
    }
    tokio::time::sleep((until - Utc::now()).to_std().unwrap_or_default() + StdDuration::from_millis(300)).await;
    lot
}

#[tokio::test]
async fn expired_lots_are_burnt_on_request() {
    let (app, id) = with_customer().await;
    accrued(&app, &id, json!({"amount": "5"})).await;
    let lot = expired(&app, &id, "10", &["3"]).await;
    let reply = act(&app, &id, "expiry").await;
    assert_status(&reply, CREATED);
    let burnt = &reply.body["movements"][0];
    same(burnt, "/event_type", "BonusExpired");
    same(burnt, "/cause/expired_lot_id", lot);
    assert_eq!(amount_of(&burnt["amount"]), dec("-7"));
    let shown = balance(&app, &id).await;
    assert_eq!(cash(&shown, "burnt"), dec("7"));
    assert_eq!(cash(&shown, "active"), dec("5"));
    assert!(bucket(&shown, "cash", "nearest_expiry").is_none());
    assert_eq!(types(&movements(&app, &id).await).last(), Some(&"BonusExpired"));
    assert_error(&redeem(&app, &id, "6").await, CONFLICT, INSUFFICIENT);
}

#[tokio::test]
async fn the_expiry_job_burns_expired_lots() {
    let (app, id) = with_customer().await;
    let lot = expired(&app, &id, "4.5", &[]).await;
    let burnt = tally::jobs::expire_due(&app.app).await.expect("job");
    assert_eq!(burnt, 1);
    let shown = balance(&app, &id).await;
    assert_eq!(cash(&shown, "burnt"), dec("4.5"));
    assert_eq!(cash(&shown, "active"), Decimal::ZERO);
    let statement = movements(&app, &id).await;
    let last = statement.last().unwrap();
    same(last, "/event_type", "BonusExpired");
    same(last, "/cause/expired_lot_id", lot);
    assert_eq!(amount_of(&last["amount"]), dec("-4.5"));
}

// ---- reversals ----

#[tokio::test]
async fn an_accrual_is_reversed_whole_and_once() {
    let (app, id) = with_customer().await;
    accrued(&app, &id, json!({"amount": "3"})).await;
    let accrual = accrued(&app, &id, json!({"amount": "10"})).await;
    let reply = reverse(&app, &id, &accrual["event_id"]).await;
    assert_status(&reply, CREATED);
    let movement = &reply.body["movements"][0];
    same(movement, "/event_type", "AccrualReversed");
    same(movement, "/cause/reverses", accrual["event_id"].clone());
    assert_eq!(amount_of(&movement["amount"]), dec("-10"));
    assert_eq!(active(&app, &id).await, dec("3"));
    let before = app.event_count().await;
    assert_error(&reverse(&app, &id, &accrual["event_id"]).await, CONFLICT, "AlreadyReversed");
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn a_partly_spent_accrual_is_reversed_only_after_its_redemption() {
    let (app, id) = with_customer().await;
    let accrual = accrued(&app, &id, json!({"amount": "10"})).await;
    let accrual = &accrual["event_id"];
    let redemption = redeem(&app, &id, "4").await.body;
    let redemption = &redemption["movements"][0]["event_id"];
    let before = app.event_count().await;
    assert_error(&reverse(&app, &id, accrual).await, CONFLICT, "AccrualPartlySpent");
    assert_eq!(app.event_count().await, before);
    let reply = reverse(&app, &id, redemption).await;
    assert_status(&reply, CREATED);
    same(&reply.body, "/movements/0/event_type", "RedemptionReversed");
    same(&reply.body, "/movements/0/amount", "4");
    assert_eq!(active(&app, &id).await, dec("10"));
    assert_error(&reverse(&app, &id, redemption).await, CONFLICT, "AlreadyReversed");
    assert_status(&reverse(&app, &id, accrual).await, CREATED);
    assert_eq!(active(&app, &id).await, Decimal::ZERO);
}

#[tokio::test]
async fn reversing_an_unknown_or_foreign_event_finds_nothing() {
    let (app, id) = with_customer().await;
    let neighbour = customer(&app, "+79990003344").await;
    accrued(&app, &id, json!({"amount": "10"})).await;
    let foreign = accrued(&app, &neighbour, json!({"amount": "10"})).await;
    let freeze = act(&app, &id, "freeze").await.body;
    let before = app.event_count().await;
    let (unknown, freeze) = (json!(new_key()), &freeze["events"][0]);
    for event_id in [&unknown, &foreign["event_id"], &freeze["event_id"]] {
        assert_error(&reverse(&app, &id, event_id).await, NOT_FOUND, "NothingToReverse");
    }
    assert_eq!(app.event_count().await, before);
    assert_eq!(active(&app, &neighbour).await, dec("10"));
}

#[tokio::test]
async fn the_statement_lists_every_movement_with_its_cause() {
    let (app, id) = with_customer().await;
    let accrual = accrued(&app, &id, json!({"amount": "10", "reference": "order-1"})).await;
    let (path, body) = (acct(&id, "redemptions"), json!({"amount": "4", "reference": "receipt-1"}));
    let redemption = app.post(CASHIER, &path, body).await.body["movements"][0]["event_id"].clone();
    assert_status(&reverse(&app, &id, &redemption).await, CREATED);
    assert_status(&act(&app, &id, "freeze").await, CREATED);
    let statement = movements(&app, &id).await;
    let flow = ["BonusAccrued", "BonusRedeemed", "RedemptionReversed"];
    assert_eq!(types(&statement), [&flow[..], &["BonusesFrozen"]].concat());
    let amount = |m: &Value| (!m["amount"].is_null()).then(|| amount_of(&m["amount"]));
    let amounts: Vec<Option<Decimal>> = statement.iter().map(amount).collect();
    assert_eq!(amounts, [Some(dec("10")), Some(dec("-4")), Some(dec("4")), None]);
    same(&statement[0], "/event_id", accrual["event_id"].clone());
    same(&statement[0], "/cause/reference", "order-1");
    same(&statement[1], "/event_id", redemption.clone());
    same(&statement[1], "/cause/reference", "receipt-1");
    same(&statement[1], "/actor/principal", "acme-cc_operator");
    same(&statement[2], "/cause/reverses", redemption);
    same(&statement[2], "/cause/reason", "mistake");
}

// ---- statement paging ----

#[tokio::test]
async fn the_statement_pages_through_every_movement() {
    let (app, id) = with_customer().await;
    for n in 1..=7 {
        accrued(&app, &id, json!({"amount": n.to_string()})).await;
    }
    let (mut seen, mut after, mut pages) = (Vec::new(), 0, 0);
    while pages < 10 {
        let query = format!("statement?limit=3&after_version={after}");
        let page = app.get(CASHIER, &acct(&id, &query)).await;
        pages += 1;
        seen.extend(page.body["movements"].as_array().unwrap().iter().map(|m| amount_of(&m["amount"])));
        match page.body["next_after_version"].as_i64() {
            Some(next) => after = next,
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, (1..=7).map(Decimal::from).collect::<Vec<_>>());
    for query in ["limit=0", "limit=501", "after_version=-1"] {
        assert_error(&app.get(CASHIER, &acct(&id, &format!("statement?{query}"))).await, UNPROCESSABLE, INVALID);
    }
}

// ---- idempotency ----

#[tokio::test]
async fn a_write_without_a_usable_idempotency_key_is_refused() {
    let (app, id) = with_customer().await;
    let before = app.event_count().await;
    let (path, body) = (acct(&id, "accruals"), Some(json!({"amount": "10"})));
    let reply = app.send(ADMIN, Method::POST, &path, body, None).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "IdempotencyKeyRequired");
    assert_error(&keyed(&app, "/v1/cards", &card("7000000000021"), &"k".repeat(256)).await, UNPROCESSABLE, INVALID);
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn a_retry_with_the_same_key_replays_the_first_answer() {
    let (app, id) = with_customer().await;
    let path = acct(&id, "accruals");
    let body = json!({"amount": "10", "reference": "order-1"});
    let first = keyed(&app, &path, &body, "k-1").await;
    assert_status(&first, CREATED);
    assert!(first.headers.get("idempotency-hit").is_none());
    let before = app.event_count().await;
    let retry = keyed(&app, &path, &body, "k-1").await;
    assert_eq!((retry.status, &retry.body), (first.status, &first.body));
    assert_eq!(retry.headers["idempotency-hit"], "true");
    assert_eq!(app.event_count().await, before);
    // A refusal is replayed too, even when the account could pay by now.
    let (path, body) = (acct(&id, "redemptions"), json!({"amount": "15"}));
    let refused = keyed(&app, &path, &body, "k-2").await;
    assert_error(&refused, CONFLICT, INSUFFICIENT);
    accrued(&app, &id, json!({"amount": "10"})).await;
    let retry = keyed(&app, &path, &body, "k-2").await;
    assert_eq!((retry.status, &retry.body), (refused.status, &refused.body));
    assert_eq!(retry.headers["idempotency-hit"], "true");
    assert_eq!(active(&app, &id).await, dec("20"));
}

#[tokio::test]
async fn a_key_reused_for_another_request_is_refused() {
    let (app, id) = with_customer().await;
    let path = acct(&id, "accruals");
    assert_status(&keyed(&app, &path, &json!({"amount": "10"}), "k-1").await, CREATED);
    let before = app.event_count().await;
    assert_error(&keyed(&app, &path, &json!({"amount": "11"}), "k-1").await, UNPROCESSABLE, "IdempotencyKeyReused");
    assert_eq!(app.event_count().await, before);
    assert_eq!(active(&app, &id).await, dec("10"));
}

#[tokio::test]
async fn idempotency_keys_are_scoped_to_the_principal() {
    let (app, id) = with_customer().await;
    let (path, body) = (acct(&id, "accruals"), json!({"amount": "10"}));
    for role in [ADMIN, CASHIER] {
        let (body, key) = (Some(body.clone()), Some("shared"));
        let reply = app.send(role, Method::POST, &path, body, key).await;
        assert_status(&reply, CREATED);
        assert!(reply.headers.get("idempotency-hit").is_none(), "{role}");
    }
    assert_eq!(active(&app, &id).await, dec("20"));
    // Merchant other's administrator is another principal too.
    let body = Some(json!({"name": "Other", "mobile_number": "+79990001122"}));
    let (who, secret) = ("other-administrator", "secret-administrator");
    assert_status(&app.send_as(who, secret, Method::POST, "/v1/contacts", body, Some("shared")).await, CREATED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_retries_with_one_key_apply_once() {
    let (app, id) = with_customer().await;
    let (app, path) = (Arc::new(app), acct(&id, "accruals"));
    let before = app.event_count().await;
    let replies = at_once(8, || {
        let (app, path) = (app.clone(), path.clone());
        async move { keyed(&app, &path, &json!({"amount": "10"}), "once").await }
    })
    .await;
    for reply in &replies {
        assert_status(reply, CREATED);
        assert_eq!(reply.body, replies[0].body);
    }
    assert_eq!(app.event_count().await, before + 1);
    assert_eq!(active(&app, &id).await, dec("10"));
}

// ---- authorization and tenancy ----

#[tokio::test]
async fn requests_without_valid_credentials_are_refused() {
    let (app, id) = with_customer().await;
    let before = app.event_count().await;
    let (path, accruals) = (acct(&id, "balance"), acct(&id, "accruals"));
    assert_eq!(app.http.get(format!("{}{path}", app.base)).send().await.unwrap().status(), UNAUTHORIZED);
    let (who, secret) = ("acme-administrator", "wrong");
    assert_error(&app.send_as(who, secret, Method::GET, &path, None, None).await, UNAUTHORIZED, "Unauthorized");
    let (post, body) = (Method::POST, Some(json!({"amount": "10"})));
    assert_error(&app.send_as(who, secret, post, &accruals, body, Some("k")).await, UNAUTHORIZED, "Unauthorized");
    assert_error(&raw(&app, false, &accruals, br#"{"amount": "10"}"#, "k").await, UNAUTHORIZED, "Unauthorized");
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn a_client_may_read_but_not_write() {
    let (app, id) = with_customer().await;
    accrued(&app, &id, json!({"amount": "10"})).await;
    for path in [acct(&id, "balance"), contact_url(&id)] {
        assert_status(&app.get("client", &path).await, OK);
    }
    let before = app.event_count().await;
    let writes = [
        (acct(&id, "redemptions"), json!({"amount": "1"})),
        (acct(&id, "freeze"), json!({})),
        ("/v1/cards".to_owned(), card("7000000000041")),
    ];
    for (path, body) in writes {
        assert_error(&app.post("client", &path, body).await, StatusCode::FORBIDDEN, "Forbidden");
    }
    assert_error(&patch(&app, "client", &id, json!({"name": "X"})).await, StatusCode::FORBIDDEN, "Forbidden");
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn merchants_see_only_their_own_customers() {
    let (app, id) = with_customer().await;
    app.register_card("7000000000051").await;
    accrued(&app, &id, json!({"amount": "10"})).await;
    let before = app.event_count().await;
    let reads = [
        (contact_url(&id), NO_CONTACT),
        (acct(&id, "balance"), NO_CONTACT),
        (acct(&id, "statement"), NO_CONTACT),
        ("/v1/contacts?mobile_number=79990001122".to_owned(), NO_CONTACT),
        ("/v1/cards/7000000000051".to_owned(), NO_CARD),
    ];
    for (path, code) in reads {
        assert_error(&as_other(&app, Method::GET, &path, None).await, NOT_FOUND, code);
    }
    for action in ["accruals", "redemptions"] {
        let (path, body) = (acct(&id, action), json!({"amount": "1"}));
        assert_error(&as_other(&app, Method::POST, &path, Some(body)).await, NOT_FOUND, NO_CONTACT);
    }
    let reply = as_other(&app, Method::PATCH, &contact_url(&id), Some(json!({"name": "Mallory"}))).await;
    assert_error(&reply, NOT_FOUND, NO_CONTACT);
    assert_eq!(app.event_count().await, before);
    assert_eq!(active(&app, &id).await, dec("10"));
}

// ---- bad input ----

#[tokio::test]
async fn bad_input_writes_nothing() {
    let (app, id) = with_customer().await;
    let before = app.event_count().await;
    let accruals = acct(&id, "accruals");
    let bodies: [&[u8]; 6] = [
        br#"{"amount": "10""#,
        b"amount=10",
        b"",
        br#"{"amount": "10", "bonus": 1}"#,
        br#"{"amount": true}"#,
        br#"{"amount": "1", "expires_at": "soon"}"#,
    ];
    for (n, body) in bodies.into_iter().enumerate() {
        assert_error(&raw(&app, true, &accruals, body, &format!("bad-{n}")).await, UNPROCESSABLE, INVALID);
    }
    let paper = br#"{"number": "7000000000061", "category": "Paper", "card_type": "Bonus"}"#;
    assert_error(&raw(&app, true, "/v1/cards", paper, "paper").await, UNPROCESSABLE, INVALID);
    let mut huge = br#"{"amount": "10", "reference": ""#.to_vec();
    huge.extend(std::iter::repeat_n(b'x', tally::http::MAX_BODY_BYTES));
    huge.extend(br#""}"#);
    assert_error(&raw(&app, true, &accruals, &huge, "huge").await, StatusCode::PAYLOAD_TOO_LARGE, "InvalidBody");
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn free_texts_are_bounded_in_characters_not_bytes() {
    let (app, id) = with_customer().await;
    let before = app.event_count().await;
    let long = "я".repeat(201);
    for body in [json!({"amount": "1", "reference": long}), json!({"amount": "1", "reference": "r", "x": 1})] {
        assert_error(&app.post(ADMIN, &acct(&id, "accruals"), body).await, UNPROCESSABLE, INVALID);
    }
    assert_error(&app.post(ADMIN, &acct(&id, "freeze"), json!({"reason": long})).await, UNPROCESSABLE, INVALID);
    assert_eq!(app.event_count().await, before);
    // 200 two-byte characters are 400 bytes, and within the bound.
    let reply = app.post(ADMIN, &acct(&id, "accruals"), json!({"amount": "1", "reference": "я".repeat(200)})).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
}

// ---- concurrency ----

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_redemptions_never_overdraw() {
    let (app, id) = with_customer().await;
    let app = Arc::new(app);
    accrued(&app, &id, json!({"amount": "100"})).await;
    let replies = at_once(20, || {
        let (app, id) = (app.clone(), id.clone());
        async move { redeem(&app, &id, "10").await }
    });
    let (paid, refused): (Vec<Reply>, _) = replies.await.into_iter().partition(|r| r.status == CREATED);
    assert_eq!(paid.len(), 10);
    for reply in &refused {
        assert_error(reply, CONFLICT, INSUFFICIENT);
    }
    assert_eq!(active(&app, &id).await, Decimal::ZERO);
    let mut running = Decimal::ZERO;
    for movement in movements(&app, &id).await {
        running += amount_of(&movement["amount"]);
        assert!(running >= Decimal::ZERO, "negative after {movement}");
    }
    assert_eq!(running, Decimal::ZERO);
}

#[tokio::test]
async fn malformed_path_and_query_parameters_are_answered_in_the_envelope_after_authentication() {
    let app = spawn_app().await;
    // Anonymous: 401 first, whatever the parameters.
    let anonymous = app.http.get(format!("{}/v1/accounts/0/balance", app.base)).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = anonymous.json().await.unwrap();
    assert_eq!(body["error"]["code"], "Unauthorized");
    // Authenticated: the malformed contact id and query are the API's own 400s, not axum's plain text.
    assert_error(
        &app.get("administrator", "/v1/accounts/0/balance").await,
        StatusCode::BAD_REQUEST,
        "InvalidParameter",
    );
    let contact = app.register_contact(json!({"name": "Q", "mobile_number": "+79991112233"})).await;
    let statement = format!("/v1/accounts/{contact}/statement?limit=many");
    assert_error(&app.get("administrator", &statement).await, StatusCode::BAD_REQUEST, "InvalidParameter");
}
