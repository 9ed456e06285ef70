//! ScanTrack and promotions: the seed's XML (and the same shape in JSON) answered in the caller's format, exact caps
//! under concurrency, one use reported by both channels counted once, voids that turn a capped promotion back on,
//! refused scans recorded, billing switched to pay-per-use by the first report, and bad input that writes nothing.

mod common;

use chrono::{Duration, Utc};
use common::{credentials, spawn_app, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

const ADMIN: &str = "administrator";
const BUSINESS: &str = "CB-1001";

async fn promotion(app: &TestApp, promotion_id: &str, cap: u32) {
    let reply = app
        .post(ADMIN, "/v1/promotions", json!({
            "business_id": BUSINESS, "promotion_id": promotion_id, "title": "Second coffee free", "cap": cap,
            "ends_at": (Utc::now() + Duration::days(7)).to_rfc3339(), "price_per_use": "1.50", "price_per_clip": "0.10"
        }))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
}

async fn with_business() -> TestApp {
    let app = spawn_app().await;
    let reply = app.post(ADMIN, "/v1/businesses", json!({"business_id": BUSINESS, "name": "Corner Coffee"})).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    app
}

fn xml(src: &str, aid: Option<&str>, id: Option<&str>, key: Option<&str>) -> String {
    let tag = |name: &str, value: Option<&str>| value.map(|v| format!("<{name}>{v}</{name}>")).unwrap_or_default();
    format!(
        "<ScanTrackRequest><barcode><src>{src}</src>{}{}{}</barcode></ScanTrackRequest>",
        tag("aid", aid),
        tag("id", id),
        tag("key", key)
    )
}

/// Posts raw text to /scantrack as the `acme` client with `role`; returns status, content type and body.
async fn scan_raw(app: &TestApp, role: &str, content_type: &str, body: String) -> (StatusCode, String, String) {
    let (id, secret) = credentials(role);
    let response = app
        .http
        .post(format!("{}/scantrack", app.base))
        .basic_auth(id, Some(secret))
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    (status, content_type, response.text().await.unwrap())
}

async fn scan_json(app: &TestApp, barcode: Value) -> (StatusCode, Value) {
    let (status, _, body) =
        scan_raw(app, "cc_operator", "application/json", json!({"barcode": barcode}).to_string()).await;
    (status, serde_json::from_str(&body).unwrap())
}

async fn counters(app: &TestApp, promotion_id: &str) -> Value {
    let reply = app.get(ADMIN, &format!("/v1/promotions/{BUSINESS}/{promotion_id}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.body
}

#[tokio::test]
async fn the_seed_xml_is_accepted_and_answered_in_xml_and_json_in_json() {
    let app = with_business().await;
    promotion(&app, "ITEM-1", 10).await;
    let (status, content_type, body) =
        scan_raw(&app, "cc_operator", "application/xml", xml(BUSINESS, None, Some("ITEM-1"), Some("CUST-1"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(content_type.contains("xml"), "{content_type}");
    assert!(body.contains("<ScanTrackResponse>") && body.contains("<result>accepted</result>"), "{body}");
    let (status, body) = scan_json(&app, json!({"src": BUSINESS, "id": "ITEM-1", "key": "CUST-2"})).await;
    assert_eq!((status, body["result"].as_str()), (StatusCode::OK, Some("accepted")), "{body}");
    assert_eq!(counters(&app, "ITEM-1").await["used"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_concurrent_scanners_get_exactly_the_cap() {
    let app = with_business().await;
    let cap = 7;
    promotion(&app, "ITEM-CAP", cap).await;
    let app = std::sync::Arc::new(app);
    let scanners: Vec<_> = (0..64)
        .map(|n| {
            let app = app.clone();
            tokio::spawn(async move {
                scan_json(&app, json!({"src": BUSINESS, "id": "ITEM-CAP", "key": format!("C{n}")})).await
            })
        })
        .collect();
    let mut results = Vec::new();
    for scanner in scanners {
        let (status, body) = scanner.await.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
        results.push(body);
    }
    let accepted = results.iter().filter(|b| b["result"] == "accepted").count();
    let refused: Vec<_> = results.iter().filter(|b| b["result"] == "refused").collect();
    assert_eq!(accepted, cap as usize);
    assert_eq!(refused.len(), 64 - cap as usize);
    assert!(refused.iter().all(|b| b["reason"] == "cap_reached"), "{refused:?}");
    let counts = counters(&app, "ITEM-CAP").await;
    assert_eq!(
        (counts["used"].as_u64(), counts["remaining"].as_u64(), counts["refused"].as_u64()),
        (Some(7), Some(0), Some(57))
    );
    assert_eq!(counts["state"], "off");
}

#[tokio::test]
async fn a_use_reported_by_the_mobile_device_and_the_pos_counts_once() {
    let app = with_business().await;
    promotion(&app, "ITEM-2", 5).await;
    let clip = app
        .post(
            ADMIN,
            &format!("/v1/promotions/{BUSINESS}/ITEM-2/clips"),
            json!({"wallet_item_id": "W-1", "customer_key": "CUST-9"}),
        )
        .await;
    assert_eq!(clip.status, StatusCode::CREATED, "{:?}", clip.body);
    let mobile =
        app.post(ADMIN, &format!("/v1/promotions/{BUSINESS}/ITEM-2/uses"), json!({"wallet_item_id": "W-1"})).await;
    assert_eq!(mobile.body["result"], "accepted", "{:?}", mobile.body);
    let (_, _, body) = scan_raw(&app, "cc_operator", "text/xml", xml(BUSINESS, Some("W-1"), None, None)).await;
    assert!(body.contains("<result>duplicate</result>") && body.contains("<use_id>wallet:W-1</use_id>"), "{body}");
    let counts = counters(&app, "ITEM-2").await;
    assert_eq!((counts["used"].as_u64(), counts["clips"].as_u64()), (Some(1), Some(1)));
}

#[tokio::test]
async fn a_void_frees_room_and_turns_a_capped_promotion_back_on() {
    let app = with_business().await;
    promotion(&app, "ITEM-3", 1).await;
    let (_, first) = scan_json(&app, json!({"src": BUSINESS, "id": "ITEM-3", "key": "A"})).await;
    assert_eq!(first["result"], "accepted");
    let (_, second) = scan_json(&app, json!({"src": BUSINESS, "id": "ITEM-3", "key": "B"})).await;
    assert_eq!((second["result"].as_str(), second["reason"].as_str()), (Some("refused"), Some("cap_reached")));
    assert_eq!(counters(&app, "ITEM-3").await["state"], "off");
    let void = app
        .post(
            ADMIN,
            &format!("/v1/promotions/{BUSINESS}/ITEM-3/voids"),
            json!({"use_id": first["use_id"], "reason": "sale cancelled"}),
        )
        .await;
    assert_eq!(void.status, StatusCode::CREATED, "{:?}", void.body);
    let counts = counters(&app, "ITEM-3").await;
    assert_eq!(
        (counts["state"].as_str(), counts["used"].as_u64(), counts["voided"].as_u64()),
        (Some("on"), Some(0), Some(1))
    );
    let (_, third) = scan_json(&app, json!({"src": BUSINESS, "id": "ITEM-3", "key": "B"})).await;
    assert_eq!(third["result"], "accepted");
    let unknown = app.post(ADMIN, &format!("/v1/promotions/{BUSINESS}/ITEM-3/voids"), json!({"use_id": "nope"})).await;
    assert_eq!((unknown.status, unknown.body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("UseNotFound")));
}

#[tokio::test]
async fn the_first_scantrack_report_switches_billing_to_pay_per_use_once() {
    let app = with_business().await;
    promotion(&app, "ITEM-4", 10).await;
    for key in ["A", "B"] {
        scan_json(&app, json!({"src": BUSINESS, "id": "ITEM-4", "key": key})).await;
    }
    let switches: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM events WHERE event_type = 'BillingModeChanged'")
        .fetch_one(&app.app.db.read)
        .await
        .unwrap();
    assert_eq!(switches.0, 1);
}

#[tokio::test]
async fn bad_scans_get_a_clear_error_in_the_callers_format_and_write_nothing() {
    let app = with_business().await;
    promotion(&app, "ITEM-5", 10).await;
    let other = app
        .send_as(
            "other-administrator",
            "secret-administrator",
            reqwest::Method::POST,
            "/v1/businesses",
            Some(json!({"business_id": "OTHER-1", "name": "Elsewhere"})),
            Some("k-other"),
        )
        .await;
    assert_eq!(other.status, StatusCode::CREATED, "{:?}", other.body);
    let before = app.event_count().await;
    let cases: Vec<(&str, String, StatusCode, &str)> = vec![
        (
            "application/xml",
            "<ScanTrackRequest><barcode><src>CB-1001".into(),
            StatusCode::BAD_REQUEST,
            "MalformedRequest",
        ),
        ("application/xml", xml(BUSINESS, None, None, None), StatusCode::BAD_REQUEST, "InvalidRequest"),
        (
            "application/xml",
            "<ScanTrackRequest><barcode><id>ITEM-5</id></barcode></ScanTrackRequest>".into(),
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
        ),
        ("application/xml", xml("NOPE", None, Some("ITEM-5"), None), StatusCode::NOT_FOUND, "UnknownBusiness"),
        ("application/xml", xml("OTHER-1", None, Some("ITEM-5"), None), StatusCode::FORBIDDEN, "NotYourBusiness"),
        ("application/xml", xml(BUSINESS, None, Some("NOPE"), None), StatusCode::NOT_FOUND, "UnknownPromotion"),
        ("application/xml", xml(BUSINESS, Some("W-NONE"), None, None), StatusCode::NOT_FOUND, "UnknownWalletItem"),
        ("application/json", "{\"barcode\": 5}".into(), StatusCode::BAD_REQUEST, "MalformedRequest"),
        (
            "application/json",
            json!({"barcode": {"src": "bad src!", "id": "ITEM-5"}}).to_string(),
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
        ),
        (
            "application/xml",
            format!("<ScanTrackRequest>{}</ScanTrackRequest>", "x".repeat(tally::http::MAX_BODY_BYTES + 1024)),
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestTooLarge",
        ),
    ];
    for (content_type, body, status, reason) in cases {
        let (got, got_type, text) = scan_raw(&app, "cc_operator", content_type, body).await;
        assert_eq!(got, status, "{reason}: {text}");
        assert!(got_type.contains(if content_type.contains("xml") { "xml" } else { "json" }), "{reason}: {got_type}");
        assert!(text.contains("error") && text.contains(reason), "{reason}: {text}");
    }
    let (id, _) = credentials("cc_operator");
    let unauthorized = app
        .http
        .post(format!("{}/scantrack", app.base))
        .basic_auth(id, Some("wrong"))
        .header("Content-Type", "application/xml")
        .body(xml(BUSINESS, None, Some("ITEM-5"), None))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.event_count().await, before, "refused input wrote events");
}

#[tokio::test]
async fn promotion_views_rebuilt_from_the_ledger_equal_the_live_ones() {
    let app = with_business().await;
    promotion(&app, "ITEM-6", 2).await;
    app.post(ADMIN, &format!("/v1/promotions/{BUSINESS}/ITEM-6/clips"), json!({"wallet_item_id": "W-6"})).await;
    for key in ["A", "B", "C"] {
        scan_json(&app, json!({"src": BUSINESS, "id": "ITEM-6", "key": key})).await;
    }
    let before = counters(&app, "ITEM-6").await;
    app.app.db.rebuild_views().await.unwrap();
    assert_eq!(counters(&app, "ITEM-6").await, before);
    let (status, body) = scan_json(&app, json!({"src": BUSINESS, "aid": "W-6"})).await;
    assert_eq!(
        (status, body["result"].as_str()),
        (StatusCode::OK, Some("refused")),
        "the rebuilt wallet registry resolves aid"
    );
}

#[tokio::test]
async fn the_daily_tally_bills_clips_then_uses_and_the_ledger_replay_prints_the_same() {
    let app = with_business().await;
    promotion(&app, "ITEM-7", 10).await;
    let clips = format!("/v1/promotions/{BUSINESS}/ITEM-7/clips");
    // Before the merchant reports through ScanTrack it is billed per clip.
    app.post(ADMIN, &clips, json!({"wallet_item_id": "W-71"})).await;
    let (_, first) = scan_json(&app, json!({"src": BUSINESS, "id": "ITEM-7", "key": "A"})).await;
    assert_eq!(first["result"], "accepted");
    // From the first report on it is billed per use, whichever channel reports it.
    app.post(ADMIN, &clips, json!({"wallet_item_id": "W-72"})).await;
    let mobile =
        app.post(ADMIN, &format!("/v1/promotions/{BUSINESS}/ITEM-7/uses"), json!({"wallet_item_id": "W-72"})).await;
    assert_eq!(mobile.body["result"], "accepted", "{:?}", mobile.body);
    app.post(ADMIN, &format!("/v1/promotions/{BUSINESS}/ITEM-7/voids"), json!({"use_id": first["use_id"]})).await;

    let day = tally::scans::day_in_zone(Utc::now(), "Europe/Moscow");
    let reply = app.get(ADMIN, &format!("/v1/tally/daily?date={day}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let total = &reply.body["total"];
    assert_eq!(
        (total["uses"].as_u64(), total["clips"].as_u64(), total["voids"].as_u64(), total["receivable"].as_str()),
        (Some(2), Some(2), Some(1), Some("1.60")),
        "0.10 for the first clip, 1.50 per use, minus 1.50 for the void: {}",
        reply.body
    );
    let (id, secret) = credentials(ADMIN);
    let csv = app
        .http
        .get(format!("{}/v1/tally/daily?date={day}&format=csv", app.base))
        .basic_auth(id, Some(secret))
        .send()
        .await
        .unwrap();
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = csv.text().await.unwrap();
    assert!(csv.contains(&format!("{day},acme,TOTAL,,2,2,1,0,1.60")), "{csv}");
    let report = std::process::Command::new(env!("CARGO_BIN_EXE_tally"))
        .args([
            "--database-url",
            &app.database_url,
            "report",
            "daily",
            "--date",
            &day.to_string(),
            "--merchant",
            "acme",
        ])
        .output()
        .unwrap();
    assert!(report.status.success(), "{}", String::from_utf8_lossy(&report.stderr));
    assert_eq!(String::from_utf8(report.stdout).unwrap(), csv, "the ledger replay prints the projected figures");
    for bad in ["/v1/tally/daily?date=yesterday", &format!("/v1/tally/daily?date={day}&colour=red")] {
        let bad = app.get(ADMIN, bad).await;
        assert_eq!(
            (bad.status, bad.body["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("InvalidRequest"))
        );
    }
}

#[tokio::test]
async fn changing_a_promotion_raises_or_lowers_its_cap_but_never_below_the_uses() {
    let app = with_business().await;
    promotion(&app, "ITEM-8", 1).await;
    scan_json(&app, json!({"src": BUSINESS, "id": "ITEM-8", "key": "A"})).await;
    assert_eq!(counters(&app, "ITEM-8").await["state"], "off");
    let path = format!("/v1/promotions/{BUSINESS}/ITEM-8");
    let raise = app
        .send(ADMIN, reqwest::Method::PATCH, &path, Some(json!({"cap": 2, "price_per_use": "2.00"})), Some("raise"))
        .await;
    assert_eq!(raise.status, StatusCode::OK, "{:?}", raise.body);
    let counts = counters(&app, "ITEM-8").await;
    assert_eq!(
        (counts["state"].as_str(), counts["cap"].as_u64(), counts["remaining"].as_u64()),
        (Some("on"), Some(2), Some(1))
    );
    let below = app.send(ADMIN, reqwest::Method::PATCH, &path, Some(json!({"cap": 0})), Some("zero")).await;
    assert_eq!(
        (below.status, below.body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("InvalidPromotion"))
    );
    let (_, second) = scan_json(&app, json!({"src": BUSINESS, "id": "ITEM-8", "key": "B"})).await;
    assert_eq!(second["result"], "accepted");
    assert_eq!(counters(&app, "ITEM-8").await["state"], "off");
}

#[tokio::test]
async fn a_reused_key_is_answered_in_the_format_of_the_request() {
    let app = with_business().await;
    promotion(&app, "ITEM-K", 10).await;
    let (id, secret) = credentials("cc_operator");
    let post = |content_type: &'static str, body: String| {
        app.http
            .post(format!("{}/scantrack", app.base))
            .basic_auth(id.clone(), Some(secret.clone()))
            .header("Content-Type", content_type)
            .header("Idempotency-Key", "scan-key-1")
            .body(body)
    };
    let first =
        post("application/json", json!({"barcode": {"src": BUSINESS, "id": "ITEM-K", "key": "C-1"}}).to_string());
    assert_eq!(first.send().await.unwrap().status(), StatusCode::OK);
    // The same key with another request: refused, in JSON for a JSON caller and in XML for an XML caller.
    let reused =
        post("application/json", json!({"barcode": {"src": BUSINESS, "id": "ITEM-K", "key": "C-2"}}).to_string())
            .send()
            .await
            .unwrap();
    assert_eq!(reused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reused.headers()["content-type"].to_str().unwrap().contains("json"));
    let body: Value = reused.json().await.unwrap();
    assert_eq!((body["result"].as_str(), body["reason"].as_str()), (Some("error"), Some("IdempotencyKeyReused")));
    let reused = post("application/xml", xml(BUSINESS, None, Some("ITEM-K"), Some("C-3"))).send().await.unwrap();
    assert_eq!(reused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reused.headers()["content-type"].to_str().unwrap().contains("xml"));
    assert!(reused.text().await.unwrap().contains("<reason>IdempotencyKeyReused</reason>"));
}
