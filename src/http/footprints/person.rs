//! The person's data a lead carries, field by field as the seed names them, checked and written into one object that
//! is sealed with the customer's key: nothing here reaches the ledger in the clear.

use serde_json::{Map, Value};

use crate::domain::ids::is_email;

use super::{
    fields::{Fields, MAX_COMMENT, MAX_TEXT},
    Refused,
};

/// What a personal field holds.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Text(usize),
    Email,
    Phone,
    OneOf(&'static [&'static str]),
    /// A list of short texts (interests, preferences).
    Texts,
    /// A list of ages (`kidsAge`).
    Ages,
    Count,
    Date,
    Flag,
    /// Any shape the caller sends (an object of custom details).
    Free,
}

/// Every personal field, by its wire name. `userFamilyDetalis` is the seed's spelling of the field it lists back as
/// `userFamilyDetails`; both are read, and kept as the latter.
const PERSONAL: &[(&str, Kind)] = &[
    ("userFirstName", Kind::Text(100)),
    ("userLastName", Kind::Text(100)),
    ("userEmail", Kind::Email),
    ("userPhone", Kind::Phone),
    ("userSex", Kind::OneOf(&["male", "female"])),
    ("userCity", Kind::Text(100)),
    ("userCounty", Kind::Text(100)),
    ("userCountry", Kind::Text(100)),
    ("userAddress", Kind::Text(MAX_TEXT)),
    ("userDistrict", Kind::Text(100)),
    ("userFamilyDetails", Kind::OneOf(&["single", "married"])),
    ("userChildren", Kind::Count),
    ("userIndustry", Kind::Text(100)),
    ("userCompanyName", Kind::Text(MAX_TEXT)),
    ("userCompanyAddress", Kind::Text(MAX_TEXT)),
    ("userJob", Kind::Text(100)),
    ("userJobDescription", Kind::Text(MAX_COMMENT)),
    ("userIncome", Kind::Text(32)),
    ("userBirthday", Kind::Date),
    ("userExternalId", Kind::Text(100)),
    ("nationalId", Kind::Text(32)),
    ("facebookUrl", Kind::Text(MAX_TEXT)),
    ("imageUrl", Kind::Text(MAX_TEXT)),
    ("userComments", Kind::Text(MAX_COMMENT)),
    ("hasKids", Kind::Flag),
    ("noOfKids", Kind::Count),
    ("customDetails", Kind::Free),
    ("interests", Kind::Texts),
    ("preferences", Kind::Texts),
    ("kidsAge", Kind::Ages),
    // A prospect's (`POST /api/prospect`).
    ("avandorUserId", Kind::Text(100)),
    ("avandorSession", Kind::Free),
    ("companyName", Kind::Text(MAX_TEXT)),
    ("companyType", Kind::Text(100)),
    ("userPosition", Kind::Text(100)),
    ("companyWebsite", Kind::Text(MAX_TEXT)),
    ("potentialScore", Kind::Text(32)),
];

/// A phone number as people write them: digits, with `+`, spaces, dashes, dots and brackets; 6 to 20 digits.
pub fn valid_phone(text: &str) -> bool {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    (6..=20).contains(&digits) && text.chars().all(|c| c.is_ascii_digit() || " +-.()".contains(c))
}

/// A phone number's digits alone (how identities compare it).
pub fn phone_digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

/// The personal fields present in `fields`, checked.
pub fn personal(fields: &Fields) -> Result<Map<String, Value>, Refused> {
    let mut person = Map::new();
    for (name, kind) in PERSONAL {
        let read = if *name == "userFamilyDetails" && fields.raw(name).is_none() { "userFamilyDetalis" } else { name };
        if let Some(value) = field(fields, read, *kind)? {
            person.insert((*name).to_owned(), value);
        }
    }
    Ok(person)
}

fn field(fields: &Fields, name: &str, kind: Kind) -> Result<Option<Value>, Refused> {
    Ok(match kind {
        Kind::Text(max) => fields.text(name, max)?.map(Value::String),
        Kind::Email => match fields.text(name, 254)? {
            Some(email) if !is_email(&email) => {
                return Err(Refused::invalid(format!("{name} {email:?} is not an e-mail address")))
            }
            email => email.map(Value::String),
        },
        Kind::Phone => match fields.text(name, 32)? {
            Some(phone) if !valid_phone(&phone) => {
                return Err(Refused::invalid(format!("{name} {phone:?} is not a phone number (6 to 20 digits)")))
            }
            phone => phone.map(Value::String),
        },
        Kind::OneOf(accepted) => fields.one_of(name, accepted)?.map(Value::String),
        Kind::Count => fields.whole(name, 0, 50)?.map(Value::from),
        Kind::Texts => fields.list(name, 50, 64)?.map(Value::from),
        Kind::Ages => match fields.list(name, 20, 3)? {
            None => None,
            Some(ages) => {
                let ages: Option<Vec<u8>> = ages.iter().map(|age| age.parse().ok().filter(|age| *age <= 30)).collect();
                let ages =
                    ages.ok_or_else(|| Refused::invalid(format!("{name} must be a list of ages from 0 to 30")))?;
                Some(Value::from(ages))
            }
        },
        Kind::Date => fields.date(name)?.map(|date| Value::String(date.to_string())),
        Kind::Flag => fields.flag(name)?.map(Value::Bool),
        Kind::Free => fields.raw(name).cloned(),
    })
}
