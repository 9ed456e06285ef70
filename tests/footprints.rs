//! Footprints: tokens, leads and their actions, and the pipeline, as an integrator's client sees them, against a
//! running Tally.

mod common;

use common::footprints::{stage_counts, with_staff, HOSTESS, LEAD};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tally_projections::rebuild::Views;

#[tokio::test]
async fn an_application_and_its_staff_get_tokens_and_refresh_them() {
    let app = with_staff().await;
    let granted = app.token_request("marketer", "grant_type=client_credentials").await;
    assert_eq!(granted.status, StatusCode::OK, "{:?}", granted.body);
    assert_eq!(granted.body["token_type"], "bearer");
    assert_eq!(granted.body["scope"], serde_json::json!(["app_scope"]));
    assert!(granted.body["expires_in"].as_i64().unwrap() > 3600);
    assert!(granted.body.get("hostess_id").is_none());
    assert_eq!(granted.headers["cache-control"], "no-store");

    let (username, password, pin) = HOSTESS;
    let by_pin = app.token_request("marketer", &format!("grant_type=pin&pin={pin}")).await;
    assert_eq!(by_pin.status, StatusCode::OK, "{:?}", by_pin.body);
    assert_eq!(by_pin.body["hostess_name"], "Ana Hostess");
    assert_eq!(by_pin.body["scope"], serde_json::json!(["app_scope", "hostess_scope"]));
    let staff_id = by_pin.body["hostess_id"].as_str().unwrap().to_owned();
    let by_password =
        app.token_request("marketer", &format!("grant_type=password&username={username}&password={password}")).await;
    assert_eq!(by_password.body["hostess_id"], staff_id.as_str());

    // The token works as the seed sends it and as a bearer header, and stands for the staff member.
    let token = by_pin.body["access_token"].as_str().unwrap();
    let lead = app.add_lead(token, LEAD).await;
    let bearer = app.http.get(format!("{}/api/lead/actions/{lead}", app.base)).bearer_auth(token).send().await.unwrap();
    assert_eq!(bearer.status(), StatusCode::OK);
    let (actor,): (String,) = sqlx::query_as("SELECT actor_principal FROM events WHERE event_type = 'LeadAdded'")
        .fetch_one(&app.app.db.read)
        .await
        .unwrap();
    assert_eq!(actor, format!("staff:{staff_id}"));

    // A refresh token is good for one new pair, and only for the client it was granted to.
    let refresh = by_pin.body["refresh_token"].as_str().unwrap();
    let renewed = app.token_request("marketer", &format!("grant_type=refresh_token&refresh_token={refresh}")).await;
    assert_eq!(renewed.status, StatusCode::OK, "{:?}", renewed.body);
    assert_eq!(renewed.body["hostess_id"], staff_id.as_str());
    assert_ne!(renewed.body["access_token"], by_pin.body["access_token"]);
    let again = app.token_request("marketer", &format!("grant_type=refresh_token&refresh_token={refresh}")).await;
    assert_eq!((again.status, again.body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    let other_refresh = renewed.body["refresh_token"].as_str().unwrap();
    let stolen =
        app.token_request("administrator", &format!("grant_type=refresh_token&refresh_token={other_refresh}")).await;
    assert_eq!(stolen.body["error"], "invalid_grant");
}

#[tokio::test]
async fn token_requests_the_seed_does_not_allow_are_refused_in_its_style() {
    let app = with_staff().await;
    let cases = [
        ("grant_type=magic", StatusCode::BAD_REQUEST, "unsupported_grant_type"),
        ("pin=1234", StatusCode::BAD_REQUEST, "invalid_request"),
        ("grant_type=pin", StatusCode::BAD_REQUEST, "invalid_request"),
        ("grant_type=password&username=hostess", StatusCode::BAD_REQUEST, "invalid_request"),
        ("grant_type=password&username=hostess&password=wrong", StatusCode::BAD_REQUEST, "invalid_grant"),
        ("grant_type=password&username=nobody&password=wrong", StatusCode::BAD_REQUEST, "invalid_grant"),
        ("grant_type=refresh_token&refresh_token=forged", StatusCode::BAD_REQUEST, "invalid_grant"),
    ];
    for (form, status, error) in cases {
        let reply = app.token_request("marketer", form).await;
        assert_eq!((reply.status, reply.body["error"].as_str()), (status, Some(error)), "{form}: {:?}", reply.body);
        assert_eq!(reply.body["status"], "error");
        assert!(reply.body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let wrong_secret = app.token_request_as("acme-marketer", "nope", "grant_type=client_credentials").await;
    assert_eq!(
        (wrong_secret.status, wrong_secret.body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    let anonymous = app.http.post(format!("{}/api/token", app.base)).body("grant_type=client_credentials").send().await;
    assert_eq!(anonymous.unwrap().status(), StatusCode::UNAUTHORIZED);

    // Calls without a token, with a forged one or with an expired one.
    let token = app.staff_token("marketer").await;
    let forged = app.footprints("0123abcd", Method::GET, "/api/lead", None).await;
    assert_eq!((forged.status, forged.body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_token")));
    let none = app.http.get(format!("{}/api/lead", app.base)).send().await.unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    let expiring = app.staff_token("marketer").await;
    let digest = tally::store::tokens::digest(&expiring);
    sqlx::query("UPDATE access_tokens SET expires_at = '2020-01-01T00:00:00.000000Z' WHERE access_digest = $1")
        .bind(digest)
        .execute(&app.app.db.write)
        .await
        .unwrap();
    let expired = app.footprints(&expiring, Method::GET, "/api/lead", None).await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    assert!(expired.body["message"].as_str().unwrap().contains("expired"), "{:?}", expired.body);
    assert_eq!(app.footprints(&token, Method::GET, "/api/lead", None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn wrong_pins_are_throttled_after_five_tries() {
    let app = with_staff().await;
    for attempt in 1..=5 {
        let reply = app.token_request("marketer", "grant_type=pin&pin=0000").await;
        assert_eq!(reply.body["error"], "invalid_grant", "attempt {attempt}");
    }
    let (_, _, pin) = HOSTESS;
    let throttled = app.token_request("marketer", &format!("grant_type=pin&pin={pin}")).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS, "{:?}", throttled.body);
    assert_eq!(throttled.body["error"], "too_many_attempts");
    assert!(throttled.headers["retry-after"].to_str().unwrap().parse::<u64>().unwrap() > 0);
    // Another application's PIN pad is not throttled, nor is the password of the same staff member.
    let other = app.token_request("administrator", &format!("grant_type=pin&pin={pin}")).await;
    assert_eq!(other.status, StatusCode::OK, "{:?}", other.body);
    app.staff_token("marketer").await;
}

#[tokio::test]
async fn a_lead_is_added_worked_on_and_lost_as_the_seed_shows() {
    let app = with_staff().await;
    let token = app.staff_token("marketer").await;
    let lead = app.add_lead(&token, &format!("{LEAD}&createdAt=2026-03-01 12:00:00&timezone=Europe/Bucharest")).await;
    assert_eq!(lead.len(), 24, "ids are 24 hexadecimal digits like Footprints': {lead}");

    let updated = app
        .footprints(
            &token,
            Method::PUT,
            &format!("/api/lead/{lead}"),
            Some("status=sale_lead&userCompanyName=ACME&skuId=S1"),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{:?}", updated.body);
    let body = &updated.body;
    assert_eq!(body["_id"], lead.as_str());
    assert_eq!(body["status"], "sale_lead");
    assert_eq!(body["userFirstName"], "Ana");
    assert_eq!(body["userCompanyName"], "ACME");
    assert_eq!(body["userFamilyDetails"], "married");
    assert_eq!(body["skuId"], "S1");
    assert_eq!(body["tags"], serde_json::json!(["vip"]));
    assert_eq!(body["customDetails"]["offerDetails"], "Lorem");
    assert_eq!(body["marketingChannels"][0], serde_json::json!({"channel": "sms", "type": "owner", "agreed": true}));
    // createdAt was 12:00 in Bucharest (UTC+2 in March).
    assert_eq!(body["createdAt"], "2026-03-01T10:00:00.000Z");
    assert_eq!(body["actionRequired"], true);

    let action = app
        .footprints(
            &token,
            Method::POST,
            "/api/lead/action",
            Some(&format!(
                "leadId={lead}&leadActionTypeId=000000000000000000000001&actionDetail=called&date=2026-03-02 09:30:00"
            )),
        )
        .await;
    assert_eq!((action.status, action.body["status"].as_str()), (StatusCode::OK, Some("success")), "{:?}", action.body);
    let action_id = action.body["_id"].as_str().unwrap().to_owned();
    let changed = app
        .footprints(&token, Method::PUT, &format!("/api/lead/action/{action_id}"), Some("actionDetail=called back"))
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{:?}", changed.body);
    let actions = app.footprints(&token, Method::GET, &format!("/api/lead/actions/{lead}"), None).await;
    let listed = &actions.body["data"][0];
    assert_eq!(listed["_id"], action_id.as_str());
    assert_eq!(listed["actionDetail"], "called back");
    assert_eq!(listed["leadActionTypeId"]["name"], "Call");
    assert_eq!(listed["date"], "2026-03-02T09:30:00.000");
    let types = app.footprints(&token, Method::GET, "/api/lead/action-types", None).await;
    assert_eq!(types.body["data"].as_array().unwrap().len(), 8);

    let nps = app.footprints(&token, Method::POST, &format!("/api/lead/{lead}/nps"), Some("nps=9&comment=kind")).await;
    assert_eq!(nps.body, serde_json::json!({"status": "success"}));

    let lost = app
        .footprints(
            &token,
            Method::PUT,
            &format!("/api/lead/{lead}/leadLost"),
            Some("reasonLost=price_too_high&comment=later"),
        )
        .await;
    assert_eq!(lost.status, StatusCode::OK, "{:?}", lost.body);
    assert_eq!(lost.body["status"], "lost");
    assert_eq!(lost.body["reasonLost"], "price_too_high");
    assert_eq!(lost.body["comments"], "later");
    assert_eq!(lost.body["nps"], 9);
    assert_eq!(lost.body["actionRequired"], false);
    let other_reason = app
        .footprints(&token, Method::PUT, &format!("/api/lead/{lead}/leadLost"), Some("reasonLost=competition"))
        .await;
    assert_eq!(
        (other_reason.status, other_reason.body["error"].as_str()),
        (StatusCode::CONFLICT, Some("lead_already_lost"))
    );

    // Taken up again, then won with a contract: a customer stays one.
    let reopened = app.footprints(&token, Method::PUT, &format!("/api/lead/{lead}"), Some("status=opportunity")).await;
    assert_eq!(reopened.body["status"], "opportunity");
    let won = app
        .footprints(
            &token,
            Method::PUT,
            &format!("/api/lead/{lead}"),
            Some("status=customer&contractNumber=C-17&contractValue=1200.50&contractDate=2026-03-05&contractDescription=two+years"),
        )
        .await;
    assert_eq!(won.status, StatusCode::OK, "{:?}", won.body);
    assert_eq!(
        (won.body["contractNumber"].as_str(), won.body["contractDescription"].as_str()),
        (Some("C-17"), Some("two years"))
    );
    assert_eq!(won.body["contractValue"], "1200.50");
    let back = app.footprints(&token, Method::PUT, &format!("/api/lead/{lead}"), Some("status=lead")).await;
    assert_eq!((back.status, back.body["error"].as_str()), (StatusCode::CONFLICT, Some("lead_already_customer")));
}

#[tokio::test]
async fn leads_are_listed_by_creation_day_a_page_at_a_time() {
    let app = with_staff().await;
    let token = app.staff_token("marketer").await;
    let mut ids = Vec::new();
    for day in 1..=5 {
        ids.push(
            app.add_lead(&token, &format!("{LEAD}&userEmail=p{day}@example.com&createdAt=2026-04-0{day} 10:00:00"))
                .await,
        );
    }
    // Without an offer the seed's list does not show a lead.
    app.add_lead(&token, "userEmail=loose@example.com&createdAt=2026-04-03 10:00:00").await;
    let page = async |query: &str| app.footprints(&token, Method::GET, &format!("/api/lead?{query}"), None).await;
    let first = page("startDate=2026-04-02&endDate=2026-04-04&pageSize=2&page=1").await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    assert_eq!(first.headers["x-total-count"], "3");
    let listed: Vec<&str> = first.body.as_array().unwrap().iter().map(|l| l["_id"].as_str().unwrap()).collect();
    assert_eq!(listed, vec![ids[3].as_str(), ids[2].as_str()], "newest first");
    let second = page("startDate=2026-04-02&endDate=2026-04-04&pageSize=2&page=2").await;
    assert_eq!(second.body.as_array().unwrap()[0]["_id"], ids[1].as_str());
    assert_eq!(page("pageSize=100").await.body.as_array().unwrap().len(), 5);
    for bad in ["startDate=04/02/2026", "pageSize=0", "pageSize=101", "page=0", "page=x"] {
        let reply = page(bad).await;
        assert_eq!(
            (reply.status, reply.body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_request")),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn bad_lead_input_is_refused_in_footprints_style_and_nothing_is_written() {
    let app = with_staff().await;
    let token = app.staff_token("marketer").await;
    let lead = app.add_lead(&token, LEAD).await;
    let before = app.event_count().await;
    let adds = [
        "userFirstName=Ana",
        "userEmail=not-an-address",
        "userPhone=call me",
        "userEmail=a@b.c&userSex=other",
        "userEmail=a@b.c&nps=11",
        "userEmail=a@b.c&userBirthday=1990-13-01",
        "userEmail=a@b.c&agreeTandc=yes",
        "userEmail=a@b.c&createdAt=2026-01-01T10:00:00",
        "userEmail=a@b.c&createdAt=2999-01-01 10:00:00",
        "userEmail=a@b.c&timezone=Mars/Olympus",
        "userEmail=a@b.c&status=customer",
        "userEmail=a@b.c&marketingChannels[0][channel]=fax&marketingChannels[0][type]=owner&marketingChannels[0][agreed]=true",
        "userEmail=a@b.c&marketingChannels[0][channel]=sms",
        "userEmail=a@b.c&offerId=has spaces",
        "userEmail=a@b.c&tags[0][x]=1",
        "userEmail=a@b.c&a[b=1",
    ];
    for form in adds {
        let reply = app.footprints(&token, Method::POST, "/api/lead", Some(form)).await;
        assert_eq!(
            (reply.status, reply.body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_request")),
            "{form}: {:?}",
            reply.body
        );
    }
    let path = format!("/api/lead/{lead}");
    let changes = [
        (Method::PUT, path.clone(), "status=won".to_owned()),
        (Method::PUT, path.clone(), "contractNumber=C-1".to_owned()),
        (Method::PUT, path.clone(), "status=opportunity&contractValue=10".to_owned()),
        (Method::PUT, path.clone(), "status=customer&contractValue=-5".to_owned()),
        (Method::PUT, format!("{path}/leadLost"), "comment=no reason".to_owned()),
        (Method::PUT, format!("{path}/leadLost"), "reasonLost=bored".to_owned()),
        (Method::POST, format!("{path}/nps"), "nps=0".to_owned()),
        (Method::POST, format!("{path}/nps"), "comment=no score".to_owned()),
        (
            Method::POST,
            "/api/lead/action".to_owned(),
            "leadActionTypeId=000000000000000000000001&date=2026-01-01 10:00:00".to_owned(),
        ),
        (
            Method::POST,
            "/api/lead/action".to_owned(),
            format!("leadId={lead}&leadActionTypeId=nope&date=2026-01-01 10:00:00"),
        ),
        (
            Method::POST,
            "/api/lead/action".to_owned(),
            format!("leadId={lead}&leadActionTypeId=000000000000000000000001"),
        ),
    ];
    for (method, path, form) in changes {
        let reply = app.footprints(&token, method, &path, Some(&form)).await;
        assert_eq!(
            (reply.status, reply.body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_request")),
            "{path} {form}: {:?}",
            reply.body
        );
    }
    let missing = app.footprints(&token, Method::PUT, "/api/lead/000000000000000000000000", Some("status=lead")).await;
    assert_eq!((missing.status, missing.body["error"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    let no_action =
        app.footprints(&token, Method::PUT, "/api/lead/action/000000000000000000000000", Some("actionDetail=x")).await;
    assert_eq!(no_action.status, StatusCode::NOT_FOUND);
    assert_eq!(app.event_count().await, before, "nothing was written");
}

#[tokio::test]
async fn merchants_and_roles_see_only_what_is_theirs() {
    let app = with_staff().await;
    let token = app.staff_token("marketer").await;
    let lead = app.add_lead(&token, LEAD).await;
    let stranger =
        app.token_request_as("other-administrator", "secret-administrator", "grant_type=client_credentials").await;
    let stranger = stranger.body["access_token"].as_str().unwrap().to_owned();
    let theirs = app.footprints(&stranger, Method::PUT, &format!("/api/lead/{lead}"), Some("status=lead")).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.footprints(&stranger, Method::GET, &format!("/api/lead/actions/{lead}"), None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.footprints(&stranger, Method::GET, "/api/lead", None).await.body, serde_json::json!([]));

    // A customer's application may take leads and scores, not read or work on them.
    let customer = app.app_token("client").await;
    app.add_lead(&customer, "userEmail=self@example.com").await;
    let score = app.footprints(&customer, Method::POST, &format!("/api/lead/{lead}/nps"), Some("nps=10")).await;
    assert_eq!(score.status, StatusCode::OK, "{:?}", score.body);
    for (method, path) in [(Method::GET, "/api/lead".to_owned()), (Method::PUT, format!("/api/lead/{lead}"))] {
        let reply = app.footprints(&customer, method, &path, Some("status=lead")).await;
        assert_eq!((reply.status, reply.body["error"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{path}");
    }
}

#[tokio::test]
async fn personal_data_is_sealed_in_the_ledger_and_a_person_is_one_customer() {
    let app = with_staff().await;
    let token = app.staff_token("marketer").await;
    let first = app.add_lead(&token, LEAD).await;
    let second = app
        .add_lead(
            &token,
            &LEAD.replace("userFirstName=Ana", "userFirstName=Anna").replace("0700 000 001", "0700-000-001"),
        )
        .await;
    let stranger = app.add_lead(&token, &LEAD.replace("ana@example.com", "bob@example.com")).await;
    app.footprints(
        &token,
        Method::PUT,
        &format!("/api/lead/{first}/leadLost"),
        Some("reasonLost=need&comment=Ana+moved"),
    )
    .await;
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT payload FROM events WHERE event_type LIKE 'Lead%' UNION ALL SELECT doc FROM lead_view")
            .fetch_all(&app.app.db.read)
            .await
            .unwrap();
    for (text,) in &rows {
        // Texts that cannot turn up in base64 or hex by chance (a blank, an @, or five letters or more).
        for personal in ["ana@example.com", "0700 000", "married", "Lorem", "moved"] {
            assert!(!text.contains(personal), "{personal:?} in the clear: {text}");
        }
    }
    let lead = |id: String| {
        let app = &app;
        let token = &token;
        async move {
            let reply = app.footprints(token, Method::PUT, &format!("/api/lead/{id}"), Some("tags[]=x")).await;
            reply.body["clientId"].as_str().unwrap().to_owned()
        }
    };
    let (a, b, c) = (lead(first).await, lead(second).await, lead(stranger).await);
    assert_eq!(a, b, "the same e-mail and phone are one customer");
    assert_ne!(a, c);
}

#[tokio::test]
async fn the_pipeline_counts_ages_and_conversions_and_rebuilds_equal() {
    let app = with_staff().await;
    let token = app.staff_token("marketer").await;
    let offer = serde_json::json!({"kind": "offer", "name": "Offer 2", "price": "99", "offer_category_id": "OC1"});
    let declared = app.send("administrator", Method::PUT, "/v1/catalogue/O2", Some(offer), Some("o2")).await;
    assert_eq!(declared.status, StatusCode::OK, "{:?}", declared.body);
    let at = |location: &str, offer: &str| {
        LEAD.replace("locationId=L1", &format!("locationId={location}"))
            .replace("offerId=O1", &format!("offerId={offer}"))
    };
    let a = app.add_lead(&token, &at("L1", "O1")).await;
    let b = app.add_lead(&token, &at("L1", "O2")).await;
    let c = app.add_lead(&token, &at("K1", "O1")).await;
    let d = app.add_lead(&token, &at("K1", "O2")).await;
    app.footprints(&token, Method::PUT, &format!("/api/lead/{a}"), Some("status=customer")).await;
    app.footprints(&token, Method::PUT, &format!("/api/lead/{b}/leadLost"), Some("reasonLost=competition")).await;
    app.footprints(&token, Method::PUT, &format!("/api/lead/{c}/leadLost"), Some("reasonLost=competition")).await;
    let action = format!("leadId={d}&leadActionTypeId=000000000000000000000002&date=2026-05-01 10:00:00");
    app.footprints(&token, Method::POST, "/api/lead/action", Some(&action)).await;
    app.add_lead(&token, &at("L1", "O1")).await;

    let pipeline = app.get("marketer", "/v1/leads/pipeline").await;
    assert_eq!(pipeline.status, StatusCode::OK, "{:?}", pipeline.body);
    let stage = |body: &Value, status: &str| {
        body["stages"].as_array().unwrap().iter().find(|s| s["status"] == status).cloned().unwrap_or(Value::Null)
    };
    assert_eq!(stage(&pipeline.body, "lead")["leads"], 2);
    assert_eq!(stage(&pipeline.body, "lead")["actions_due"], 1, "the lead with an action needs none");
    assert_eq!(stage(&pipeline.body, "customer")["leads"], 1);
    assert_eq!(stage(&pipeline.body, "lost")["leads"], 2);
    let period = &pipeline.body["period"];
    assert_eq!((period["added"].as_i64(), period["converted"].as_i64()), (Some(5), Some(1)));
    assert_eq!(period["conversion_rate"], "0.2");
    assert_eq!(period["lost"], serde_json::json!({"competition": 2}));

    let narrowed = app.get("marketer", "/v1/leads/pipeline?location_id=K1&group_by=offer").await;
    let stages = narrowed.body["stages"].as_array().unwrap();
    assert_eq!(stages.len(), 2, "{stages:?}");
    assert!(stages.iter().all(|s| s["leads"] == 1));
    assert_eq!(narrowed.body["group_by"], "offer");
    for bad in ["group_by=city", "location_id=a b", "from=2026-05-02&to=2026-05-01", "colour=red"] {
        let reply = app.get("marketer", &format!("/v1/leads/pipeline?{bad}")).await;
        assert!(reply.status.is_client_error(), "{bad}: {:?}", reply.status);
    }
    assert_eq!(app.get("client", "/v1/leads/pipeline").await.status, StatusCode::FORBIDDEN);

    let mut conn = app.app.db.read.acquire().await.unwrap();
    let live = Views::load_live(&mut conn).await.unwrap();
    let (rebuilt, _, _) = common::fold_ledger(&app.app.db).await;
    assert_eq!(rebuilt.compare(&live).iter().filter(|(_, _, equal)| !equal).count(), 0, "{:?}", rebuilt.compare(&live));

    // The running totals the stages come from equal the totals of the rebuilt rows.
    let totals = async || {
        let rows: Vec<(String, String, String, i64, i64, i64)> = sqlx::query_as(
            "SELECT status, location_id, offer_id, leads, entered_sum, actions_due FROM lead_stage_totals \
             WHERE leads <> 0 ORDER BY status, location_id, offer_id",
        )
        .fetch_all(&app.app.db.read)
        .await
        .unwrap();
        rows
    };
    let incremental = totals().await;
    assert!(incremental.len() >= 4, "{incremental:?}");
    app.app.db.rebuild_views().await.unwrap();
    assert_eq!(totals().await, incremental);
    assert_eq!(stage_counts(&app.get("marketer", "/v1/leads/pipeline").await.body), stage_counts(&pipeline.body));
}
