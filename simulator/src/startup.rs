//! The checks `stripe-sim serve` makes before it listens, so that a mistake stops it at once with
//! a message instead of a server that refuses every request or is open to the network unawares.

use std::net::IpAddr;

/// The prefixes of the keys a test-mode account has: secret and restricted.
const TEST_KEY_PREFIXES: &[&str] = &["sk_test_", "rk_test_"];

/// The API key must be a test-mode secret or restricted key (`sk_test_…`, `rk_test_…`) made of
/// characters a header can carry. A live key (or an empty one) would be refused on every request
/// anyway: better to say so now.
pub fn check_api_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("--api-key / STRIPE_SECRET_KEY is empty: give a test key (sk_test_… or rk_test_…), or leave it unset for sk_test_stripesim.".to_string());
    }
    if key.starts_with("sk_live_") || key.starts_with("rk_live_") {
        return Err(format!(
            "--api-key / STRIPE_SECRET_KEY is a live-mode key ({}): stripe-sim is a test simulator and must never hold a live key. Give a test key (sk_test_… or rk_test_…).",
            redact_key(key)
        ));
    }
    let prefixed = TEST_KEY_PREFIXES
        .iter()
        .any(|p| key.len() > p.len() && key.starts_with(p));
    if !prefixed {
        return Err(format!(
            "--api-key / STRIPE_SECRET_KEY must start with sk_test_ or rk_test_ and go on after it ({} does not).",
            redact_key(key)
        ));
    }
    if !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(
            "--api-key / STRIPE_SECRET_KEY may hold only visible ASCII characters (no spaces or control characters): a client could not send it in a header."
                .to_string(),
        );
    }
    Ok(())
}

/// A warning when the simulator listens beyond this machine: its API key is printed, shipped as
/// a default and usually committed in test settings, so anyone who can reach the port can use it.
pub fn exposure_warning(bind: IpAddr) -> Option<String> {
    if bind.is_loopback() {
        return None;
    }
    Some(format!(
        "warning: stripe-sim listens on {bind}, beyond this machine. Its API key is no secret (it is printed, shipped as a default and kept in test settings): anyone who can reach this port can use the API, the control API (/_sim) and its webhook endpoints. Bind to 127.0.0.1 unless another machine or container must reach it."
    ))
}

/// `sk_test_****abcd`: enough to tell keys apart, not enough to use one.
pub fn redact_key(key: &str) -> String {
    let prefix = ["sk_test_", "rk_test_", "sk_live_", "rk_live_"]
        .into_iter()
        .find(|p| key.starts_with(p))
        .unwrap_or("");
    let rest = &key[prefix.len()..];
    let tail: String = if rest.chars().count() > 8 {
        let skip = rest.chars().count() - 4;
        rest.chars().skip(skip).collect()
    } else {
        String::new()
    };
    format!("{prefix}****{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_test_keys_pass() {
        assert!(check_api_key("sk_test_stripesim").is_ok());
        assert!(check_api_key("rk_test_restricted").is_ok());
        for bad in [
            "",
            "sk_live_realmoney",
            "rk_live_realmoney",
            "pk_test_publishable",
            "sk_test_",
            "stripesim",
            "sk_test_with space",
            "sk_test_tab\tkey",
        ] {
            assert!(check_api_key(bad).is_err(), "{bad:?} passed");
        }
    }

    #[test]
    fn a_live_key_is_named_redacted_in_the_message() {
        let message = check_api_key("sk_live_realmoney1234").expect_err("refused");
        assert!(message.contains("live-mode"), "{message}");
        assert!(message.contains("sk_live_****1234"), "{message}");
        assert!(!message.contains("realmoney"), "{message}");
    }

    #[test]
    fn only_loopback_binds_go_unwarned() {
        assert!(exposure_warning("127.0.0.1".parse().expect("ip")).is_none());
        assert!(exposure_warning("::1".parse().expect("ip")).is_none());
        assert!(exposure_warning("0.0.0.0".parse().expect("ip")).is_some());
        assert!(exposure_warning("192.168.1.5".parse().expect("ip")).is_some());
    }

    #[test]
    fn short_keys_show_no_tail() {
        assert_eq!(redact_key("sk_test_abc"), "sk_test_****");
        assert_eq!(redact_key("sk_test_0123456789"), "sk_test_****6789");
    }
}
