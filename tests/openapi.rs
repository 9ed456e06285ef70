//! The OpenAPI document is the served API: every documented operation is routed, every routed method is
//! documented, wrong methods get 405 with `Allow` in the dialect's envelope, and malformed parameters are answered
//! after authentication. (`scripts/conformance.sh` fuzzes the same document with schemathesis.)

mod common;

use common::{spawn_app, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const ADMIN: &str = "administrator";

async fn document(app: &TestApp) -> Value {
    app.http.get(format!("{}/openapi.json", app.base)).send().await.unwrap().json().await.unwrap()
}

/// A concrete path for a documented template: placeholders filled with well-formed values.
fn concrete(template: &str) -> String {
    template
        .replace("{contact_id}", "00000000-0000-0000-0000-000000000000")
        .replace("{number}", "7000000000999")
        .replace("{phone}", "+79990000000")
        .replace("{code}", "C-1")
        .replace("{business_id}", "B-1")
        .replace("{promotion_id}", "P-1")
}

#[tokio::test]
async fn every_documented_operation_is_routed_to_its_handler() {
    let app = spawn_app().await;
    let document = document(&app).await;
    let paths = document["paths"].as_object().unwrap();
    assert!(paths.len() >= 40, "{} paths", paths.len());
    for (template, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let method: Method = method.to_uppercase().parse().unwrap();
            let body = (method != Method::GET).then(|| json!({}));
            let reply = app.send(ADMIN, method.clone(), &concrete(template), body, Some("probe")).await;
            let what = format!("{method} {template}: {} {}", reply.status, reply.body);
            assert_ne!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{what}");
            // A dialect's handler always answers in its envelope; the routers' own 404 has an empty body.
            // (The operational endpoints answer plain text, SOAP answers XML.)
            let tag = item[method.as_str().to_lowercase()]["tags"][0].as_str().unwrap().to_owned();
            if !["ops", "enactor-wsdl", "enactor-soap"].contains(&tag.as_str()) {
                assert_ne!(reply.body, Value::Null, "{what}");
            }
            assert_ne!(reply.body["Key"], "UnknownMethod", "{what}");
        }
    }
}

#[tokio::test]
async fn every_operation_but_the_operational_ones_declares_basic_authentication_and_its_faults() {
    let app = spawn_app().await;
    let document = document(&app).await;
    assert_eq!(document["components"]["securitySchemes"]["basic"]["scheme"], "basic");
    for (template, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            // Public: the operational endpoints and the WSDL (SOAP tooling fetches it before it has credentials).
            let ops = ["ops", "enactor-wsdl"].contains(&operation["tags"][0].as_str().unwrap());
            assert_eq!(operation["security"].is_array(), !ops, "{method} {template}");
            if !ops {
                let responses = &operation["responses"];
                assert!(responses["401"].is_object() && responses["503"].is_object(), "{method} {template}");
            }
            if operation["tags"][0] == "v1" && method != "get" {
                let key = operation["parameters"].as_array().unwrap().iter().find(|p| p["name"] == "Idempotency-Key");
                assert_eq!(key.map(|k| &k["required"]), Some(&json!(true)), "{method} {template}");
            }
        }
    }
    let card = &document["paths"]["/v1/cards/{number}"]["get"]["parameters"][0];
    assert_eq!(
        (&card["in"], &card["required"], &card["schema"]["pattern"]),
        (&json!("path"), &json!(true), &json!("^[0-9]{6,19}$"))
    );
    let contact = &document["paths"]["/v1/contacts/{contact_id}"]["get"]["parameters"][0]["schema"];
    assert_eq!(contact["format"], "uuid");
    // The GET and POST forms of every CashDesk method, under every spelling the seed uses.
    for path in
        ["issue", "Issue", "bindto", "BindTo", "binto", "active", "Active", "block", "Block", "unblock", "UnBlock"]
    {
        let item = &document["paths"][format!("/api/card/{path}")];
        assert!(item["get"].is_object() && item["post"].is_object(), "{path}");
    }
}

#[tokio::test]
async fn a_wrong_method_gets_405_with_allow_in_the_dialects_envelope() {
    let app = spawn_app().await;
    let reply = app.send(ADMIN, Method::DELETE, "/v1/cards/7000000000001", None, None).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.headers["allow"], "GET,HEAD");
    assert_eq!(reply.body["error"]["code"], "MethodNotAllowed");

    let reply = app.send(ADMIN, Method::PUT, "/api/card/bindto", None, None).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    let allow = reply.headers["allow"].to_str().unwrap();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    assert_eq!((&reply.body["Status"], &reply.body["Key"]), (&json!(false), &json!("MethodNotAllowed")));
    assert!(reply.body["Value"].as_str().unwrap().starts_with("PUT"), "{}", reply.body);

    let reply = app.send(ADMIN, Method::GET, "/scantrack", None, None).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.headers["allow"], "POST");
    assert_eq!((&reply.body["result"], &reply.body["reason"]), (&json!("error"), &json!("MethodNotAllowed")));
    let xml = app.http.get(format!("{}/scantrack", app.base)).header("content-type", "application/xml").send().await;
    assert!(xml.unwrap().text().await.unwrap().contains("<reason>MethodNotAllowed</reason>"));
}

#[tokio::test]
async fn malformed_path_parameters_of_writes_are_answered_after_authentication() {
    let app = spawn_app().await;
    let before = app.event_count().await;
    let path = format!("{}/v1/accounts/0/accruals", app.base);
    let anonymous = app.http.post(&path).header("Idempotency-Key", "k").json(&json!({"amount": "1"})).send().await;
    assert_eq!(anonymous.unwrap().status(), StatusCode::UNAUTHORIZED);
    let reply = app.send(ADMIN, Method::POST, "/v1/accounts/0/accruals", Some(json!({"amount": "1"})), Some("k")).await;
    assert_eq!((reply.status, &reply.body["error"]["code"]), (StatusCode::BAD_REQUEST, &json!("InvalidParameter")));
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn a_batch_of_a_thousand_long_card_numbers_fits_in_the_body_limit() {
    let app = spawn_app().await;
    let cards: Vec<Value> = (0..1000)
        .map(|n| json!({"number": format!("{:019}", 7_000_000_000_000_000_000u64 + n), "category": "Plastic", "card_type": "BonusDiscount"}))
        .collect();
    let body = json!({ "cards": cards });
    assert!(body.to_string().len() > 64 * 1024);
    let reply = app.post(ADMIN, "/v1/cards/batch", body).await;
    assert_eq!((reply.status, &reply.body["registered"]), (StatusCode::CREATED, &json!(1000)), "{}", reply.body);
}
