//! Checking the URLs clients give: `success_url`, `cancel_url`, a payment link's
//! `after_completion[redirect][url]`, webhook endpoint `url`s, `/_sim/webhooks/deliver`'s `url`
//! and `--forward-to` / `--public-url`.
//!
//! Every one of them ends up somewhere that must not break: a `Location` header of the hosted
//! page, the request line and `Host` header of a webhook delivery. A URL is therefore parsed
//! with the `url` crate (WHATWG rules, as browsers read it) and refused when it is not an
//! absolute `http`/`https` URL with a host, when it is longer than Stripe allows, or when it
//! holds a control character: raw anywhere (a header cannot carry one), or percent-encoded in
//! the user name or password (an HTTP client decodes those into an `Authorization` header; the
//! host is decoded and checked by the parser itself). Percent-encoded bytes in the path, query or
//! fragment stay encoded on the wire, so they are allowed.
//!
//! The literal `{CHECKOUT_SESSION_ID}` that Stripe replaces after a payment is checked as the URL
//! it will become.

use crate::error::ApiError;

/// Stripe's limit on `success_url` and the other URL parameters.
pub const MAX_URL_LEN: usize = 5000;

/// The placeholder Stripe replaces with the session id in redirect URLs.
pub const SESSION_ID_PLACEHOLDER: &str = "{CHECKOUT_SESSION_ID}";

/// What the placeholder is checked as: a session id has this shape.
const SAMPLE_SESSION_ID: &str = "cs_test_a1b2c3";

/// Why a URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlProblem {
    #[error("the URL is empty")]
    Empty,
    #[error("the URL is {0} characters long; at most {MAX_URL_LEN} are allowed")]
    TooLong(usize),
    #[error("the URL contains a control character")]
    ControlCharacter,
    #[error("the URL's user name or password contains an encoded control character")]
    EncodedControlCharacter,
    #[error("the URL is not an absolute URL ({0})")]
    Unparsable(url::ParseError),
    #[error("the URL's scheme must be http or https, not '{0}'")]
    Scheme(String),
    #[error("the URL has no host")]
    NoHost,
}

/// Parses `raw` and applies the rules above; answers the URL as it will be used (placeholder
/// replaced by a sample session id).
pub fn parse(raw: &str) -> Result<url::Url, UrlProblem> {
    if raw.is_empty() {
        return Err(UrlProblem::Empty);
    }
    let len = raw.chars().count();
    if len > MAX_URL_LEN {
        return Err(UrlProblem::TooLong(len));
    }
    // The parser would silently drop tabs and newlines and trim other controls: refuse them
    // first, as the raw string is what gets stored and echoed into headers.
    if raw.chars().any(char::is_control) {
        return Err(UrlProblem::ControlCharacter);
    }
    let url = url::Url::parse(&raw.replace(SESSION_ID_PLACEHOLDER, SAMPLE_SESSION_ID))
        .map_err(UrlProblem::Unparsable)?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(UrlProblem::Scheme(url.scheme().to_string()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(UrlProblem::NoHost);
    }
    let decodes_to_control =
        |part: &str| percent_encoding::percent_decode_str(part).any(|b| b.is_ascii_control());
    if decodes_to_control(url.username()) || url.password().is_some_and(decodes_to_control) {
        return Err(UrlProblem::EncodedControlCharacter);
    }
    Ok(url)
}

/// A redirect URL of Checkout or a payment link: 400 "Not a valid URL" (`url_invalid`), Stripe's
/// words, naming `param`.
pub fn check_redirect_url(raw: &str, param: &str) -> Result<(), ApiError> {
    parse(raw)
        .map(drop)
        .map_err(|_| ApiError::invalid("Not a valid URL", Some(param)).with_code("url_invalid"))
}

/// A webhook endpoint URL: 400 "Invalid URL: …" (`url_invalid`), naming `param`.
pub fn check_endpoint_url(raw: &str, param: &str) -> Result<(), ApiError> {
    parse(raw).map(drop).map_err(|problem| {
        ApiError::invalid(format!("Invalid URL: {problem}."), Some(param)).with_code("url_invalid")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_http_and_https_urls_pass_with_their_placeholder() {
        for ok in [
            "https://example.com/thanks?session_id={CHECKOUT_SESSION_ID}",
            "http://localhost:3000/dashboard/billing?provider=stripe&session_id={CHECKOUT_SESSION_ID}",
            "https://example.com/{CHECKOUT_SESSION_ID}/done",
            "http://127.0.0.1:8080/hook",
            "https://example.com/a%0Ab",
            "https://example.com/caf\u{e9}",
        ] {
            assert!(parse(ok).is_ok(), "{ok} should pass: {:?}", parse(ok));
        }
    }

    /// What a refused URL's problem must look like.
    type Expected = fn(&UrlProblem) -> bool;

    #[test]
    fn other_schemes_relative_urls_and_controls_are_refused() {
        let cases: &[(&str, Expected)] = &[
            ("", |p| *p == UrlProblem::Empty),
            ("example.com/thanks", |p| {
                matches!(p, UrlProblem::Unparsable(_))
            }),
            ("javascript:alert(1)", |p| {
                matches!(p, UrlProblem::Scheme(_))
            }),
            ("ftp://example.com/", |p| matches!(p, UrlProblem::Scheme(_))),
            ("file:///etc/passwd", |p| matches!(p, UrlProblem::Scheme(_))),
            ("https://example.com/\u{1}", |p| {
                *p == UrlProblem::ControlCharacter
            }),
            ("https://example.com/a\r\nSet-Cookie: x=1", |p| {
                *p == UrlProblem::ControlCharacter
            }),
            ("https://example.com/\t", |p| {
                *p == UrlProblem::ControlCharacter
            }),
            ("https://exa%0Dmple.com/", |p| {
                matches!(p, UrlProblem::Unparsable(_))
            }),
            ("https://us%0Aer:pw@example.com/", |p| {
                *p == UrlProblem::EncodedControlCharacter
            }),
            ("https://user:p%00w@example.com/", |p| {
                *p == UrlProblem::EncodedControlCharacter
            }),
            ("http://", |p| matches!(p, UrlProblem::Unparsable(_))),
        ];
        for (url, expected) in cases {
            let problem = parse(url).expect_err(url);
            assert!(expected(&problem), "{url:?}: {problem:?}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert!(matches!(parse(&long), Err(UrlProblem::TooLong(_))));
    }

    #[test]
    fn errors_use_stripes_words_and_name_the_parameter() {
        let e = check_redirect_url("nope", "success_url").expect_err("refused");
        assert_eq!(e.message, "Not a valid URL");
        assert_eq!(e.param.as_deref(), Some("success_url"));
        assert_eq!(e.code, Some("url_invalid"));
        let e = check_endpoint_url("gopher://x", "url").expect_err("refused");
        assert!(e.message.starts_with("Invalid URL: "), "{}", e.message);
        assert_eq!(e.param.as_deref(), Some("url"));
    }
}
