//! The event contract: the checked-in JSON Schemas equal what the code generates, and every event type has a golden
//! fixture that decodes and re-encodes to the same JSON. Run with `TALLY_BLESS=1` to rewrite the schemas after an
//! intended change (a new type or version); fixtures are written by hand and never blessed. The schemas and
//! fixtures of older versions stay, frozen: an older fixture must still decode through the upcasters.

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
        .filter(|name| older_version(name).is_none())
        .collect();
    on_disk.sort();
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

/// The type and version of a file name `Type.vN.json` when N is older than the type's current version.
fn older_version(file_name: &str) -> Option<(&str, u32)> {
    let (event_type, version) = file_name.strip_suffix(".json")?.split_once(".v")?;
    let version: u32 = version.parse().ok()?;
    let current = Event::CATALOGUE.iter().find(|(name, _, _)| *name == event_type)?.1;
    (version < current).then_some((event_type, version))
}

#[test]
fn fixtures_of_older_versions_upcast_to_the_current_shape() {
    let mut upcast = 0;
    for entry in fs::read_dir(crate_dir().join("fixtures")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let Some((event_type, version)) = older_version(&name) else { continue };
        let text = fs::read_to_string(crate_dir().join("fixtures").join(&name)).unwrap();
        let event = decode(event_type, version, serde_json::from_str(&text).unwrap())
            .unwrap_or_else(|e| panic!("{name} no longer upcasts: {e}"));
        assert_eq!(event.event_type(), event_type);
        let current = event.payload_json();
        let older: serde_json::Value = serde_json::from_str(&text).unwrap();
        for (field, value) in older.as_object().unwrap() {
            assert_eq!(&current[field], value, "{name}: upcasting changed {field}");
        }
        upcast += 1;
    }
    assert!(upcast >= 2, "the version 1 fixtures of BonusAccrued and BonusRedeemed are kept");
}

#[test]
fn unknown_types_and_versions_are_refused_not_guessed() {
    assert!(decode("NoSuchEvent", 1, serde_json::json!({})).is_err());
    assert!(decode("CardIssued", 99, serde_json::json!({"number": "1"})).is_err());
    assert!(decode("BonusAccrued", 0, serde_json::json!({})).is_err());
    assert!(decode("BonusAccrued", 3, serde_json::json!({})).is_err());
}
