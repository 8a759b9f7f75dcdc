//! Products: what a price sells.

use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::ids::IdKind;
use crate::params::{Metadata, Params};
use crate::resources::event::{CreatedFilter, EventType};
use crate::store::{Ctx, ListQuery, Store};
use crate::table::Identified;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Product {
    pub id: String,
    pub created: i64,
    pub updated: i64,
    pub name: String,
    pub description: Option<String>,
    pub active: bool,
    pub default_price: Option<String>,
    pub metadata: Metadata,
}

impl Identified for Product {
    fn id(&self) -> &str {
        &self.id
    }
}

impl Product {
    pub fn render(&self) -> Value {
        json!({
            "id": self.id,
            "object": "product",
            "active": self.active,
            "created": self.created,
            "default_price": self.default_price,
            "description": self.description,
            "images": [],
            "livemode": false,
            "marketing_features": [],
            "metadata": self.metadata,
            "name": self.name,
            "package_dimensions": null,
            "shippable": null,
            "statement_descriptor": null,
            "tax_code": null,
            "tax_details": null,
            "type": "service",
            "unit_label": null,
            "updated": self.updated,
            "url": null,
        })
    }
}

impl Store {
    /// Stores a product and emits `product.created`; returns its id.
    pub fn add_product(
        &mut self,
        name: String,
        description: Option<String>,
        active: bool,
        metadata: Metadata,
        ctx: &Ctx,
    ) -> String {
        let product = Product {
            id: self.ids.id(IdKind::Product),
            created: ctx.now,
            updated: ctx.now,
            name,
            description,
            active,
            default_price: None,
            metadata,
        };
        let id = product.id.clone();
        let rendered = product.render();
        self.products.insert(product);
        self.emit(EventType::ProductCreated, rendered, &ctx.request, ctx.now);
        id
    }

    pub fn create_product(&mut self, mut params: Params, ctx: &Ctx) -> ApiResult<Value> {
        let name = params.required_string("name")?;
        let description = params.string("description")?;
        let active = params.boolean("active")?.unwrap_or(true);
        let metadata = params.metadata("metadata")?;
        let default_price = match params.object("default_price_data")? {
            Some(mut data) => {
                let currency = crate::resources::price::read_currency(&mut data, "currency")?;
                let unit_amount = data
                    .integer("unit_amount")?
                    .ok_or_else(|| ApiError::missing_param(&data.path("unit_amount")))?;
                crate::resources::price::check_unit_amount(unit_amount, &data.path("unit_amount"))?;
                data.finish()?;
                Some((currency, unit_amount))
            }
            None => None,
        };
        params.finish()?;
        let id = self.add_product(name, description, active, metadata, ctx);
        if let Some((currency, unit_amount)) = default_price {
            let price_id = self.add_price(&id, currency, unit_amount, true, Metadata::new(), ctx);
            if let Some(product) = self.products.get_mut(&id) {
                product.default_price = Some(price_id);
            }
        }
        self.retrieve_product(&id)
    }

    pub fn retrieve_product(&self, id: &str) -> ApiResult<Value> {
        self.products.find(id, "product", "id").map(Product::render)
    }

    pub fn list_products(&self, mut query: ListQuery) -> ApiResult<Value> {
        let active = query.params.boolean("active")?;
        let created = CreatedFilter::from_params(&mut query.params)?;
        let ids = query.params.string_list("ids")?;
        query.list(
            &self.products,
            "product",
            "/v1/products",
            |p| {
                active.is_none_or(|a| p.active == a)
                    && created.accepts(p.created)
                    && ids.as_ref().is_none_or(|ids| ids.contains(&p.id))
            },
            |p| Ok(p.render()),
        )
    }
}
