//! `expand[]`: replacing an id in a response with the object it names, as Stripe does for the
//! fields it marks expandable. Webhook payloads are never expanded.

use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::store::Store;

/// Fields that can be expanded, per object type.
fn expandable(object: &str, field: &str) -> bool {
    matches!(
        (object, field),
        (
            "checkout.session",
            "payment_intent" | "line_items" | "customer" | "payment_link"
        ) | (
            "payment_intent",
            "latest_charge" | "customer" | "payment_method"
        ) | ("charge", "payment_intent" | "customer" | "refunds")
            | ("refund", "charge" | "payment_intent")
            | ("price", "product")
            | ("product", "default_price")
            | ("payment_link", "line_items")
    )
}

/// Applies every `expand[]` path to a response (an object or a list whose paths start `data.`).
pub fn apply(store: &Store, value: &mut Value, paths: &[String]) -> ApiResult<()> {
    for path in paths {
        let segments: Vec<&str> = path.split('.').collect();
        if segments.len() > 4 {
            return Err(ApiError::invalid(
                format!("You cannot expand more than 4 levels of a property. Property: {path}"),
                Some("expand"),
            ));
        }
        expand_path(store, value, &segments, path)?;
    }
    Ok(())
}

fn expand_path(store: &Store, value: &mut Value, segments: &[&str], full: &str) -> ApiResult<()> {
    let Some((field, rest)) = segments.split_first() else {
        return Ok(());
    };
    let object = value["object"].as_str().unwrap_or_default().to_string();
    if object == "list" {
        if *field != "data" {
            return Err(cannot_expand(full));
        }
        if let Some(items) = value["data"].as_array_mut() {
            for item in items {
                expand_path(store, item, rest, full)?;
            }
        }
        return Ok(());
    }
    if !expandable(&object, field) {
        return Err(cannot_expand(full));
    }
    let Some(map) = value.as_object_mut() else {
        return Ok(());
    };
    let id = map
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let replacement = match (*field, map.get(*field)) {
        ("line_items", _) => Some(line_items(store, &object, &id)),
        ("refunds", _) => Some(store.charge_refunds_list(&id)),
        (_, Some(Value::String(target))) => store.render_by_id(target),
        _ => None,
    };
    if let Some(new_value) = replacement {
        map.insert(field.to_string(), new_value);
    }
    if !rest.is_empty() {
        if let Some(child) = map.get_mut(*field) {
            if child.is_object() {
                expand_path(store, child, rest, full)?;
            }
        }
    }
    Ok(())
}

fn line_items(store: &Store, object: &str, id: &str) -> Value {
    let (items, url) = match object {
        "checkout.session" => (
            store.sessions.get(id).map(|s| s.line_items.clone()),
            format!("/v1/checkout/sessions/{id}/line_items"),
        ),
        _ => (
            store.payment_links.get(id).map(|l| l.line_items.clone()),
            format!("/v1/payment_links/{id}/line_items"),
        ),
    };
    let data: Vec<Value> = items
        .unwrap_or_default()
        .iter()
        .map(|i| i.render(store))
        .collect();
    crate::store::list_object(&url, data, false)
}

fn cannot_expand(path: &str) -> ApiError {
    ApiError::invalid(
        format!("This property cannot be expanded ({path})."),
        Some("expand"),
    )
}

/// The type of object an expandable field holds once expanded.
fn expanded_type(field: &str) -> &'static str {
    match field {
        "payment_intent" => "payment_intent",
        "latest_charge" | "charge" => "charge",
        "customer" => "customer",
        "payment_method" => "payment_method",
        "payment_link" => "payment_link",
        "product" => "product",
        "default_price" => "price",
        "line_items" => "list:item",
        "refunds" => "list:refund",
        _ => "",
    }
}

/// Checks `expand[]` paths before an operation runs, so that a bad path is refused without
/// changing anything. `object` is the type returned; `list:<type>` for a list of them.
pub fn validate(object: &str, paths: &[String]) -> ApiResult<()> {
    for path in paths {
        let mut current = object.to_string();
        let segments: Vec<&str> = path.split('.').collect();
        if segments.len() > 4 {
            return Err(ApiError::invalid(
                format!("You cannot expand more than 4 levels of a property. Property: {path}"),
                Some("expand"),
            ));
        }
        for segment in segments {
            if let Some(item) = current.strip_prefix("list:") {
                if segment != "data" {
                    return Err(cannot_expand(path));
                }
                current = item.to_string();
                continue;
            }
            if !expandable(&current, segment) {
                return Err(cannot_expand(path));
            }
            current = expanded_type(segment).to_string();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expandable_paths_are_accepted_and_others_refused() {
        let paths = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(validate(
            "checkout.session",
            &paths(&["payment_intent", "line_items"])
        )
        .is_ok());
        assert!(validate(
            "checkout.session",
            &paths(&["payment_intent.latest_charge"])
        )
        .is_ok());
        assert!(validate("list:checkout.session", &paths(&["data.payment_intent"])).is_ok());
        assert!(validate(
            "checkout.session",
            &paths(&["line_items.data.price.product"])
        )
        .is_err());
        let err = validate("checkout.session", &paths(&["client_reference_id"])).unwrap_err();
        assert_eq!(
            err.message,
            "This property cannot be expanded (client_reference_id)."
        );
        assert!(validate("list:checkout.session", &paths(&["payment_intent"])).is_err());
    }
}
