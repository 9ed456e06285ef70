//! Footprints as a client sees it: tokens from `/api/token`, form bodies, answers as JSON.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tally::store::staff::{self, SignIn};
use tally_events::Role;

use super::{credentials, Reply, TestApp, TENANT};

/// A lead as a form: the seed's fields, with a location, an offer category, an offer and a consultant.
pub const LEAD: &str = "userFirstName=Ana&userLastName=Pop&userEmail=ana@example.com&userPhone=0700 000 001\
    &locationId=L1&offerCategoryId=OC1&offerId=O1&consultantId=C1&channelId=CH1&tags[]=vip\
    &marketingChannels[0][channel]=sms&marketingChannels[0][type]=owner&marketingChannels[0][agreed]=true\
    &customDetails[offerDetails]=Lorem&agreeTandc=true&userFamilyDetalis=married&nps=7";

/// The pipeline's stages without their ages (which grow by the second): status, leads, actions due.
pub fn stage_counts(pipeline: &Value) -> Vec<(Value, Value, Value)> {
    let stages = pipeline["stages"].as_array().unwrap().iter();
    stages.map(|s| (s["status"].clone(), s["leads"].clone(), s["actions_due"].clone())).collect()
}

/// The `acme` staff member's username, password and PIN (see [`with_staff`]).
pub const HOSTESS: (&str, &str, &str) = ("hostess", "hostess-password", "4242");

/// A running Tally with a staff member of `acme` who signs in by password or PIN, and the catalogue [`LEAD`] refers to.
pub async fn with_staff() -> TestApp {
    let app = super::spawn_app().await;
    app.with_catalogue().await;
    let (username, password, pin) = HOSTESS;
    let sign_in = SignIn { username: Some(username), password: Some(password), pin: Some(pin) };
    staff::create(&app.app.db.write, TENANT, "Ana Hostess", Role::Marketer, sign_in).await.expect("staff");
    app
}

impl TestApp {
    /// The catalogue items the tests' leads refer to: locations L1 and K1, offer category OC1, offer O1, SKU S1,
    /// channel CH1 and business user C1 (declared through `/v1/catalogue`).
    pub async fn with_catalogue(&self) {
        let items = [
            (
                "L1",
                json!({"kind": "location", "name": "Mega Mall", "country": "Romania", "county": "Cluj",
                "coords": [23.6, "46.77"]}),
            ),
            ("K1", json!({"kind": "location", "name": "Kiosk", "country": "Romania", "county": "Alba"})),
            ("OC1", json!({"kind": "offer_category", "name": "Catalog 1"})),
            ("O1", json!({"kind": "offer", "name": "Offer 1", "price": "250", "offer_category_id": "OC1"})),
            ("S1", json!({"kind": "sku", "name": "SKU 1", "price": 55.34, "quantity": 1, "offer_id": "O1"})),
            ("CH1", json!({"kind": "channel", "name": "Channel 1", "media_type": "Earned Media"})),
            (
                "C1",
                json!({"kind": "business_user", "first_name": "Ion", "last_name": "Pop", "email": "ion@acme.test",
                "group_role": "sales", "role": "consultant", "location_ids": ["L1"], "offer_category_ids": ["OC1"]}),
            ),
        ];
        for (id, item) in items {
            let key = format!("catalogue-{id}");
            let reply =
                self.send("administrator", Method::PUT, &format!("/v1/catalogue/{id}"), Some(item), Some(&key)).await;
            assert_eq!(reply.status, StatusCode::OK, "{id}: {:?}", reply.body);
        }
    }

    /// `POST /api/token` as the `acme` client with `role`, with a form body.
    pub async fn token_request(&self, role: &str, form: &str) -> Reply {
        let (id, secret) = credentials(role);
        self.token_request_as(&id, &secret, form).await
    }

    pub async fn token_request_as(&self, id: &str, secret: &str, form: &str) -> Reply {
        let request = self
            .http
            .post(format!("{}/api/token", self.base))
            .basic_auth(id, Some(secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.to_owned());
        reply(request).await
    }

    /// An access token of the `acme` client with `role`, signed in as the staff member.
    pub async fn staff_token(&self, role: &str) -> String {
        let (username, password, _) = HOSTESS;
        let reply =
            self.token_request(role, &format!("grant_type=password&username={username}&password={password}")).await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        reply.body["access_token"].as_str().expect("a token").to_owned()
    }

    /// An access token of the `acme` client with `role`, for the application alone.
    pub async fn app_token(&self, role: &str) -> String {
        let reply = self.token_request(role, "grant_type=client_credentials").await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        reply.body["access_token"].as_str().expect("a token").to_owned()
    }

    /// A Footprints call with the token as `?access_token=`, and a form body when given.
    pub async fn footprints(&self, token: &str, method: Method, path: &str, form: Option<&str>) -> Reply {
        let separator = if path.contains('?') { '&' } else { '?' };
        let url = format!("{}{path}{separator}access_token={token}", self.base);
        let mut request = self.http.request(method, url);
        if let Some(form) = form {
            request = request.header("content-type", "application/x-www-form-urlencoded").body(form.to_owned());
        }
        reply(request).await
    }

    /// Adds a lead from a form and returns its id.
    pub async fn add_lead(&self, token: &str, form: &str) -> String {
        let reply = self.footprints(token, Method::POST, "/api/lead", Some(form)).await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        reply.body["_id"].as_str().expect("the lead's id").to_owned()
    }
}

async fn reply(request: reqwest::RequestBuilder) -> Reply {
    let response = request.send().await.expect("request sent");
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    Reply { status, body: serde_json::from_str(&text).unwrap_or(Value::Null), headers }
}
