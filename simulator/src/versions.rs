//! Stripe API versions: which ones exist, and how an object looks at each of them.
//!
//! Every object is rendered once, in the shape of the newest version the simulator knows (the
//! canonical shape). [`render`] then walks an answer and undoes, newest first, each breaking
//! change Stripe made after the version asked for, as Stripe's own version-change modules do. An
//! answer at a version no change predates is never walked, so the default costs nothing.
//!
//! Which version applies: a request's `Stripe-Version` header, else the account's default
//! (`--api-version`); an event is rendered at the version that was the account's default when it
//! happened (its `api_version`), and a webhook delivery at its endpoint's `api_version` when the
//! endpoint pins one. [`CHANGES`] lists what is rendered; the README's table of versions says
//! what is not.

use std::fmt;

use serde_json::{json, Map, Value};

use crate::error::ApiError;

/// Every API version Stripe has published, oldest first: the values Stripe's own spec accepts
/// for a webhook endpoint's `api_version` (stripe-node 23.1.0's `WebhookEndpointCreateParams`;
/// `tests/api_versions.rs` checks this list against the extract of those types).
pub const PUBLISHED: &[&str] = &[
    "2011-01-01",
    "2011-06-21",
    "2011-06-28",
    "2011-08-01",
    "2011-09-15",
    "2011-11-17",
    "2012-02-23",
    "2012-03-25",
    "2012-06-18",
    "2012-06-28",
    "2012-07-09",
    "2012-09-24",
    "2012-10-26",
    "2012-11-07",
    "2013-02-11",
    "2013-02-13",
    "2013-07-05",
    "2013-08-12",
    "2013-08-13",
    "2013-10-29",
    "2013-12-03",
    "2014-01-31",
    "2014-03-13",
    "2014-03-28",
    "2014-05-19",
    "2014-06-13",
    "2014-06-17",
    "2014-07-22",
    "2014-07-26",
    "2014-08-04",
    "2014-08-20",
    "2014-09-08",
    "2014-10-07",
    "2014-11-05",
    "2014-11-20",
    "2014-12-08",
    "2014-12-17",
    "2014-12-22",
    "2015-01-11",
    "2015-01-26",
    "2015-02-10",
    "2015-02-16",
    "2015-02-18",
    "2015-03-24",
    "2015-04-07",
    "2015-06-15",
    "2015-07-07",
    "2015-07-13",
    "2015-07-28",
    "2015-08-07",
    "2015-08-19",
    "2015-09-03",
    "2015-09-08",
    "2015-09-23",
    "2015-10-01",
    "2015-10-12",
    "2015-10-16",
    "2016-02-03",
    "2016-02-19",
    "2016-02-22",
    "2016-02-23",
    "2016-02-29",
    "2016-03-07",
    "2016-06-15",
    "2016-07-06",
    "2016-10-19",
    "2017-01-27",
    "2017-02-14",
    "2017-04-06",
    "2017-05-25",
    "2017-06-05",
    "2017-08-15",
    "2017-12-14",
    "2018-01-23",
    "2018-02-05",
    "2018-02-06",
    "2018-02-28",
    "2018-05-21",
    "2018-07-27",
    "2018-08-23",
    "2018-09-06",
    "2018-09-24",
    "2018-10-31",
    "2018-11-08",
    "2019-02-11",
    "2019-02-19",
    "2019-03-14",
    "2019-05-16",
    "2019-08-14",
    "2019-09-09",
    "2019-10-08",
    "2019-10-17",
    "2019-11-05",
    "2019-12-03",
    "2020-03-02",
    "2020-08-27",
    "2022-08-01",
    "2022-11-15",
    "2023-08-16",
    "2023-10-16",
    "2024-04-10",
    "2024-06-20",
    "2024-09-30.acacia",
    "2024-10-28.acacia",
    "2024-11-20.acacia",
    "2024-12-18.acacia",
    "2025-01-27.acacia",
    "2025-02-24.acacia",
    "2025-03-01.dashboard",
    "2025-03-31.basil",
    "2025-04-30.basil",
    "2025-05-28.basil",
    "2025-06-30.basil",
    "2025-07-30.basil",
    "2025-08-27.basil",
    "2025-09-30.clover",
    "2025-10-29.clover",
    "2025-11-17.clover",
    "2025-12-15.clover",
    "2026-01-28.clover",
    "2026-02-25.clover",
    "2026-03-25.dahlia",
    "2026-04-22.dahlia",
    "2026-05-27.dahlia",
    "2026-06-24.dahlia",
    "2026-07-29.dahlia",
    "2026-08-26.dahlia",
    "2026-09-30.endive",
    "2026-10-28.endive",
];

/// A published API version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiVersion(u16);

impl ApiVersion {
    /// The version named `text`, if Stripe published it.
    pub fn parse(text: &str) -> Option<ApiVersion> {
        PUBLISHED
            .iter()
            .position(|v| *v == text)
            .and_then(|i| u16::try_from(i).ok())
            .map(ApiVersion)
    }

    /// Every published version, oldest first.
    pub fn published() -> &'static [&'static str] {
        PUBLISHED
    }

    /// The newest published version: the canonical shape of every object.
    pub fn latest() -> ApiVersion {
        ApiVersion(PUBLISHED.len().saturating_sub(1) as u16)
    }

    pub fn as_str(self) -> &'static str {
        PUBLISHED
            .get(usize::from(self.0))
            .copied()
            .unwrap_or_default()
    }

    /// Whether this version predates the release of `date` (`2022-11-15`): versions are named
    /// after their release date, so names compare in time order.
    pub fn before(self, date: &str) -> bool {
        self.as_str() < date
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Stored and sent as its name (`2026-10-28.endive`), never as its place in the list.
impl serde::Serialize for ApiVersion {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for ApiVersion {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        ApiVersion::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("Invalid Stripe API version: {text}")))
    }
}

/// 400 for a `Stripe-Version` Stripe never published, in Stripe's words.
pub fn invalid(value: &str) -> ApiError {
    ApiError::invalid(format!("Invalid Stripe API version: {value}"), None)
}

/// Reads a version a caller asked for (`--api-version`, a header, an endpoint's `api_version`).
pub fn parse_or_invalid(value: &str) -> Result<ApiVersion, ApiError> {
    ApiVersion::parse(value).ok_or_else(|| invalid(value))
}

/// The lists older versions embed in an object, which the canonical shape leaves out.
pub trait Embedded {
    /// `charge.refunds` before 2022-11-15: every refund of the charge.
    fn charge_refunds(&self, charge: &str) -> Value;
    /// `payment_intent.charges` before 2022-11-15: every charge of the PaymentIntent.
    fn intent_charges(&self, intent: &str) -> Value;
}

/// One breaking change: objects of type `object` looked different before `since`.
pub struct Change {
    /// The first version with the new shape (a release date).
    pub since: &'static str,
    pub object: &'static str,
    /// What versions before `since` show: the README's table says it in these words (a test
    /// checks).
    #[cfg_attr(not(test), allow(dead_code))]
    pub before: &'static str,
    apply: fn(&mut Map<String, Value>, &dyn Embedded),
}

/// Every change rendered, newest first (the order they are undone in).
pub const CHANGES: &[Change] = &[
    Change {
        since: "2026-03-25",
        object: "checkout.session",
        before: "`ui_mode` is `hosted` (`hosted_page` from dahlia on)",
        apply: older_ui_mode,
    },
    Change {
        since: "2025-03-31",
        object: "checkout.session",
        before: "`shipping_details` (null) is present",
        apply: |map, _| insert_null(map, "shipping_details"),
    },
    Change {
        since: "2025-03-31",
        object: "charge",
        before: "`invoice` (null) is present",
        apply: |map, _| insert_null(map, "invoice"),
    },
    Change {
        since: "2025-03-31",
        object: "payment_intent",
        before: "`invoice` (null) is present",
        apply: |map, _| insert_null(map, "invoice"),
    },
    Change {
        since: "2022-11-15",
        object: "charge",
        before: "`refunds` is included (a list with `total_count`), not only on `expand[]=refunds`",
        apply: |map, embedded| {
            if !map.contains_key("refunds") {
                let id = map.get("id").and_then(Value::as_str).unwrap_or_default();
                let refunds = embedded.charge_refunds(id);
                map.insert("refunds".into(), refunds);
            }
        },
    },
    Change {
        since: "2022-11-15",
        object: "payment_intent",
        before: "`charges` is included (a list of every charge, with `total_count`)",
        apply: |map, embedded| {
            if !map.contains_key("charges") {
                let id = map.get("id").and_then(Value::as_str).unwrap_or_default();
                let charges = embedded.intent_charges(id);
                map.insert("charges".into(), charges);
            }
        },
    },
];

fn insert_null(map: &mut Map<String, Value>, field: &str) {
    if !map.contains_key(field) {
        map.insert(field.into(), Value::Null);
    }
}

/// Before dahlia, Checkout named its UI modes `hosted`, `embedded` and `custom`.
fn older_ui_mode(map: &mut Map<String, Value>, _: &dyn Embedded) {
    let older = match map.get("ui_mode").and_then(Value::as_str) {
        Some("hosted_page") => "hosted",
        Some("embedded_page") => "embedded",
        Some("elements") => "custom",
        _ => return,
    };
    map.insert("ui_mode".into(), json!(older));
}

/// Whether an object of type `object` looks different at `version` than in its canonical shape.
pub fn touches(object: &str, version: ApiVersion) -> bool {
    CHANGES
        .iter()
        .any(|c| c.object == object && version.before(c.since))
}

/// Renders an answer at `version`: every object in it (expanded ones, list items) takes the
/// shape it had then. Events are left alone: their `data` is rendered at their own version.
pub fn render(value: &mut Value, version: ApiVersion, embedded: &dyn Embedded) {
    if CHANGES.iter().any(|c| version.before(c.since)) {
        walk(value, version, embedded);
    }
}

fn walk(value: &mut Value, version: ApiVersion, embedded: &dyn Embedded) {
    match value {
        Value::Object(map) => {
            let object = map.get("object").and_then(Value::as_str).map(str::to_owned);
            if object.as_deref() == Some("event") {
                return;
            }
            if let Some(object) = object {
                for change in CHANGES
                    .iter()
                    .filter(|c| c.object == object && version.before(c.since))
                {
                    (change.apply)(map, embedded);
                }
            }
            for child in map.values_mut() {
                walk(child, version, embedded);
            }
        }
        Value::Array(items) => {
            for item in items {
                walk(item, version, embedded);
            }
        }
        _ => {}
    }
}

/// An old-version sublist: `{"object": "list", "data", "has_more", "total_count", "url"}`.
pub fn embedded_list(url: &str, data: Vec<Value>) -> Value {
    json!({
        "object": "list",
        "data": data,
        "has_more": false,
        "total_count": data.len(),
        "url": url,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoLists;
    impl Embedded for NoLists {
        fn charge_refunds(&self, charge: &str) -> Value {
            embedded_list(&format!("/v1/charges/{charge}/refunds"), vec![])
        }
        fn intent_charges(&self, intent: &str) -> Value {
            embedded_list(&format!("/v1/charges?payment_intent={intent}"), vec![])
        }
    }

    fn v(text: &str) -> ApiVersion {
        ApiVersion::parse(text).unwrap_or_else(|| panic!("{text} is published"))
    }

    #[test]
    fn published_versions_are_in_time_order_and_the_newest_is_endive() {
        assert!(PUBLISHED.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(ApiVersion::latest().as_str(), "2026-10-28.endive");
        assert!(v("2022-08-01") < v("2022-11-15"));
        assert!(v("2022-08-01").before("2022-11-15"));
        assert!(!v("2022-11-15").before("2022-11-15"));
        assert!(!v("2026-03-25.dahlia").before("2026-03-25"));
        assert!(v("2026-02-25.clover").before("2026-03-25"));
    }

    #[test]
    fn unknown_versions_are_refused_in_stripes_words() {
        assert!(ApiVersion::parse("garbage").is_none());
        assert!(ApiVersion::parse("2019-2-19").is_none());
        let error = invalid("garbage");
        assert_eq!(error.status, 400);
        assert_eq!(error.message, "Invalid Stripe API version: garbage");
        assert_eq!(error.body()["error"]["type"], "invalid_request_error");
    }

    #[test]
    fn a_version_reads_and_writes_itself_as_its_name() {
        let version = v("2022-11-15");
        assert_eq!(serde_json::to_value(version).unwrap(), json!("2022-11-15"));
        assert_eq!(
            serde_json::from_value::<ApiVersion>(json!("2022-11-15")).unwrap(),
            version
        );
        assert!(serde_json::from_value::<ApiVersion>(json!("2022-13-15")).is_err());
    }

    #[test]
    fn the_newest_version_changes_nothing() {
        let mut session = json!({ "object": "checkout.session", "ui_mode": "hosted_page" });
        let canonical = session.clone();
        render(&mut session, ApiVersion::latest(), &NoLists);
        assert_eq!(session, canonical);
    }

    #[test]
    fn before_dahlia_hosted_checkout_is_hosted() {
        let mut session = json!({ "object": "checkout.session", "ui_mode": "hosted_page" });
        render(&mut session, v("2026-02-25.clover"), &NoLists);
        assert_eq!(session["ui_mode"], "hosted");
        assert!(session.get("shipping_details").is_none());
        render(&mut session, v("2024-06-20"), &NoLists);
        assert_eq!(session["shipping_details"], Value::Null);
    }

    #[test]
    fn before_2022_11_15_charges_carry_their_refunds_even_when_nested() {
        let mut intent = json!({
            "object": "payment_intent",
            "id": "pi_1",
            "latest_charge": { "object": "charge", "id": "ch_1" },
        });
        render(&mut intent, v("2022-08-01"), &NoLists);
        assert_eq!(intent["charges"]["url"], "/v1/charges?payment_intent=pi_1");
        assert_eq!(intent["charges"]["total_count"], 0);
        assert_eq!(intent["invoice"], Value::Null);
        assert_eq!(
            intent["latest_charge"]["refunds"]["url"],
            "/v1/charges/ch_1/refunds"
        );
        let mut newer = json!({ "object": "charge", "id": "ch_1" });
        render(&mut newer, v("2022-11-15"), &NoLists);
        assert!(newer.get("refunds").is_none());
    }

    #[test]
    fn the_readme_lists_every_rendered_change() {
        let readme = include_str!("../../README.md");
        for change in CHANGES {
            let row = readme.lines().find(|line| {
                line.starts_with(&format!("| `{}`", change.since))
                    && line.contains(&format!("| `{}` |", change.object))
                    && line.contains(change.before)
            });
            assert!(
                row.is_some(),
                "README: no row for {} {} ({})",
                change.since,
                change.object,
                change.before
            );
        }
    }

    #[test]
    fn events_keep_the_version_they_were_rendered_at() {
        let mut event = json!({
            "object": "event",
            "data": { "object": { "object": "checkout.session", "ui_mode": "hosted_page" } },
        });
        render(&mut event, v("2023-10-16"), &NoLists);
        assert_eq!(event["data"]["object"]["ui_mode"], "hosted_page");
    }
}
