//! Webhook endpoints (`we_…`): where events are delivered. The `whsec_…` secret is shown only
//! when the endpoint is created; a roll keeps the old secret signing for an overlap period.

use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::ids::IdKind;
use crate::params::{Metadata, Params};
use crate::store::{Ctx, ListQuery, Store};
use crate::table::Identified;
use crate::url_check::check_endpoint_url;
use crate::versions::{self, ApiVersion};

/// Stripe allows 16 endpoints per account.
pub const MAX_ENDPOINTS: usize = 16;

/// How long a rolled secret keeps signing by default: Stripe allows up to 24 hours.
pub const DEFAULT_ROLL_OVERLAP: i64 = 24 * 3600;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SigningSecret {
    pub value: String,
    /// When a rolled-away secret stops signing (simulator time); `None` for the current one.
    pub expires_at: Option<i64>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct WebhookEndpoint {
    pub id: String,
    pub created: i64,
    pub url: String,
    pub enabled_events: Vec<String>,
    /// The version its deliveries are rendered at; `None`: each event's own (the account's
    /// default), as Stripe leaves an endpoint created without one.
    pub api_version: Option<ApiVersion>,
    pub description: Option<String>,
    pub metadata: Metadata,
    pub disabled: bool,
    /// Older secrets first, the current one last.
    pub secrets: Vec<SigningSecret>,
    /// Since when (simulator time) every genuine delivery attempt has failed; `None` while the
    /// endpoint answers. Long enough, and the endpoint is disabled.
    #[serde(default)]
    pub failing_since: Option<i64>,
    /// Why the simulator disabled the endpoint (not a field of Stripe's object: the control API
    /// shows it, as Stripe's dashboard and email do).
    #[serde(default)]
    pub disabled_reason: Option<String>,
}

impl Identified for WebhookEndpoint {
    fn id(&self) -> &str {
        &self.id
    }
}

impl WebhookEndpoint {
    pub fn render(&self) -> Value {
        json!({
            "id": self.id,
            "object": "webhook_endpoint",
            "api_version": self.api_version.map(ApiVersion::as_str),
            "application": null,
            "created": self.created,
            "description": self.description,
            "enabled_events": self.enabled_events,
            "livemode": false,
            "metadata": self.metadata,
            "status": if self.disabled { "disabled" } else { "enabled" },
            "url": self.url,
        })
    }

    /// The current signing secret.
    pub fn secret(&self) -> &str {
        self.secrets
            .last()
            .map(|s| s.value.as_str())
            .unwrap_or_default()
    }

    /// Every secret that signs at `now`, the current one last.
    pub fn signing_secrets(&self, now: i64) -> Vec<String> {
        self.secrets
            .iter()
            .filter(|s| s.expires_at.is_none_or(|at| at > now))
            .map(|s| s.value.clone())
            .collect()
    }

    /// Whether this endpoint wants an event of this type.
    pub fn wants(&self, event_type: crate::resources::event::EventType) -> bool {
        !self.disabled
            && self
                .enabled_events
                .iter()
                .any(|pattern| event_type.matches(pattern))
    }
}

/// An event type name as Stripe writes them (`checkout.session.completed`), or `*`.
fn valid_event_pattern(name: &str) -> bool {
    name == "*"
        || (name.contains('.')
            && name.split('.').all(|part| {
                !part.is_empty()
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'*')
            }))
}

fn read_enabled_events(params: &mut Params, required: bool) -> ApiResult<Option<Vec<String>>> {
    let events = params.string_list("enabled_events")?;
    match &events {
        None if required => return Err(ApiError::missing_param("enabled_events")),
        Some(list) if list.is_empty() => return Err(ApiError::missing_param("enabled_events")),
        Some(list) => {
            for (i, name) in list.iter().enumerate() {
                if !valid_event_pattern(name) {
                    return Err(ApiError::invalid(
                        format!("Invalid event type: {name}"),
                        Some(&format!("enabled_events[{i}]")),
                    ));
                }
            }
        }
        None => {}
    }
    Ok(events)
}

/// What a new endpoint needs; used by the API, the CLI's `--forward-to` and the Rust handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointSpec {
    pub url: String,
    pub enabled_events: Vec<String>,
    /// Use this secret instead of generating one.
    pub secret: Option<String>,
    pub api_version: Option<String>,
}

impl EndpointSpec {
    pub fn all_events(url: impl Into<String>) -> Self {
        EndpointSpec {
            url: url.into(),
            enabled_events: vec!["*".to_string()],
            secret: None,
            api_version: None,
        }
    }
}

impl Store {
    /// Adds an endpoint; returns its id.
    pub fn add_webhook_endpoint(
        &mut self,
        spec: EndpointSpec,
        description: Option<String>,
        metadata: Metadata,
        now: i64,
    ) -> ApiResult<String> {
        if self.webhook_endpoints.len() >= MAX_ENDPOINTS {
            return Err(ApiError::invalid(
                format!("You have reached the maximum of {MAX_ENDPOINTS} test webhook endpoints."),
                Some("url"),
            ));
        }
        check_endpoint_url(&spec.url, "url")?;
        let api_version = match &spec.api_version {
            Some(v) => Some(
                ApiVersion::parse(v)
                    .ok_or_else(|| versions::invalid(v).with_param("api_version"))?,
            ),
            None => None,
        };
        let secret = match spec.secret {
            Some(s) => s,
            None => self.ids.id(IdKind::WebhookSecret),
        };
        let endpoint = WebhookEndpoint {
            id: self.ids.id(IdKind::WebhookEndpoint),
            created: now,
            url: spec.url,
            enabled_events: spec.enabled_events,
            api_version,
            description,
            metadata,
            disabled: false,
            secrets: vec![SigningSecret {
                value: secret.clone(),
                expires_at: None,
            }],
            failing_since: None,
            disabled_reason: None,
        };
        let id = endpoint.id.clone();
        self.webhook_endpoints.insert(endpoint);
        Ok(id)
    }

    /// An endpoint rendered with its `secret`, as only its creation shows it.
    fn render_new_endpoint(&self, id: &str) -> ApiResult<Value> {
        let endpoint = self.webhook_endpoints.find(id, "webhook_endpoint", "id")?;
        let mut rendered = endpoint.render();
        rendered["secret"] = json!(endpoint.secret());
        Ok(rendered)
    }

    pub fn create_webhook_endpoint(&mut self, mut params: Params, ctx: &Ctx) -> ApiResult<Value> {
        let url = params.required_string("url")?;
        let enabled_events = read_enabled_events(&mut params, true)?.unwrap_or_default();
        let api_version = params.string("api_version")?;
        let description = params.string("description")?;
        let metadata = params.metadata("metadata")?;
        if params.boolean("connect")? == Some(true) {
            return Err(ApiError::invalid(
                "stripe-sim does not simulate Connect endpoints.",
                Some("connect"),
            ));
        }
        params.finish()?;
        let spec = EndpointSpec {
            url,
            enabled_events,
            secret: None,
            api_version,
        };
        let id = self.add_webhook_endpoint(spec, description, metadata, ctx.now)?;
        self.render_new_endpoint(&id)
    }

    pub fn retrieve_webhook_endpoint(&self, id: &str) -> ApiResult<Value> {
        self.webhook_endpoints
            .find(id, "webhook_endpoint", "id")
            .map(WebhookEndpoint::render)
    }

    pub fn update_webhook_endpoint(&mut self, id: &str, mut params: Params) -> ApiResult<Value> {
        let mut endpoint = self
            .webhook_endpoints
            .get(id)
            .cloned()
            .ok_or_else(|| ApiError::no_such("webhook_endpoint", id, "id"))?;
        if let Some(url) = params.string("url")? {
            check_endpoint_url(&url, "url")?;
            endpoint.url = url;
        }
        if let Some(events) = read_enabled_events(&mut params, false)? {
            endpoint.enabled_events = events;
        }
        if let Some(disabled) = params.boolean("disabled")? {
            endpoint.disabled = disabled;
            if !disabled {
                // Re-enabled: a fresh start, as on Stripe (events made while it was disabled
                // are not sent).
                endpoint.disabled_reason = None;
                endpoint.failing_since = None;
            }
        }
        if let Some(description) = params.update_string("description")? {
            endpoint.description = description;
        }
        params.metadata_into("metadata", &mut endpoint.metadata)?;
        params.finish()?;
        let rendered = endpoint.render();
        self.webhook_endpoints.insert(endpoint);
        Ok(rendered)
    }

    pub fn delete_webhook_endpoint(&mut self, id: &str, params: Params) -> ApiResult<Value> {
        params.finish()?;
        self.webhook_endpoints
            .remove(id)
            .ok_or_else(|| ApiError::no_such("webhook_endpoint", id, "id"))?;
        Ok(json!({ "id": id, "object": "webhook_endpoint", "deleted": true }))
    }

    pub fn list_webhook_endpoints(&self, query: ListQuery) -> ApiResult<Value> {
        query.list(
            &self.webhook_endpoints,
            "webhook_endpoint",
            "/v1/webhook_endpoints",
            |_| true,
            |e| Ok(e.render()),
        )
    }

    /// Makes a new current secret; the old one keeps signing for `overlap` seconds. Returns
    /// when the old one stops. An unknown endpoint draws no id.
    pub fn roll_webhook_secret(&mut self, id: &str, overlap: i64, now: i64) -> ApiResult<i64> {
        if self.webhook_endpoints.get(id).is_none() {
            return Err(ApiError::no_such("webhook_endpoint", id, "id"));
        }
        let new_secret = self.ids.id(IdKind::WebhookSecret);
        let endpoint = self
            .webhook_endpoints
            .get_mut(id)
            .ok_or_else(|| ApiError::no_such("webhook_endpoint", id, "id"))?;
        endpoint
            .secrets
            .retain(|s| s.expires_at.is_none_or(|at| at > now));
        let expires_at = now + overlap.max(0);
        if let Some(current) = endpoint.secrets.last_mut() {
            current.expires_at = Some(expires_at);
        }
        endpoint.secrets.push(SigningSecret {
            value: new_secret,
            expires_at: None,
        });
        Ok(expires_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_patterns_follow_stripes_names() {
        assert!(valid_event_pattern("*"));
        assert!(valid_event_pattern("checkout.session.completed"));
        assert!(valid_event_pattern("charge.*"));
        assert!(!valid_event_pattern("Checkout"));
        assert!(!valid_event_pattern("charge..refunded"));
    }

    #[test]
    fn a_rolled_secret_signs_until_its_overlap_ends() {
        let mut endpoint = WebhookEndpoint {
            id: "we_1".into(),
            created: 0,
            url: "http://localhost/hook".into(),
            enabled_events: vec!["*".into()],
            api_version: None,
            description: None,
            metadata: Metadata::new(),
            disabled: false,
            secrets: vec![
                SigningSecret {
                    value: "whsec_old".into(),
                    expires_at: Some(100),
                },
                SigningSecret {
                    value: "whsec_new".into(),
                    expires_at: None,
                },
            ],
            failing_since: None,
            disabled_reason: None,
        };
        assert_eq!(endpoint.signing_secrets(99), vec!["whsec_old", "whsec_new"]);
        assert_eq!(endpoint.signing_secrets(100), vec!["whsec_new"]);
        endpoint.disabled = true;
        assert!(!endpoint.wants(crate::resources::event::EventType::ChargeRefunded));
    }
}
