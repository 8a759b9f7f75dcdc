//! Configuration, named after the guide's environment variables.

use std::fmt;

use crate::defect::Defect;
use crate::variant::Design;

/// Everything the target needs to run. The binary fills it from the environment / flags; an
/// embedding harness builds it directly (`..Config::default()` for the rest).
#[derive(Clone)]
pub struct Config {
    /// `PORT`: where the binary listens on 127.0.0.1 (0 picks a free port).
    pub port: u16,
    /// `STRIPE_SECRET_KEY` (`sk_test_…`): authenticates the Stripe lookups.
    pub stripe_secret_key: String,
    /// `STRIPE_WEBHOOK_SECRET` (`whsec_…`): the key webhook signatures are checked with.
    pub stripe_webhook_secret: String,
    /// `STRIPE_API_BASE`: Stripe's origin without `/v1` (a simulator's URL in tests).
    pub stripe_api_base: String,
    /// `NEXT_PUBLIC_APP_URL`: the public origin the guide configures the Payment Link's
    /// redirect with (`{app}/dashboard/billing?provider=stripe&session_id={CHECKOUT_SESSION_ID}`).
    pub app_url: String,
    /// `DATABASE_PATH`: the SQLite file; `:memory:` keeps orders for this process only.
    pub database_path: String,
    /// `DEFECT`: the bug to switch on, or `None` for correct behaviour.
    pub defect: Option<Defect>,
    /// `VARIANT`: which correct design to implement where the spec leaves room (see
    /// [`crate::variant`]).
    pub design: Design,
    /// Seed of the order-id sequence; `None` draws one from the time and process id.
    pub order_id_seed: Option<u64>,
    /// `LITERAL_PATHS`: match request paths as sent, without percent-decoding them, as Python's
    /// `http.server` and many hand-written routers do. A request for `/api/orders/a%2Db` then
    /// answers 404, which is how a client that over-encodes ids shows up.
    pub literal_paths: bool,
}

/// Stripe's production API origin.
pub const DEFAULT_STRIPE_API_BASE: &str = "https://api.stripe.com";

impl Default for Config {
    fn default() -> Config {
        Config {
            port: 3000,
            stripe_secret_key: String::new(),
            stripe_webhook_secret: String::new(),
            stripe_api_base: DEFAULT_STRIPE_API_BASE.to_owned(),
            app_url: "http://localhost:3000".to_owned(),
            database_path: ":memory:".to_owned(),
            defect: None,
            design: Design::default(),
            order_id_seed: None,
            literal_paths: false,
        }
    }
}

impl Config {
    /// The return URL to set as the Payment Link's "after payment" redirect.
    pub fn return_url(&self) -> String {
        format!(
            "{}/dashboard/billing?provider=stripe&session_id={{CHECKOUT_SESSION_ID}}",
            self.app_url.trim_end_matches('/')
        )
    }
}

/// Secrets are redacted so a logged config cannot leak them.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn redact(secret: &str) -> &'static str {
            if secret.is_empty() {
                "<unset>"
            } else {
                "<redacted>"
            }
        }
        f.debug_struct("Config")
            .field("port", &self.port)
            .field("stripe_secret_key", &redact(&self.stripe_secret_key))
            .field(
                "stripe_webhook_secret",
                &redact(&self.stripe_webhook_secret),
            )
            .field("stripe_api_base", &self.stripe_api_base)
            .field("app_url", &self.app_url)
            .field("database_path", &self.database_path)
            .field("defect", &self.defect)
            .field("design", &self.design)
            .field("order_id_seed", &self.order_id_seed)
            .field("literal_paths", &self.literal_paths)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_secrets() {
        let config = Config {
            stripe_secret_key: "sk_test_abc".into(),
            stripe_webhook_secret: "whsec_xyz".into(),
            ..Config::default()
        };
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("sk_test_abc") && !shown.contains("whsec_xyz"),
            "{shown}"
        );
    }

    #[test]
    fn the_return_url_carries_stripes_session_placeholder() {
        let config = Config {
            app_url: "https://shop.example/".into(),
            ..Config::default()
        };
        assert_eq!(
            config.return_url(),
            "https://shop.example/dashboard/billing?provider=stripe&session_id={CHECKOUT_SESSION_ID}"
        );
    }
}
