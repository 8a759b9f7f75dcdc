//! Line items (`item` objects) of payment links and Checkout Sessions. They are never embedded in
//! their parent: only `expand[]=line_items` or `GET …/line_items` shows them.

use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::ids::IdKind;
use crate::params::Params;
use crate::store::{Ctx, ListQuery, Store};
use crate::table::{Identified, Table};

/// At most this many line items on a link or session, as Stripe allows.
pub const MAX_LINE_ITEMS: usize = 100;

#[derive(Debug, Clone)]
pub struct LineItem {
    pub id: String,
    pub price: String,
    pub quantity: i64,
    pub unit_amount: i64,
    pub currency: String,
    pub description: String,
}

impl Identified for LineItem {
    fn id(&self) -> &str {
        &self.id
    }
}

impl LineItem {
    pub fn amount(&self) -> i64 {
        self.unit_amount * self.quantity
    }

    pub fn render(&self, store: &Store) -> Value {
        json!({
            "id": self.id,
            "object": "item",
            "adjustable_quantity": null,
            "amount_discount": 0,
            "amount_subtotal": self.amount(),
            "amount_tax": 0,
            "amount_total": self.amount(),
            "currency": self.currency,
            "description": self.description,
            "metadata": {},
            "price": store.prices.get(&self.price).map(|p| p.render()),
            "quantity": self.quantity,
        })
    }
}

/// Sum and currency of a set of line items.
pub fn totals(items: &[LineItem]) -> (i64, String) {
    let total = items.iter().map(LineItem::amount).sum();
    let currency = items
        .first()
        .map(|i| i.currency.clone())
        .unwrap_or_default();
    (total, currency)
}

impl Store {
    /// Reads `line_items[n][price|price_data|quantity]`, checking that prices exist and share
    /// one currency.
    pub fn read_line_items(
        &mut self,
        params: &mut Params,
        allow_price_data: bool,
        ctx: &Ctx,
    ) -> ApiResult<Vec<LineItem>> {
        let entries = params
            .object_list("line_items")?
            .ok_or_else(|| ApiError::missing_param("line_items"))?;
        if entries.is_empty() {
            return Err(ApiError::missing_param("line_items"));
        }
        if entries.len() > MAX_LINE_ITEMS {
            return Err(ApiError::invalid(
                format!("You may only specify up to {MAX_LINE_ITEMS} line items."),
                Some("line_items"),
            ));
        }
        let mut items = Vec::with_capacity(entries.len());
        for mut entry in entries {
            let quantity = entry.positive_integer("quantity")?.unwrap_or(1);
            let price_data = if allow_price_data {
                entry.object("price_data")?
            } else {
                None
            };
            let price_id = match (entry.string("price")?, price_data) {
                (Some(id), None) => id,
                (None, Some(data)) => self.price_from_data(data, ctx)?,
                (Some(_), Some(_)) => {
                    return Err(ApiError::invalid(
                        "You may only specify one of these parameters: price, price_data.",
                        Some(&entry.path("price")),
                    ))
                }
                (None, None) => return Err(ApiError::missing_param(&entry.path("price"))),
            };
            let price = self
                .prices
                .get(&price_id)
                .ok_or_else(|| ApiError::no_such("price", &price_id, &entry.path("price")))?;
            let description = self
                .products
                .get(&price.product)
                .map(|p| p.name.clone())
                .unwrap_or_default();
            let item = LineItem {
                id: String::new(),
                price: price_id.clone(),
                quantity,
                unit_amount: price.unit_amount,
                currency: price.currency.clone(),
                description,
            };
            if let Some(first) = items.first() {
                let first: &LineItem = first;
                if first.currency != item.currency {
                    return Err(ApiError::invalid(
                        format!(
                            "All line items must use the same currency: {} and {} were given.",
                            first.currency, item.currency
                        ),
                        Some(&entry.path("price")),
                    ));
                }
            }
            entry.finish()?;
            items.push(item);
        }
        for item in &mut items {
            item.id = self.ids.id(IdKind::LineItem);
        }
        Ok(items)
    }

    /// One page of line items as a list object.
    pub fn list_line_items(
        &self,
        items: &[LineItem],
        url: &str,
        query: ListQuery,
    ) -> ApiResult<Value> {
        let mut table = Table::default();
        for item in items {
            table.insert(item.clone());
        }
        // Line items read in the order they were given, not newest first.
        let mut value = query.list(&table, "item", url, |_| true, |i| Ok(i.render(self)))?;
        if let Some(data) = value["data"].as_array_mut() {
            data.reverse();
        }
        Ok(value)
    }
}
