//! Stripe's request encoding: `application/x-www-form-urlencoded` with nested brackets.
//!
//! The official SDKs send `line_items[0][price]=price_1&metadata[order]=42&expand[0]=x`; curl
//! users and stripe-php send `expand[]=x`. Both array styles become lists here. An empty value is
//! kept as an empty string: it means "unset" to the resource that reads it.

use std::collections::BTreeMap;

/// One parsed value: a string, a hash (`a[b]=…`) or a list (`a[0]=…` / `a[]=…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormValue {
    Text(String),
    Map(BTreeMap<String, FormValue>),
    List(Vec<FormValue>),
}

impl FormValue {
    /// A short rendering for error messages.
    pub fn describe(&self) -> String {
        match self {
            FormValue::Text(s) => s.clone(),
            FormValue::Map(m) => {
                let inner: Vec<String> = m
                    .iter()
                    .map(|(k, v)| format!("{k:?}=>{}", v.describe()))
                    .collect();
                format!("{{{}}}", inner.join(", "))
            }
            FormValue::List(l) => {
                let inner: Vec<String> = l.iter().map(|v| v.describe()).collect();
                format!("[{}]", inner.join(", "))
            }
        }
    }
}

/// Why a body could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    #[error("Invalid request: the body is not valid application/x-www-form-urlencoded UTF-8 text")]
    NotUtf8,
    #[error("Invalid parameter name: '{0}'")]
    BadKey(String),
    #[error("Invalid parameter: '{0}' is given both as a value and as a hash or list")]
    Conflict(String),
}

impl FormError {
    /// The parameter the error is about, for the error envelope's `param`.
    pub fn param(&self) -> Option<&str> {
        match self {
            FormError::NotUtf8 => None,
            FormError::BadKey(k) | FormError::Conflict(k) => Some(k),
        }
    }
}

/// Parses a query string or form body into its top-level parameters.
pub fn parse(input: &str) -> Result<BTreeMap<String, FormValue>, FormError> {
    let mut root: BTreeMap<String, Node> = BTreeMap::new();
    for pair in input.split('&').filter(|p| !p.is_empty()) {
        let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode(raw_key)?;
        let value = decode(raw_value)?;
        let path = split_key(&key)?;
        insert(&mut root, &key, &path, value)?;
    }
    Ok(root.into_iter().map(|(k, v)| (k, v.finish())).collect())
}

/// Percent-decoding with `+` as space, as browsers and SDKs encode forms.
fn decode(raw: &str) -> Result<String, FormError> {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| FormError::NotUtf8)
}

/// `a[b][0][]` → `["a", "b", "0", ""]`.
fn split_key(key: &str) -> Result<Vec<String>, FormError> {
    let bad = || FormError::BadKey(key.to_string());
    let (head, mut rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    if head.is_empty() || head.contains(']') {
        return Err(bad());
    }
    let mut path = vec![head.to_string()];
    while !rest.is_empty() {
        if !rest.starts_with('[') {
            return Err(bad());
        }
        let close = rest.find(']').ok_or_else(bad)?;
        let segment = &rest[1..close];
        if segment.contains('[') {
            return Err(bad());
        }
        path.push(segment.to_string());
        rest = &rest[close + 1..];
    }
    Ok(path)
}

/// The tree while it is being built: `[]` lists stay open so `a[][x]=1&a[][y]=2` fills one
/// element, as Rack and PHP read it.
#[derive(Debug)]
enum Node {
    Text(String),
    Map(BTreeMap<String, Node>),
    Appended(Vec<Node>),
}

impl Node {
    fn finish(self) -> FormValue {
        match self {
            Node::Text(s) => FormValue::Text(s),
            Node::Appended(items) => FormValue::List(items.into_iter().map(Node::finish).collect()),
            Node::Map(map) => {
                let all_indices = !map.is_empty()
                    && map
                        .keys()
                        .all(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()));
                if all_indices {
                    let mut indexed: Vec<(u64, Node)> = map
                        .into_iter()
                        .map(|(k, v)| (k.parse::<u64>().unwrap_or(u64::MAX), v))
                        .collect();
                    indexed.sort_by_key(|(i, _)| *i);
                    FormValue::List(indexed.into_iter().map(|(_, v)| v.finish()).collect())
                } else {
                    FormValue::Map(map.into_iter().map(|(k, v)| (k, v.finish())).collect())
                }
            }
        }
    }
}

/// Whether `path` can be added to `node` without overwriting a value it already has.
fn fits(node: &Node, path: &[String]) -> bool {
    match node {
        Node::Map(map) => match map.get(&path[0]) {
            None => true,
            Some(child) => path.len() > 1 && !path[1].is_empty() && fits(child, &path[1..]),
        },
        _ => false,
    }
}

fn insert(
    map: &mut BTreeMap<String, Node>,
    full_key: &str,
    path: &[String],
    value: String,
) -> Result<(), FormError> {
    let conflict = || FormError::Conflict(full_key.to_string());
    let (first, rest) = path.split_first().ok_or_else(conflict)?;
    if rest.is_empty() {
        match map.get(first) {
            Some(Node::Map(_)) | Some(Node::Appended(_)) => return Err(conflict()),
            _ => {
                map.insert(first.clone(), Node::Text(value));
            }
        }
        return Ok(());
    }
    let appending = rest[0].is_empty();
    let entry = map.entry(first.clone()).or_insert_with(|| {
        if appending {
            Node::Appended(Vec::new())
        } else {
            Node::Map(BTreeMap::new())
        }
    });
    match (entry, appending) {
        (Node::Map(child), false) => insert(child, full_key, rest, value),
        (Node::Appended(items), true) => {
            let after = &rest[1..];
            if after.is_empty() {
                items.push(Node::Text(value));
                return Ok(());
            }
            // Start a new element when the open one already has this field.
            let reuse = items.last().is_some_and(|last| fits(last, after));
            if !reuse {
                items.push(Node::Map(BTreeMap::new()));
            }
            match items.last_mut() {
                Some(Node::Map(child)) => insert(child, full_key, after, value),
                _ => Err(conflict()),
            }
        }
        _ => Err(conflict()),
    }
}

/// A stable rendering of parameters, used to compare an idempotent retry with the first request.
pub fn canonical(params: &BTreeMap<String, FormValue>) -> String {
    let mut out = String::new();
    for (k, v) in params {
        out.push_str(k);
        out.push('=');
        out.push_str(&v.describe());
        out.push(';');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> FormValue {
        FormValue::Text(s.to_string())
    }

    #[test]
    fn nested_brackets_build_hashes_and_lists() {
        let form = parse(
            "line_items[0][price]=price_1&line_items[0][quantity]=2&line_items[1][price]=price_2&metadata[order_id]=42&mode=payment",
        )
        .unwrap();
        assert_eq!(form["mode"], text("payment"));
        let FormValue::List(items) = &form["line_items"] else {
            panic!("line_items should be a list: {form:?}")
        };
        assert_eq!(items.len(), 2);
        let FormValue::Map(first) = &items[0] else {
            panic!()
        };
        assert_eq!(first["price"], text("price_1"));
        assert_eq!(first["quantity"], text("2"));
        let FormValue::Map(meta) = &form["metadata"] else {
            panic!()
        };
        assert_eq!(meta["order_id"], text("42"));
    }

    #[test]
    fn both_array_styles_give_the_same_list() {
        let indexed = parse("expand[0]=payment_intent&expand[1]=line_items").unwrap();
        let appended = parse("expand[]=payment_intent&expand[]=line_items").unwrap();
        assert_eq!(indexed, appended);
        assert_eq!(
            indexed["expand"],
            FormValue::List(vec![text("payment_intent"), text("line_items")])
        );
    }

    #[test]
    fn appended_hashes_group_fields_until_one_repeats() {
        let form =
            parse("line_items[][price]=a&line_items[][quantity]=1&line_items[][price]=b").unwrap();
        let FormValue::List(items) = &form["line_items"] else {
            panic!()
        };
        assert_eq!(items.len(), 2);
    }

    #[test]
    fn indices_sort_numerically_not_lexically() {
        let body: Vec<String> = (0..12).map(|i| format!("a[{i}]=v{i}")).collect();
        let form = parse(&body.join("&")).unwrap();
        let FormValue::List(items) = &form["a"] else {
            panic!()
        };
        assert_eq!(items[2], text("v2"));
        assert_eq!(items[11], text("v11"));
    }

    #[test]
    fn empty_values_are_kept_to_mean_unset() {
        let form = parse("description=&metadata[k]=").unwrap();
        assert_eq!(form["description"], text(""));
        let FormValue::Map(meta) = &form["metadata"] else {
            panic!()
        };
        assert_eq!(meta["k"], text(""));
    }

    #[test]
    fn percent_encoded_brackets_and_plus_signs_decode() {
        let form = parse("metadata%5Bnote%5D=hello+world%21&email=a%40b.co").unwrap();
        let FormValue::Map(meta) = &form["metadata"] else {
            panic!()
        };
        assert_eq!(meta["note"], text("hello world!"));
        assert_eq!(form["email"], text("a@b.co"));
    }

    #[test]
    fn malformed_keys_and_bytes_are_errors() {
        assert!(matches!(parse("a]b=1"), Err(FormError::BadKey(_))));
        assert!(matches!(parse("a[b=1"), Err(FormError::BadKey(_))));
        assert!(matches!(parse("[x]=1"), Err(FormError::BadKey(_))));
        assert!(matches!(parse("a=%FF"), Err(FormError::NotUtf8)));
        assert!(matches!(parse("a=1&a[b]=2"), Err(FormError::Conflict(_))));
    }

    #[test]
    fn canonical_form_ignores_parameter_order() {
        let a = parse("b=2&a=1&m[x]=1&m[y]=2").unwrap();
        let b = parse("m[y]=2&a=1&m[x]=1&b=2").unwrap();
        assert_eq!(canonical(&a), canonical(&b));
        let c = parse("b=3&a=1&m[x]=1&m[y]=2").unwrap();
        assert_ne!(canonical(&a), canonical(&c));
    }
}
