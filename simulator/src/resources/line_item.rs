//! Line items (`item` objects) of payment links and Checkout Sessions. They are never embedded in
//! their parent: only `expand[]=line_items` or `GET …/line_items` shows them.

use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::ids::IdKind;
use crate::params::Params;
use crate::resources::display_amount;
use crate::resources::price::PriceData;
use crate::store::{Ctx, ListQuery, Store};
use crate::table::{Identified, Table};

/// At most this many line items on a link or session, as Stripe allows.
pub const MAX_LINE_ITEMS: usize = 100;

/// The largest total a link or session may ask for, in minor units (Stripe's eight digits:
/// $999,999.99). Larger quantities are refused rather than overflowing the totals.
pub const MAX_TOTAL: i64 = 99_999_999;

/// Line items as requested: checked, but the prices their `price_data` describe are not stored
/// yet ([`Store::store_line_items`] does that once the whole request is known to be valid).
#[derive(Debug, Clone, Default)]
pub struct LineItemsRequest {
    /// The items; those waiting for a new price have an empty `price`.
    pub items: Vec<LineItem>,
    /// The prices to create, by index in `items`.
    pub new_prices: Vec<(usize, PriceData)>,
}

impl LineItemsRequest {
    pub fn currency(&self) -> String {
        totals(&self.items).1
    }
}

/// `$999999.99` → `$999,999.99`.
fn group_thousands(amount: &str) -> String {
    let start = amount.find(|c: char| c.is_ascii_digit()).unwrap_or(0);
    let end = amount[start..]
        .find(|c: char| !c.is_ascii_digit())
        .map_or(amount.len(), |i| start + i);
    let digits = &amount[start..end];
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{}{grouped}{}", &amount[..start], &amount[end..])
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
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
    /// Reads `line_items[n][price|quantity]` (payment links: no `price_data`) and gives the items
    /// their ids.
    pub fn read_line_items(
        &mut self,
        params: &mut Params,
        allow_price_data: bool,
        ctx: &Ctx,
    ) -> ApiResult<Vec<LineItem>> {
        let request = self.check_line_items(params, allow_price_data)?;
        Ok(self.store_line_items(request, ctx))
    }

    /// Reads and checks `line_items[n][price|price_data|quantity]`: prices exist (or are well
    /// described), share one currency and the total stays within [`MAX_TOTAL`]. Stores nothing.
    pub fn check_line_items(
        &self,
        params: &mut Params,
        allow_price_data: bool,
    ) -> ApiResult<LineItemsRequest> {
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
        let mut request = LineItemsRequest::default();
        let mut total: i64 = 0;
        for mut entry in entries {
            let quantity = entry.positive_integer("quantity")?.unwrap_or(1);
            let price_data = if allow_price_data {
                entry.object("price_data")?
            } else {
                None
            };
            let item = match (entry.string("price")?, price_data) {
                (Some(price_id), None) => {
                    let price = self.prices.get(&price_id).ok_or_else(|| {
                        ApiError::no_such("price", &price_id, &entry.path("price"))
                    })?;
                    LineItem {
                        id: String::new(),
                        price: price_id.clone(),
                        quantity,
                        unit_amount: price.unit_amount,
                        currency: price.currency.clone(),
                        description: self
                            .products
                            .get(&price.product)
                            .map(|p| p.name.clone())
                            .unwrap_or_default(),
                    }
                }
                (None, Some(data)) => {
                    let data = self.read_price_data(data)?;
                    let item = LineItem {
                        id: String::new(),
                        price: String::new(),
                        quantity,
                        unit_amount: data.unit_amount,
                        currency: data.currency.clone(),
                        description: data.product_name().to_string(),
                    };
                    request.new_prices.push((request.items.len(), data));
                    item
                }
                (Some(_), Some(_)) => {
                    return Err(ApiError::invalid(
                        "You may only specify one of these parameters: price, price_data.",
                        Some(&entry.path("price")),
                    ))
                }
                (None, None) => return Err(ApiError::missing_param(&entry.path("price"))),
            };
            if let Some(first) = request.items.first() {
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
            total = item
                .unit_amount
                .checked_mul(item.quantity)
                .and_then(|amount| total.checked_add(amount))
                .filter(|t| *t <= MAX_TOTAL)
                .ok_or_else(|| {
                    ApiError::invalid(
                        format!(
                            "The total amount due must be no more than {}.",
                            group_thousands(&display_amount(MAX_TOTAL, &item.currency))
                        ),
                        Some(&entry.path("quantity")),
                    )
                })?;
            entry.finish()?;
            request.items.push(item);
        }
        Ok(request)
    }

    /// Stores the prices a checked request describes and gives every item its id.
    pub fn store_line_items(&mut self, request: LineItemsRequest, ctx: &Ctx) -> Vec<LineItem> {
        let mut items = request.items;
        for (index, data) in request.new_prices {
            let price = self.add_price_from_data(data, ctx);
            if let Some(item) = items.get_mut(index) {
                item.price = price;
            }
        }
        for item in &mut items {
            item.id = self.ids.id(IdKind::LineItem);
        }
        items
    }

    /// One page of line items as a list object.
    pub fn list_line_items(
        &self,
        items: &[LineItem],
        url: &str,
        query: ListQuery,
    ) -> ApiResult<Value> {
        // Line items read in the order they were given, not newest first: stored last to first,
        // the table's newest-first paging (limit, starting_after, ending_before) walks them in
        // that order.
        let mut table = Table::default();
        for item in items.iter().rev() {
            table.insert(item.clone());
        }
        query.list(&table, "item", url, |_| true, |i| Ok(i.render(self)))
    }
}
