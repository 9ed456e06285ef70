//! The OpenAPI 3.0 document served at `/openapi.json`: every endpoint of every surface, with request schemas
//! generated from the same types the handlers decode.

use schemars::{gen::SchemaSettings, JsonSchema};
use serde_json::{json, Map, Value};

use super::v1::{
    Accrual, ChangedTerms, ContactFields, MobileUse, NewBusiness, NewClip, NewPromotion, Reason, Redemption,
    RegisterCard, RegisterCards, Reversal, Void,
};

struct Endpoint {
    method: &'static str,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    body: Option<Value>,
}

fn schema<T: JsonSchema>(definitions: &mut Map<String, Value>) -> Value {
    let generator = SchemaSettings::openapi3().into_generator();
    let root = generator.into_root_schema_for::<T>();
    for (name, schema) in root.definitions {
        definitions.insert(name, serde_json::to_value(schema).expect("schemas serialize"));
    }
    serde_json::to_value(root.schema).expect("schemas serialize")
}

fn endpoints(definitions: &mut Map<String, Value>) -> Vec<Endpoint> {
    let cashdesk = json!({"type": "object", "description": "CashDesk parameters (also accepted in the query string)",
        "additionalProperties": true});
    let e = |method, path, tag, summary, body| Endpoint { method, path, tag, summary, body };
    vec![
        e(
            "get",
            "/api/card/balance/by/{number}",
            "cashdesk",
            "Card balance by card number, or by contact code when no card has that number",
            None,
        ),
        e("get", "/api/card/balance/by/number/{number}", "cashdesk", "Card balance by card number", None),
        e("get", "/api/card/balance/by/code/{code}", "cashdesk", "Card balance by contact code", None),
        e("get", "/api/card/balance/by/phone/{phone}", "cashdesk", "Card balance by the contact's mobile number", None),
        e("get", "/api/card/issue", "cashdesk", "Issue a card: New -> Issued (Number)", None),
        e(
            "post",
            "/api/card/bindto",
            "cashdesk",
            "Bind a card to the contact with a mobile number (Number, MobileNumber)",
            Some(cashdesk.clone()),
        ),
        e(
            "get",
            "/api/card/active",
            "cashdesk",
            "Activate a bound card whose contact's data is sufficient (Number)",
            None,
        ),
        e(
            "post",
            "/api/card/block",
            "cashdesk",
            "Block a card (Number or ContactMobileNumber, BlockReasonCode 0-4)",
            Some(cashdesk.clone()),
        ),
        e(
            "post",
            "/api/card/unblock",
            "cashdesk",
            "Unblock a card (Number or ContactMobileNumber, UnBlockReasonCode 0-3)",
            Some(cashdesk),
        ),
        e("post", "/v1/cards", "v1", "Register a card (status New)", Some(schema::<RegisterCard>(definitions))),
        e(
            "post",
            "/v1/cards/batch",
            "v1",
            "Register up to 1000 cards, all or none",
            Some(schema::<RegisterCards>(definitions)),
        ),
        e("get", "/v1/cards/{number}", "v1", "A card", None),
        e("post", "/v1/contacts", "v1", "Register a contact", Some(schema::<ContactFields>(definitions))),
        e("get", "/v1/contacts", "v1", "Find a contact by mobile_number or code", None),
        e("get", "/v1/contacts/{contact_id}", "v1", "A contact", None),
        e(
            "patch",
            "/v1/contacts/{contact_id}",
            "v1",
            "Update a contact's details",
            Some(schema::<ContactFields>(definitions)),
        ),
        e(
            "post",
            "/v1/accounts/{contact_id}/accruals",
            "v1",
            "Accrue bonuses as a lot",
            Some(schema::<Accrual>(definitions)),
        ),
        e(
            "post",
            "/v1/accounts/{contact_id}/redemptions",
            "v1",
            "Redeem active bonuses, nearest expiry first",
            Some(schema::<Redemption>(definitions)),
        ),
        e(
            "post",
            "/v1/accounts/{contact_id}/freeze",
            "v1",
            "Freeze the account's bonuses",
            Some(schema::<Reason>(definitions)),
        ),
        e(
            "post",
            "/v1/accounts/{contact_id}/unfreeze",
            "v1",
            "Unfreeze the account's bonuses",
            Some(schema::<Reason>(definitions)),
        ),
        e(
            "post",
            "/v1/accounts/{contact_id}/expiry",
            "v1",
            "Burn the account's expired lots now",
            Some(schema::<Reason>(definitions)),
        ),
        e(
            "post",
            "/v1/accounts/{contact_id}/reversals",
            "v1",
            "Reverse an accrual or a redemption",
            Some(schema::<Reversal>(definitions)),
        ),
        e("get", "/v1/accounts/{contact_id}/balance", "v1", "Balance by bucket and bonus type", None),
        e(
            "get",
            "/v1/accounts/{contact_id}/statement",
            "v1",
            "Every movement with its cause, paged by after_version and limit",
            None,
        ),
        e(
            "post",
            "/scantrack",
            "scantrack",
            "Report a coupon use from the POS: <ScanTrackRequest> XML or the same shape in JSON",
            Some(
                json!({"type": "object", "description": "<ScanTrackRequest><barcode><src/><aid/><id/><iid/><key/></barcode></ScanTrackRequest>, or {\"barcode\": {\"src\": …}}"}),
            ),
        ),
        e(
            "post",
            "/v1/businesses",
            "v1",
            "Register a business (the src of its barcodes)",
            Some(schema::<NewBusiness>(definitions)),
        ),
        e(
            "post",
            "/v1/promotions",
            "v1",
            "Publish a promotion with a size cap, an end date and prices",
            Some(schema::<NewPromotion>(definitions)),
        ),
        e(
            "get",
            "/v1/promotions/{business_id}/{promotion_id}",
            "v1",
            "A promotion's live counters: cap, used, remaining, state",
            None,
        ),
        e(
            "patch",
            "/v1/promotions/{business_id}/{promotion_id}",
            "v1",
            "Change a promotion's cap, end date or prices",
            Some(schema::<ChangedTerms>(definitions)),
        ),
        e(
            "post",
            "/v1/promotions/{business_id}/{promotion_id}/clips",
            "v1",
            "Record a coupon saved to a wallet",
            Some(schema::<NewClip>(definitions)),
        ),
        e(
            "post",
            "/v1/promotions/{business_id}/{promotion_id}/uses",
            "v1",
            "Record a use reported by the network's mobile device",
            Some(schema::<MobileUse>(definitions)),
        ),
        e(
            "post",
            "/v1/promotions/{business_id}/{promotion_id}/voids",
            "v1",
            "Void a use: it leaves the cap and the tally",
            Some(schema::<Void>(definitions)),
        ),
        e("get", "/v1/tally/daily", "v1", "The merchant's daily tally (?date=YYYY-MM-DD, &format=csv for CSV)", None),
        e("get", "/healthz", "ops", "Liveness", None),
        e("get", "/readyz", "ops", "Readiness: the database answers", None),
        e("get", "/metrics", "ops", "Prometheus metrics", None),
        e("get", "/openapi.json", "ops", "This document", None),
    ]
}

fn parameters(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect()
}

pub fn document() -> Value {
    let mut definitions = Map::new();
    let mut paths = Map::new();
    for endpoint in endpoints(&mut definitions) {
        let mut operation = json!({
            "tags": [endpoint.tag],
            "summary": endpoint.summary,
            "parameters": parameters(endpoint.path),
            "responses": {"default": {"description": "The dialect's envelope; see the README"}},
        });
        if endpoint.tag != "ops" {
            operation["security"] = json!([{"basic": []}]);
        }
        if endpoint.tag == "v1" && endpoint.method != "get" {
            operation["parameters"].as_array_mut().expect("an array").push(
                json!({"name": "Idempotency-Key", "in": "header", "required": true, "schema": {"type": "string"}}),
            );
        }
        if let Some(body) = endpoint.body {
            operation["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": body}}});
        }
        let entry = paths.entry(endpoint.path).or_insert_with(|| json!({}));
        entry[endpoint.method] = operation;
    }
    json!({
        "openapi": "3.0.3",
        "info": {"title": "Tally", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Event-sourced ledger for loyalty cards and bonuses"},
        "paths": paths,
        "components": {
            "securitySchemes": {"basic": {"type": "http", "scheme": "basic"}},
            "schemas": definitions,
        },
    })
}
