//! Generation of the JSON Schemas under `events/schema/`: one file per event type and version, plus the envelope.

use std::collections::BTreeMap;

use crate::{Envelope, Event};

/// File name -> pretty JSON text of every schema the crate publishes.
pub fn generate() -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let envelope = schemars::schema_for!(Envelope);
    files.insert("Envelope.json".to_owned(), pretty(&envelope));
    for (name, schema) in Event::payload_schemas() {
        files.insert(format!("{name}.json"), pretty(&schema));
    }
    files
}

fn pretty(schema: &schemars::schema::RootSchema) -> String {
    let mut text = serde_json::to_string_pretty(schema).expect("schemas serialize");
    text.push('\n');
    text
}
