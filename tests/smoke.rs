//! The service starts, answers its operational endpoints, and records a card's life.

mod common;

use common::spawn_app;
use reqwest::StatusCode;

#[tokio::test]
async fn operational_endpoints_answer() {
    let app = spawn_app().await;
    for (path, expected) in [("/healthz", "ok"), ("/readyz", "ready")] {
        let text = app.http.get(format!("{}{path}", app.base)).send().await.unwrap().text().await.unwrap();
        assert_eq!(text, expected);
    }
    let openapi: serde_json::Value =
        app.http.get(format!("{}/openapi.json", app.base)).send().await.unwrap().json().await.unwrap();
    assert!(openapi["paths"]["/api/card/bindto"]["post"].is_object());
    assert!(openapi["paths"]["/v1/accounts/{contact_id}/redemptions"]["post"]["requestBody"].is_object());
    app.get("cc_operator", "/api/card/balance/by/0000000").await;
    let metrics = app.http.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("tally_http_requests_total"), "{metrics}");
}

#[tokio::test]
async fn a_card_is_registered_issued_bound_and_activated() {
    let app = spawn_app().await;
    let before = app.event_count().await;
    app.bound_card("7000000000001", "+79991112233", true).await;
    let balance = app.get("cc_operator", "/api/card/balance/by/7000000000001").await;
    assert_eq!(balance.status, StatusCode::OK);
    assert_eq!(balance.body["StatusName"], "Active");
    assert_eq!(balance.body["MobileNumber"], "+79991112233");
    // Registered card, registered contact, issued, bound, activated.
    assert_eq!(app.event_count().await - before, 5);
}

#[tokio::test]
async fn the_ledger_refuses_updates_and_deletes() {
    let app = spawn_app().await;
    app.register_card("7000000000002").await;
    let before = app.event_count().await;
    let update = sqlx::query("UPDATE events SET payload = '{}'").execute(&app.app.db.write).await;
    let delete = sqlx::query("DELETE FROM events").execute(&app.app.db.write).await;
    for refused in [update, delete] {
        let error = refused.expect_err("the ledger is append-only");
        assert!(error.to_string().contains("append-only"), "{error}");
    }
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn projections_rebuilt_from_the_ledger_equal_the_live_ones() {
    let app = spawn_app().await;
    let contact_id = app.bound_card("7000000000003", "+79991112244", true).await;
    let accrual = app
        .post("cc_operator", &format!("/v1/accounts/{contact_id}/accruals"), serde_json::json!({"amount": "10.25"}))
        .await;
    assert_eq!(accrual.status, StatusCode::CREATED, "{:?}", accrual.body);
    let balance_before = app.get("cc_operator", "/api/card/balance/by/7000000000003").await.body;
    let report = app.app.db.rebuild_views().await.unwrap();
    assert_eq!(report.events, app.event_count().await as u64);
    assert_eq!(app.get("cc_operator", "/api/card/balance/by/7000000000003").await.body, balance_before);
}
