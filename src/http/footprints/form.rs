//! Footprints' request bodies: `application/x-www-form-urlencoded` with PHP's bracket notation for nested fields
//! (`marketingChannels[0][channel]=sms`, `tags[]=vip`, `customDetails[offerDetails]=…`), or the same shape as a
//! JSON object. Either is read into one JSON object whose leaves are what the caller sent (text from a form), so
//! that every handler reads fields one way.

use serde_json::{Map, Value};

/// Nesting deeper than this is refused (a body cannot build an arbitrarily deep tree).
const MAX_DEPTH: usize = 8;
/// Array indexes at most this (a sparse `a[100000000]=x` must not allocate).
const MAX_INDEX: usize = 1000;

/// The body as one object, by its content type: JSON when it says so (or starts with `{`), a form otherwise.
pub fn read(content_type: Option<&str>, body: &[u8]) -> Result<Map<String, Value>, String> {
    let json = content_type.is_some_and(|t| t.trim_start().to_ascii_lowercase().starts_with("application/json"));
    let text = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8 text".to_owned())?;
    if json || text.trim_start().starts_with('{') {
        return match serde_json::from_str(text) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err("the JSON body must be an object".into()),
            Err(error) => Err(format!("the JSON body cannot be read: {error}")),
        };
    }
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(text).map_err(|error| format!("the form body cannot be read: {error}"))?;
    form(pairs)
}

/// Form pairs as one object, bracketed names nested.
pub fn form(pairs: Vec<(String, String)>) -> Result<Map<String, Value>, String> {
    let mut root = Value::Object(Map::new());
    for (name, value) in pairs {
        let path = segments(&name)?;
        insert(&mut root, &path, Value::String(value)).map_err(|problem| format!("field {name}: {problem}"))?;
    }
    // The root stays an object whatever its names (`0=a&1=b` is two fields, not a list).
    let Value::Object(map) = root else { unreachable!("the root is made an object above") };
    Ok(map.into_iter().map(|(name, value)| (name, arrays(value))).collect())
}

/// `a[b][]` as `["a", "b", ""]`.
fn segments(name: &str) -> Result<Vec<String>, String> {
    let (head, mut rest) = match name.find('[') {
        Some(at) => (&name[..at], &name[at..]),
        None => (name, ""),
    };
    let mut path = vec![head.to_owned()];
    while let Some(inner) = rest.strip_prefix('[') {
        let close = inner.find(']').ok_or_else(|| format!("field {name}: a [ without its ]"))?;
        path.push(inner[..close].to_owned());
        rest = &inner[close + 1..];
    }
    if head.is_empty() || !rest.is_empty() || path.len() > MAX_DEPTH {
        return Err(format!("field name {name:?} is not a name with at most {MAX_DEPTH} [bracketed] parts"));
    }
    Ok(path)
}

/// Puts `value` at `path`. Objects stand for arrays too until [`arrays`] turns those keyed by indexes into arrays;
/// `[]` appends under the next free index.
fn insert(node: &mut Value, path: &[String], value: Value) -> Result<(), String> {
    let Value::Object(map) = node else {
        return Err("a field is given both as a value and with [brackets]".into());
    };
    let (first, rest) = path.split_first().expect("paths are never empty");
    let key = if first.is_empty() { map.len().to_string() } else { first.clone() };
    if rest.is_empty() {
        if map.insert(key, value).is_some_and(|old| old.is_object()) {
            return Err("a field is given both as a value and with [brackets]".into());
        }
        return Ok(());
    }
    let child = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
    insert(child, rest, value)
}

/// Objects whose keys are all indexes (0, 1, …) as arrays in index order.
fn arrays(node: Value) -> Value {
    match node {
        Value::Object(map) => {
            let indexed = !map.is_empty()
                && map.keys().all(|k| k.parse::<usize>().is_ok_and(|i| i <= MAX_INDEX && i.to_string() == *k));
            if indexed {
                let mut items: Vec<(usize, Value)> =
                    map.into_iter().map(|(k, v)| (k.parse().expect("checked"), arrays(v))).collect();
                items.sort_by_key(|(index, _)| *index);
                Value::Array(items.into_iter().map(|(_, v)| v).collect())
            } else {
                Value::Object(map.into_iter().map(|(k, v)| (k, arrays(v))).collect())
            }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parsed(body: &str) -> Value {
        Value::Object(read(None, body.as_bytes()).unwrap())
    }

    #[test]
    fn brackets_nest_and_indexes_make_arrays() {
        let body = "userFirstName=Ana&tags[]=vip&tags[]=new&marketingChannels[0][channel]=sms\
                    &marketingChannels[0][agreed]=true&marketingChannels[1][channel]=email\
                    &customDetails[vouchers][shopId]=1&customDetails[offerDetails]=Lorem+ipsum";
        assert_eq!(
            parsed(body),
            json!({
                "userFirstName": "Ana",
                "tags": ["vip", "new"],
                "marketingChannels": [{"channel": "sms", "agreed": "true"}, {"channel": "email"}],
                "customDetails": {"vouchers": {"shopId": "1"}, "offerDetails": "Lorem ipsum"},
            })
        );
    }

    #[test]
    fn json_bodies_are_read_as_they_are() {
        let map = read(Some("application/json; charset=utf-8"), br#"{"nps": 9, "tags": ["a"]}"#).unwrap();
        assert_eq!(Value::Object(map), json!({"nps": 9, "tags": ["a"]}));
        assert!(read(Some("application/json"), b"[1]").is_err());
        assert!(read(Some("application/json"), b"{").is_err());
    }

    #[test]
    fn malformed_names_are_refused() {
        for body in ["a[b=1", "[x]=1", "a[b]c=1", "a=1&a[b]=2", "a[b]=1&a=2", "a[1][2][3][4][5][6][7][8]=1"] {
            assert!(read(None, body.as_bytes()).is_err(), "{body}");
        }
        assert!(read(None, &[0xff, 0xfe]).is_err());
    }

    #[test]
    fn numbered_fields_at_the_top_stay_fields() {
        assert_eq!(parsed("0=a&1=b"), json!({"0": "a", "1": "b"}));
        assert_eq!(parsed("0[0]=a"), json!({"0": ["a"]}));
    }

    #[test]
    fn large_or_sparse_indexes_stay_objects() {
        assert_eq!(parsed("a[5000]=x"), json!({"a": {"5000": "x"}}));
        assert_eq!(parsed("a[01]=x"), json!({"a": {"01": "x"}}));
    }
}
