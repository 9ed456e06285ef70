//! The catalogue: kept through `/v1/catalogue`, listed by Footprints with its paging, and checked when a lead refers
//! to it.

mod common;

use common::{footprints::with_staff, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn declare(app: &TestApp, id: &str, item: Value) -> common::Reply {
    let key = uuid::Uuid::new_v4().to_string();
    app.send("administrator", Method::PUT, &format!("/v1/catalogue/{id}"), Some(item), Some(&key)).await
}

#[tokio::test]
async fn footprints_lists_each_kind_with_the_seeds_fields_and_paging() {
    let app = with_staff().await;
    let token = app.app_token("marketer").await;
    let list = |path: &str| {
        let (app, token, path) = (&app, token.clone(), path.to_owned());
        async move { app.footprints(&token, Method::GET, &path, None).await }
    };

    let offers = list("/api/offer").await;
    assert_eq!(offers.status, StatusCode::OK);
    assert_eq!(
        offers.body,
        json!([{"_id": "O1", "name": "Offer 1", "price": 250, "externalId": null,
            "offerCategory": {"_id": "OC1", "name": "Catalog 1"}}])
    );
    assert_eq!(offers.headers["x-records"], "1");
    assert_eq!(offers.headers["access-control-expose-headers"], "X-Total-Pages, X-Records, X-Current-Page");
    let skus = list("/api/sku").await.body;
    assert_eq!((skus[0]["price"].to_string().as_str(), &skus[0]["offer"]["name"]), ("55.34", &json!("Offer 1")));
    assert_eq!(list("/api/offerCategory").await.body, json!([{"_id": "OC1", "name": "Catalog 1"}]));
    let users = list("/api/business-users").await.body;
    assert_eq!(users[0]["locations"], json!([{"_id": "L1", "name": "Mega Mall"}]));
    assert_eq!((users[0]["firstName"].as_str(), users[0]["role"].as_str()), (Some("Ion"), Some("consultant")));
    assert_eq!(list("/api/channels").await.body[0]["mediaType"], "Earned Media");

    // Locations by country and county, in any case.
    let cluj = list("/api/location?country_name=ROMANIA&county_name=cluj").await.body;
    assert_eq!(cluj.as_array().unwrap().iter().map(|l| l["_id"].clone()).collect::<Vec<_>>(), vec![json!("L1")]);
    assert_eq!((cluj[0]["coords"].to_string(), cluj[0]["__v"].as_i64()), ("[23.6,46.77]".to_owned(), Some(0)));
    assert_eq!(list("/api/location?country_name=Romania").await.body.as_array().unwrap().len(), 2);
    assert_eq!(list("/api/location?country_name=France").await.body, json!([]));

    let campaign = json!({"kind": "offline_campaign", "name": "Fair", "location_id": "L1", "budget": "1000.50",
        "start_date": "2026-06-25T11:00:18Z", "end_date": "2026-11-30T11:00:18Z"});
    assert_eq!(declare(&app, "F1", campaign).await.status, StatusCode::OK);
    let fair = &list("/api/offlineCampaign").await.body[0];
    assert_eq!((fair["type"].as_str(), fair["locationId"].as_str()), (Some("offline"), Some("L1")));
    assert_eq!(fair["startDate"], "2026-06-25T11:00:18.000Z");

    // 55 channels make two pages of 50.
    for n in 2..=55 {
        let channel = json!({"kind": "channel", "name": format!("Channel {n}"), "media_type": "Owned Media"});
        assert_eq!(declare(&app, &format!("CH{n:02}"), channel).await.status, StatusCode::OK);
    }
    let second = list("/api/channels?page=2").await;
    assert_eq!(second.body.as_array().unwrap().len(), 5);
    let headers = &second.headers;
    assert_eq!(
        (&headers["x-total-pages"], &headers["x-records"], &headers["x-current-page"]),
        (&"2".parse().unwrap(), &"55".parse().unwrap(), &"2".parse().unwrap())
    );
    assert_eq!(list("/api/channels?page=0").await.status, StatusCode::BAD_REQUEST);

    // The native API's list, and a replay of the ledger.
    let v1 = app.get("marketer", "/v1/catalogue?kind=channel&page=1").await.body;
    assert_eq!((v1["total"].as_i64(), v1["items"].as_array().unwrap().len()), (Some(55), 55));
    let (folded, _, _) = common::fold_ledger(&app.app.db).await;
    let live = tally_projections::rebuild::Views::load_live(&mut app.app.db.read.acquire().await.unwrap()).await;
    assert_eq!(folded, live.unwrap());
}

#[tokio::test]
async fn a_lead_naming_an_item_the_catalogue_does_not_have_is_refused_and_nothing_is_written() {
    let app = with_staff().await;
    let token = app.staff_token("marketer").await;
    let events = app.event_count().await;
    for field in ["locationId", "offerCategoryId", "offerId", "consultantId", "channelId", "offlineCampaignId", "skuId"]
    {
        let form = format!("userEmail=ana@example.com&{field}=NOPE");
        let reply = app.footprints(&token, Method::POST, "/api/lead", Some(&form)).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {:?}", reply.body);
        assert_eq!(reply.body["error"], "unknown_catalogue_id");
        assert!(reply.body["message"].as_str().unwrap().contains(field));
    }
    // An id of another kind is unknown too: L1 is a location, not an offer.
    let reply = app.footprints(&token, Method::POST, "/api/lead", Some("userEmail=ana@example.com&offerId=L1")).await;
    assert_eq!(reply.body["error"], "unknown_catalogue_id");
    assert_eq!(app.event_count().await, events, "nothing written");

    // Known ids are taken; once an item is retired, new leads and updates may not name it.
    let lead = app.add_lead(&token, "userEmail=ana@example.com&locationId=L1&channelId=CH1").await;
    let key = "retire-ch1";
    let retired = app.send("administrator", Method::DELETE, "/v1/catalogue/CH1", None, Some(key)).await;
    assert_eq!(retired.status, StatusCode::OK, "{:?}", retired.body);
    let gone = app.get("marketer", "/v1/catalogue/CH1").await;
    assert_eq!((gone.status, &gone.body["error"]["code"]), (StatusCode::NOT_FOUND, &json!("CatalogueItemRetired")));
    let update = app.footprints(&token, Method::PUT, &format!("/api/lead/{lead}"), Some("channelId=CH1")).await;
    assert_eq!(update.status, StatusCode::UNPROCESSABLE_ENTITY);
    let listed = app.footprints(&token, Method::GET, "/api/channels", None).await.body;
    assert_eq!(listed, json!([]));
    let kept = app.footprints(&token, Method::PUT, &format!("/api/lead/{lead}"), Some("tags[]=kept")).await.body;
    assert_eq!(kept["channelId"], "CH1", "the lead keeps it");
}

#[tokio::test]
async fn the_native_api_refuses_what_the_catalogue_cannot_keep() {
    let app = with_staff().await;
    let cases = [
        (
            "X1",
            json!({"kind": "offer", "name": "Orphan", "price": "1", "offer_category_id": "NOPE"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "X2",
            json!({"kind": "offer", "name": "Cheap", "price": "-1", "offer_category_id": "OC1"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        ("X3", json!({"kind": "channel", "name": " ", "media_type": "Owned Media"}), StatusCode::UNPROCESSABLE_ENTITY),
        ("X4", json!({"kind": "planet", "name": "Mars"}), StatusCode::UNPROCESSABLE_ENTITY),
        (
            "X5",
            json!({"kind": "business_user", "first_name": "A", "last_name": "B", "email": "nope", "group_role": "sales", "role": "consultant"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        ("X6", json!({"kind": "location", "name": "Far", "coords": [180.5, 0.0]}), StatusCode::UNPROCESSABLE_ENTITY),
        (
            "X7",
            json!({"kind": "channel", "name": "A", "media_type": "B", "extra": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        ("L1", json!({"kind": "channel", "name": "Mega Mall", "media_type": "Owned Media"}), StatusCode::CONFLICT),
    ];
    let events = app.event_count().await;
    for (id, item, status) in cases {
        let reply = declare(&app, id, item.clone()).await;
        assert_eq!(reply.status, status, "{id} {item}: {:?}", reply.body);
    }
    let far = declare(&app, "X6", json!({"kind": "location", "name": "Far", "coords": [10.5, -90.25]})).await;
    assert!(far.body["error"]["message"].as_str().unwrap().contains("latitude"), "{:?}", far.body);
    assert_eq!(app.event_count().await, events, "nothing written");
    let missing = app.send("administrator", Method::DELETE, "/v1/catalogue/NOPE", None, Some("gone")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    // The same declaration again records nothing; a change records a version.
    let same = declare(&app, "OC1", json!({"kind": "offer_category", "name": "Catalog 1"})).await;
    assert_eq!(same.body["events"], json!([]));
    assert_eq!(
        declare(&app, "OC1", json!({"kind": "offer_category", "name": "Catalog One"})).await.status,
        StatusCode::OK
    );
    let got = app.get("marketer", "/v1/catalogue/OC1").await.body;
    assert_eq!((got["version"].as_u64(), got["item"]["name"].as_str()), (Some(2), Some("Catalog One")));
    assert_eq!(app.get("marketer", "/v1/catalogue?kind=planet").await.status, StatusCode::UNPROCESSABLE_ENTITY);
}
