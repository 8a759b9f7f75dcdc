//! Typed reading of request parameters, with Stripe's errors for every way they can be wrong.
//!
//! A handler takes each parameter it knows (`string`, `integer`, `object`, …) and then calls
//! [`Params::finish`], which rejects whatever is left over with "Received unknown parameter". Error
//! `param` values name the full bracketed path (`line_items[0][price]`), as Stripe's do.

use std::collections::BTreeMap;

use crate::error::{ApiError, ApiResult};
use crate::form::FormValue;

/// Metadata as Stripe keeps it: string keys and values.
pub type Metadata = BTreeMap<String, String>;

/// The parameters of one request, or of one nested hash within it.
#[derive(Debug, Clone, Default)]
pub struct Params {
    fields: BTreeMap<String, FormValue>,
    prefix: String,
}

impl Params {
    pub fn new(fields: BTreeMap<String, FormValue>) -> Self {
        Params {
            fields,
            prefix: String::new(),
        }
    }

    fn nested(fields: BTreeMap<String, FormValue>, prefix: String) -> Self {
        Params { fields, prefix }
    }

    /// The full name of a parameter, for error messages: `line_items[0][price]`.
    pub fn path(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}[{key}]", self.prefix)
        }
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    pub fn contains(&self, key: &str) -> bool {
        self.fields.contains_key(key)
    }

    /// Looks at a raw value without taking it.
    pub fn peek(&self, key: &str) -> Option<&FormValue> {
        self.fields.get(key)
    }

    /// Removes a raw value.
    pub fn take(&mut self, key: &str) -> Option<FormValue> {
        self.fields.remove(key)
    }

    /// A string; an empty value counts as absent.
    pub fn string(&mut self, key: &str) -> ApiResult<Option<String>> {
        Ok(self.update_string(key)?.flatten())
    }

    /// For updates: `None` = not given, `Some(None)` = unset (empty value), `Some(Some(v))` = set.
    pub fn update_string(&mut self, key: &str) -> ApiResult<Option<Option<String>>> {
        match self.take(key) {
            None => Ok(None),
            Some(FormValue::Text(s)) if s.is_empty() => Ok(Some(None)),
            Some(FormValue::Text(s)) => Ok(Some(Some(s))),
            Some(other) => Err(ApiError::invalid_value(
                &self.path(key),
                "string",
                &other.describe(),
            )),
        }
    }

    pub fn required_string(&mut self, key: &str) -> ApiResult<String> {
        self.string(key)?
            .ok_or_else(|| ApiError::missing_param(&self.path(key)))
    }

    pub fn integer(&mut self, key: &str) -> ApiResult<Option<i64>> {
        match self.string(key)? {
            None => Ok(None),
            Some(s) => s
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| ApiError::invalid_value(&self.path(key), "integer", &s)),
        }
    }

    /// An integer that must be at least 1 (amounts, quantities).
    pub fn positive_integer(&mut self, key: &str) -> ApiResult<Option<i64>> {
        match self.integer(key)? {
            Some(n) if n < 1 => Err(ApiError::invalid(
                format!("This value must be greater than or equal to 1 (it currently is '{n}')."),
                Some(&self.path(key)),
            )),
            other => Ok(other),
        }
    }

    pub fn boolean(&mut self, key: &str) -> ApiResult<Option<bool>> {
        match self.string(key)? {
            None => Ok(None),
            Some(s) => match s.as_str() {
                "true" => Ok(Some(true)),
                "false" => Ok(Some(false)),
                _ => Err(ApiError::invalid_value(&self.path(key), "boolean", &s)),
            },
        }
    }

    /// One of a fixed set of words: "Invalid mode: must be one of payment, setup, or subscription".
    pub fn one_of(&mut self, key: &str, allowed: &[&str]) -> ApiResult<Option<String>> {
        match self.string(key)? {
            None => Ok(None),
            Some(s) if allowed.contains(&s.as_str()) => Ok(Some(s)),
            Some(_) => Err(ApiError::invalid(
                format!("Invalid {key}: must be one of {}", join_or(allowed)),
                Some(&self.path(key)),
            )),
        }
    }

    /// A nested hash (`after_completion[type]=…`).
    pub fn object(&mut self, key: &str) -> ApiResult<Option<Params>> {
        let path = self.path(key);
        match self.take(key) {
            None => Ok(None),
            Some(FormValue::Text(s)) if s.is_empty() => Ok(None),
            Some(FormValue::Map(m)) => Ok(Some(Params::nested(m, path))),
            Some(other) => Err(ApiError::invalid_value(&path, "hash", &other.describe())),
        }
    }

    /// A list of hashes (`line_items[0][price]=…`).
    pub fn object_list(&mut self, key: &str) -> ApiResult<Option<Vec<Params>>> {
        let path = self.path(key);
        let items = match self.take(key) {
            None => return Ok(None),
            Some(FormValue::Text(s)) if s.is_empty() => return Ok(Some(Vec::new())),
            Some(FormValue::List(items)) => items,
            Some(other) => return Err(ApiError::invalid_value(&path, "array", &other.describe())),
        };
        items
            .into_iter()
            .enumerate()
            .map(|(i, item)| {
                let item_path = format!("{path}[{i}]");
                match item {
                    FormValue::Map(m) => Ok(Params::nested(m, item_path)),
                    other => Err(ApiError::invalid_value(
                        &item_path,
                        "hash",
                        &other.describe(),
                    )),
                }
            })
            .collect::<ApiResult<Vec<_>>>()
            .map(Some)
    }

    /// A list of strings (`expand[]=…`, `enabled_events[]=…`). A single value counts as a list of
    /// one, as Stripe accepts.
    pub fn string_list(&mut self, key: &str) -> ApiResult<Option<Vec<String>>> {
        let path = self.path(key);
        match self.take(key) {
            None => Ok(None),
            Some(FormValue::Text(s)) if s.is_empty() => Ok(Some(Vec::new())),
            Some(FormValue::Text(s)) => Ok(Some(vec![s])),
            Some(FormValue::List(items)) => items
                .into_iter()
                .enumerate()
                .map(|(i, item)| match item {
                    FormValue::Text(s) => Ok(s),
                    other => Err(ApiError::invalid_value(
                        &format!("{path}[{i}]"),
                        "string",
                        &other.describe(),
                    )),
                })
                .collect::<ApiResult<Vec<_>>>()
                .map(Some),
            Some(other) => Err(ApiError::invalid_value(&path, "array", &other.describe())),
        }
    }

    /// `metadata[k]=v` applied to `current`: an empty value removes a key, an empty `metadata=`
    /// clears them all. Enforces Stripe's limits (50 keys, 40-character keys, 500-character values).
    pub fn metadata_into(&mut self, key: &str, current: &mut Metadata) -> ApiResult<()> {
        let path = self.path(key);
        match self.take(key) {
            None => Ok(()),
            Some(FormValue::Text(s)) if s.is_empty() => {
                current.clear();
                Ok(())
            }
            Some(FormValue::Map(entries)) => {
                for (k, v) in entries {
                    let entry_path = format!("{path}[{k}]");
                    let FormValue::Text(v) = v else {
                        return Err(ApiError::invalid_value(
                            &entry_path,
                            "string",
                            &v.describe(),
                        ));
                    };
                    if k.chars().count() > 40 {
                        return Err(ApiError::invalid(
                            format!("Metadata keys can have a maximum length of 40 characters; '{k}' is too long."),
                            Some(&entry_path),
                        ));
                    }
                    if v.chars().count() > 500 {
                        return Err(ApiError::invalid(
                            "Metadata values can have a maximum length of 500 characters.",
                            Some(&entry_path),
                        ));
                    }
                    if v.is_empty() {
                        current.remove(&k);
                    } else {
                        current.insert(k, v);
                    }
                }
                if current.len() > 50 {
                    return Err(ApiError::invalid(
                        "You can specify up to 50 keys in metadata.",
                        Some(&path),
                    ));
                }
                Ok(())
            }
            Some(other) => Err(ApiError::invalid_value(&path, "hash", &other.describe())),
        }
    }

    /// Metadata for a new object.
    pub fn metadata(&mut self, key: &str) -> ApiResult<Metadata> {
        let mut m = Metadata::new();
        self.metadata_into(key, &mut m)?;
        Ok(m)
    }

    /// Rejects any parameter nobody took.
    pub fn finish(self) -> ApiResult<()> {
        match self.fields.keys().next() {
            None => Ok(()),
            Some(key) => Err(ApiError::unknown_param(&self.path(key))),
        }
    }
}

/// "a, b, or c"
fn join_or(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => one.to_string(),
        [a, b] => format!("{a} or {b}"),
        [init @ .., last] => format!("{}, or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::form::parse;

    fn params(body: &str) -> Params {
        Params::new(parse(body).unwrap())
    }

    #[test]
    fn unknown_parameters_are_named_with_their_full_path() {
        let mut p = params("line_items[0][price]=x&line_items[0][colour]=red");
        let mut items = p.object_list("line_items").unwrap().unwrap();
        let mut item = items.remove(0);
        assert_eq!(item.string("price").unwrap().as_deref(), Some("x"));
        let err = item.finish().unwrap_err();
        assert_eq!(err.param.as_deref(), Some("line_items[0][colour]"));
        assert_eq!(
            err.message,
            "Received unknown parameter: line_items[0][colour]"
        );
    }

    #[test]
    fn wrong_types_name_the_parameter() {
        let mut p = params("amount=12x");
        let err = p.integer("amount").unwrap_err();
        assert_eq!(err.status, 400);
        assert_eq!(err.param.as_deref(), Some("amount"));
        assert_eq!(err.message, "Invalid integer: 12x");

        let mut p = params("metadata=abc");
        assert!(p.metadata("metadata").is_err());
        let mut p = params("active=yes");
        assert_eq!(
            p.boolean("active").unwrap_err().message,
            "Invalid boolean: yes"
        );
    }

    #[test]
    fn missing_required_parameters_are_reported() {
        let mut p = params("");
        let err = p.required_string("url").unwrap_err();
        assert_eq!(err.message, "Missing required param: url.");
        assert_eq!(err.code, Some("parameter_missing"));
    }

    #[test]
    fn empty_values_unset_metadata_keys_and_fields() {
        let mut current = Metadata::from([
            ("a".to_string(), "1".to_string()),
            ("b".to_string(), "2".to_string()),
        ]);
        let mut p = params("metadata[a]=&metadata[c]=3&description=");
        p.metadata_into("metadata", &mut current).unwrap();
        assert_eq!(current.get("a"), None);
        assert_eq!(current.get("c").map(String::as_str), Some("3"));
        assert_eq!(p.update_string("description").unwrap(), Some(None));

        let mut p = params("metadata=");
        p.metadata_into("metadata", &mut current).unwrap();
        assert!(current.is_empty());
    }

    #[test]
    fn enumerations_list_the_allowed_words() {
        let mut p = params("mode=rent");
        let err = p
            .one_of("mode", &["payment", "setup", "subscription"])
            .unwrap_err();
        assert_eq!(
            err.message,
            "Invalid mode: must be one of payment, setup, or subscription"
        );
    }
}
