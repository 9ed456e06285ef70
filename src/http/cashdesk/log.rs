//! The seed's logging: integration errors always, full exchanges (personal data masked) when configured.

use serde_json::{Map, Value};

use crate::store::idempotency::StoredResponse;

/// The seed's two logging modes: integration errors always; full exchanges when configured.
pub(super) fn log_response(full: bool, method: &str, params: &Map<String, Value>, response: &StoredResponse) {
    if response.status >= 400 {
        let key = serde_json::from_str::<Value>(&response.body)
            .ok()
            .and_then(|body| body.get("Key").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_default();
        tracing::warn!(method, status = response.status, key, "CashDesk integration error");
    }
    if full {
        let response_body = serde_json::from_str::<Value>(&response.body).map(mask).unwrap_or(Value::Null);
        let request_body = mask(Value::Object(params.clone()));
        tracing::info!(method, request = %request_body, response = %response_body, "CashDesk exchange");
    }
}

/// Masks personal data for the log: all but the last four characters of names, numbers, phones and codes.
fn mask(value: Value) -> Value {
    const PERSONAL: [&str; 5] = ["name", "number", "mobilenumber", "contactmobilenumber", "code"];
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(key, value)| match value {
                    Value::String(text) if PERSONAL.contains(&key.to_ascii_lowercase().as_str()) => {
                        let keep = text.chars().count().saturating_sub(4);
                        let masked: String =
                            text.chars().enumerate().map(|(i, c)| if i < keep { '*' } else { c }).collect();
                        (key, Value::String(masked))
                    }
                    other => (key, mask(other)),
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(mask).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_keeps_only_the_last_four_characters_of_personal_fields() {
        let masked = mask(serde_json::json!({"Number": "7000000000001", "Name": "Anna", "StatusName": "Active",
            "Bonuses": [{"Code": "C-100123"}]}));
        assert_eq!(
            masked,
            serde_json::json!({"Number": "*********0001", "Name": "Anna", "StatusName": "Active",
                "Bonuses": [{"Code": "****0123"}]})
        );
    }
}
