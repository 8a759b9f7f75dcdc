//! What a snapshot holds: what the target did in one scenario, as stable text that diffs line
//! by line.
//!
//! Step by step, the state of every order (with the app's own word when it is not the state's
//! name) and the status the app answered to every webhook request; the labelled `snapshot`
//! steps; and each order's final fields (the mapped `[fields]` and `[snapshots].fields`). Only
//! what the same seed and scenario reproduce goes in: ids become the scenario's aliases (`s1`,
//! `s1.payment_intent`, `s1.charge`), and nothing holds a time, a latency or an answer's body.

use serde_json::{Map, Value};

use crate::runner::ScenarioResult;
use crate::target_file::{Fields, Snapshots, MAPPED_FIELDS};
use crate::trace::{AttemptKind, DeliveryTrace};

/// What stands for a redacted value.
pub const REDACTED: &str = "[redacted]";

/// Why the steps of a scenario with a parallel release are not recorded.
pub const RACY_STEPS: &str =
    "not recorded: a parallel release makes the states and answers in between racy";

/// The fields that hold Stripe ids: an id the scenario did not name is shown by its prefix.
const ID_FIELDS: [&str; 2] = ["provider_order_id", "provider_capture_id"];

/// The snapshot of `result` as pretty JSON, one value per line. `racy`: the scenario releases
/// deliveries in parallel, so its steps are left out.
pub fn body(result: &ScenarioResult, racy: bool, fields: &Fields, spec: &Snapshots) -> String {
    let mut root = Map::new();
    root.insert("scenario".into(), Value::String(result.name.clone()));
    if !spec.omits("steps") {
        root.insert(
            "steps".into(),
            if racy {
                Value::String(RACY_STEPS.into())
            } else {
                steps(result, spec)
            },
        );
    }
    if !result.labelled.is_empty() {
        let labelled = result
            .labelled
            .iter()
            .map(|(label, orders)| {
                let orders: Map<String, Value> = orders
                    .iter()
                    .map(|(alias, state)| (alias.clone(), Value::String(state.to_string())))
                    .collect();
                let mut entry = Map::new();
                entry.insert("label".into(), Value::String(label.clone()));
                entry.insert("orders".into(), Value::Object(orders));
                Value::Object(entry)
            })
            .collect();
        root.insert("snapshots".into(), Value::Array(labelled));
    }
    let finals: Map<String, Value> = result
        .final_orders
        .iter()
        .map(|(alias, raw)| (alias.clone(), final_fields(raw, result, fields, spec)))
        .collect();
    root.insert("final".into(), Value::Object(finals));
    serde_json::to_string_pretty(&Value::Object(root)).unwrap_or_default()
}

/// Step by step: the deliveries the app answered, and every order's state afterwards.
fn steps(result: &ScenarioResult, spec: &Snapshots) -> Value {
    // The app's word is part of the record unless its status field is not.
    let words = !spec.omits("status") && !spec.redacts("status");
    let steps = result
        .trace
        .iter()
        .map(|step| {
            let mut entry = Map::new();
            entry.insert(
                "step".into(),
                Value::String(format!("{}: {}", step.number, step.step)),
            );
            if !spec.omits("deliveries") && !step.deliveries.is_empty() {
                let deliveries = step.deliveries.iter().map(delivery).collect();
                entry.insert("deliveries".into(), Value::Array(deliveries));
            }
            if !step.observations.is_empty() {
                let mut observations: Vec<_> = step.observations.iter().collect();
                observations.sort_by(|a, b| a.order.cmp(&b.order));
                let orders: Map<String, Value> = observations
                    .into_iter()
                    .map(|o| {
                        let state = match (&o.word, words) {
                            (Some(word), true) => format!("{word} ({})", o.state),
                            _ => o.state.to_string(),
                        };
                        (o.order.clone(), Value::String(state))
                    })
                    .collect();
                entry.insert("orders".into(), Value::Object(orders));
            }
            Value::Object(entry)
        })
        .collect();
    Value::Array(steps)
}

/// `charge.refunded (retry, attempt 2) → 200`: the event, how it came, what the app answered.
fn delivery(d: &DeliveryTrace) -> Value {
    let answer = match d.status {
        Some(status) => status.to_string(),
        // The error's text names ports and timings: only that there was no answer.
        None if d.kind == AttemptKind::Dropped => "dropped on the way".to_string(),
        None => "no answer".to_string(),
    };
    Value::String(format!(
        "{} ({}) → {answer}",
        d.event_type,
        d.describe_kind()
    ))
}

/// An order's final fields, by their names in the target file.
fn final_fields(raw: &Value, result: &ScenarioResult, fields: &Fields, spec: &Snapshots) -> Value {
    let mut out = Map::new();
    let mapped = MAPPED_FIELDS
        .iter()
        .filter_map(|name| Some((name.to_string(), fields.pointer(name)?.to_string())));
    let extra = spec.fields.iter().map(|(n, p)| (n.clone(), p.clone()));
    for (name, pointer) in mapped.chain(extra) {
        if spec.omits(&name) {
            continue;
        }
        let value = if spec.redacts(&name) {
            Value::String(REDACTED.into())
        } else {
            let value = raw.pointer(&pointer).cloned().unwrap_or(Value::Null);
            aliased(value, result, ID_FIELDS.contains(&name.as_str()))
        };
        out.insert(name, value);
    }
    Value::Object(out)
}

/// `value` with every id the scenario named replaced by its alias; in a field that holds
/// Stripe ids (`stripe_ids`), an id it did not name is shown by its prefix only (`[unnamed ch_…]`).
fn aliased(value: Value, result: &ScenarioResult, stripe_ids: bool) -> Value {
    match value {
        Value::String(text) => match result.aliases.get(&text) {
            Some(alias) => Value::String(alias.clone()),
            None if stripe_ids => Value::String(match text.split_once('_') {
                Some((prefix, _)) if !prefix.is_empty() && prefix.len() <= 6 => {
                    format!("[unnamed {prefix}_…]")
                }
                _ => "[unnamed]".to_string(),
            }),
            None => Value::String(text),
        },
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|v| aliased(v, result, stripe_ids))
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, aliased(v, result, stripe_ids)))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::OrderState;
    use crate::trace::{ObservationTrace, StepTrace};
    use serde_json::json;

    fn result(updated_at: &str, capture: &str) -> ScenarioResult {
        let scenario = crate::Scenario::parse("[[step]]\ncreate_order = { as = \"a\" }\n", "x")
            .expect("a scenario");
        let mut result = ScenarioResult::unplayed(&scenario, 1);
        result.aliases.insert("ord_9f2".into(), "a".into());
        result.aliases.insert("cs_test_1".into(), "s1".into());
        result
            .aliases
            .insert("pi_1".into(), "s1.payment_intent".into());
        result.final_orders.insert(
            "a".into(),
            json!({"id": "ord_9f2", "status": "complete", "amount": 19900, "currency": "USD",
                   "provider": "stripe", "providerOrderId": "cs_test_1",
                   "providerCaptureId": capture, "updatedAt": updated_at}),
        );
        result.trace.push(StepTrace {
            number: 1,
            step: "create_order = { as = \"a\" }".into(),
            outcome: "played".into(),
            duration_ms: 7,
            created: Vec::new(),
            deliveries: Vec::new(),
            calls: Vec::new(),
            output: Vec::new(),
            output_dropped: 0,
            observations: vec![ObservationTrace {
                order: "a".into(),
                state: OrderState::Paid,
                word: Some("complete".into()),
                provider_order_id: None,
                provider_capture_id: None,
                allowed: Vec::new(),
            }],
            checks: Default::default(),
        });
        result
    }

    fn spec(toml: &str) -> Snapshots {
        toml::from_str(toml).expect("a [snapshots] section")
    }

    #[test]
    fn ids_become_aliases_and_unknown_stripe_ids_their_prefix() {
        let fields = Fields::default();
        let extra = spec("fields = { id = \"/id\" }");
        let text = body(&result("t1", "pi_1"), false, &fields, &extra);
        assert!(
            text.contains("\"provider_capture_id\": \"s1.payment_intent\""),
            "{text}"
        );
        assert!(text.contains("\"id\": \"a\""), "{text}");
        assert!(text.contains("\"a\": \"complete (paid)\""), "{text}");
        assert!(!text.contains("cs_test_1") && !text.contains("7"), "{text}");
        let charge = body(&result("t1", "ch_3Qx"), false, &fields, &extra);
        assert!(
            charge.contains("\"provider_capture_id\": \"[unnamed ch_…]\""),
            "{charge}"
        );
    }

    #[test]
    fn a_redacted_field_reads_the_same_whatever_its_value() {
        let fields = Fields::default();
        let redacted = spec("fields = { updatedAt = \"/updatedAt\" }\nredact = [\"updatedAt\"]");
        assert_eq!(
            body(
                &result("2026-12-07T01:00:00Z", "pi_1"),
                false,
                &fields,
                &redacted
            ),
            body(
                &result("2026-12-07T02:59:59Z", "pi_1"),
                false,
                &fields,
                &redacted
            )
        );
        let kept = spec("fields = { updatedAt = \"/updatedAt\" }");
        assert_ne!(
            body(
                &result("2026-12-07T01:00:00Z", "pi_1"),
                false,
                &fields,
                &kept
            ),
            body(
                &result("2026-12-07T02:59:59Z", "pi_1"),
                false,
                &fields,
                &kept
            )
        );
        let omitted = spec("omit = [\"amount\", \"steps\"]");
        let text = body(&result("t", "pi_1"), false, &fields, &omitted);
        assert!(
            !text.contains("amount") && !text.contains("steps"),
            "{text}"
        );
    }
}
