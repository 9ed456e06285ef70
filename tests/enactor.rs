//! Enactor REST under `/WebRestApi/rest`: a till finds a customer's loyalty account by customer number or card
//! number, reads its balance, and gets Enactor's outcomes and `ErrorMessage`s.

mod common;

use common::{
    enactor::{customer, get, CARD, EXPIRY_MS, MOBILE, TILL},
    spawn_app, TestApp,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

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

    // A till's template sends the unused parameters blank.
    let (_, blanks) =
        get(&app, &format!("/accounts/search/?accountType=&accountId={code}&pan=&hashedPan=&currencyId=")).await;
    assert_eq!(blanks, found);

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
        "hashedPan=abc&accountType=&accountId=&pan=".to_owned(),
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

    for (path, code_wanted) in [
        ("/accounts/search/", "InvalidRequest"),
        ("/accountbalances?accountId=A&colour=red", "InvalidParameter"),
        ("/accounts/search/?accountId=A&colour=red", "InvalidParameter"),
        ("/accounts/customerLoyaltyAccount/A?colour=red", "InvalidParameter"),
    ] {
        let (status, body) = get(&app, path).await;
        assert_eq!((status, &body["errorCode"]), (StatusCode::BAD_REQUEST, &json!(code_wanted)), "{path}");
        assert!(body["messageText"].as_str().is_some_and(|t| !t.is_empty()));
    }
    let (status, body) = get(&app, "/accounts/search").await;
    assert_eq!((status, &body["errorCode"]), (StatusCode::NOT_FOUND, &json!("NotFound")));
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

/// A name search as the till sends it; the page's `totalRows` and its rows' customer numbers and names.
async fn name_search(app: &TestApp, role: &str, body: Value) -> (i64, Vec<(String, String)>) {
    let reply = app.send(role, Method::POST, "/WebRestApi/rest/customers/nameSearch", Some(body), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let list = &reply.body["pagedArrayList"];
    let rows = list["contents"].as_array().unwrap().iter();
    let rows = rows.map(|row| {
        let values = &row["data"]["values"];
        assert_eq!(row["key"]["id"], values[0]);
        (values[0].as_str().unwrap().to_owned(), values[1].as_str().unwrap().to_owned())
    });
    (list["totalRows"].as_i64().unwrap(), rows.collect())
}

#[tokio::test]
async fn name_search_finds_surnames_then_names_by_their_start_in_pages() {
    let app = spawn_app().await;
    for (code, name, mobile) in [
        ("C1", "Anna Petrova", "+79990000101"),
        ("C2", "Petr Ivanov", "+79990000102"),
        ("C3", "Boris  PETROV", "+79990000103"),
        ("C4", "Пётр Сидоров", "+79990000104"),
        ("C5", "Annabel Smith", "+79990000105"),
    ] {
        app.register_contact(json!({"code": code, "name": name, "mobile_number": mobile})).await;
    }
    let search = |text: &str| json!({"@type": "customerNameSearchRequest", "searchName": text, "types": []});
    let names = |rows: Vec<(String, String)>| rows.into_iter().map(|(code, _)| code).collect::<Vec<_>>();

    // By the start of the surname, then of the name, in any case: surnames first, by surname; then names, by name.
    let (total, rows) = name_search(&app, TILL, search("pet")).await;
    assert_eq!(total, 3);
    assert_eq!(names(rows), ["C3", "C1", "C2"]);
    let (_, rows) = name_search(&app, TILL, search("ANNA")).await;
    assert_eq!(names(rows), vec!["C1", "C5"]);
    let (_, rows) = name_search(&app, TILL, search("petrov  b")).await;
    assert_eq!(names(rows), vec!["C3"]);
    let (_, rows) = name_search(&app, TILL, search("сид")).await;
    assert_eq!(rows, vec![("C4".to_owned(), "Пётр Сидоров".to_owned())]);
    assert_eq!(name_search(&app, TILL, search("zz")).await, (0, vec![]));

    // Page by page: the same order, the total on every page.
    let page =
        |offset: i64| json!({"searchName": "p", "pageInfo": {"@type": "pageInfo", "rowOffset": offset, "rowCount": 2}});
    let (total, first) = name_search(&app, TILL, page(0)).await;
    let (_, second) = name_search(&app, TILL, page(2)).await;
    assert_eq!(total, 3);
    assert_eq!((names(first), names(second)), (vec!["C3".to_owned(), "C1".into()], vec!["C2".to_owned()]));
    assert_eq!(name_search(&app, TILL, page(10)).await, (3, vec![]), "a page past the end still counts them all");

    // Another merchant's till finds none of them.
    let other = app
        .send_as(
            "other-administrator",
            "secret-administrator",
            Method::POST,
            "/WebRestApi/rest/customers/nameSearch",
            Some(search("p")),
            None,
        )
        .await;
    assert_eq!(other.body["pagedArrayList"]["totalRows"], 0);
}

#[tokio::test]
async fn a_bad_name_search_is_an_error_message() {
    let app = spawn_app().await;
    for body in [
        json!({"searchName": " "}),
        json!({"searchName": "a", "pageInfo": {"rowCount": 0}}),
        json!({"searchName": "a", "pageInfo": {"rowOffset": -1}}),
        json!({"searchName": "a", "colour": "red"}),
        json!({"@type": "accountBalanceUpdate", "searchName": "a"}),
        json!({}),
    ] {
        let reply =
            app.send(TILL, Method::POST, "/WebRestApi/rest/customers/nameSearch", Some(body.clone()), None).await;
        assert_eq!(
            (reply.status, &reply.body["errorCode"]),
            (StatusCode::UNPROCESSABLE_ENTITY, &json!("InvalidRequest")),
            "{body}"
        );
    }
}

#[tokio::test]
async fn name_keys_missing_after_the_migration_are_filled_at_the_next_start() {
    let app = spawn_app().await;
    app.register_contact(json!({"code": "C1", "name": "Anna Petrova", "mobile_number": "+79990000101"})).await;
    // As rows written before the migration that added the keys.
    sqlx::query("UPDATE contact_view SET name_key = NULL, surname_key = NULL")
        .execute(&app.app.db.write)
        .await
        .unwrap();
    let restarted = tally::store::Db::connect(&app.database_url).await.unwrap();
    let keys: (String, String) =
        sqlx::query_as("SELECT name_key, surname_key FROM contact_view").fetch_one(&restarted.read).await.unwrap();
    assert_eq!(keys, ("anna petrova".to_owned(), "petrova anna".to_owned()));
    assert_eq!(name_search(&app, TILL, json!({"searchName": "petrova"})).await.0, 1);
}

#[tokio::test]
async fn a_customers_own_session_may_not_search_other_customers() {
    let app = spawn_app().await;
    app.register_contact(json!({"code": "C1", "name": "Anna Petrova", "mobile_number": "+79990000101"})).await;
    let body = json!({"searchName": "anna"});
    let reply = app.send("client", Method::POST, "/WebRestApi/rest/customers/nameSearch", Some(body), None).await;
    assert_eq!((reply.status, &reply.body["errorCode"]), (StatusCode::FORBIDDEN, &json!("Forbidden")));
}

/// A postcode search as the till sends it; the page's `totalRows` and its rows' customer numbers and postcodes.
async fn postcode_search(app: &TestApp, body: Value) -> (i64, Vec<(String, String)>) {
    let reply = app.send(TILL, Method::POST, "/WebRestApi/rest/customers/postcodeSearch", Some(body), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["@type"], "customerPostcodeSearchResponse");
    let list = &reply.body["pagedArrayList"];
    let rows = list["contents"].as_array().unwrap().iter().map(|row| {
        let (values, properties) = (&row["data"]["values"], &row["data"]["properties"]);
        assert_eq!(properties[8], "postCode");
        (values[0].as_str().unwrap().to_owned(), values[8].as_str().unwrap().to_owned())
    });
    (list["totalRows"].as_i64().unwrap(), rows.collect())
}

#[tokio::test]
async fn postcode_search_finds_customers_by_the_start_of_their_postcode_in_pages() {
    let app = spawn_app().await;
    for (code, name, mobile, postcode) in [
        ("C1", "Anna Petrova", "+79990000101", "SW1A 2AA"),
        ("C2", "Petr Ivanov", "+79990000102", "sw1a 1aa"),
        ("C3", "Boris Adams", "+79990000103", "SW1A 2AA"),
        ("C4", "Olga Smirnova", "+79990000104", "E14 5AB"),
    ] {
        let address = json!({"street1": format!("{code} Street"), "town": "London", "postcode": postcode});
        app.register_contact(json!({"code": code, "name": name, "mobile_number": mobile, "address": address})).await;
    }
    app.register_contact(json!({"code": "C5", "name": "No Address", "mobile_number": "+79990000105"})).await;
    let search = |postcode: &str| json!({"@type": "customerPostcodeSearchRequest", "postcode": postcode});
    let pair = |code: &str, postcode: &str| (code.to_owned(), postcode.to_owned());

    // In any case, with or without the space: by postcode, then by surname.
    let (total, rows) = postcode_search(&app, search("sw1a")).await;
    assert_eq!(total, 3);
    assert_eq!(rows, [pair("C2", "sw1a 1aa"), pair("C3", "SW1A 2AA"), pair("C1", "SW1A 2AA")]);
    assert_eq!(postcode_search(&app, search("SW1A2")).await.0, 2);
    assert_eq!(postcode_search(&app, search("e14 5ab")).await.1, [pair("C4", "E14 5AB")]);
    assert_eq!(postcode_search(&app, search("N1")).await, (0, vec![]));
    let page = json!({"postcode": "SW1A", "pageInfo": {"rowOffset": 1, "rowCount": 1}});
    assert_eq!(postcode_search(&app, page).await, (3, vec![pair("C3", "SW1A 2AA")]));

    // The enquiry shows the address; a new one replaces it, and the search follows.
    let (_, found) = get(&app, "/accountbalances?accountId=C4").await;
    assert_eq!(found["customer"]["addresses"][0]["postCode"], "E14 5AB", "{found}");
    let contact_id = app.get("administrator", "/v1/contacts?code=C4").await.body["contact_id"].clone();
    let moved = json!({"address": {"street1": "1 High Street", "postcode": "SW1A 3BB"}});
    let reply = app
        .send(
            "administrator",
            Method::PATCH,
            &format!("/v1/contacts/{}", contact_id.as_str().unwrap()),
            Some(moved),
            Some("move-c4"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(postcode_search(&app, search("SW1A")).await.0, 4);
    assert_eq!(postcode_search(&app, search("E14")).await.0, 0);
    let (_, found) = get(&app, "/accountbalances?accountId=C4").await;
    assert_eq!(found["customer"]["addresses"][0]["town"], Value::Null, "the whole address was replaced: {found}");

    for body in [
        json!({"postcode": " - "}),
        json!({"postcode": "SW1A 2AA SW1A 2AA"}),
        json!({"postcode": "SW1A", "pageInfo": {"rowCount": 101}}),
        json!({"@type": "customerNameSearchRequest", "postcode": "SW1A"}),
        json!({"searchName": "a"}),
    ] {
        let reply =
            app.send(TILL, Method::POST, "/WebRestApi/rest/customers/postcodeSearch", Some(body.clone()), None).await;
        assert_eq!(
            (reply.status, &reply.body["errorCode"]),
            (StatusCode::UNPROCESSABLE_ENTITY, &json!("InvalidRequest")),
            "{body}"
        );
    }
    let customer =
        app.send("client", Method::POST, "/WebRestApi/rest/customers/postcodeSearch", Some(search("SW1A")), None).await;
    assert_eq!(customer.status, StatusCode::FORBIDDEN);
}
