//! The identifiers customers and cards are reached by, parsed once at the edge into their canonical form.

/// A card number: 6 to 19 digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardNumber(String);

impl CardNumber {
    pub fn parse(text: &str) -> Option<CardNumber> {
        let text = text.trim();
        ((6..=19).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| CardNumber(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A mobile number in E.164 form: `+` and 10 to 15 digits. Spaces, dashes, dots and brackets are dropped and a
/// leading `00` is read as `+`; numbers are otherwise compared digit for digit, so callers send the country code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MobileNumber(String);

impl MobileNumber {
    pub fn parse(text: &str) -> Option<MobileNumber> {
        let text = text.trim();
        let mut digits = String::with_capacity(16);
        for (index, c) in text.chars().enumerate() {
            match c {
                '0'..='9' => digits.push(c),
                '+' if index == 0 => {}
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return None,
            }
        }
        let digits = match digits.strip_prefix("00") {
            Some(rest) if !text.starts_with('+') => rest.to_owned(),
            _ => digits,
        };
        ((10..=15).contains(&digits.len()) && !digits.starts_with('0')).then(|| MobileNumber(format!("+{digits}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A contact code: 1 to 64 of `[A-Za-z0-9_-]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactCode(String);

impl ContactCode {
    pub fn parse(text: &str) -> Option<ContactCode> {
        let text = text.trim();
        ((1..=64).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
            .then(|| ContactCode(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An e-mail address as Tally takes it: one `@` between two parts without blanks, at most 254 characters.
pub fn is_email(text: &str) -> bool {
    let blank_free = |part: &str| !part.is_empty() && !part.contains(char::is_whitespace);
    text.chars().count() <= 254
        && text
            .split_once('@')
            .is_some_and(|(local, domain)| blank_free(local) && blank_free(domain) && !domain.contains('@'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_numbers_are_6_to_19_digits() {
        assert_eq!(CardNumber::parse(" 7000000000001 ").unwrap().as_str(), "7000000000001");
        for bad in ["12345", "12345678901234567890", "7000-0000", "", "70000000000a1"] {
            assert_eq!(CardNumber::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn mobile_numbers_normalize_to_e164() {
        for good in ["+7 (999) 123-45-67", "79991234567", "0079991234567", "+7.999.123.45.67"] {
            assert_eq!(MobileNumber::parse(good).unwrap().as_str(), "+79991234567", "{good:?}");
        }
        for bad in ["12345", "+7 999 abc", "phone", "", "0123456789", "+1234567890123456", "7+9991234567"] {
            assert_eq!(MobileNumber::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn contact_codes_are_short_words() {
        assert_eq!(ContactCode::parse("C-1001_a").unwrap().as_str(), "C-1001_a");
        for bad in ["", "with space", "ü", &"x".repeat(65)] {
            assert_eq!(ContactCode::parse(bad), None, "{bad:?}");
        }
    }
}
