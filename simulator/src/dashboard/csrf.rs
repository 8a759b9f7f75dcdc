//! CSRF protection for the dashboard's buttons: every state-changing request is a POST form
//! carrying a token that only a page of the dashboard could have put there.
//!
//! The token is an HMAC, keyed by the API key, of the login session it belongs to (a cookie
//! login's session id, or `basic` for HTTP Basic): nothing is stored, another login gets another
//! token, and a page on another site can neither read nor compute it. The login cookie is also
//! `SameSite=Strict`; the token is what protects HTTP Basic, whose credentials a browser sends
//! to any request. Notices shown after an action are signed the same way, so a link cannot make
//! the dashboard display words of its own.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The form field that carries the token.
pub const FIELD: &str = "csrf";

fn mac(key: &str, purpose: &str, value: &str) -> HmacSha256 {
    let mut mac =
        HmacSha256::new_from_slice(key.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(purpose.as_bytes());
    mac.update(b"\0");
    mac.update(value.as_bytes());
    mac
}

/// The token of the login session `login`.
pub fn token(key: &str, login: &str) -> String {
    hex::encode(mac(key, "csrf", login).finalize().into_bytes())
}

/// Whether `presented` is the token of `login`, compared in constant time.
pub fn check(key: &str, login: &str, presented: Option<&str>) -> bool {
    let Some(bytes) = presented.and_then(|p| hex::decode(p).ok()) else {
        return false;
    };
    mac(key, "csrf", login).verify_slice(&bytes).is_ok()
}

/// The signature of a notice shown after an action.
pub fn sign_notice(key: &str, notice: &str) -> String {
    hex::encode(mac(key, "notice", notice).finalize().into_bytes())
}

/// Whether a notice came from the dashboard itself.
pub fn notice_is_genuine(key: &str, notice: &str, signature: &str) -> bool {
    hex::decode(signature)
        .ok()
        .is_some_and(|bytes| mac(key, "notice", notice).verify_slice(&bytes).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_good_for_its_login_only() {
        let token = token("sk_test_a", "login1");
        assert!(check("sk_test_a", "login1", Some(&token)));
        assert!(!check("sk_test_a", "login2", Some(&token)));
        assert!(!check("sk_test_b", "login1", Some(&token)));
        assert!(!check("sk_test_a", "login1", None));
        assert!(!check("sk_test_a", "login1", Some("not hex")));
        assert!(!check("sk_test_a", "login1", Some("")));
    }

    #[test]
    fn a_notice_is_genuine_only_with_its_signature() {
        let signature = sign_notice("sk_test_a", "Paid.");
        assert!(notice_is_genuine("sk_test_a", "Paid.", &signature));
        assert!(!notice_is_genuine(
            "sk_test_a",
            "Go to evil.example",
            &signature
        ));
    }
}
