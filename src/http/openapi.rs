//! The OpenAPI document served at `/openapi.json`, generated from the routers that serve the requests: each
//! operation, its parameters, bodies and answers come from the handler's `#[utoipa::path]` and the types it reads
//! and writes. What every operation of a dialect shares — Basic authentication, the ingress's faults in the
//! dialect's envelope, the `Idempotency-Key` header — is added here, once per dialect, as the ingress applies it.

use serde_json::{json, Map, Value};
use utoipa::openapi::{
    schema::{OneOfBuilder, Schema},
    ObjectBuilder, OpenApi, RefOr, Type,
};

/// The schema of a decimal amount, written as a string or as a JSON number.
pub fn decimal(description: &str) -> RefOr<Schema> {
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::String).pattern(Some(r"^-?[0-9]+(\.[0-9]+)?$")))
        .item(ObjectBuilder::new().schema_type(Type::Number))
        .description(Some(description))
        .into()
}

/// How a dialect's ingress treats its operations.
struct Dialect {
    tag: &'static str,
    /// The schema of the dialect's error envelope; none for XML text (SOAP faults).
    error: Option<&'static str>,
    /// The content types the dialect answers in.
    content_types: &'static [&'static str],
    /// Whether the dialect's POSTs are writes that take an `Idempotency-Key`, and whether it is required.
    key: Option<bool>,
    /// Headers every operation of the dialect reads besides the credentials: name and description.
    headers: &'static [(&'static str, &'static str)],
    /// The security schemes the dialect takes (any one of them).
    security: &'static [&'static str],
}

const DIALECTS: [Dialect; 8] = [
    Dialect {
        tag: "v1",
        error: Some("ErrorBody"),
        content_types: &["application/json"],
        key: Some(true),
        headers: &[],
        security: &["basic"],
    },
    Dialect {
        tag: "cashdesk",
        error: Some("cashdesk.Envelope"),
        content_types: &["application/json"],
        key: Some(false),
        headers: &[],
        security: &["basic"],
    },
    Dialect {
        tag: "enactor-soap",
        error: None,
        content_types: &["text/xml", "application/soap+xml"],
        key: None,
        headers: &[("subject", "A customer number: the call sees that customer's accounts only")],
        security: &["basic"],
    },
    Dialect {
        tag: "enactor",
        error: Some("ErrorMessage"),
        content_types: &["application/json"],
        key: None,
        headers: &[
            ("subject", "A customer number: the call sees that customer's accounts only"),
            ("enactor-device-id", "The till, e.g. pos1@0001.enactor (for information)"),
            ("enactor-location-id", "The till's location, e.g. 0001 (for information)"),
            ("enactor-user-id", "The operator (for information, not for authorisation)"),
        ],
        security: &["basic"],
    },
    Dialect {
        tag: "scantrack",
        error: Some("ScanTrackResponse"),
        content_types: &["application/xml", "application/json"],
        key: Some(false),
        headers: &[],
        security: &["basic"],
    },
    Dialect {
        tag: "vending",
        error: Some("vending.Answer"),
        content_types: &["application/json"],
        key: None,
        headers: &[],
        security: &["basic", "apiKey"],
    },
    Dialect {
        tag: "footprints",
        error: Some("footprints.Error"),
        content_types: &["application/json"],
        key: Some(false),
        headers: &[],
        security: &["bearer", "accessToken"],
    },
    Dialect {
        tag: "footprints-token",
        error: Some("footprints.Error"),
        content_types: &["application/json"],
        key: None,
        headers: &[],
        security: &["basic"],
    },
];

/// The document of every surface: `parts` as each router generated it, with what the ingress adds.
pub fn document(parts: OpenApi) -> Value {
    let mut document = serde_json::to_value(parts).expect("the document serializes");
    document["info"] = json!({
        "title": "Tally",
        "version": env!("CARGO_PKG_VERSION"),
        "description": "Event-sourced ledger for loyalty cards, bonuses and coupons: the native /v1 API and the \
            CashDesk, ScanTrack and Enactor dialects, the Vending on Track callbacks under /vending, and Footprints \
            under /api (leads, with bearer tokens from /api/token). Every other operation but the operational ones \
            takes HTTP Basic credentials of an API client.",
    });
    document["components"]["securitySchemes"] = json!({
        "basic": {"type": "http", "scheme": "basic"},
        "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key",
            "description": "An API client's id and secret joined by a colon (the Vending on Track callbacks)"},
        "bearer": {"type": "http", "scheme": "bearer",
            "description": "An access token from POST /api/token (Footprints)"},
        "accessToken": {"type": "apiKey", "in": "query", "name": "access_token",
            "description": "An access token from POST /api/token, as Footprints' clients send it"},
    });
    document["paths"]["/openapi.json"] = json!({"get": {
        "tags": ["ops"],
        "summary": "This document",
        "operationId": "openapi",
        "responses": {"200": {"description": "The OpenAPI document", "content": {"application/json": {}}}},
    }});
    // What a type cannot say of itself: a balance update names its account by accountId or by cardNumber (a text).
    let named_by = |field: &str| json!({"required": [field], "properties": {field: {"type": "string"}}});
    let update = document["components"]["schemas"].get_mut("enactor.AccountBalanceUpdate");
    update.expect("the balance update's schema")["anyOf"] = json!([named_by("accountId"), named_by("cardNumber")]);
    let paths = document["paths"].as_object_mut().expect("paths is an object");
    for item in paths.values_mut() {
        let methods = item.as_object().map(Map::len).unwrap_or_default();
        for (method, operation) in item.as_object_mut().expect("a path item is an object") {
            // One handler serving several methods gives each the handler's name: operation ids must be unique.
            if methods > 1 {
                if let Some(id) = operation["operationId"].as_str() {
                    operation["operationId"] = json!(format!("{id}_{method}"));
                }
            }
            let tag = operation["tags"][0].as_str().unwrap_or_default().to_owned();
            if let Some(dialect) = DIALECTS.iter().find(|d| d.tag == tag) {
                dialect.apply(method, operation);
            }
        }
    }
    document
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

impl Dialect {
    fn apply(&self, method: &str, operation: &mut Value) {
        operation["security"] = self.security.iter().map(|scheme| json!({ *scheme: [] })).collect();
        let has_parameters = operation["parameters"].as_array().is_some_and(|p| !p.is_empty());
        let keyed = self.key.filter(|_| method != "get");
        let parameters = operation.as_object_mut().expect("an operation is an object").entry("parameters");
        let parameters = parameters.or_insert_with(|| json!([])).as_array_mut().expect("parameters is an array");
        for (name, description) in self.headers {
            parameters.push(json!({"name": name, "in": "header", "required": false, "description": description,
                "schema": {"type": "string"}}));
        }
        if let Some(required) = keyed {
            parameters.push(json!({
                "name": "Idempotency-Key",
                "in": "header",
                "required": required,
                "description": "Makes the write safe to retry: the same key with the same request is answered as \
                    the first time, without a second effect; with another request it is refused.",
                "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]([\\x20-\\x7e]*[\\x21-\\x7e])?$"},
            }));
        }
        let mut faults = vec![
            ("401", "No credentials, an unknown client or a wrong secret".to_owned()),
            ("503", "The store cannot answer now; retry (with the same Idempotency-Key)".to_owned()),
        ];
        let mut unreadable = Vec::new();
        if has_parameters {
            unreadable.push("a path or query parameter cannot be read");
        }
        if method != "get" {
            unreadable.push("the body cannot be read");
            faults.push(("413", "The body is larger than 256 KiB".to_owned()));
        }
        if keyed == Some(true) {
            unreadable.push("the Idempotency-Key is missing");
        }
        if !unreadable.is_empty() {
            faults.push(("400", capitalized(&unreadable.join(", or "))));
        }
        if keyed.is_some() {
            faults.push(("422", "The Idempotency-Key is malformed, or was used with a different request".to_owned()));
        }
        let content: Map<String, Value> = self
            .content_types
            .iter()
            .map(|t| {
                let schema = match self.error {
                    Some(name) => json!({"$ref": format!("#/components/schemas/{name}")}),
                    None => json!({"type": "string"}),
                };
                (t.to_string(), json!({ "schema": schema }))
            })
            .collect();
        let responses = operation["responses"].as_object_mut().expect("responses is an object");
        for (status, description) in faults {
            responses.entry(status).or_insert_with(|| json!({"description": description, "content": content.clone()}));
        }
    }
}
