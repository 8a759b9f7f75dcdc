//! Stripe's request encoding: `application/x-www-form-urlencoded` with nested brackets.
//!
//! The official SDKs send `line_items[0][price]=price_1&metadata[order]=42&expand[0]=x`; curl
//! users and stripe-php send `expand[]=x`. Both array styles become lists here. An empty value is
//! kept as an empty string: it means "unset" to the resource that reads it.
//!
//! The parser never recurses on input it has not bounded first: a key is split into at most
//! [`FormLimits::max_depth`] segments before anything walks it, and the tree is built with a loop.
//! A request that goes past one of the [`FormLimits`] gets a 400 naming the parameter instead of
//! taking the server down (a 30 KB URL of `[a]` segments used to overflow the stack).

use std::collections::BTreeMap;

/// How much structure one request may carry. The defaults are far above what real Stripe
/// requests need: `line_items[0][price_data][product_data][metadata][k]` is 5 levels below its
/// name, Stripe allows 50 metadata keys and 100 line items of a dozen fields each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormLimits {
    /// Bracket levels below the parameter's name (`a[b][c]` has 2).
    pub max_depth: usize,
    /// `key=value` pairs in one query string or body.
    pub max_params: usize,
    /// Bytes of one decoded key, brackets included.
    pub max_key_len: usize,
    /// Largest list index (`a[9999]`).
    pub max_index: u64,
}

/// The limits every route applies.
pub const LIMITS: FormLimits = FormLimits {
    max_depth: 16,
    max_params: 4096,
    max_key_len: 512,
    max_index: 9_999,
};

/// The longest rendering of an offending parameter name in an error message.
const NAME_IN_MESSAGE: usize = 80;

/// One parsed value: a string, a hash (`a[b]=…`) or a list (`a[0]=…` / `a[]=…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormValue {
    Text(String),
    Map(BTreeMap<String, FormValue>),
    List(Vec<FormValue>),
}

impl FormValue {
    /// A short rendering for error messages and idempotency fingerprints. Recursion here is
    /// bounded by [`FormLimits::max_depth`]: only parsed values exist.
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
    #[error("Invalid parameter: '{param}' is nested {depth} levels deep; at most {max} levels are allowed")]
    TooDeep {
        param: String,
        depth: usize,
        max: usize,
    },
    #[error(
        "Invalid request: more than {max} parameters (the first one over the limit is '{param}')"
    )]
    TooManyParams { param: String, max: usize },
    #[error("Invalid parameter name: '{param}' is {len} bytes long; at most {max} are allowed")]
    KeyTooLong {
        param: String,
        len: usize,
        max: usize,
    },
    #[error("Invalid array index in '{param}': indices go from 0 to {max}")]
    IndexTooLarge { param: String, max: u64 },
}

impl FormError {
    /// The parameter the error is about, for the error envelope's `param`.
    pub fn param(&self) -> Option<&str> {
        match self {
            FormError::NotUtf8 => None,
            FormError::BadKey(k) | FormError::Conflict(k) => Some(k),
            FormError::TooDeep { param, .. }
            | FormError::TooManyParams { param, .. }
            | FormError::KeyTooLong { param, .. }
            | FormError::IndexTooLarge { param, .. } => Some(param),
        }
    }

    /// Whether the request went past one of the [`FormLimits`] (as opposed to being malformed).
    pub fn is_limit(&self) -> bool {
        matches!(
            self,
            FormError::TooDeep { .. }
                | FormError::TooManyParams { .. }
                | FormError::KeyTooLong { .. }
                | FormError::IndexTooLarge { .. }
        )
    }
}

/// A parameter name short enough to quote in a message.
fn quoted(key: &str) -> String {
    if key.len() <= NAME_IN_MESSAGE {
        return key.to_string();
    }
    let mut end = NAME_IN_MESSAGE;
    while !key.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &key[..end])
}

/// Parses a query string or form body into its top-level parameters, within [`LIMITS`].
pub fn parse(input: &str) -> Result<BTreeMap<String, FormValue>, FormError> {
    parse_with(input, &LIMITS)
}

/// [`parse`] with other limits.
pub fn parse_with(
    input: &str,
    limits: &FormLimits,
) -> Result<BTreeMap<String, FormValue>, FormError> {
    let mut root: BTreeMap<String, Node> = BTreeMap::new();
    for (count, pair) in input.split('&').filter(|p| !p.is_empty()).enumerate() {
        let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        if count >= limits.max_params {
            return Err(FormError::TooManyParams {
                param: quoted(&String::from_utf8_lossy(
                    &percent_encoding::percent_decode_str(raw_key).collect::<Vec<u8>>(),
                )),
                max: limits.max_params,
            });
        }
        // A percent-encoded byte takes three characters: a raw key this long cannot decode
        // short enough, so it is refused before any work is done on it.
        if raw_key.len() > limits.max_key_len * 3 {
            return Err(FormError::KeyTooLong {
                param: quoted(raw_key),
                len: raw_key.len(),
                max: limits.max_key_len,
            });
        }
        let key = decode(raw_key)?;
        if key.len() > limits.max_key_len {
            return Err(FormError::KeyTooLong {
                param: quoted(&key),
                len: key.len(),
                max: limits.max_key_len,
            });
        }
        let value = decode(raw_value)?;
        let path = split_key(&key, limits)?;
        insert(&mut root, &key, &path, value)?;
    }
    root.into_iter()
        .map(|(k, v)| Ok((k.clone(), v.finish(&k, limits)?)))
        .collect()
}

/// Percent-decoding with `+` as space, as browsers and SDKs encode forms.
fn decode(raw: &str) -> Result<String, FormError> {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| FormError::NotUtf8)
}

/// `a[b][0][]` → `["a", "b", "0", ""]`, refusing more than `max_depth` bracket levels.
fn split_key(key: &str, limits: &FormLimits) -> Result<Vec<String>, FormError> {
    let bad = || FormError::BadKey(quoted(key));
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
        if path.len() > limits.max_depth {
            return Err(FormError::TooDeep {
                param: quoted(key),
                depth: key.matches('[').count(),
                max: limits.max_depth,
            });
        }
        // `a[][]`: a list appended inside a list appended to. No SDK sends it, and read as a
        // hash with an empty key it would not survive a re-encoding (found by fuzzing).
        if segment.is_empty() && path.len() > 1 && path.last().is_some_and(String::is_empty) {
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
    /// The finished value. Its recursion is bounded: no tree is deeper than
    /// [`FormLimits::max_depth`] levels, which [`split_key`] enforced.
    fn finish(self, name: &str, limits: &FormLimits) -> Result<FormValue, FormError> {
        Ok(match self {
            Node::Text(s) => FormValue::Text(s),
            Node::Appended(items) => FormValue::List(
                items
                    .into_iter()
                    .map(|n| n.finish(name, limits))
                    .collect::<Result<_, _>>()?,
            ),
            Node::Map(map) => {
                let all_indices = !map.is_empty()
                    && map
                        .keys()
                        .all(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()));
                if all_indices {
                    let mut indexed = Vec::with_capacity(map.len());
                    for (k, v) in map {
                        let index = k.parse::<u64>().ok().filter(|i| *i <= limits.max_index);
                        let Some(index) = index else {
                            return Err(FormError::IndexTooLarge {
                                param: quoted(&format!("{name}[{k}]")),
                                max: limits.max_index,
                            });
                        };
                        indexed.push((index, v));
                    }
                    indexed.sort_by_key(|(i, _)| *i);
                    FormValue::List(
                        indexed
                            .into_iter()
                            .map(|(_, v)| v.finish(name, limits))
                            .collect::<Result<_, _>>()?,
                    )
                } else {
                    FormValue::Map(
                        map.into_iter()
                            .map(|(k, v)| Ok((k, v.finish(name, limits)?)))
                            .collect::<Result<_, _>>()?,
                    )
                }
            }
        })
    }
}

/// Whether `path` can be added to `node` without overwriting a value it already has.
fn fits(mut node: &Node, mut path: &[String]) -> bool {
    loop {
        let Node::Map(map) = node else { return false };
        let Some(child) = map.get(&path[0]) else {
            return true;
        };
        if path.len() < 2 || path[1].is_empty() {
            return false;
        }
        node = child;
        path = &path[1..];
    }
}

/// Adds one `path = value` to the tree, walking down with a loop.
fn insert(
    root: &mut BTreeMap<String, Node>,
    full_key: &str,
    path: &[String],
    value: String,
) -> Result<(), FormError> {
    let conflict = || FormError::Conflict(quoted(full_key));
    let mut map = root;
    let mut path = path;
    loop {
        let (first, rest) = path.split_first().ok_or_else(conflict)?;
        if rest.is_empty() {
            if matches!(map.get(first), Some(Node::Map(_)) | Some(Node::Appended(_))) {
                return Err(conflict());
            }
            map.insert(first.clone(), Node::Text(value));
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
            (Node::Map(child), false) => {
                map = child;
                path = rest;
            }
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
                    Some(Node::Map(child)) => {
                        map = child;
                        path = after;
                    }
                    _ => return Err(conflict()),
                }
            }
            _ => return Err(conflict()),
        }
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
    fn a_list_appended_inside_an_appended_list_is_refused() {
        for input in ["a[][]=1", "a[][][x]=1", "a[0][][]=1"] {
            assert!(
                matches!(parse(input), Err(FormError::BadKey(_))),
                "{input}: {:?}",
                parse(input)
            );
        }
        assert!(parse("a[][x]=1&b[0][]=2").is_ok());
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

    #[test]
    fn deep_nesting_is_an_error_naming_the_parameter_not_a_crash() {
        let key = format!("x{}", "[a]".repeat(10_000));
        let err = parse(&format!("{key}=1")).unwrap_err();
        assert!(matches!(err, FormError::KeyTooLong { .. }), "{err:?}");
        let key = format!("x{}", "[a]".repeat(LIMITS.max_depth + 1));
        let err = parse(&format!("{key}=1")).unwrap_err();
        assert!(matches!(err, FormError::TooDeep { .. }), "{err:?}");
        assert!(err.param().unwrap().starts_with("x[a][a]"));
        assert!(err.is_limit());
    }

    #[test]
    fn what_real_stripe_requests_need_fits_within_the_limits() {
        let mut pairs: Vec<String> = (0..50)
            .map(|i| format!("line_items[0][price_data][product_data][metadata][key{i}]=v"))
            .collect();
        for item in 0..100 {
            pairs.push(format!("line_items[{item}][quantity]=1"));
            pairs.push(format!("line_items[{item}][price]=price_{item}"));
        }
        pairs.push(format!("a{}=1", "[b]".repeat(LIMITS.max_depth)));
        let form = parse(&pairs.join("&")).unwrap();
        let FormValue::List(items) = &form["line_items"] else {
            panic!()
        };
        assert_eq!(items.len(), 100);
    }

    #[test]
    fn too_many_parameters_long_keys_and_huge_indices_are_errors() {
        let many: Vec<String> = (0..=LIMITS.max_params).map(|i| format!("k{i}=1")).collect();
        assert!(matches!(
            parse(&many.join("&")),
            Err(FormError::TooManyParams { .. })
        ));
        let long = "k".repeat(LIMITS.max_key_len + 1);
        assert!(matches!(
            parse(&format!("{long}=1")),
            Err(FormError::KeyTooLong { .. })
        ));
        let err = parse("a[99999999999999999999999]=1").unwrap_err();
        assert!(matches!(err, FormError::IndexTooLarge { .. }), "{err:?}");
        assert_eq!(err.param(), Some("a[99999999999999999999999]"));
        assert!(parse(&format!("a[{}]=1", LIMITS.max_index)).is_ok());
    }
}
