//! Seed files: products, prices and payment links created when a simulator starts (and again
//! after `/_sim/reset`), so an app can be pointed at a ready-made payment link.
//!
//! ```toml
//! [[product]]
//! key = "lifetime"
//! name = "Lifetime"
//!
//! [[price]]
//! key = "lifetime_usd"
//! product = "lifetime"
//! unit_amount = 19900
//! currency = "usd"
//!
//! [[payment_link]]
//! key = "lifetime"
//! line_items = [{ price = "lifetime_usd", quantity = 1 }]
//! redirect_url = "http://localhost:3000/dashboard/billing?provider=stripe&session_id={CHECKOUT_SESSION_ID}"
//! ```

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use crate::form;
use crate::params::{Metadata, Params};
use crate::store::{Ctx, Store};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedFile {
    #[serde(default)]
    pub product: Vec<SeedProduct>,
    #[serde(default)]
    pub price: Vec<SeedPrice>,
    #[serde(default)]
    pub payment_link: Vec<SeedLink>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedProduct {
    pub key: String,
    pub name: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedPrice {
    pub key: String,
    /// Key of a product in the same file.
    pub product: String,
    pub unit_amount: i64,
    pub currency: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedLink {
    pub key: String,
    pub line_items: Vec<SeedLineItem>,
    /// Where to send the buyer after paying; without it Stripe's confirmation page shows.
    pub redirect_url: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedLineItem {
    /// Key of a price in the same file.
    pub price: String,
    #[serde(default = "one")]
    pub quantity: i64,
}

fn one() -> i64 {
    1
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("cannot read seed file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("seed file {path} is not valid: {message}")]
    Parse { path: String, message: String },
    #[error("seed entry {entry}: {message}")]
    Entry { entry: String, message: String },
}

impl SeedFile {
    pub fn load(path: &std::path::Path) -> Result<SeedFile, SeedError> {
        let text = std::fs::read_to_string(path).map_err(|source| SeedError::Read {
            path: path.display().to_string(),
            source,
        })?;
        SeedFile::parse(&text).map_err(|message| SeedError::Parse {
            path: path.display().to_string(),
            message,
        })
    }

    pub fn parse(text: &str) -> Result<SeedFile, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// The seed file shipped with the simulator: the Lifetime product (USD 199.00) and its link.
    pub fn builtin() -> SeedFile {
        SeedFile::parse(include_str!("../seed.toml")).unwrap_or_default()
    }

    /// Creates everything in the store through the same operations the API uses.
    pub fn apply(&self, store: &mut Store, now: i64) -> Result<(), SeedError> {
        let ctx = Ctx::automatic(now);
        let entry_err = |entry: String, message: String| SeedError::Entry { entry, message };
        let mut products = HashMap::new();
        for p in &self.product {
            let id = store.add_product(
                p.name.clone(),
                p.description.clone(),
                true,
                Metadata::new(),
                &ctx,
            );
            products.insert(p.key.clone(), id);
        }
        let mut prices = HashMap::new();
        for p in &self.price {
            let product = products.get(&p.product).ok_or_else(|| {
                entry_err(
                    format!("price {}", p.key),
                    format!("unknown product key '{}'", p.product),
                )
            })?;
            let body = format!(
                "product={product}&unit_amount={}&currency={}",
                p.unit_amount,
                encode(&p.currency)
            );
            let price = store
                .create_price(params(&body), &ctx)
                .map_err(|e| entry_err(format!("price {}", p.key), e.message))?;
            prices.insert(
                p.key.clone(),
                price["id"].as_str().unwrap_or_default().to_string(),
            );
        }
        for link in &self.payment_link {
            let mut body = Vec::new();
            for (i, item) in link.line_items.iter().enumerate() {
                let price = prices.get(&item.price).ok_or_else(|| {
                    entry_err(
                        format!("payment_link {}", link.key),
                        format!("unknown price key '{}'", item.price),
                    )
                })?;
                body.push(format!(
                    "line_items[{i}][price]={price}&line_items[{i}][quantity]={}",
                    item.quantity
                ));
            }
            if let Some(url) = &link.redirect_url {
                body.push(format!(
                    "after_completion[type]=redirect&after_completion[redirect][url]={}",
                    encode(url)
                ));
            }
            for (k, v) in &link.metadata {
                body.push(format!("metadata[{}]={}", encode(k), encode(v)));
            }
            let created = store
                .create_payment_link(params(&body.join("&")), &ctx)
                .map_err(|e| entry_err(format!("payment_link {}", link.key), e.message))?;
            store.seeded_links.insert(
                link.key.clone(),
                created["id"].as_str().unwrap_or_default().to_string(),
            );
        }
        // Seeding is set-up, not history: no webhook should ever carry these events.
        store.events = Default::default();
        Ok(())
    }
}

fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn params(body: &str) -> Params {
    Params::new(form::parse(body).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SimConfig;

    #[test]
    fn the_shipped_seed_creates_the_lifetime_link() {
        let seed = SeedFile::builtin();
        assert_eq!(seed.payment_link.len(), 1);
        let mut store = Store::new(SimConfig::default());
        seed.apply(&mut store, 1_700_000_000).unwrap();
        let link_id = &store.seeded_links["lifetime"];
        let link = store.payment_links.get(link_id).unwrap();
        assert_eq!(link.line_items[0].unit_amount, 19900);
        assert_eq!(link.currency(), "usd");
        assert!(store.events.is_empty());
    }

    #[test]
    fn unknown_keys_in_a_seed_file_are_named() {
        let seed =
            SeedFile::parse("[[price]]\nkey='p'\nproduct='nope'\nunit_amount=1\ncurrency='usd'\n")
                .unwrap();
        let mut store = Store::new(SimConfig::default());
        let err = seed.apply(&mut store, 0).unwrap_err();
        assert!(
            err.to_string().contains("unknown product key 'nope'"),
            "{err}"
        );
        assert!(SeedFile::parse("[[product]]\nkey='a'\nname='b'\ncolour='red'\n").is_err());
    }
}
