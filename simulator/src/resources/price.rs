//! Prices: one-time amounts in a currency, for a product.

use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::ids::IdKind;
use crate::params::{Metadata, Params};
use crate::resources::event::{CreatedFilter, EventType};
use crate::store::{Ctx, ListQuery, Store};
use crate::table::Identified;

/// ISO currencies accepted, lowercase as Stripe returns them.
const CURRENCIES: &[&str] = &[
    "usd", "eur", "gbp", "cad", "aud", "nzd", "chf", "sek", "nok", "dkk", "pln", "czk", "huf",
    "ron", "bgn", "jpy", "sgd", "hkd", "mxn", "brl", "inr", "zar", "aed", "ils", "thb", "myr",
    "php", "idr", "krw", "twd", "try",
];

/// A price described by `price_data`, checked but not stored yet.
#[derive(Debug, Clone)]
pub struct PriceData {
    pub currency: String,
    pub unit_amount: i64,
    pub product: ProductSource,
}

/// The product of a `price_data` price: an existing one or one described by `product_data`.
#[derive(Debug, Clone)]
pub enum ProductSource {
    Existing {
        id: String,
        name: String,
    },
    New {
        name: String,
        description: Option<String>,
        metadata: Metadata,
    },
}

impl PriceData {
    /// The line item description: the product's name.
    pub fn product_name(&self) -> &str {
        match &self.product {
            ProductSource::Existing { name, .. } | ProductSource::New { name, .. } => name,
        }
    }
}

/// Largest amount Stripe accepts on a price (99,999,999.99 in major units).
const MAX_UNIT_AMOUNT: i64 = 99_999_999_999;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Price {
    pub id: String,
    pub created: i64,
    pub product: String,
    pub currency: String,
    pub unit_amount: i64,
    pub active: bool,
    pub nickname: Option<String>,
    pub lookup_key: Option<String>,
    pub metadata: Metadata,
}

impl Identified for Price {
    fn id(&self) -> &str {
        &self.id
    }
}

impl Price {
    pub fn render(&self) -> Value {
        json!({
            "id": self.id,
            "object": "price",
            "active": self.active,
            "billing_scheme": "per_unit",
            "created": self.created,
            "currency": self.currency,
            "custom_unit_amount": null,
            "livemode": false,
            "lookup_key": self.lookup_key,
            "metadata": self.metadata,
            "nickname": self.nickname,
            "product": self.product,
            "recurring": null,
            "tax_behavior": "unspecified",
            "tiers_mode": null,
            "transform_quantity": null,
            "type": "one_time",
            "unit_amount": self.unit_amount,
            "unit_amount_decimal": self.unit_amount.to_string(),
        })
    }
}

/// A currency parameter: required, case-insensitive, returned lowercase.
pub fn read_currency(params: &mut Params, key: &str) -> ApiResult<String> {
    let raw = params.required_string(key)?;
    let lower = raw.to_ascii_lowercase();
    if !CURRENCIES.contains(&lower.as_str()) {
        return Err(ApiError::invalid(
            format!(
                "Invalid currency: {raw}. Stripe currently supports these currencies: {}",
                CURRENCIES.join(", ")
            ),
            Some(&params.path(key)),
        ));
    }
    Ok(lower)
}

pub fn check_unit_amount(amount: i64, param: &str) -> ApiResult<()> {
    if !(0..=MAX_UNIT_AMOUNT).contains(&amount) {
        return Err(ApiError::invalid(
            format!(
                "Invalid non-negative integer: {amount} must be between 0 and {MAX_UNIT_AMOUNT}"
            ),
            Some(param),
        ));
    }
    Ok(())
}

impl Store {
    /// Stores a price and emits `price.created`; returns its id.
    pub fn add_price(
        &mut self,
        product: &str,
        currency: String,
        unit_amount: i64,
        active: bool,
        metadata: Metadata,
        ctx: &Ctx,
    ) -> String {
        let price = Price {
            id: self.ids.id(IdKind::Price),
            created: ctx.now,
            product: product.to_string(),
            currency,
            unit_amount,
            active,
            nickname: None,
            lookup_key: None,
            metadata,
        };
        let id = price.id.clone();
        let rendered = price.render();
        self.prices.insert(price);
        self.emit(EventType::PriceCreated, rendered, &ctx.request, ctx.now);
        id
    }

    /// Reads and checks `price_data` (for Checkout line items) without storing anything, so that
    /// a request failing later leaves no product or price behind; [`Store::add_price_from_data`]
    /// stores it once the whole request is valid.
    pub fn read_price_data(&self, mut data: Params) -> ApiResult<PriceData> {
        let currency = read_currency(&mut data, "currency")?;
        let unit_amount = data
            .integer("unit_amount")?
            .ok_or_else(|| ApiError::missing_param(&data.path("unit_amount")))?;
        check_unit_amount(unit_amount, &data.path("unit_amount"))?;
        let product = match (data.string("product")?, data.object("product_data")?) {
            (Some(id), None) => {
                let name = self
                    .products
                    .get(&id)
                    .map(|p| p.name.clone())
                    .ok_or_else(|| ApiError::no_such("product", &id, &data.path("product")))?;
                ProductSource::Existing { id, name }
            }
            (None, Some(mut pd)) => {
                let name = pd.required_string("name")?;
                let description = pd.string("description")?;
                let metadata = pd.metadata("metadata")?;
                pd.finish()?;
                ProductSource::New {
                    name,
                    description,
                    metadata,
                }
            }
            (Some(_), Some(_)) => {
                return Err(ApiError::invalid(
                    "You may only specify one of these parameters: product, product_data.",
                    Some(&data.path("product")),
                ))
            }
            (None, None) => return Err(ApiError::missing_param(&data.path("product"))),
        };
        if data.contains("recurring") {
            return Err(recurring_unsupported(&data.path("recurring")));
        }
        data.finish()?;
        Ok(PriceData {
            currency,
            unit_amount,
            product,
        })
    }

    /// Stores a price read by [`Store::read_price_data`]: inactive, for an existing product or a
    /// new inactive one. Returns the price id.
    pub fn add_price_from_data(&mut self, data: PriceData, ctx: &Ctx) -> String {
        let product = match data.product {
            ProductSource::Existing { id, .. } => id,
            ProductSource::New {
                name,
                description,
                metadata,
            } => self.add_product(name, description, false, metadata, ctx),
        };
        self.add_price(
            &product,
            data.currency,
            data.unit_amount,
            false,
            Metadata::new(),
            ctx,
        )
    }

    pub fn create_price(&mut self, mut params: Params, ctx: &Ctx) -> ApiResult<Value> {
        if params.contains("recurring") {
            return Err(recurring_unsupported("recurring"));
        }
        let currency = read_currency(&mut params, "currency")?;
        let unit_amount = params
            .integer("unit_amount")?
            .ok_or_else(|| ApiError::missing_param("unit_amount"))?;
        check_unit_amount(unit_amount, "unit_amount")?;
        let active = params.boolean("active")?.unwrap_or(true);
        let nickname = params.string("nickname")?;
        let lookup_key = params.string("lookup_key")?;
        let metadata = params.metadata("metadata")?;
        let product_id = params.string("product")?;
        let product_data = match params.object("product_data")? {
            Some(mut pd) => {
                let name = pd.required_string("name")?;
                let metadata = pd.metadata("metadata")?;
                pd.finish()?;
                Some((name, metadata))
            }
            None => None,
        };
        // Nothing is stored before the whole request is known to be valid.
        params.finish()?;
        let product = match (product_id, product_data) {
            (Some(id), None) => {
                if self.products.get(&id).is_none() {
                    return Err(ApiError::no_such("product", &id, "product"));
                }
                id
            }
            (None, Some((name, metadata))) => self.add_product(name, None, true, metadata, ctx),
            (Some(_), Some(_)) => {
                return Err(ApiError::invalid(
                    "You may only specify one of these parameters: product, product_data.",
                    Some("product"),
                ))
            }
            (None, None) => return Err(ApiError::missing_param("product")),
        };
        let id = self.add_price(&product, currency, unit_amount, active, metadata, ctx);
        if let Some(price) = self.prices.get_mut(&id) {
            price.nickname = nickname;
            price.lookup_key = lookup_key;
        }
        self.retrieve_price(&id)
    }

    pub fn retrieve_price(&self, id: &str) -> ApiResult<Value> {
        self.prices.find(id, "price", "id").map(Price::render)
    }

    pub fn list_prices(&self, mut query: ListQuery) -> ApiResult<Value> {
        let active = query.params.boolean("active")?;
        let product = query.params.string("product")?;
        let currency = query
            .params
            .string("currency")?
            .map(|c| c.to_ascii_lowercase());
        let created = CreatedFilter::from_params(&mut query.params)?;
        if let Some(t) = query.params.string("type")? {
            if t != "one_time" && t != "recurring" {
                return Err(ApiError::invalid(
                    "Invalid type: must be one of one_time or recurring",
                    Some("type"),
                ));
            }
            if t == "recurring" {
                query.params.finish()?;
                return Ok(crate::store::list_object("/v1/prices", Vec::new(), false));
            }
        }
        query.list(
            &self.prices,
            "price",
            "/v1/prices",
            |p| {
                active.is_none_or(|a| p.active == a)
                    && product.as_ref().is_none_or(|id| &p.product == id)
                    && currency.as_ref().is_none_or(|c| &p.currency == c)
                    && created.accepts(p.created)
            },
            |p| Ok(p.render()),
        )
    }
}

fn recurring_unsupported(param: &str) -> ApiError {
    ApiError::invalid(
        "stripe-sim supports one-time prices only (mode=payment); recurring prices and subscriptions are not simulated.",
        Some(param),
    )
}
