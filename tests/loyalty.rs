//! Loyalty campaign codes: campaigns and codes made through the native API, handed out, checked, redeemed and
//! blocked through Footprints, exactly once under races, with the counters a projection keeps.

mod common;

use common::{footprints::with_staff, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const ANA: &str = "userEmail=ana@example.com&userPhone=0700000001";
const BOB: &str = "userEmail=bob@example.com&userPhone=0700000002";

/// A campaign running now, whose codes expire in a year, with two prize types.
fn campaign(name: &str) -> Value {
    let now = chrono::Utc::now();
    json!({
        "name": name,
        "start_date": now - chrono::Duration::days(1),
        "end_date": now + chrono::Duration::days(30),
        "expire_codes_date": now + chrono::Duration::days(365),
        "location": {"id": "mega-mall", "name": "Mega Mall"},
        "loyalty_settings": {
            "code_length": 9,
            "prize_types": [{"name": "Coffee", "points_value": 10}, {"name": "Cake", "points_value": 20}],
        },
    })
}

/// Declares campaign `id` and returns its prize type ids.
async fn declare(app: &TestApp, id: &str, body: Value) -> Vec<String> {
    let key = uuid::Uuid::new_v4().to_string();
    let declared =
        app.send("marketer", Method::PUT, &format!("/v1/loyalty-campaigns/{id}"), Some(body), Some(&key)).await;
    assert_eq!(declared.status, StatusCode::OK, "{:?}", declared.body);
    let got = app.get("marketer", &format!("/v1/loyalty-campaigns/{id}")).await.body;
    got["loyalty_settings"]["prize_types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().into())
        .collect()
}

async fn issue(app: &TestApp, id: &str, body: Value) -> common::Reply {
    app.post("marketer", &format!("/v1/loyalty-campaigns/{id}/codes"), body).await
}

fn counters(app_body: &Value) -> (u64, u64, u64, u64) {
    let c = &app_body["counters"];
    let n = |name: &str| c[name].as_u64().unwrap();
    (n("remaining"), n("allocated"), n("redeemed"), n("blocked"))
}

#[tokio::test]
async fn codes_are_handed_out_checked_redeemed_once_and_counted() {
    let app = with_staff().await;
    let token = app.staff_token("marketer").await;
    let prizes = declare(&app, "summer", campaign("Summer")).await;
    let codes = json!({"prize_id": prizes[0], "codes": ["cof-1", "COF-2", "COF-3"]});
    assert_eq!(issue(&app, "summer", codes).await.status, StatusCode::OK);
    let cake = issue(&app, "summer", json!({"prize_id": prizes[1], "count": 2})).await;
    assert_eq!(cake.status, StatusCode::OK, "{:?}", cake.body);

    // Both campaign lists show it; the seed's shapes.
    let active = app.footprints(&token, Method::GET, "/api/loyaltyCode/active-campaigns", None).await.body;
    assert_eq!(active["status"], "success");
    assert_eq!(active["campaigns"][0]["internalId"], "summer");
    assert_eq!(active["campaigns"][0]["location"]["name"], "Mega Mall");
    assert_eq!(active["campaigns"][0]["loyaltySettings"]["loyaltyPrizeTypes"][1]["name"], "Cake");
    let all = app.footprints(&token, Method::GET, "/api/loyaltyCode/campaigns", None).await.body;
    let prize_types = &all["campaigns"][0]["loyaltySettings"]["loyaltyPrizeTypes"];
    assert_eq!((prize_types[0]["totalCodes"].as_u64(), prize_types[1]["totalCodes"].as_u64()), (Some(3), Some(2)));
    assert_eq!(all["campaigns"][0]["loyaltySettings"]["codeLength"], "9");

    // Ana has nothing yet; she is handed the first code of the first prize type.
    let check = format!("{ANA}&campaignInternalId=summer");
    let none = app.footprints(&token, Method::POST, "/api/loyaltyCode/check", Some(&check)).await;
    assert_eq!(none.status, StatusCode::NOT_FOUND, "{:?}", none.body);
    let given = app
        .footprints(&token, Method::POST, "/api/loyaltyCode/allocate", Some(&format!("{check}&userFirstName=Ana")))
        .await;
    assert_eq!(given.status, StatusCode::OK, "{:?}", given.body);
    assert_eq!((given.body["code"].as_str(), given.body["prize"]["name"].as_str()), (Some("COF-1"), Some("Coffee")));
    let again = app.footprints(&token, Method::POST, "/api/loyaltyCode/allocate", Some(&check)).await;
    assert_eq!((again.status, again.body["error"].as_str()), (StatusCode::CONFLICT, Some("client_holds_code")));
    let found = app.footprints(&token, Method::POST, "/api/loyaltyCode/check", Some(&check)).await.body;
    assert_eq!((found["code"].as_str(), found["prize_status"].as_str()), (Some("COF-1"), Some("associated")));
    assert_eq!(found["message"], "redeem code found");

    // Bob asks for a cake; Ana redeems hers, in small letters, once.
    let bob = format!("{BOB}&campaignInternalId=summer&prizeId={}", prizes[1]);
    let bobs = app.footprints(&token, Method::POST, "/api/loyaltyCode/allocate", Some(&bob)).await.body;
    assert_eq!(bobs["prize"]["name"], "Cake");
    let bobs_code = bobs["code"].as_str().unwrap().to_owned();
    assert_eq!(bobs_code.len(), 9);
    let redeem = format!("{check}&code=cof-1");
    let redeemed = app.footprints(&token, Method::POST, "/api/loyaltyCode/change", Some(&redeem)).await;
    assert_eq!(redeemed.body, json!({"status": "success"}));
    let twice = app.footprints(&token, Method::POST, "/api/loyaltyCode/change", Some(&redeem)).await;
    assert_eq!((twice.status, twice.body["error"].as_str()), (StatusCode::CONFLICT, Some("code_already_redeemed")));
    // Not hers: Bob's code, a code of no campaign of hers.
    let not_hers = format!("{check}&code={bobs_code}");
    let refused = app.footprints(&token, Method::POST, "/api/loyaltyCode/change", Some(&not_hers)).await;
    assert_eq!((refused.status, refused.body["error"].as_str()), (StatusCode::CONFLICT, Some("code_not_held")));
    // Bob's is blocked, and then no longer redeems.
    let block = format!("{BOB}&campaignInternalId=summer&code={bobs_code}&status=blocked");
    assert_eq!(
        app.footprints(&token, Method::POST, "/api/loyaltyCode/change", Some(&block)).await.status,
        StatusCode::OK
    );
    let after = format!("{BOB}&campaignInternalId=summer&code={bobs_code}");
    let blocked = app.footprints(&token, Method::POST, "/api/loyaltyCode/change", Some(&after)).await;
    assert_eq!((blocked.status, blocked.body["error"].as_str()), (StatusCode::CONFLICT, Some("code_blocked")));

    // Redeemed, Ana may be handed the next one; her history has both, newest first.
    let next = app.footprints(&token, Method::POST, "/api/loyaltyCode/allocate", Some(&check)).await.body;
    assert_eq!(next["code"], "COF-2");
    let history = app.footprints(&token, Method::POST, "/api/loyaltyCode/history", Some(ANA)).await.body;
    let history: Vec<(Value, Value)> =
        history["codes"].as_array().unwrap().iter().map(|c| (c["code"].clone(), c["status"].clone())).collect();
    assert_eq!(history, vec![(json!("COF-2"), json!("associated")), (json!("COF-1"), json!("redeemed"))]);

    // The counters, per campaign and per prize type.
    let summer = app.get("marketer", "/v1/loyalty-campaigns/summer").await.body;
    assert_eq!(counters(&summer), (2, 1, 1, 1), "{summer}");
    assert_eq!(summer["counters"]["issued"], 5);
    assert_eq!(counters(&summer["loyalty_settings"]["prize_types"][1]), (1, 0, 0, 1));

    // The list: every code handed out, with its client, paged, searchable in any case.
    let list = app.footprints(&token, Method::POST, "/api/loyaltyCode/list", Some("campaignInternalId=summer")).await;
    assert_eq!(list.body["totalResults"], 3);
    assert_eq!(list.headers["x-records"], "3");
    let clients = list.body["clients"].as_array().unwrap();
    let cof1 = clients.iter().find(|c| c["code"] == "COF-1").unwrap();
    assert_eq!(cof1["client"]["userFirstName"], "Ana");
    assert_eq!(cof1["client"]["userEmail"], "ana@example.com");
    assert_eq!(cof1["prize"], json!({"pointsValue": 10, "name": "Coffee"}));
    assert_eq!(cof1["campaign"]["internalId"], "summer");
    let searched =
        app.footprints(&token, Method::POST, "/api/loyaltyCode/list", Some("searchTerm=cof&pageSize=1&page=2")).await;
    assert_eq!(searched.body["totalResults"], 2);
    assert_eq!(searched.body["clients"].as_array().unwrap().len(), 1);
    assert_eq!(
        (&searched.headers["x-total-pages"], &searched.headers["x-current-page"]),
        (&"2".parse().unwrap(), &"2".parse().unwrap())
    );

    // A replay of the ledger gives the same views.
    let (folded, _, _) = common::fold_ledger(&app.app.db).await;
    let live =
        tally_projections::rebuild::Views::load_live(&mut app.app.db.read.acquire().await.unwrap()).await.unwrap();
    assert_eq!(folded, live);
}

#[tokio::test]
async fn bad_input_is_refused_in_footprints_style_and_writes_nothing() {
    let app = with_staff().await;
    let token = app.staff_token("marketer").await;
    let prizes = declare(&app, "winter", campaign("Winter")).await;
    assert_eq!(
        issue(&app, "winter", json!({"prize_id": prizes[0], "codes": ["W-1", "W-2"]})).await.status,
        StatusCode::OK
    );
    let events = app.event_count().await;
    let cases = [
        (
            "/api/loyaltyCode/allocate",
            format!("{ANA}&campaignInternalId=nope"),
            StatusCode::NOT_FOUND,
            "unknown_campaign",
        ),
        (
            "/api/loyaltyCode/allocate",
            format!("{ANA}&campaignInternalId=winter&prizeId=000000000000000000000000"),
            StatusCode::BAD_REQUEST,
            "unknown_prize",
        ),
        (
            "/api/loyaltyCode/allocate",
            "userEmail=nope&userPhone=0700000001&campaignInternalId=winter".into(),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "/api/loyaltyCode/change",
            format!("{ANA}&campaignInternalId=winter&code=ZZZ"),
            StatusCode::NOT_FOUND,
            "unknown_code",
        ),
        (
            "/api/loyaltyCode/change",
            format!("{ANA}&campaignInternalId=winter&code=W-1"),
            StatusCode::CONFLICT,
            "code_not_held",
        ),
        (
            "/api/loyaltyCode/change",
            format!("{ANA}&campaignInternalId=winter&code=W-1&status=lost"),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "/api/loyaltyCode/change",
            format!("{ANA}&campaignInternalId=winter"),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        ("/api/loyaltyCode/list", "campaignInternalId=nope".into(), StatusCode::NOT_FOUND, "unknown_campaign"),
        ("/api/loyaltyCode/history", "userEmail=ana@example.com".into(), StatusCode::BAD_REQUEST, "invalid_request"),
    ];
    for (path, form, status, error) in cases {
        let reply = app.footprints(&token, Method::POST, path, Some(&form)).await;
        assert_eq!(
            (reply.status, reply.body["error"].as_str()),
            (status, Some(error)),
            "{path} {form}: {:?}",
            reply.body
        );
        assert_eq!(reply.body["status"], "error");
    }
    // A code of another campaign is not this one's.
    declare(&app, "other", campaign("Other")).await;
    let other = format!("{ANA}&campaignInternalId=other&code=W-1");
    let reply = app.footprints(&token, Method::POST, "/api/loyaltyCode/change", Some(&other)).await;
    assert_eq!(reply.body["error"], "unknown_code");
    // An application of a customer (role client) may not hand codes out.
    let client = app.app_token("client").await;
    let reply = app
        .footprints(
            &client,
            Method::POST,
            "/api/loyaltyCode/allocate",
            Some(&format!("{ANA}&campaignInternalId=winter")),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);

    // The native API: an issue is all or none; bad declarations are refused.
    let dup = issue(&app, "winter", json!({"prize_id": prizes[0], "codes": ["W-3", "W-1"]})).await;
    assert_eq!((dup.status, dup.body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("CodeAlreadyIssued")));
    let twice = issue(&app, "winter", json!({"prize_id": prizes[0], "codes": ["W-4", "w-4"]})).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    let bad = issue(&app, "winter", json!({"prize_id": prizes[0], "codes": ["no spaces"]})).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let both = issue(&app, "winter", json!({"prize_id": prizes[0], "codes": ["W-5"], "count": 1})).await;
    assert_eq!(both.status, StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = issue(&app, "winter", json!({"prize_id": "x", "count": 1})).await;
    assert_eq!(
        (unknown.status, unknown.body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("UnknownPrize"))
    );
    let missing = issue(&app, "nope", json!({"prize_id": prizes[0], "count": 1})).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let mut backwards = campaign("Backwards");
    backwards["end_date"] = backwards["start_date"].clone();
    let key = uuid::Uuid::new_v4().to_string();
    let reply = app.send("marketer", Method::PUT, "/v1/loyalty-campaigns/backwards", Some(backwards), Some(&key)).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Removing a prize type with codes is refused.
    let mut fewer = campaign("Winter");
    fewer["loyalty_settings"]["prize_types"] = json!([{"name": "Cake", "points_value": 20}]);
    let key = uuid::Uuid::new_v4().to_string();
    let reply = app.send("marketer", Method::PUT, "/v1/loyalty-campaigns/winter", Some(fewer), Some(&key)).await;
    assert_eq!((reply.status, reply.body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("PrizeTypeInUse")));
    // Only the other campaign's declaration was written.
    assert_eq!(app.event_count().await, events + 1);
}

#[tokio::test]
async fn of_many_tills_redeeming_the_same_codes_exactly_one_wins_each() {
    let app = std::sync::Arc::new(with_staff().await);
    let token = app.staff_token("marketer").await;
    let prizes = declare(&app, "race", campaign("Race")).await;
    let codes: Vec<String> = (0..40).map(|n| format!("R-{n}")).collect();
    assert_eq!(issue(&app, "race", json!({"prize_id": prizes[0], "codes": codes})).await.status, StatusCode::OK);
    let clients: Vec<String> =
        (0..40).map(|n| format!("userEmail=c{n}@example.com&userPhone=07000001{n:02}")).collect();
    let mut held = Vec::new();
    for client in &clients {
        let form = format!("{client}&campaignInternalId=race");
        let given = app.footprints(&token, Method::POST, "/api/loyaltyCode/allocate", Some(&form)).await;
        held.push((client.clone(), given.body["code"].as_str().unwrap().to_owned()));
    }
    // Four tills per code, all at once.
    let mut tills = Vec::new();
    for (client, code) in &held {
        for _ in 0..4 {
            let (app, token) = (app.clone(), token.clone());
            let form = format!("{client}&campaignInternalId=race&code={code}");
            tills.push(tokio::spawn(async move {
                app.footprints(&token, Method::POST, "/api/loyaltyCode/change", Some(&form)).await.status
            }));
        }
    }
    let mut statuses = Vec::new();
    for till in tills {
        statuses.push(till.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 40);
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count(), 120);
    let race = app.get("marketer", "/v1/loyalty-campaigns/race").await.body;
    assert_eq!(counters(&race), (0, 0, 40, 0));
}

#[tokio::test]
async fn one_hundred_thousand_codes_are_issued_in_one_call_and_the_cli_issues_all_or_none() {
    let app = with_staff().await;
    let prizes = declare(&app, "bulk", campaign("Bulk")).await;
    let started = std::time::Instant::now();
    let issued = issue(&app, "bulk", json!({"prize_id": prizes[0], "count": 100_000})).await;
    assert_eq!(issued.status, StatusCode::OK, "{:?}", issued.body);
    assert_eq!(issued.body["events"].as_array().unwrap().len(), 20, "5,000 codes an event");
    eprintln!("100,000 codes issued in {:?}", started.elapsed());
    let bulk = app.get("marketer", "/v1/loyalty-campaigns/bulk").await.body;
    assert_eq!(bulk["counters"]["issued"], 100_000);
    let over = issue(&app, "bulk", json!({"prize_id": prizes[0], "count": 100_001})).await;
    assert_eq!(over.status, StatusCode::UNPROCESSABLE_ENTITY);

    // The CLI, on the same database: a file with a code issued already issues nothing.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("codes.txt");
    std::fs::write(&file, "CLI-1\nCLI-2\n\nCLI-1\n").unwrap();
    let tally = env!("CARGO_BIN_EXE_tally");
    let run = |file: &std::path::Path| {
        std::process::Command::new(tally)
            .args(["--database-url", &app.database_url, "loyalty", "issue", "--merchant", "acme", "--campaign", "bulk"])
            .args(["--prize", &prizes[1], "--file"])
            .arg(file)
            .output()
            .unwrap()
    };
    let refused = run(&file);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("CodeAlreadyIssued"), "{refused:?}");
    std::fs::write(&file, "CLI-1\nCLI-2\n").unwrap();
    let done = run(&file);
    assert!(done.status.success(), "{done:?}");
    assert_eq!(String::from_utf8_lossy(&done.stdout).trim(), "2 codes issued to campaign bulk");
    let bulk = app.get("marketer", "/v1/loyalty-campaigns/bulk").await.body;
    assert_eq!(bulk["loyalty_settings"]["prize_types"][1]["counters"]["issued"], 2);
}
