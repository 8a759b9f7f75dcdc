//! How values read on the pages: simulator times in UTC, amounts with their currency, JSON
//! pretty-printed, statuses as coloured pills.

use maud::{html, Markup};
use serde_json::Value;

use crate::clock::civil_date;
use crate::resources::ZERO_DECIMAL;

/// `2026-01-01 00:00:00` (UTC, simulator time).
pub fn time(unix: i64) -> String {
    let (y, m, d) = civil_date(unix);
    let s = unix.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        s / 3600,
        s % 3600 / 60,
        s % 60
    )
}

/// `00:00:00`: the time of day, for the tail.
pub fn time_of_day(unix: i64) -> String {
    time(unix)[11..].to_string()
}

/// `USD 199.00` from minor units.
pub fn money(amount: i64, currency: &str) -> String {
    let upper = currency.to_ascii_uppercase();
    if ZERO_DECIMAL.contains(&currency) {
        return format!("{upper} {amount}");
    }
    let sign = if amount < 0 { "-" } else { "" };
    let abs = amount.unsigned_abs();
    format!("{upper} {sign}{}.{:02}", abs / 100, abs % 100)
}

/// JSON as the API would print it, indented.
pub fn json(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// A string field of a JSON object, or empty.
pub fn field<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key].as_str().unwrap_or_default()
}

/// A status as a pill coloured by what it means.
pub fn pill(status: &str) -> Markup {
    let class = match status {
        "succeeded" | "paid" | "complete" | "enabled" | "auto" | "no_payment_required" => "pill ok",
        "failed" | "canceled" | "expired" | "disabled" | "requires_payment_method" => "pill bad",
        "processing" | "pending" | "held" | "hold" | "unpaid" | "in_flight" | "open"
        | "requires_action" => "pill warn",
        _ => "pill",
    };
    html! { span class=(class) { (status) } }
}

/// An attempt's outcome: `200`, or the error.
pub fn status_code(code: Option<u16>, error: Option<&str>) -> String {
    match (code, error) {
        (Some(code), _) => code.to_string(),
        (None, Some(error)) => format!("error: {error}"),
        (None, None) => "no answer".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc() {
        assert_eq!(time(1_767_225_600), "2026-01-01 00:00:00");
        assert_eq!(time(1_767_225_600 + 3723), "2026-01-01 01:02:03");
        assert_eq!(time_of_day(1_767_225_600 + 3723), "01:02:03");
    }

    #[test]
    fn amounts_read_with_their_currency() {
        assert_eq!(money(19900, "usd"), "USD 199.00");
        assert_eq!(money(5, "eur"), "EUR 0.05");
        assert_eq!(money(500, "jpy"), "JPY 500");
    }
}
