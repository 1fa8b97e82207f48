//! Request parameters, parsed by hand to follow RFC 6749 §3.1 and §3.2 exactly: a parameter
//! sent without a value counts as omitted, and a parameter must not appear more than once.

use std::fmt;

/// The parameters of a query string or request body.
#[derive(Debug, Default)]
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
}

/// A parameter that appeared more than once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Duplicate(pub(crate) &'static str);

impl fmt::Display for Duplicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "parameter {} was given more than once", self.0)
    }
}

impl Params {
    /// Parses `application/x-www-form-urlencoded` data (a query string or a form body).
    pub(crate) fn from_urlencoded(data: &[u8]) -> Self {
        Self {
            pairs: url::form_urlencoded::parse(data).into_owned().collect(),
        }
    }

    /// Parses a JSON object whose values are strings; `null` values count as omitted,
    /// numbers and booleans are taken as their JSON text.
    pub(crate) fn from_json(data: &[u8]) -> Result<Self, serde_json::Error> {
        let object: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(data)?;
        let pairs = object
            .into_iter()
            .filter_map(|(name, value)| match value {
                serde_json::Value::Null => None,
                serde_json::Value::String(text) => Some((name, text)),
                other => Some((name, other.to_string())),
            })
            .collect();
        Ok(Self { pairs })
    }

    /// The value of `name`: `Ok(None)` if absent or empty, an error if given more than once.
    pub(crate) fn get(&self, name: &'static str) -> Result<Option<&str>, Duplicate> {
        let mut values = self
            .pairs
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(Duplicate(name));
        }
        Ok(first.filter(|v| !v.is_empty()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_values_count_as_omitted_and_duplicates_are_errors() {
        let params = Params::from_urlencoded(b"a=1&b=&c=x+y%21&d=1&d=2");
        assert_eq!(params.get("a"), Ok(Some("1")));
        assert_eq!(params.get("b"), Ok(None));
        assert_eq!(params.get("c"), Ok(Some("x y!")));
        assert_eq!(params.get("d"), Err(Duplicate("d")));
        assert_eq!(params.get("missing"), Ok(None));
    }

    #[test]
    fn json_objects_are_accepted() {
        let params = Params::from_json(br#"{"a":"1","b":null,"c":2}"#).expect("valid JSON object");
        assert_eq!(params.get("a"), Ok(Some("1")));
        assert_eq!(params.get("b"), Ok(None));
        assert_eq!(params.get("c"), Ok(Some("2")));
        assert!(Params::from_json(b"[1]").is_err());
    }
}
