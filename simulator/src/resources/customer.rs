//! Customers: created through the API or by Checkout when `customer_creation=always`.

use serde_json::{json, Value};

use crate::error::ApiResult;
use crate::ids::IdKind;
use crate::params::{Metadata, Params};
use crate::resources::event::EventType;
use crate::store::{Ctx, ListQuery, Store};
use crate::table::Identified;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Customer {
    pub id: String,
    pub created: i64,
    pub email: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub phone: Option<String>,
    pub metadata: Metadata,
    pub invoice_prefix: String,
}

impl Identified for Customer {
    fn id(&self) -> &str {
        &self.id
    }
}

impl Customer {
    pub fn render(&self) -> Value {
        json!({
            "id": self.id,
            "object": "customer",
            "address": null,
            "balance": 0,
            "created": self.created,
            "currency": null,
            "default_source": null,
            "delinquent": false,
            "description": self.description,
            "discount": null,
            "email": self.email,
            "invoice_prefix": self.invoice_prefix,
            "invoice_settings": {
                "custom_fields": null,
                "default_payment_method": null,
                "footer": null,
                "rendering_options": null,
            },
            "livemode": false,
            "metadata": self.metadata,
            "name": self.name,
            "next_invoice_sequence": 1,
            "phone": self.phone,
            "preferred_locales": [],
            "shipping": null,
            "tax_exempt": "none",
            "test_clock": null,
            "customer_account": null,
        })
    }
}

impl Store {
    /// A customer with a fresh id and no details yet; [`Store::add_customer`] stores it.
    pub fn blank_customer(&mut self, now: i64) -> Customer {
        Customer {
            id: self.ids.id(IdKind::Customer),
            created: now,
            email: None,
            name: None,
            description: None,
            phone: None,
            metadata: Metadata::new(),
            invoice_prefix: self.ids.alphanumeric(8).to_uppercase(),
        }
    }

    /// Stores a customer and emits `customer.created`.
    pub fn add_customer(&mut self, customer: Customer, ctx: &Ctx) -> Value {
        let rendered = customer.render();
        self.customers.insert(customer);
        self.emit(
            EventType::CustomerCreated,
            rendered.clone(),
            &ctx.request,
            ctx.now,
        );
        rendered
    }

    pub fn create_customer(&mut self, mut params: Params, ctx: &Ctx) -> ApiResult<Value> {
        let email = params.string("email")?;
        let name = params.string("name")?;
        let description = params.string("description")?;
        let phone = params.string("phone")?;
        let metadata = params.metadata("metadata")?;
        params.finish()?;
        let customer = Customer {
            email,
            name,
            description,
            phone,
            metadata,
            ..self.blank_customer(ctx.now)
        };
        Ok(self.add_customer(customer, ctx))
    }

    pub fn retrieve_customer(&self, id: &str) -> ApiResult<Value> {
        self.customers
            .find(id, "customer", "id")
            .map(Customer::render)
    }

    pub fn update_customer(&mut self, id: &str, mut params: Params, ctx: &Ctx) -> ApiResult<Value> {
        let customer = self.customers.find(id, "customer", "id")?;
        let mut updated = customer.clone();
        let before = customer.render();
        if let Some(v) = params.update_string("email")? {
            updated.email = v;
        }
        if let Some(v) = params.update_string("name")? {
            updated.name = v;
        }
        if let Some(v) = params.update_string("description")? {
            updated.description = v;
        }
        if let Some(v) = params.update_string("phone")? {
            updated.phone = v;
        }
        params.metadata_into("metadata", &mut updated.metadata)?;
        params.finish()?;
        let after = updated.render();
        self.customers.insert(updated);
        if let Some(previous) = previous_attributes(&before, &after) {
            self.emit_with_previous(
                EventType::CustomerUpdated,
                after.clone(),
                Some(previous),
                &ctx.request,
                ctx.now,
            );
        }
        Ok(after)
    }

    pub fn list_customers(&self, mut query: ListQuery) -> ApiResult<Value> {
        let email = query.params.string("email")?;
        let created = crate::resources::event::CreatedFilter::from_params(&mut query.params)?;
        query.list(
            &self.customers,
            "customer",
            "/v1/customers",
            |c| {
                email.as_ref().is_none_or(|e| c.email.as_ref() == Some(e))
                    && created.accepts(c.created)
            },
            |c| Ok(c.render()),
        )
    }
}

/// The fields of `before` that differ in `after`, as `data.previous_attributes` shows them; `None`
/// when nothing changed.
pub fn previous_attributes(before: &Value, after: &Value) -> Option<Value> {
    let (Value::Object(b), Value::Object(a)) = (before, after) else {
        return None;
    };
    let changed: serde_json::Map<String, Value> = b
        .iter()
        .filter(|(k, v)| a.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    (!changed.is_empty()).then_some(Value::Object(changed))
}
