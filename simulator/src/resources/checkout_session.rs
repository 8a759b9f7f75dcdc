//! Checkout Sessions (mode=payment): created through the API or by a payment link visit, paid on
//! the hosted page (or `/_sim/…/pay`), expired at `expires_at` or on request.

use serde_json::{json, Value};

use crate::config::SimConfig;
use crate::error::{ApiError, ApiResult};
use crate::ids::IdKind;
use crate::params::{Metadata, Params};
use crate::resources::event::{CreatedFilter, EventType};
use crate::resources::line_item::{totals, LineItem};
use crate::resources::payment_intent::PaymentIntentStatus;
use crate::resources::payment_link::{check_url, read_method_types};
use crate::store::{Ctx, Job, ListQuery, Store};
use crate::table::Identified;

/// Sessions last 24 hours unless `expires_at` says otherwise (30 minutes at least).
pub const DEFAULT_LIFETIME: i64 = 24 * 60 * 60;
pub const MIN_LIFETIME: i64 = 30 * 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionStatus {
    Open,
    Complete,
    Expired,
}

impl SessionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Open => "open",
            SessionStatus::Complete => "complete",
            SessionStatus::Expired => "expired",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentStatus {
    Paid,
    Unpaid,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Paid => "paid",
            PaymentStatus::Unpaid => "unpaid",
        }
    }
}

impl crate::vocabulary::Vocabulary for SessionStatus {
    const WHAT: &'static str = "Checkout Session status";
    const ALL: &'static [Self] = &[
        SessionStatus::Open,
        SessionStatus::Complete,
        SessionStatus::Expired,
    ];

    fn as_str(&self) -> &'static str {
        SessionStatus::as_str(*self)
    }
}

impl crate::vocabulary::Vocabulary for PaymentStatus {
    const WHAT: &'static str = "payment status";
    const ALL: &'static [Self] = &[PaymentStatus::Paid, PaymentStatus::Unpaid];

    fn as_str(&self) -> &'static str {
        PaymentStatus::as_str(*self)
    }
}

crate::vocabulary::serde_as_word!(SessionStatus);
crate::vocabulary::serde_as_word!(PaymentStatus);

/// What the buyer entered on the checkout page.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CustomerDetails {
    pub email: Option<String>,
    pub name: Option<String>,
    pub country: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct CheckoutSession {
    pub id: String,
    pub created: i64,
    pub expires_at: i64,
    pub status: SessionStatus,
    pub payment_status: PaymentStatus,
    pub line_items: Vec<LineItem>,
    pub client_reference_id: Option<String>,
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    pub customer_email: Option<String>,
    pub customer: Option<String>,
    pub customer_creation: Option<String>,
    pub customer_details: Option<CustomerDetails>,
    pub metadata: Metadata,
    pub payment_link: Option<String>,
    pub payment_intent: Option<String>,
    pub payment_method_types: Vec<String>,
    pub submit_type: Option<String>,
    pub locale: Option<String>,
}

impl Identified for CheckoutSession {
    fn id(&self) -> &str {
        &self.id
    }
}

impl CheckoutSession {
    pub fn amount_total(&self) -> i64 {
        totals(&self.line_items).0
    }

    pub fn currency(&self) -> String {
        totals(&self.line_items).1
    }

    /// The hosted page, while the session can still be paid.
    pub fn url(&self, config: &SimConfig) -> Option<String> {
        (self.status == SessionStatus::Open)
            .then(|| format!("{}/c/pay/{}", config.base_url, self.id))
    }

    pub fn render(&self, config: &SimConfig) -> Value {
        let amount = self.amount_total();
        let customer_details = self.customer_details.as_ref().map(|d| {
            json!({
                "address": {
                    "city": null,
                    "country": d.country,
                    "line1": null,
                    "line2": null,
                    "postal_code": null,
                    "state": null,
                },
                "business_name": null,
                "email": d.email,
                "individual_name": null,
                "name": d.name,
                "phone": null,
                "tax_exempt": "none",
                "tax_ids": [],
            })
        });
        json!({
            "id": self.id,
            "object": "checkout.session",
            "adaptive_pricing": { "enabled": false },
            "after_expiration": null,
            "allow_promotion_codes": null,
            "allowed_payment_method_types": null,
            "amount_subtotal": amount,
            "amount_total": amount,
            "automatic_tax": { "enabled": false, "liability": null, "provider": null, "status": null },
            "billing_address_collection": null,
            "cancel_url": self.cancel_url,
            "client_reference_id": self.client_reference_id,
            "client_secret": null,
            "collected_information": null,
            "consent": null,
            "consent_collection": null,
            "created": self.created,
            "currency": self.currency(),
            "currency_conversion": null,
            "custom_fields": [],
            "custom_text": {
                "after_submit": null,
                "shipping_address": null,
                "submit": null,
                "terms_of_service_acceptance": null,
            },
            "customer": self.customer,
            "customer_account": null,
            "customer_creation": self.customer_creation,
            "customer_details": customer_details,
            "customer_email": self.customer_email,
            "discounts": [],
            "expires_at": self.expires_at,
            "integration_identifier": null,
            "invoice": null,
            "invoice_creation": {
                "enabled": false,
                "invoice_data": {
                    "account_tax_ids": null,
                    "custom_fields": null,
                    "description": null,
                    "footer": null,
                    "issuer": null,
                    "metadata": {},
                    "rendering_options": null,
                },
            },
            "livemode": false,
            "locale": self.locale,
            "managed_payments": null,
            "metadata": self.metadata,
            "mode": "payment",
            "origin_context": null,
            "payment_intent": self.payment_intent,
            "payment_link": self.payment_link,
            "payment_method_collection": "if_required",
            "payment_method_configuration_details": null,
            "payment_method_options": {},
            "payment_method_types": self.payment_method_types,
            "payment_status": self.payment_status.as_str(),
            "permissions": null,
            "phone_number_collection": { "enabled": false },
            "recovered_from": null,
            "saved_payment_method_options": null,
            "setup_intent": null,
            "shipping_address_collection": null,
            "shipping_cost": null,
            "shipping_options": [],
            "status": self.status.as_str(),
            "submit_type": self.submit_type,
            "subscription": null,
            "success_url": self.success_url,
            "total_details": { "amount_discount": 0, "amount_shipping": 0, "amount_tax": 0 },
            "ui_mode": "hosted_page",
            "url": self.url(config),
            "wallet_options": null,
        })
    }
}

/// What a new session is made of, from the API or from a payment link.
#[derive(Debug, Clone, Default)]
pub struct SessionSpec {
    pub line_items: Vec<LineItem>,
    pub client_reference_id: Option<String>,
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    pub customer_email: Option<String>,
    pub customer: Option<String>,
    pub customer_creation: Option<String>,
    pub metadata: Metadata,
    pub expires_at: Option<i64>,
    pub payment_link: Option<String>,
    pub payment_method_types: Option<Vec<String>>,
    pub submit_type: Option<String>,
    pub locale: Option<String>,
}

/// The payment link rule for `?client_reference_id=`: letters, digits, `_` and `-`, 1 to 200
/// characters. Anything else is dropped silently, as Stripe does.
pub fn valid_client_reference_id(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 200
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Methods offered when none are named: cards, plus the bank debit that fits the currency.
fn default_method_types(currency: &str) -> Vec<String> {
    let mut types = vec!["card".to_string()];
    match currency {
        "eur" => types.push("sepa_debit".to_string()),
        "usd" => types.push("us_bank_account".to_string()),
        _ => {}
    }
    types
}

/// Bank debits work in one currency each.
pub fn method_currency(method_type: &str) -> Option<&'static str> {
    match method_type {
        "sepa_debit" => Some("eur"),
        "us_bank_account" => Some("usd"),
        _ => None,
    }
}

/// Bank debits refuse a session in another currency than theirs.
fn check_method_currencies(types: &[String], currency: &str) -> ApiResult<()> {
    for (i, t) in types.iter().enumerate() {
        if let Some(required) = method_currency(t) {
            if required != currency {
                return Err(ApiError::invalid(
                    format!("The payment method type \"{t}\" only supports {required}; this session is in {currency}."),
                    Some(&format!("payment_method_types[{i}]")),
                ));
            }
        }
    }
    Ok(())
}

impl Store {
    /// Stores a new open session and schedules its expiry; returns its id.
    pub fn open_session(&mut self, spec: SessionSpec, ctx: &Ctx) -> ApiResult<String> {
        let (_, currency) = totals(&spec.line_items);
        let payment_method_types = spec
            .payment_method_types
            .unwrap_or_else(|| default_method_types(&currency));
        check_method_currencies(&payment_method_types, &currency)?;
        let expires_at = spec.expires_at.unwrap_or(ctx.now + DEFAULT_LIFETIME);
        let mut line_items = spec.line_items;
        for item in &mut line_items {
            if item.id.is_empty() {
                item.id = self.ids.id(IdKind::LineItem);
            }
        }
        let session = CheckoutSession {
            id: self.ids.id(IdKind::CheckoutSession),
            created: ctx.now,
            expires_at,
            status: SessionStatus::Open,
            payment_status: PaymentStatus::Unpaid,
            line_items,
            client_reference_id: spec.client_reference_id,
            success_url: spec.success_url,
            cancel_url: spec.cancel_url,
            customer_email: spec.customer_email,
            customer: spec.customer,
            customer_creation: spec.customer_creation,
            customer_details: None,
            metadata: spec.metadata,
            payment_link: spec.payment_link,
            payment_intent: None,
            payment_method_types,
            submit_type: spec.submit_type,
            locale: spec.locale,
        };
        let id = session.id.clone();
        self.sessions.insert(session);
        self.schedule(expires_at, Job::ExpireSession(id.clone()));
        Ok(id)
    }

    pub fn create_checkout_session(&mut self, mut params: Params, ctx: &Ctx) -> ApiResult<Value> {
        let mode = params
            .one_of("mode", &["payment", "setup", "subscription"])?
            .ok_or_else(|| ApiError::missing_param("mode"))?;
        if mode != "payment" {
            return Err(ApiError::invalid(
                format!("stripe-sim simulates mode=payment only; mode={mode} is not supported."),
                Some("mode"),
            ));
        }
        let ui_mode = params.string("ui_mode")?;
        if let Some(ui) = ui_mode.filter(|u| u != "hosted" && u != "hosted_page") {
            return Err(ApiError::invalid(
                format!(
                    "stripe-sim simulates hosted Checkout only; ui_mode={ui} is not supported."
                ),
                Some("ui_mode"),
            ));
        }
        // Checked now, stored only once the whole request is known to be valid (below), so that
        // a refused request leaves no `price_data` product or price behind.
        let requested_items = self.check_line_items(&mut params, true)?;
        let client_reference_id = params.string("client_reference_id")?;
        if client_reference_id.as_ref().is_some_and(|c| c.len() > 200) {
            return Err(ApiError::invalid(
                "client_reference_id must be at most 200 characters.",
                Some("client_reference_id"),
            ));
        }
        let success_url = params.string("success_url")?;
        if let Some(url) = &success_url {
            check_url(url, "success_url")?;
        }
        let cancel_url = params.string("cancel_url")?;
        if let Some(url) = &cancel_url {
            check_url(url, "cancel_url")?;
        }
        let customer_email = params.string("customer_email")?;
        let customer = params.string("customer")?;
        if let Some(id) = &customer {
            if self.customers.get(id).is_none() {
                return Err(ApiError::no_such("customer", id, "customer"));
            }
            if customer_email.is_some() {
                return Err(ApiError::invalid(
                    "You may only specify one of these parameters: customer, customer_email.",
                    Some("customer_email"),
                ));
            }
        }
        let customer_creation = params.one_of("customer_creation", &["always", "if_required"])?;
        let metadata = params.metadata("metadata")?;
        let expires_at = params.integer("expires_at")?;
        if let Some(at) = expires_at {
            if at < ctx.now + MIN_LIFETIME || at > ctx.now + DEFAULT_LIFETIME {
                return Err(ApiError::invalid(
                    "The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation.",
                    Some("expires_at"),
                ));
            }
        }
        let payment_method_types = read_method_types(&mut params)?;
        let submit_type = params.one_of("submit_type", &["auto", "book", "donate", "pay"])?;
        let locale = params.string("locale")?;
        params.finish()?;
        if let Some(types) = &payment_method_types {
            check_method_currencies(types, &requested_items.currency())?;
        }
        let line_items = self.store_line_items(requested_items, ctx);
        let spec = SessionSpec {
            line_items,
            client_reference_id,
            success_url,
            cancel_url,
            customer_email,
            customer_creation: customer_creation
                .or_else(|| customer.is_none().then(|| "if_required".to_string())),
            customer,
            metadata,
            expires_at,
            payment_link: None,
            payment_method_types,
            submit_type,
            locale,
        };
        let id = self.open_session(spec, ctx)?;
        self.retrieve_checkout_session(&id)
    }

    /// A buyer opens a payment link: a new session carrying the link's line items, metadata and
    /// after-completion URL, and the `client_reference_id` if it is valid.
    pub fn visit_payment_link(
        &mut self,
        token: &str,
        client_reference_id: Option<&str>,
        prefilled_email: Option<&str>,
        ctx: &Ctx,
    ) -> Result<String, VisitError> {
        let link = self.link_by_token(token).ok_or(VisitError::UnknownLink)?;
        if !link.active {
            return Err(VisitError::Deactivated {
                message: link.inactive_message.clone(),
            });
        }
        let success_url = match &link.after_completion {
            crate::resources::payment_link::AfterCompletion::Redirect { url } => url.clone(),
            crate::resources::payment_link::AfterCompletion::HostedConfirmation { .. } => {
                "https://stripe.com".to_string()
            }
        };
        let spec = SessionSpec {
            line_items: link
                .line_items
                .iter()
                .map(|i| LineItem {
                    id: String::new(),
                    ..i.clone()
                })
                .collect(),
            client_reference_id: client_reference_id
                .filter(|c| valid_client_reference_id(c))
                .map(str::to_string),
            success_url: Some(success_url.clone()),
            cancel_url: Some(success_url),
            customer_email: prefilled_email
                .filter(|e| e.contains('@'))
                .map(str::to_string),
            customer: None,
            customer_creation: Some(link.customer_creation.clone()),
            metadata: link.metadata.clone(),
            expires_at: None,
            payment_link: Some(link.id.clone()),
            payment_method_types: link.payment_method_types.clone(),
            submit_type: Some("auto".to_string()),
            locale: Some("auto".to_string()),
        };
        self.open_session(spec, ctx).map_err(VisitError::Invalid)
    }

    /// [`Store::visit_payment_link`] by the link's id rather than its hosted token, answering the
    /// new session: what the control API and the Rust handle offer test drivers.
    pub fn visit_payment_link_by_id(
        &mut self,
        link_id: &str,
        client_reference_id: Option<&str>,
        prefilled_email: Option<&str>,
        ctx: &Ctx,
    ) -> ApiResult<String> {
        let token = self
            .payment_links
            .get(link_id)
            .map(|l| l.token.clone())
            .ok_or_else(|| ApiError::no_such("payment_link", link_id, "id"))?;
        self.visit_payment_link(&token, client_reference_id, prefilled_email, ctx)
            .map_err(|e| match e {
                VisitError::Deactivated { .. } => {
                    ApiError::invalid("This payment link has been deactivated.", Some("active"))
                }
                VisitError::UnknownLink => ApiError::no_such("payment_link", link_id, "id"),
                VisitError::Invalid(e) => e,
            })
    }

    pub fn retrieve_checkout_session(&self, id: &str) -> ApiResult<Value> {
        self.sessions
            .find(id, "checkout.session", "session")
            .map(|s| s.render(&self.config))
    }

    pub fn list_checkout_sessions(&self, mut query: ListQuery) -> ApiResult<Value> {
        let payment_link = query.params.string("payment_link")?;
        let payment_intent = query.params.string("payment_intent")?;
        let status = query
            .params
            .one_of("status", &["open", "complete", "expired"])?;
        let customer = query.params.string("customer")?;
        let created = CreatedFilter::from_params(&mut query.params)?;
        query.list(
            &self.sessions,
            "checkout.session",
            "/v1/checkout/sessions",
            |s| {
                payment_link
                    .as_ref()
                    .is_none_or(|p| s.payment_link.as_ref() == Some(p))
                    && payment_intent
                        .as_ref()
                        .is_none_or(|p| s.payment_intent.as_ref() == Some(p))
                    && status.as_ref().is_none_or(|st| s.status.as_str() == st)
                    && customer
                        .as_ref()
                        .is_none_or(|c| s.customer.as_ref() == Some(c))
                    && created.accepts(s.created)
            },
            |s| Ok(s.render(&self.config)),
        )
    }

    pub fn checkout_session_line_items(&self, id: &str, query: ListQuery) -> ApiResult<Value> {
        let session = self.sessions.find(id, "checkout.session", "session")?;
        self.list_line_items(
            &session.line_items,
            &format!("/v1/checkout/sessions/{id}/line_items"),
            query,
        )
    }

    /// `POST /v1/checkout/sessions/{id}/expire`: only an open session can be expired.
    pub fn expire_checkout_session(
        &mut self,
        id: &str,
        params: Params,
        ctx: &Ctx,
    ) -> ApiResult<Value> {
        params.finish()?;
        let session = self.sessions.find(id, "checkout.session", "session")?;
        if session.status != SessionStatus::Open {
            return Err(ApiError::invalid(
                format!(
                    "Only Checkout Sessions with a status in [\"open\"] can be expired. This Checkout Session's status is \"{}\".",
                    session.status.as_str()
                ),
                None,
            ));
        }
        self.expire_session(id, ctx);
        self.retrieve_checkout_session(id)
    }

    /// The scheduled expiry: does nothing if the session completed or expired meanwhile.
    pub fn expire_session_if_open(&mut self, id: &str, due: i64) {
        let still_open = self
            .sessions
            .get(id)
            .is_some_and(|s| s.status == SessionStatus::Open && s.expires_at <= due);
        if still_open {
            self.expire_session(id, &Ctx::automatic(due));
        }
    }

    /// Expires an open session: `checkout.session.expired`, and a PaymentIntent left by a declined
    /// attempt is canceled (`payment_intent.canceled`, reason `abandoned`).
    fn expire_session(&mut self, id: &str, ctx: &Ctx) {
        let Some(session) = self.sessions.get_mut(id) else {
            return;
        };
        session.status = SessionStatus::Expired;
        let intent_id = session.payment_intent.clone();
        if let Some(pi_id) = intent_id {
            if let Some(pi) = self.payment_intents.get_mut(&pi_id) {
                if pi.status == PaymentIntentStatus::RequiresPaymentMethod {
                    pi.status = PaymentIntentStatus::Canceled;
                    pi.canceled_at = Some(ctx.now);
                    pi.cancellation_reason = Some("abandoned".to_string());
                    let rendered = pi.render();
                    self.emit(
                        EventType::PaymentIntentCanceled,
                        rendered,
                        &ctx.request,
                        ctx.now,
                    );
                }
            }
        }
        if let Some(session) = self.sessions.get(id) {
            let rendered = session.render(&self.config);
            self.emit(
                EventType::CheckoutSessionExpired,
                rendered,
                &ctx.request,
                ctx.now,
            );
        }
    }
}

/// Why a payment link visit did not open a session.
#[derive(Debug, Clone, PartialEq)]
pub enum VisitError {
    UnknownLink,
    Deactivated { message: Option<String> },
    Invalid(ApiError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_reference_ids_follow_the_payment_link_rule() {
        assert!(valid_client_reference_id("order_123-abc"));
        assert!(valid_client_reference_id(
            "0b7c1f9e-4c1a-4e8e-9a3f-2f1d3c4b5a6e"
        ));
        assert!(valid_client_reference_id(&"a".repeat(200)));
        assert!(!valid_client_reference_id(&"a".repeat(201)));
        assert!(!valid_client_reference_id("order 1"));
        assert!(!valid_client_reference_id("order@1"));
        assert!(!valid_client_reference_id(""));
    }
}
