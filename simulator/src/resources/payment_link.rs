//! Payment Links: a shareable URL (`{base}/b/{token}`) that opens a new Checkout Session on
//! every visit.

use serde_json::{json, Value};

use crate::config::SimConfig;
use crate::error::{ApiError, ApiResult};
use crate::ids::IdKind;
use crate::params::{Metadata, Params};
use crate::resources::customer::previous_attributes;
use crate::resources::event::{CreatedFilter, EventType};
use crate::resources::line_item::{totals, LineItem};
use crate::store::{Ctx, ListQuery, Store};
use crate::table::Identified;

/// What the buyer sees after paying.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum AfterCompletion {
    HostedConfirmation {
        custom_message: Option<String>,
    },
    /// Redirect to `url`, with the literal `{CHECKOUT_SESSION_ID}` replaced by the session id.
    Redirect {
        url: String,
    },
}

impl AfterCompletion {
    fn render(&self) -> Value {
        match self {
            AfterCompletion::HostedConfirmation { custom_message } => json!({
                "hosted_confirmation": { "custom_message": custom_message },
                "type": "hosted_confirmation",
            }),
            AfterCompletion::Redirect { url } => json!({
                "redirect": { "url": url },
                "type": "redirect",
            }),
        }
    }

    /// Reads `after_completion[type]`, `[redirect][url]`, `[hosted_confirmation][custom_message]`.
    pub fn from_params(mut p: Params) -> ApiResult<AfterCompletion> {
        let kind = p
            .one_of("type", &["hosted_confirmation", "redirect"])?
            .ok_or_else(|| ApiError::missing_param(&p.path("type")))?;
        let result = if kind == "redirect" {
            let mut redirect = p
                .object("redirect")?
                .ok_or_else(|| ApiError::missing_param(&p.path("redirect")))?;
            let url = redirect.required_string("url")?;
            check_url(&url, &redirect.path("url"))?;
            redirect.finish()?;
            AfterCompletion::Redirect { url }
        } else {
            let custom_message = match p.object("hosted_confirmation")? {
                Some(mut hc) => {
                    let m = hc.string("custom_message")?;
                    hc.finish()?;
                    m
                }
                None => None,
            };
            AfterCompletion::HostedConfirmation { custom_message }
        };
        p.finish()?;
        Ok(result)
    }
}

/// Stripe refuses URLs that are not absolute http(s) URLs ([`crate::url_check`] has the rules).
pub fn check_url(url: &str, param: &str) -> ApiResult<()> {
    crate::url_check::check_redirect_url(url, param)
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PaymentLink {
    pub id: String,
    pub created: i64,
    pub token: String,
    pub active: bool,
    pub line_items: Vec<LineItem>,
    pub after_completion: AfterCompletion,
    pub metadata: Metadata,
    pub customer_creation: String,
    pub inactive_message: Option<String>,
    pub payment_method_types: Option<Vec<String>>,
    pub allow_promotion_codes: bool,
}

impl Identified for PaymentLink {
    fn id(&self) -> &str {
        &self.id
    }
}

impl PaymentLink {
    pub fn url(&self, config: &SimConfig) -> String {
        format!("{}/b/{}", config.base_url, self.token)
    }

    pub fn currency(&self) -> String {
        totals(&self.line_items).1
    }

    pub fn render(&self, config: &SimConfig) -> Value {
        json!({
            "id": self.id,
            "object": "payment_link",
            "active": self.active,
            "after_completion": self.after_completion.render(),
            "allow_promotion_codes": self.allow_promotion_codes,
            "application": null,
            "application_fee_amount": null,
            "application_fee_percent": null,
            "automatic_tax": { "enabled": false, "liability": null },
            "billing_address_collection": "auto",
            "consent_collection": null,
            "currency": self.currency(),
            "custom_fields": [],
            "custom_text": {
                "after_submit": null,
                "shipping_address": null,
                "submit": null,
                "terms_of_service_acceptance": null,
            },
            "customer_creation": self.customer_creation,
            "inactive_message": self.inactive_message,
            "invoice_creation": null,
            "livemode": false,
            "managed_payments": null,
            "metadata": self.metadata,
            "on_behalf_of": null,
            "optional_items": [],
            "payment_intent_data": null,
            "payment_method_collection": "always",
            "payment_method_options": null,
            "payment_method_types": self.payment_method_types,
            "phone_number_collection": { "enabled": false },
            "restrictions": null,
            "shipping_address_collection": null,
            "shipping_options": [],
            "submit_type": "auto",
            "subscription_data": null,
            "tax_id_collection": { "enabled": false, "required": "never" },
            "transfer_data": null,
            "url": self.url(config),
        })
    }
}

/// Payment method types the simulator can take payments with.
pub const SUPPORTED_METHOD_TYPES: &[&str] = &["card", "sepa_debit", "us_bank_account"];

/// Reads `payment_method_types[]`.
pub fn read_method_types(params: &mut Params) -> ApiResult<Option<Vec<String>>> {
    let Some(types) = params.string_list("payment_method_types")? else {
        return Ok(None);
    };
    for (i, t) in types.iter().enumerate() {
        if !SUPPORTED_METHOD_TYPES.contains(&t.as_str()) {
            return Err(ApiError::invalid(
                format!(
                    "The payment method type \"{t}\" is invalid. stripe-sim supports: {}.",
                    SUPPORTED_METHOD_TYPES.join(", ")
                ),
                Some(&format!("payment_method_types[{i}]")),
            ));
        }
    }
    Ok(Some(types))
}

impl Store {
    pub fn create_payment_link(&mut self, mut params: Params, ctx: &Ctx) -> ApiResult<Value> {
        // Checked now, given ids only once the whole request is known to be valid (below).
        let requested_items = self.check_line_items(&mut params, false)?;
        let after_completion = match params.object("after_completion")? {
            Some(p) => AfterCompletion::from_params(p)?,
            None => AfterCompletion::HostedConfirmation {
                custom_message: None,
            },
        };
        let metadata = params.metadata("metadata")?;
        let customer_creation = params
            .one_of("customer_creation", &["always", "if_required"])?
            .unwrap_or_else(|| "if_required".to_string());
        let inactive_message = params.string("inactive_message")?;
        let payment_method_types = read_method_types(&mut params)?;
        let allow_promotion_codes = params.boolean("allow_promotion_codes")?.unwrap_or(false);
        params.string("billing_address_collection")?;
        params.finish()?;
        let line_items = self.store_line_items(requested_items, ctx);
        let link = PaymentLink {
            id: self.ids.id(IdKind::PaymentLink),
            created: ctx.now,
            token: self.ids.id(IdKind::PaymentLinkToken),
            active: true,
            line_items,
            after_completion,
            metadata,
            customer_creation,
            inactive_message,
            payment_method_types,
            allow_promotion_codes,
        };
        let rendered = link.render(&self.config);
        self.link_tokens.insert(link.token.clone(), link.id.clone());
        self.payment_links.insert(link);
        self.emit(
            EventType::PaymentLinkCreated,
            rendered.clone(),
            &ctx.request,
            ctx.now,
        );
        Ok(rendered)
    }

    pub fn retrieve_payment_link(&self, id: &str) -> ApiResult<Value> {
        self.payment_links
            .find(id, "payment_link", "id")
            .map(|l| l.render(&self.config))
    }

    pub fn update_payment_link(
        &mut self,
        id: &str,
        mut params: Params,
        ctx: &Ctx,
    ) -> ApiResult<Value> {
        let link = self.payment_links.find(id, "payment_link", "id")?;
        let before = link.render(&self.config);
        let mut updated = link.clone();
        if let Some(active) = params.boolean("active")? {
            updated.active = active;
        }
        params.metadata_into("metadata", &mut updated.metadata)?;
        if let Some(p) = params.object("after_completion")? {
            updated.after_completion = AfterCompletion::from_params(p)?;
        }
        if let Some(message) = params.update_string("inactive_message")? {
            updated.inactive_message = message;
        }
        if let Some(types) = read_method_types(&mut params)? {
            updated.payment_method_types = Some(types);
        }
        params.finish()?;
        let after = updated.render(&self.config);
        self.payment_links.insert(updated);
        if let Some(previous) = previous_attributes(&before, &after) {
            self.emit_with_previous(
                EventType::PaymentLinkUpdated,
                after.clone(),
                Some(previous),
                &ctx.request,
                ctx.now,
            );
        }
        Ok(after)
    }

    pub fn list_payment_links(&self, mut query: ListQuery) -> ApiResult<Value> {
        let active = query.params.boolean("active")?;
        let created = CreatedFilter::from_params(&mut query.params)?;
        query.list(
            &self.payment_links,
            "payment_link",
            "/v1/payment_links",
            |l| active.is_none_or(|a| l.active == a) && created.accepts(l.created),
            |l| Ok(l.render(&self.config)),
        )
    }

    pub fn payment_link_line_items(&self, id: &str, query: ListQuery) -> ApiResult<Value> {
        let link = self.payment_links.find(id, "payment_link", "id")?;
        self.list_line_items(
            &link.line_items,
            &format!("/v1/payment_links/{id}/line_items"),
            query,
        )
    }

    /// The payment link behind a hosted token (`/b/{token}`).
    pub fn link_by_token(&self, token: &str) -> Option<&PaymentLink> {
        self.link_tokens
            .get(token)
            .and_then(|id| self.payment_links.get(id))
    }
}
