//! Percent-encoding of the values the harness puts into URLs (order ids in paths,
//! `client_reference_id` in a payment link's query).
//!
//! RFC 3986 §2.3: the unreserved characters `A–Z a–z 0–9 - . _ ~` are never encoded, and a URI
//! that encodes them is a different string to anything that compares paths as sent. Python's
//! `http.server`, and any router that matches the raw path, answered 404 to
//! `/api/orders/c766bb75%2D9401…` when the harness encoded every non-alphanumeric byte.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but the unreserved characters.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `text` as one path segment or query value: unreserved characters as they are, every other
/// byte of its UTF-8 as `%XX`.
pub fn encode_component(text: &str) -> String {
    utf8_percent_encode(text, COMPONENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreserved_characters_stay_as_they_are() {
        assert_eq!(
            encode_component("c766bb75-9401-4a1b.x_y~z"),
            "c766bb75-9401-4a1b.x_y~z"
        );
    }

    #[test]
    fn reserved_and_non_ascii_characters_are_encoded() {
        assert_eq!(encode_component("a/b?c#d e"), "a%2Fb%3Fc%23d%20e");
        assert_eq!(encode_component("é"), "%C3%A9");
    }
}
