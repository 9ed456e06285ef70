//! Reading Footprints' fields: each reader takes a field by its wire name from the body (see `form`), accepts what
//! the seed documents (texts, `"true"`/`"false"`, `Y-m-d` dates, `Y-m-d H:i:s` times, lists), and names the field
//! in its refusal. An empty value is an absent one, as forms send them.

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::{Map, Value};

use super::Refused;

/// The longest text field taken (names, cities, descriptions); free comments may be longer.
pub const MAX_TEXT: usize = 200;
/// The longest comment or description taken.
pub const MAX_COMMENT: usize = 2000;

/// A request's fields.
pub struct Fields(pub Map<String, Value>);

impl Fields {
    pub fn raw(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|value| !matches!(value, Value::Null) && value.as_str() != Some(""))
    }

    /// A text (a number is read as its text), trimmed: at most `max` characters; blank is absent.
    pub fn text(&self, name: &str, max: usize) -> Result<Option<String>, Refused> {
        let text = match self.raw(name) {
            None => return Ok(None),
            Some(Value::String(text)) => text.trim().to_owned(),
            Some(Value::Number(number)) => number.to_string(),
            Some(_) => return Err(Refused::invalid(format!("{name} must be a text"))),
        };
        match text.chars().count() {
            0 => Ok(None),
            length if length > max => Err(Refused::invalid(format!("{name} has {length} characters: at most {max}"))),
            _ => Ok(Some(text)),
        }
    }

    /// A required text.
    pub fn required(&self, name: &str, max: usize) -> Result<String, Refused> {
        self.text(name, max)?.ok_or_else(|| Refused::invalid(format!("{name} is required")))
    }

    /// An id of the merchant's catalogue or of a record: 1 to 64 letters, digits, `_` or `-`.
    pub fn id(&self, name: &str) -> Result<Option<String>, Refused> {
        let id = self.text(name, 64)?;
        match &id {
            Some(id) if !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') => {
                Err(Refused::invalid(format!("{name} must be 1 to 64 letters, digits, _ or -")))
            }
            _ => Ok(id),
        }
    }

    /// `"true"` or `"false"` (or a JSON boolean).
    pub fn flag(&self, name: &str) -> Result<Option<bool>, Refused> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::Bool(flag)) => Ok(Some(*flag)),
            Some(Value::String(text)) if text == "true" => Ok(Some(true)),
            Some(Value::String(text)) if text == "false" => Ok(Some(false)),
            Some(_) => Err(Refused::invalid(format!("{name} must be \"true\" or \"false\""))),
        }
    }

    /// A whole number within `least..=most`.
    pub fn whole(&self, name: &str, least: i64, most: i64) -> Result<Option<i64>, Refused> {
        let Some(text) = self.text(name, 20)? else { return Ok(None) };
        match text.parse::<i64>() {
            Ok(number) if (least..=most).contains(&number) => Ok(Some(number)),
            _ => Err(Refused::invalid(format!("{name} must be a whole number from {least} to {most}"))),
        }
    }

    /// One of the accepted values.
    pub fn one_of(&self, name: &str, accepted: &[&str]) -> Result<Option<String>, Refused> {
        match self.text(name, MAX_TEXT)? {
            Some(value) if !accepted.contains(&value.as_str()) => {
                Err(Refused::invalid(format!("{name} must be one of: {}", accepted.join(", "))))
            }
            value => Ok(value),
        }
    }

    /// A date written `Y-m-d`.
    pub fn date(&self, name: &str) -> Result<Option<NaiveDate>, Refused> {
        let Some(text) = self.text(name, 10)? else { return Ok(None) };
        NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| Refused::invalid(format!("{name} must be a date written Y-m-d, e.g. 2026-05-31")))
    }

    /// A time written `Y-m-d H:i:s`.
    pub fn datetime(&self, name: &str) -> Result<Option<NaiveDateTime>, Refused> {
        let Some(text) = self.text(name, 19)? else { return Ok(None) };
        NaiveDateTime::parse_from_str(&text, "%Y-%m-%d %H:%M:%S").map(Some).map_err(|_| {
            Refused::invalid(format!("{name} must be a time written Y-m-d H:i:s, e.g. 2026-05-31 14:30:00"))
        })
    }

    /// A list of texts: `name[]=a&name[]=b`, a JSON array, or the seed's `['a', 'b']` written as one value.
    pub fn list(&self, name: &str, most: usize, max_length: usize) -> Result<Option<Vec<String>>, Refused> {
        let items = match self.raw(name) {
            None => return Ok(None),
            Some(Value::Array(items)) => items.clone(),
            Some(Value::String(text)) if text.trim_start().starts_with('[') => {
                serde_json::from_str::<Vec<Value>>(&text.replace('\'', "\"")).map_err(|_| {
                    Refused::invalid(format!("{name} must be a list of texts, e.g. {name}[]=a&{name}[]=b"))
                })?
            }
            Some(value @ (Value::String(_) | Value::Number(_))) => vec![value.clone()],
            Some(_) => return Err(Refused::invalid(format!("{name} must be a list of texts"))),
        };
        if items.len() > most {
            return Err(Refused::invalid(format!("{name} has {} items: at most {most}", items.len())));
        }
        let texts: Option<Vec<String>> = items
            .into_iter()
            .map(|item| match item {
                Value::String(text) => Some(text.trim().to_owned()),
                Value::Number(number) => Some(number.to_string()),
                _ => None,
            })
            .collect();
        let texts = texts.ok_or_else(|| Refused::invalid(format!("{name} must be a list of texts")))?;
        if texts.iter().any(|text| text.is_empty() || text.chars().count() > max_length) {
            return Err(Refused::invalid(format!("every item of {name} must be 1 to {max_length} characters")));
        }
        Ok(Some(texts))
    }
}
