//! Contacts' personal data is sealed in the ledger, a contact and a Footprints customer are one person by the merge
//! rule, and erasing that person shreds both while balances stay; contact events recorded in the clear by an
//! earlier version are sealed at the next start.

mod common;

use common::{footprints::with_staff, TestApp, TENANT};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tally::store::{timestamp, Db};
use tally_projections::rebuild::Views;

/// The stored payloads of a contact's events, with their schema versions.
async fn stored(app: &TestApp, contact_id: &str) -> Vec<(String, i32)> {
    sqlx::query_as("SELECT payload, schema_version FROM events WHERE stream_id = $1 ORDER BY stream_version")
        .bind(format!("contact/{TENANT}/{contact_id}"))
        .fetch_all(&app.app.db.read)
        .await
        .unwrap()
}

/// The live views equal a replay of the ledger with the keys that are left.
async fn assert_rebuild_equals_live(app: &TestApp) {
    let live = Views::load_live(&mut app.app.db.read.acquire().await.unwrap()).await.unwrap();
    let (rebuilt, _, _) = common::fold_ledger(&app.app.db).await;
    let differ: Vec<_> = rebuilt.compare(&live).into_iter().filter(|(_, _, equal)| !equal).collect();
    assert!(differ.is_empty(), "{differ:?}");
}

#[tokio::test]
async fn a_contact_and_a_footprints_customer_are_one_person_sealed_in_the_ledger_and_erased_together() {
    let app = with_staff().await;
    let contact = app
        .register_contact(json!({
            "name": "Maria Elena Ionescu", "mobile_number": "+40700000123", "email": "maria@example.com",
            "address": {"street1": "1 Strada Lunga", "town": "Cluj", "postcode": "400001", "country": "RO"}
        }))
        .await;
    let patch = json!({"external_id": "EXT-77"});
    let updated =
        app.send("administrator", Method::PATCH, &format!("/v1/contacts/{contact}"), Some(patch), Some("p1")).await;
    assert_eq!(updated.status, StatusCode::OK, "{:?}", updated.body);
    let events = stored(&app, &contact).await;
    assert_eq!(events.len(), 2);
    for (payload, version) in &events {
        // '@' is not a base64 character: the address cannot hide in the ciphertext by chance.
        assert!(!payload.contains("@example.com") && !payload.contains("Ionescu") && !payload.contains("EXT-77"));
        assert!(payload.contains("\"sealed\""), "{payload}");
        assert_eq!(*version, 3);
    }
    let same = json!({"name": "Maria Elena Ionescu"});
    let unchanged =
        app.send("administrator", Method::PATCH, &format!("/v1/contacts/{contact}"), Some(same), Some("p2")).await;
    assert_eq!(unchanged.body["events"], json!([]), "nothing changes, nothing is recorded: {:?}", unchanged.body);
    let shown = app.get("cc_operator", &format!("/v1/contacts/{contact}")).await;
    assert_eq!(
        (shown.body["name"].as_str(), shown.body["external_id"].as_str()),
        (Some("Maria Elena Ionescu"), Some("EXT-77"))
    );
    let accrued = app
        .post(
            "administrator",
            &format!("/v1/accounts/{contact}/accruals"),
            json!({"amount": "5.00", "bonus_type": "cash"}),
        )
        .await;
    assert_eq!(accrued.status, StatusCode::CREATED, "{:?}", accrued.body);

    // Footprints finds the contact by e-mail (any case) and phone before any lead of theirs...
    let token = app.staff_token("marketer").await;
    let person = "userEmail=MARIA@example.com&userPhone=%2B40%20700%20000%20123";
    let found = app.footprints(&token, Method::GET, &format!("/api/client?{person}"), None).await;
    assert_eq!(found.status, StatusCode::OK, "{:?}", found.body);
    let contact_simple = contact.replace('-', "");
    assert_eq!(found.body["_id"], contact_simple.as_str());
    assert_eq!(
        (found.body["userFirstName"].as_str(), found.body["userLastName"].as_str()),
        (Some("Maria Elena"), Some("Ionescu"))
    );
    assert_eq!((found.body["userCity"].as_str(), found.body["createdAt"].clone()), (Some("Cluj"), Value::Null));
    // ...and a lead of theirs belongs to the contact: one person, one id.
    let lead =
        "userFirstName=Maria&userEmail=maria@example.com&userPhone=40700000123&locationId=L1&offerCategoryId=OC1\
        &offerId=O1&consultantId=C1&userCity=Turda";
    let lead_id = app.add_lead(&token, lead).await;
    let found = app.footprints(&token, Method::GET, &format!("/api/client?{person}"), None).await;
    assert_eq!(found.body["_id"], contact_simple.as_str());
    assert_eq!(found.body["leads"][0]["_id"], lead_id.as_str());
    assert_eq!(
        (found.body["userFirstName"].as_str(), found.body["userCity"].as_str()),
        (Some("Maria"), Some("Turda")),
        "the lead's data lies over the contact's"
    );
    // A phone alone is not the person.
    let household =
        app.footprints(&token, Method::GET, "/api/client?userEmail=ion@example.com&userPhone=40700000123", None).await;
    assert_eq!(household.status, StatusCode::NOT_FOUND);

    let erased = app.footprints(&token, Method::DELETE, &format!("/api/client?{person}"), None).await;
    assert_eq!(erased.body, json!({"status": "success"}), "{:?}", erased.body);

    // The contact keeps its code and balance, and nothing of the person.
    let shown = app.get("cc_operator", &format!("/v1/contacts/{contact}")).await;
    assert_eq!(shown.status, StatusCode::OK);
    for field in ["name", "mobile_number", "email", "external_id", "address"] {
        assert!(shown.body.get(field).is_none_or(Value::is_null), "{field} stays: {:?}", shown.body);
    }
    let balance = app.get("cc_operator", &format!("/v1/accounts/{contact}/balance")).await;
    assert!(balance.body.to_string().contains("5.00"), "{:?}", balance.body);
    let by_mobile = app.get("cc_operator", "/v1/contacts?mobile_number=%2B40700000123").await;
    assert_eq!(by_mobile.status, StatusCode::NOT_FOUND);
    let gone = app.footprints(&token, Method::GET, &format!("/api/client?{person}"), None).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    let refused = app
        .send(
            "administrator",
            Method::PATCH,
            &format!("/v1/contacts/{contact}"),
            Some(json!({"name": "M"})),
            Some("p3"),
        )
        .await;
    assert_eq!(
        (refused.status, refused.body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("CustomerErased"))
    );
    let (key,): (Option<String>,) =
        sqlx::query_as("SELECT key FROM subject_keys WHERE tenant = $1 AND subject_id = $2")
            .bind(TENANT)
            .bind(&contact)
            .fetch_one(&app.app.db.read)
            .await
            .unwrap();
    assert_eq!(key, None, "the key is destroyed");
    assert_rebuild_equals_live(&app).await;
    app.app.db.rebuild_views().await.unwrap();
    let rebuilt = app.get("cc_operator", &format!("/v1/contacts/{contact}")).await;
    assert_eq!(rebuilt.body, shown.body, "a rebuild brings nothing back");
}

#[tokio::test]
async fn a_contact_without_an_e_mail_is_erased_through_the_native_api() {
    let app = common::spawn_app().await;
    let contact = app.register_contact(json!({"name": "Ion Popescu", "mobile_number": "+40700000999"})).await;
    let path = format!("/v1/contacts/{contact}");
    let erased = app.send("administrator", Method::DELETE, &path, None, Some("erase-1")).await;
    assert_eq!(erased.status, StatusCode::OK, "{:?}", erased.body);
    assert_eq!(erased.body["events"].as_array().map(Vec::len), Some(1), "{:?}", erased.body);
    let again = app.send("administrator", Method::DELETE, &path, None, Some("erase-2")).await;
    assert_eq!(again.body["events"], json!([]), "erasing again records nothing");
    let shown = app.get("cc_operator", &path).await;
    assert!(shown.body.get("name").is_none_or(Value::is_null), "{:?}", shown.body);
    let client = app.send("client", Method::DELETE, &path, None, Some("erase-3")).await;
    assert_eq!(client.status, StatusCode::FORBIDDEN);
    let unknown = app
        .send("administrator", Method::DELETE, &format!("/v1/contacts/{}", uuid::Uuid::now_v7()), None, Some("erase-4"))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn contact_events_recorded_in_the_clear_are_sealed_at_the_next_start() {
    let app = common::spawn_app().await;
    let contact = uuid::Uuid::now_v7();
    // What version 2 wrote: the details in the clear.
    let payload = json!({"contact_id": contact, "code": "OLD-1",
        "details": {"name": "Vera Old", "mobile_number": "+40700000555", "email": "vera@example.com"}});
    let now = timestamp(chrono::Utc::now());
    sqlx::query(
        "INSERT INTO events (event_id, stream_id, stream_version, event_type, schema_version, occurred_at, recorded_at, \
         tenant, actor_principal, actor_role, correlation_id, payload) \
         VALUES ($1, $2, 1, 'ContactRegistered', 2, $3, $3, $4, 'old', 'System', $5, $6)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(format!("contact/{TENANT}/{contact}"))
    .bind(&now)
    .bind(TENANT)
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(payload.to_string())
    .execute(&app.app.db.write)
    .await
    .unwrap();
    sqlx::query("DELETE FROM upgrades").execute(&app.app.db.write).await.unwrap();

    // The next start seals it in place, once; the ledger is append-only again afterwards.
    let restarted = Db::connect(&app.database_url).await.unwrap();
    let contact_text = contact.to_string();
    let events = stored(&app, &contact_text).await;
    assert_eq!(events.len(), 1);
    assert!(!events[0].0.contains("@example.com") && !events[0].0.contains("Vera"), "{}", events[0].0);
    assert_eq!(events[0].1, 3);
    let rewrite = sqlx::query("UPDATE events SET payload = '{}' WHERE stream_id = $1")
        .bind(format!("contact/{TENANT}/{contact}"))
        .execute(&restarted.write)
        .await;
    assert!(rewrite.is_err(), "the append-only trigger is back");

    // The views opened with its key show the person; an erasure shreds them.
    restarted.rebuild_views().await.unwrap();
    let shown = app.get("cc_operator", &format!("/v1/contacts/{contact}")).await;
    assert_eq!(shown.body["name"], "Vera Old", "{:?}", shown.body);
    let erased = app.send("administrator", Method::DELETE, &format!("/v1/contacts/{contact}"), None, Some("e")).await;
    assert_eq!(erased.status, StatusCode::OK, "{:?}", erased.body);
    restarted.rebuild_views().await.unwrap();
    let shown = app.get("cc_operator", &format!("/v1/contacts/{contact}")).await;
    assert!(shown.body.get("name").is_none_or(Value::is_null), "{:?}", shown.body);
}
