//! The event contract: the checked-in JSON Schemas equal what the code generates, and every event type has a golden
//! fixture that decodes and re-encodes to the same JSON. Run with `TALLY_BLESS=1` to rewrite the schemas after an
//! intended change (a new type or version); fixtures are written by hand and never blessed.

use std::{fs, path::PathBuf};

use tally_events::{decode, schema, Event};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn checked_in_schemas_match_the_code() {
    let dir = crate_dir().join("schema");
    let generated = schema::generate();
    if std::env::var_os("TALLY_BLESS").is_some() {
        fs::create_dir_all(&dir).unwrap();
        for (name, text) in &generated {
            fs::write(dir.join(name), text).unwrap();
        }
    }
    let mut on_disk: Vec<String> = fs::read_dir(&dir)
        .expect("events/schema exists")
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    on_disk.sort();
    let expected: Vec<String> = generated.keys().cloned().collect();
    assert_eq!(on_disk, expected, "schema files differ from the event catalogue");
    for (name, text) in &generated {
        let stored = fs::read_to_string(dir.join(name)).unwrap();
        assert_eq!(&stored, text, "{name} drifted from the code: a shipped event type must not change shape");
    }
}

#[test]
fn every_event_type_has_a_golden_fixture_that_round_trips() {
    let dir = crate_dir().join("fixtures");
    for (event_type, version, _) in Event::CATALOGUE {
        let path = dir.join(format!("{event_type}.v{version}.json"));
        let text = fs::read_to_string(&path).unwrap_or_else(|_| panic!("missing fixture {}", path.display()));
        let payload: serde_json::Value = serde_json::from_str(&text).unwrap();
        let event = decode(event_type, *version, payload.clone())
            .unwrap_or_else(|e| panic!("fixture {} no longer decodes: {e}", path.display()));
        assert_eq!(event.event_type(), *event_type);
        assert_eq!(event.payload_json(), payload, "{} does not re-encode to itself", path.display());
    }
}

#[test]
fn unknown_types_and_versions_are_refused_not_guessed() {
    assert!(decode("NoSuchEvent", 1, serde_json::json!({})).is_err());
    assert!(decode("CardIssued", 99, serde_json::json!({"number": "1"})).is_err());
}
