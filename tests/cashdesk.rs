//! Contract tests of the CashDesk card service under `/api/card`, built from the vendor seed
//! (`/work/shared/seeds/001_8f25cbe20e0532e1.txt`) and the choices documented in `src/http/cashdesk.rs` and the
//! README: every method at its path, every error key under its documented condition, the role table, idempotency,
//! bad input and tenancy.

mod common;

use std::str::FromStr;

use chrono::{Duration, SecondsFormat, Utc};
use common::{spawn_app, Reply, TestApp};
use reqwest::{Method, StatusCode};
use rust_decimal::Decimal;
use serde_json::{json, Value};

const CARD: &str = "7000000000001";
const CARD2: &str = "7000000000002";
const CARD3: &str = "7000000000003";
const NO_SUCH_CARD: &str = "7000000009999";
const MOBILE: &str = "+79991112233";
const MOBILE2: &str = "+79994445566";
const MOBILE3: &str = "+79997778899";
const NO_SUCH_MOBILE: &str = "+79990000000";
const ADMIN: &str = "administrator";
const SENIOR: &str = "senior_employee";

/// What a call must answer: the HTTP status and the envelope's `Key`.
type Want = (StatusCode, &'static str);
const OK: Want = (StatusCode::OK, "OK");
const MISSING: Want = (StatusCode::BAD_REQUEST, "RequiredParameterNotSpecified");
const BAD_CARD: Want = (StatusCode::BAD_REQUEST, "InvalidCardNumber");
const BAD_MOBILE: Want = (StatusCode::BAD_REQUEST, "InvalidMobileNumber");
const BAD_CODE: Want = (StatusCode::BAD_REQUEST, "InvalidContactCode");
const BAD_BODY: Want = (StatusCode::BAD_REQUEST, "InvalidRequestFormat");
const NO_CARD: Want = (StatusCode::NOT_FOUND, "CannotFindCardNumber");
const NO_CARD_BY_MOBILE: Want = (StatusCode::NOT_FOUND, "CannotFindMobileNumber");
const NO_CARD_BY_CODE: Want = (StatusCode::NOT_FOUND, "CannotFindContactCode");
const NO_CONTACT: Want = (StatusCode::NOT_FOUND, "CannotFindMobile");
const STATUS: Want = (StatusCode::CONFLICT, "StatusError");
const CARD_TAKEN: Want = (StatusCode::CONFLICT, "CardNumberBindToAnotherContact");
const CONTACT_TAKEN: Want = (StatusCode::CONFLICT, "ContactBindToAnotherCardNumber");
const BLOCK_REASON: Want = (StatusCode::FORBIDDEN, "BlockReasonError");
const UNBLOCK_REASON: Want = (StatusCode::FORBIDDEN, "UnBlockReasonError");
const UNAUTHORIZED: Want = (StatusCode::UNAUTHORIZED, "Unauthorized");
const TOO_LARGE: Want = (StatusCode::PAYLOAD_TOO_LARGE, "RequestTooLarge");
const KEY_REUSED: Want = (StatusCode::UNPROCESSABLE_ENTITY, "IdempotencyKeyReused");

// ---- helpers ----

/// The answer is `want`, in the seed's envelope: `Status` true and `Value` "" exactly on success, else the error text.
#[track_caller]
fn check(reply: &Reply, want: Want) {
    let got = (reply.status, reply.body["Key"].as_str().unwrap_or("-"));
    assert_eq!(got, want, "{:?}", reply.body);
    let success = want == OK;
    assert_eq!(reply.body["Status"], success, "{:?}", reply.body);
    let value = reply.body["Value"].as_str().expect("Value is a string");
    assert_eq!(value.is_empty(), success, "{:?}", reply.body);
}

/// The parameter names a RequiredParameterNotSpecified answer lists, comma-separated, in `Value`.
#[track_caller]
fn named(reply: &Reply) -> Vec<&str> {
    check(reply, MISSING);
    let value = reply.body["Value"].as_str().unwrap_or_default();
    value.split(',').map(str::trim).collect()
}

/// Each field of `want` has its value in `body`.
#[track_caller]
fn has_fields(body: &Value, want: Value) {
    for (field, value) in want.as_object().expect("an object") {
        assert_eq!(&body[field], value, "{field} in {body}");
    }
}

/// A GET of `/api/card/{path}` as the cc_operator.
async fn get(app: &TestApp, path: &str) -> Reply {
    app.get("cc_operator", &format!("/api/card/{path}")).await
}

/// A POST of a JSON body to `/api/card/{method}`, with a fresh Idempotency-Key.
async fn cd(app: &TestApp, role: &str, method: &str, body: Value) -> Reply {
    app.post(role, &format!("/api/card/{method}"), body).await
}

async fn block(app: &TestApp, role: &str, number: &str, reason: usize) -> Reply {
    cd(app, role, "block", json!({"Number": number, "BlockReasonCode": reason.to_string()})).await
}

async fn unblock(app: &TestApp, role: &str, number: &str, reason: usize) -> Reply {
    cd(app, role, "unblock", json!({"Number": number, "UnBlockReasonCode": reason.to_string()})).await
}

async fn bind(app: &TestApp, number: &str, mobile: &str) -> Reply {
    cd(app, "cc_operator", "bindto", json!({"Number": number, "MobileNumber": mobile})).await
}

async fn issue(app: &TestApp, number: &str) -> Reply {
    get(app, &format!("issue?Number={number}")).await
}

async fn activate(app: &TestApp, number: &str) -> Reply {
    get(app, &format!("active?Number={number}")).await
}

/// Registers a contact with `mobile` and, when given, `name`; returns its id.
async fn person(app: &TestApp, name: Option<&str>, mobile: &str) -> String {
    app.register_contact(json!({"name": name, "mobile_number": mobile})).await
}

/// A block for loss, sent with the Idempotency-Key `key`.
async fn keyed_block(app: &TestApp, role: &str, number: &str, key: &str) -> Reply {
    let body = Some(json!({"Number": number, "BlockReasonCode": "0"}));
    app.send(role, Method::POST, "/api/card/block", body, Some(key)).await
}

/// A GET of `/api/card/{path}` by the administrator of merchant `other`.
async fn as_other(app: &TestApp, path: &str) -> Reply {
    let path = format!("/api/card/{path}");
    app.send_as("other-administrator", "secret-administrator", Method::GET, &path, None, None).await
}

/// A registered, issued card bound to no one.
async fn issued_card(app: &TestApp, number: &str) {
    app.register_card(number).await;
    check(&issue(app, number).await, OK);
}

/// An issued card bound (not activated) to a new contact; returns the contact id.
async fn bound_to(app: &TestApp, number: &str, name: Option<&str>, mobile: &str) -> String {
    issued_card(app, number).await;
    let contact_id = person(app, name, mobile).await;
    check(&bind(app, number, mobile).await, OK);
    contact_id
}

/// The balance answer for a card, read by number.
async fn balance(app: &TestApp, number: &str) -> Value {
    let reply = get(app, &format!("balance/by/number/{number}")).await;
    check(&reply, OK);
    reply.body
}

/// The card's `StatusName` as the balance reports it.
async fn status_of(app: &TestApp, number: &str) -> String {
    balance(app, number).await["StatusName"].as_str().expect("StatusName").to_owned()
}

async fn accrue(app: &TestApp, contact_id: &str, body: Value) {
    let reply = app.post(ADMIN, &format!("/v1/accounts/{contact_id}/accruals"), body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
}

/// A POST with a raw body and, when given, Basic credentials.
async fn raw(app: &TestApp, path: &str, body: &[u8], auth: Option<(&str, &str)>) -> Reply {
    let mut request = app.http.post(format!("{}{path}", app.base)).body(body.to_vec());
    if let Some((id, secret)) = auth {
        request = request.basic_auth(id, Some(secret));
    }
    let response = request.send().await.expect("request sent");
    let (status, headers) = (response.status(), response.headers().clone());
    let body = serde_json::from_str(&response.text().await.expect("body")).unwrap_or(Value::Null);
    Reply { status, body, headers }
}

/// Each bonus as "TypeCode TypeName StatusCode StatusName Amount ExpireDate", sorted; `Amount` must be a number.
fn bonus_rows(body: &Value) -> Vec<String> {
    let bonuses = body["Bonuses"].as_array().expect("Bonuses is a collection");
    let text = |bonus: &Value, field: &str| bonus[field].as_str().unwrap_or("-").to_owned();
    let mut rows: Vec<String> = bonuses
        .iter()
        .map(|bonus| {
            assert!(bonus["Amount"].is_number(), "{bonus}");
            let amount = Decimal::from_str(&bonus["Amount"].to_string()).expect("a decimal");
            let [t, tn, s, sn, expire] =
                ["TypeCode", "TypeName", "StatusCode", "StatusName", "ExpireDate"].map(|field| text(bonus, field));
            format!("{t} {tn} {s} {sn} {} {expire}", amount.normalize())
        })
        .collect();
    rows.sort();
    rows
}

/// A time `days` from now, to the second, as RFC 3339 UTC.
fn days_ahead(days: i64) -> String {
    (Utc::now() + Duration::days(days)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

// ---- balance ----

#[tokio::test]
async fn balance_by_number_returns_the_seed_envelope_with_accrued_bonuses() {
    let app = spawn_app().await;
    issued_card(&app, CARD).await;
    let anna = json!({"name": "Anna Petrova", "mobile_number": "+7 999 111-22-33", "code": "C-1"});
    let contact = app.register_contact(anna).await;
    check(&bind(&app, CARD, MOBILE).await, OK);
    check(&activate(&app, CARD).await, OK);
    let (expires, later) = (days_ahead(30), days_ahead(10));
    for accrual in [
        json!({"amount": "12.50", "bonus_type": "cash"}),
        json!({"amount": "7.50", "bonus_type": "cash", "expires_at": expires}),
        json!({"amount": "5", "bonus_type": "cash", "active_from": later}),
        json!({"amount": "3", "bonus_type": "status"}),
    ] {
        accrue(&app, &contact, accrual).await;
    }
    let body = balance(&app, CARD).await;
    let want = json!({"Status": true, "Key": "OK", "Value": "", "Number": CARD, "MobileNumber": MOBILE,
        "Code": "C-1", "Name": "Anna Petrova", "StatusCode": "2", "StatusName": "Active",
        "CategoryCode": "0", "CategoryName": "Plastic", "TypeCode": "0", "TypeName": "Bonus"});
    has_fields(&body, want);
    let rows = [
        "0 cash 0 active 20 -",
        "0 cash 1 inactive 5 -",
        "0 cash 2 burnt 0 -",
        "0 cash 3 frozen 0 -",
        &format!("0 cash 4 nearest-expiry 7.5 {expires}"),
        "1 status 0 active 3 -",
        "1 status 1 inactive 0 -",
        "1 status 2 burnt 0 -",
        "1 status 3 frozen 0 -",
    ];
    assert_eq!(bonus_rows(&body), rows);
    // Blocking the card does not freeze the account (README).
    check(&block(&app, "client", CARD, 0).await, OK);
    assert_eq!(bonus_rows(&balance(&app, CARD).await), rows);
}

#[tokio::test]
async fn every_balance_route_finds_the_same_card() {
    let app = spawn_app().await;
    issued_card(&app, CARD).await;
    let contact = app.register_contact(json!({"name": "Anna", "mobile_number": MOBILE, "code": "C-1"})).await;
    check(&bind(&app, CARD, MOBILE).await, OK);
    accrue(&app, &contact, json!({"amount": "12.50"})).await;
    let by_number = balance(&app, CARD).await;
    assert_eq!(bonus_rows(&by_number)[0], "0 cash 0 active 12.5 -");
    let by = |value: &str| format!("balance/by/{value}");
    for path in [by(CARD), by("phone/+79991112233"), by("phone/79991112233"), by("C-1"), by("code/C-1")] {
        let reply = get(&app, &path).await;
        check(&reply, OK);
        assert_eq!(reply.body, by_number, "{path}");
    }
    // A contact code of digits is found on `balance/by/{value}` when no card has that number.
    issued_card(&app, CARD2).await;
    app.register_contact(json!({"name": "Boris", "mobile_number": MOBILE2, "code": "5550001"})).await;
    check(&bind(&app, CARD2, MOBILE2).await, OK);
    let reply = get(&app, "balance/by/5550001").await;
    check(&reply, OK);
    assert_eq!(reply.body["Number"], CARD2);
}

#[tokio::test]
async fn balance_lookups_report_bad_and_unknown_numbers_phones_and_codes() {
    let app = spawn_app().await;
    app.register_contact(json!({"name": "No Card", "mobile_number": MOBILE2, "code": "C-2"})).await;
    let cases = [
        ("number/12ab", BAD_CARD),
        ("number/7000000009999", NO_CARD),
        ("7000000009999", NO_CARD),
        ("phone/not-a-phone", BAD_MOBILE),
        ("phone/+79990000000", NO_CARD_BY_MOBILE),
        ("phone/+79994445566", NO_CARD_BY_MOBILE),
        ("code/bad%20code", BAD_CODE),
        ("code/NOPE", NO_CARD_BY_CODE),
        ("NOPE-1", NO_CARD_BY_CODE),
        ("code/C-2", NO_CARD_BY_CODE),
        ("C-2", NO_CARD_BY_CODE),
    ];
    for (path, want) in cases {
        let reply = get(&app, &format!("balance/by/{path}")).await;
        assert_eq!(reply.body["Key"], want.1, "{path}");
        check(&reply, want);
    }
}

/// The seed serves GetBalanceByContactCode at `balance/by/{code}` with InvalidContactCode for a code in the wrong
/// format, and cashdesk.rs says errors there follow the form: only an all-digit value reads as a card number.
#[tokio::test]
async fn balance_by_value_reports_a_malformed_code_as_invalid_contact_code() {
    let app = spawn_app().await;
    check(&get(&app, "balance/by/bad%20code").await, BAD_CODE);
}

// ---- issue ----

#[tokio::test]
async fn issue_moves_a_new_card_to_issued_once() {
    let app = spawn_app().await;
    let card = json!({"number": CARD, "category": "Virtual", "card_type": "BonusDiscount"});
    let reply = app.post(ADMIN, "/v1/cards", card).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    // The balance of a card bound to no one: its codes, and no contact.
    let want = json!({"StatusCode": "0", "StatusName": "New", "CategoryCode": "1", "CategoryName": "Virtual",
        "TypeCode": "2", "TypeName": "Bonus/Discount", "Name": null, "MobileNumber": null, "Code": null});
    has_fields(&balance(&app, CARD).await, want);
    let before = app.event_count().await;
    check(&issue(&app, CARD).await, OK);
    has_fields(&balance(&app, CARD).await, json!({"StatusCode": "1", "StatusName": "Issued"}));
    assert_eq!(app.event_count().await, before + 1);
    // Issuing an Issued card again is a retried sale scan: accepted, nothing written.
    check(&issue(&app, CARD).await, OK);
    assert_eq!(app.event_count().await, before + 1);
}

#[tokio::test]
async fn issue_refusals() {
    let app = spawn_app().await;
    assert_eq!(named(&get(&app, "issue").await), ["Number"]);
    check(&issue(&app, "70000abc").await, BAD_CARD);
    check(&issue(&app, NO_SUCH_CARD).await, NO_CARD);
    app.bound_card(CARD, MOBILE, true).await;
    // Active, then Blocked.
    check(&issue(&app, CARD).await, STATUS);
    check(&block(&app, "client", CARD, 0).await, OK);
    check(&issue(&app, CARD).await, STATUS);
    assert_eq!(status_of(&app, CARD).await, "Blocked");
}

// ---- bindto ----

#[tokio::test]
async fn bindto_binds_an_issued_card_to_the_contact_of_the_mobile_number() {
    let app = spawn_app().await;
    issued_card(&app, CARD).await;
    person(&app, Some("Anna"), MOBILE).await;
    let before = app.event_count().await;
    check(&bind(&app, CARD, "+7 (999) 111-22-33").await, OK);
    assert_eq!(app.event_count().await, before + 1);
    has_fields(&balance(&app, CARD).await, json!({"Name": "Anna", "MobileNumber": MOBILE, "StatusName": "Issued"}));
    // Binding again to the same contact changes nothing (README).
    check(&bind(&app, CARD, MOBILE).await, OK);
    assert_eq!(app.event_count().await, before + 1);
}

#[tokio::test]
async fn bindto_refusals() {
    let app = spawn_app().await;
    let none = cd(&app, "cc_operator", "bindto", json!({})).await;
    assert_eq!(named(&none), ["Number", "MobileNumber"]);
    let blank = cd(&app, "cc_operator", "bindto", json!({"Number": CARD, "MobileNumber": " "})).await;
    assert_eq!(named(&blank), ["MobileNumber"]);
    app.register_card(CARD).await;
    app.bound_card(CARD2, MOBILE2, true).await;
    person(&app, Some("Anna"), MOBILE).await;
    // The last two: a New card, and a card bound to another contact.
    let cases = [
        ("12ab", MOBILE, BAD_CARD),
        (CARD, "call me", BAD_MOBILE),
        (NO_SUCH_CARD, MOBILE, NO_CARD),
        (CARD, NO_SUCH_MOBILE, NO_CONTACT),
        (CARD, MOBILE, STATUS),
        (CARD2, MOBILE, CARD_TAKEN),
    ];
    for (number, mobile, want) in cases {
        check(&bind(&app, number, mobile).await, want);
    }
    // A Blocked card.
    check(&block(&app, "client", CARD2, 0).await, OK);
    check(&bind(&app, CARD2, MOBILE2).await, STATUS);
    assert_eq!(balance(&app, CARD).await["Name"], Value::Null);
    assert_eq!(balance(&app, CARD2).await["MobileNumber"], MOBILE2);
}

#[tokio::test]
async fn bindto_refuses_a_contact_with_a_card_until_that_card_is_blocked_for_replacement() {
    let app = spawn_app().await;
    app.bound_card(CARD, MOBILE, true).await;
    issued_card(&app, CARD2).await;
    check(&bind(&app, CARD2, MOBILE).await, CONTACT_TAKEN);
    // A loss block can be undone, so the old card still counts.
    check(&block(&app, "cc_operator", CARD, 0).await, OK);
    check(&bind(&app, CARD2, MOBILE).await, CONTACT_TAKEN);
    check(&unblock(&app, "cc_operator", CARD, 0).await, OK);
    // Reason 4, replacement, is never undone: the contact may take the new card.
    check(&block(&app, "cc_operator", CARD, 4).await, OK);
    check(&bind(&app, CARD2, MOBILE).await, OK);
    let by_phone = get(&app, &format!("balance/by/phone/{MOBILE}")).await;
    check(&by_phone, OK);
    assert_eq!(by_phone.body["Number"], CARD2);
}

// ---- active ----

#[tokio::test]
async fn active_activates_a_bound_card_whose_contact_data_is_sufficient() {
    let app = spawn_app().await;
    bound_to(&app, CARD, Some("Anna"), MOBILE).await;
    check(&activate(&app, CARD).await, OK);
    has_fields(&balance(&app, CARD).await, json!({"StatusCode": "2", "StatusName": "Active"}));
    // Activating an Active card changes nothing (README).
    let before = app.event_count().await;
    check(&activate(&app, CARD).await, OK);
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn active_refusals() {
    let app = spawn_app().await;
    assert_eq!(named(&get(&app, "active").await), ["Number"]);
    check(&activate(&app, NO_SUCH_CARD).await, NO_CARD);
    // New, then Issued but bound to no one.
    app.register_card(CARD).await;
    check(&activate(&app, CARD).await, STATUS);
    check(&issue(&app, CARD).await, OK);
    check(&activate(&app, CARD).await, STATUS);
    // Bound, but the contact lacks `name`, which merchant acme requires; then Blocked.
    bound_to(&app, CARD2, None, MOBILE2).await;
    check(&activate(&app, CARD2).await, STATUS);
    check(&block(&app, "client", CARD2, 0).await, OK);
    check(&activate(&app, CARD2).await, STATUS);
    assert_eq!(status_of(&app, CARD).await, "Issued");
    assert_eq!(status_of(&app, CARD2).await, "Blocked");
}

// ---- block ----

#[tokio::test]
async fn block_refuses_new_unbound_and_blocked_cards() {
    let app = spawn_app().await;
    app.register_card(CARD).await;
    check(&block(&app, ADMIN, CARD, 0).await, STATUS);
    check(&issue(&app, CARD).await, OK);
    check(&block(&app, ADMIN, CARD, 0).await, STATUS);
    app.bound_card(CARD2, MOBILE2, true).await;
    check(&block(&app, ADMIN, CARD2, 0).await, OK);
    let before = app.event_count().await;
    check(&block(&app, ADMIN, CARD2, 2).await, STATUS);
    assert_eq!(app.event_count().await, before);
    assert_eq!(status_of(&app, CARD).await, "Issued");
}

#[tokio::test]
async fn block_and_unblock_name_every_missing_parameter() {
    let app = spawn_app().await;
    let methods = [("block", "BlockReasonCode"), ("unblock", "UnBlockReasonCode")];
    for (method, reason) in methods {
        let none = cd(&app, ADMIN, method, json!({})).await;
        let names = named(&none);
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names[0].contains("Number") && names[0].contains("ContactMobileNumber"));
        assert_eq!(names[1], reason);
        let no_reason = cd(&app, ADMIN, method, json!({"Number": CARD})).await;
        assert_eq!(named(&no_reason), [reason]);
        let no_card = cd(&app, ADMIN, method, json!({reason: "0"})).await;
        assert!(named(&no_card)[0].contains("ContactMobileNumber"));
    }
}

#[tokio::test]
async fn block_and_unblock_report_bad_and_unknown_numbers_phones_and_reasons() {
    let app = spawn_app().await;
    app.bound_card(CARD, MOBILE, true).await;
    person(&app, Some("No Card"), MOBILE2).await;
    let methods = [("block", "BlockReasonCode", BLOCK_REASON), ("unblock", "UnBlockReasonCode", UNBLOCK_REASON)];
    for (method, reason, reason_error) in methods {
        let by_mobile = |mobile| json!({"ContactMobileNumber": mobile, reason: 0});
        // MOBILE2's contact has no card.
        let cases = [
            (json!({"Number": "12ab", reason: 0}), BAD_CARD),
            (json!({"Number": NO_SUCH_CARD, reason: 0}), NO_CARD),
            (by_mobile("phone"), BAD_MOBILE),
            (by_mobile(NO_SUCH_MOBILE), NO_CONTACT),
            (by_mobile(MOBILE2), NO_CARD),
            (json!({"Number": CARD, reason: "9"}), reason_error),
        ];
        for (body, want) in cases {
            check(&cd(&app, ADMIN, method, body).await, want);
        }
    }
    assert_eq!(status_of(&app, CARD).await, "Active");
}

/// The seed's BlockReasonError list row by row (the README table); reasons 0 loss, 1 unwanted list, 2 blacklist,
/// 3 refusal to use, 4 replacement.
#[tokio::test]
async fn block_reasons_follow_the_role_table() {
    let table: [(&str, [bool; 5]); 6] = [
        ("client", [true, false, false, false, false]),
        ("cc_operator", [true, false, false, true, true]),
        ("marketer", [true, false, false, true, true]),
        ("senior_employee", [true, true, false, false, true]),
        ("director", [true, true, true, false, true]),
        ("administrator", [true; 5]),
    ];
    let app = spawn_app().await;
    for (i, (role, allowed)) in table.into_iter().enumerate() {
        let (number, mobile) = (format!("70000000001{i:02}"), format!("+7999000000{i}"));
        app.bound_card(&number, &mobile, true).await;
        // Replacement (4) comes last: it is never undone.
        for (reason, may) in allowed.into_iter().enumerate() {
            let before = app.event_count().await;
            let reply = block(&app, role, &number, reason).await;
            let want = if may { OK } else { BLOCK_REASON };
            assert_eq!(reply.body["Key"], want.1, "{role} blocking for {reason}");
            check(&reply, want);
            if !may {
                assert_eq!(app.event_count().await, before, "{role}, {reason}");
                continue;
            }
            assert_eq!(status_of(&app, &number).await, "Blocked");
            if reason < 4 {
                check(&unblock(&app, ADMIN, &number, reason).await, OK);
            }
        }
    }
}

#[tokio::test]
async fn block_and_unblock_by_contact_mobile_number() {
    let app = spawn_app().await;
    app.bound_card(CARD, MOBILE, true).await;
    let by_mobile = json!({"ContactMobileNumber": "+7 999 111 22 33", "BlockReasonCode": "0"});
    check(&cd(&app, "client", "block", by_mobile).await, OK);
    assert_eq!(status_of(&app, CARD).await, "Blocked");
    let by_mobile = json!({"ContactMobileNumber": MOBILE, "UnBlockReasonCode": "0"});
    check(&cd(&app, "client", "unblock", by_mobile).await, OK);
    assert_eq!(status_of(&app, CARD).await, "Active");
}

// ---- unblock ----

#[tokio::test]
async fn unblock_returns_to_active_when_contact_data_suffices_else_to_issued() {
    let app = spawn_app().await;
    app.bound_card(CARD, MOBILE, true).await;
    // Sufficient data but never activated: the seed still returns it to Active.
    bound_to(&app, CARD2, Some("Boris"), MOBILE2).await;
    bound_to(&app, CARD3, None, MOBILE3).await;
    let cases = [(CARD, "Active", "2"), (CARD2, "Active", "2"), (CARD3, "Issued", "1")];
    for (number, name, code) in cases {
        check(&block(&app, "marketer", number, 0).await, OK);
        assert_eq!(status_of(&app, number).await, "Blocked");
        check(&unblock(&app, "marketer", number, 0).await, OK);
        has_fields(&balance(&app, number).await, json!({"StatusName": name, "StatusCode": code}));
    }
}

#[tokio::test]
async fn unblock_refusals() {
    let app = spawn_app().await;
    app.bound_card(CARD, MOBILE, true).await;
    // Not Blocked.
    check(&unblock(&app, ADMIN, CARD, 0).await, STATUS);
    // A role that may not use the reason; a reason that does not undo the block.
    check(&block(&app, SENIOR, CARD, 1).await, OK);
    check(&unblock(&app, "client", CARD, 1).await, UNBLOCK_REASON);
    check(&unblock(&app, SENIOR, CARD, 0).await, UNBLOCK_REASON);
    check(&unblock(&app, SENIOR, CARD, 1).await, OK);
    // An administrator's block is undone only by an administrator.
    check(&block(&app, ADMIN, CARD, 0).await, OK);
    for role in ["client", "cc_operator", "marketer", SENIOR, "director"] {
        check(&unblock(&app, role, CARD, 0).await, UNBLOCK_REASON);
    }
    check(&unblock(&app, ADMIN, CARD, 0).await, OK);
    // A replacement block is never undone, whatever the reason or role.
    check(&block(&app, "director", CARD, 4).await, OK);
    let before = app.event_count().await;
    for reason in 0..4 {
        check(&unblock(&app, ADMIN, CARD, reason).await, UNBLOCK_REASON);
    }
    check(&unblock(&app, "director", CARD, 0).await, UNBLOCK_REASON);
    assert_eq!(app.event_count().await, before);
    assert_eq!(status_of(&app, CARD).await, "Blocked");
}

/// The unblock column of the README table; reasons 0 card found, 1 left unwanted list, 2 left blacklist, 3 restored
/// after refusal, each tried on a card blocked (by a non-administrator) for the reason it undoes.
#[tokio::test]
async fn unblock_reasons_follow_the_role_table() {
    let table: [(&str, [bool; 4]); 6] = [
        ("client", [true, false, false, false]),
        ("cc_operator", [true, false, false, true]),
        ("marketer", [true, false, false, true]),
        ("senior_employee", [true, true, false, false]),
        ("director", [true, true, true, false]),
        ("administrator", [true; 4]),
    ];
    let app = spawn_app().await;
    app.bound_card(CARD, MOBILE, true).await;
    for (role, allowed) in table {
        for (reason, may) in allowed.into_iter().enumerate() {
            let blocker = if reason == 3 { "marketer" } else { "director" };
            check(&block(&app, blocker, CARD, reason).await, OK);
            let reply = unblock(&app, role, CARD, reason).await;
            let want = if may { OK } else { UNBLOCK_REASON };
            assert_eq!(reply.body["Key"], want.1, "{role} unblocking for {reason}");
            check(&reply, want);
            if !may {
                check(&unblock(&app, ADMIN, CARD, reason).await, OK);
            }
            assert_eq!(status_of(&app, CARD).await, "Active");
        }
    }
}

// ---- idempotency ----

#[tokio::test]
async fn a_repeated_key_replays_the_first_answer_and_a_reused_key_is_refused() {
    let app = spawn_app().await;
    app.bound_card(CARD, MOBILE, true).await;
    app.bound_card(CARD2, MOBILE2, true).await;
    let first = keyed_block(&app, "cc_operator", CARD, "k-1").await;
    check(&first, OK);
    assert!(first.headers.get("idempotency-hit").is_none());
    let before = app.event_count().await;
    let again = keyed_block(&app, "cc_operator", CARD, "k-1").await;
    assert_eq!((again.status, &again.body), (first.status, &first.body));
    assert_eq!(again.headers["idempotency-hit"], "true");
    // The same key with another request: refused, and CARD2 stays Active.
    check(&keyed_block(&app, "cc_operator", CARD2, "k-1").await, KEY_REUSED);
    assert_eq!(app.event_count().await, before);
    assert_eq!(status_of(&app, CARD2).await, "Active");
    // Under a new key the first request is a new command, which the Blocked card refuses.
    check(&keyed_block(&app, "cc_operator", CARD, "k-2").await, STATUS);
}

#[tokio::test]
async fn idempotency_keys_are_scoped_per_client() {
    let app = spawn_app().await;
    app.bound_card(CARD, MOBILE, true).await;
    app.bound_card(CARD2, MOBILE2, true).await;
    check(&keyed_block(&app, "cc_operator", CARD, "k-1").await, OK);
    // Another client's key of the same name is no reuse: its different request runs.
    check(&keyed_block(&app, "marketer", CARD2, "k-1").await, OK);
    assert_eq!(status_of(&app, CARD2).await, "Blocked");
    // Nor is the same request under it a replay of the first client's answer: it runs, and is refused.
    let other = keyed_block(&app, "client", CARD, "k-1").await;
    check(&other, STATUS);
    assert!(other.headers.get("idempotency-hit").is_none());
}

// ---- bad input ----

#[tokio::test]
async fn malformed_or_oversize_bodies_are_refused_without_writing() {
    let app = spawn_app().await;
    app.bound_card(CARD, MOBILE, true).await;
    let before = app.event_count().await;
    // The query alone would block the card: a broken body must not be ignored.
    let path = format!("/api/card/block?Number={CARD}&BlockReasonCode=0");
    let auth = Some(("acme-administrator", "secret-administrator"));
    for body in [&b"{\"Number\": "[..], b"[\"Number\"]", b"not json"] {
        check(&raw(&app, &path, body, auth).await, BAD_BODY);
    }
    let pad = "x".repeat(tally::http::MAX_BODY_BYTES + 1024);
    let body = json!({"Number": CARD, "BlockReasonCode": "0", "Pad": pad}).to_string();
    check(&raw(&app, &path, body.as_bytes(), auth).await, TOO_LARGE);
    assert_eq!(app.event_count().await, before);
    assert_eq!(status_of(&app, CARD).await, "Active");
}

#[tokio::test]
async fn missing_or_wrong_credentials_are_refused_with_401_without_writing() {
    let app = spawn_app().await;
    app.bound_card(CARD, MOBILE, true).await;
    let before = app.event_count().await;
    let body = json!({"Number": CARD, "BlockReasonCode": "0"}).to_string();
    let (path, body) = ("/api/card/block", body.as_bytes());
    check(&raw(&app, path, body, None).await, UNAUTHORIZED);
    let response = app.http.get(format!("{}/api/card/balance/by/{CARD}", app.base)).send().await.expect("sent");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let envelope: Value = response.json().await.expect("a JSON envelope");
    has_fields(&envelope, json!({"Status": false, "Key": "Unauthorized"}));
    for (id, secret) in [("acme-administrator", "wrong"), ("nobody", "secret")] {
        check(&raw(&app, path, body, Some((id, secret))).await, UNAUTHORIZED);
        let balance = "/api/card/balance/by/number/7000000000001";
        check(&app.send_as(id, secret, Method::GET, balance, None, None).await, UNAUTHORIZED);
    }
    assert_eq!(app.event_count().await, before);
    assert_eq!(status_of(&app, CARD).await, "Active");
}

// ---- tenancy ----

#[tokio::test]
async fn another_merchant_cannot_see_or_change_acme_cards() {
    let app = spawn_app().await;
    app.bound_card(CARD, MOBILE, true).await;
    issued_card(&app, CARD2).await;
    let before = app.event_count().await;
    for path in [
        "balance/by/number/7000000000001",
        "balance/by/7000000000001",
        "issue?Number=7000000000002",
        "bindto?Number=7000000000002&MobileNumber=79991112233",
        "active?Number=7000000000001",
        "block?Number=7000000000001&BlockReasonCode=0",
        "unblock?Number=7000000000001&UnBlockReasonCode=0",
    ] {
        let reply = as_other(&app, path).await;
        assert_eq!(reply.body["Key"], NO_CARD.1, "{path}");
        check(&reply, NO_CARD);
    }
    check(&as_other(&app, "balance/by/phone/79991112233").await, NO_CARD_BY_MOBILE);
    check(&as_other(&app, "block?ContactMobileNumber=79991112233&BlockReasonCode=4").await, NO_CONTACT);
    assert_eq!(app.event_count().await, before);
    assert_eq!(status_of(&app, CARD).await, "Active");
    assert_eq!(status_of(&app, CARD2).await, "Issued");
}

// ---- aliases and parameters ----

#[tokio::test]
async fn method_aliases_answer_by_get_and_post() {
    let app = spawn_app().await;
    app.register_card(CARD).await;
    app.register_card(CARD2).await;
    person(&app, Some("Anna"), MOBILE).await;
    person(&app, Some("Boris"), MOBILE2).await;
    // POST with a JSON body; unblocking succeeds only on a card that is Blocked.
    let steps = [
        ("Issue", json!({"Number": CARD})),
        ("binto", json!({"Number": CARD, "MobileNumber": MOBILE})),
        ("Active", json!({"Number": CARD})),
        ("Block", json!({"Number": CARD, "BlockReasonCode": 0})),
        ("UnBlock", json!({"Number": CARD, "UnBlockReasonCode": 0})),
    ];
    for (method, body) in steps {
        check(&cd(&app, "cc_operator", method, body).await, OK);
    }
    assert_eq!(status_of(&app, CARD).await, "Active");
    // GET with the query string.
    for path in [
        "Issue?Number=7000000000002",
        "BindTo?Number=7000000000002&MobileNumber=79994445566",
        "Active?Number=7000000000002",
        "Block?Number=7000000000002&BlockReasonCode=0",
        "UnBlock?Number=7000000000002&UnBlockReasonCode=0",
    ] {
        check(&get(&app, path).await, OK);
    }
    has_fields(&balance(&app, CARD2).await, json!({"MobileNumber": MOBILE2, "StatusName": "Active"}));
}

#[tokio::test]
async fn parameters_come_from_query_or_body_as_strings_or_numbers() {
    let app = spawn_app().await;
    app.bound_card(CARD, MOBILE, true).await;
    let number: u64 = CARD.parse().unwrap();
    check(&cd(&app, "client", "block", json!({"Number": number, "BlockReasonCode": 0})).await, OK);
    assert_eq!(status_of(&app, CARD).await, "Blocked");
    // Query and body combine; names match regardless of case.
    let path = format!("/api/card/unblock?number={CARD}");
    check(&app.post("client", &path, json!({"unblockreasoncode": 0})).await, OK);
    assert_eq!(status_of(&app, CARD).await, "Active");
    let path = format!("/api/card/block?Number={CARD}&BlockReasonCode=0");
    check(&app.send("client", Method::POST, &path, None, None).await, OK);
    assert_eq!(status_of(&app, CARD).await, "Blocked");
}

#[tokio::test]
async fn wrong_http_methods_and_unknown_paths_get_the_envelope() {
    let app = spawn_app().await;
    let post_balance =
        app.send(ADMIN, Method::POST, &format!("/api/card/balance/by/{CARD}"), Some(json!({})), None).await;
    check(&post_balance, (StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed"));
    let unknown = app.get(ADMIN, "/api/card/replace").await;
    check(&unknown, (StatusCode::NOT_FOUND, "UnknownMethod"));
}

#[tokio::test]
async fn a_misspelt_parameter_is_refused_by_name_and_writes_nothing() {
    let app = spawn_app().await;
    app.bound_card(CARD, MOBILE, true).await;
    let before = app.event_count().await;
    let reply = cd(&app, ADMIN, "block", json!({"Number": CARD, "BlockReasonCod": "0"})).await;
    check(&reply, BAD_BODY);
    assert!(reply.body["Value"].as_str().unwrap().contains("\"BlockReasonCod\""), "{}", reply.body);
    let reply = get(&app, &format!("issue?Number={CARD}&Numbr={CARD}")).await;
    check(&reply, BAD_BODY);
    assert_eq!(app.event_count().await, before);
    assert_eq!(status_of(&app, CARD).await, "Active");
}
