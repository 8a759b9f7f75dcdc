//! Orders kept in memory (the `memory` [variant](crate::variant)): maps behind the store's one
//! lock instead of SQLite, as many small apps keep them.
//!
//! The guarantees are the SQLite store's: a write sees the state as of its start and either all
//! of it lands or none (the changes are staged in a [`MemoryTx`] and committed together when
//! the closure succeeds), and writes are serialized by the store's lock, so a duplicate delivery
//! cannot apply twice.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use crate::order::Order;
use crate::rules::Update;
use crate::store::StoreError;

/// Everything the app knows, in memory.
#[derive(Debug, Default)]
pub struct Memory {
    orders: HashMap<String, Order>,
    /// PaymentIntent → the order that recorded it: `charge.refunded` finds its order by it.
    by_capture: HashMap<String, String>,
    processed: HashSet<String>,
}

/// What a transaction changed, applied by [`Memory::commit`].
#[derive(Debug, Default)]
pub struct Staged {
    orders: HashMap<String, Order>,
    processed: HashSet<String>,
}

impl Memory {
    pub fn order(&self, id: &str) -> Option<Order> {
        self.orders.get(id).cloned()
    }

    pub fn processed_count(&self) -> u64 {
        self.processed.len() as u64
    }

    /// Makes a transaction's changes visible.
    pub fn commit(&mut self, staged: Staged) {
        for (id, order) in staged.orders {
            if let Some(old) = self.orders.get(&id) {
                if let Some(old_capture) = &old.provider_capture_id {
                    if order.provider_capture_id.as_ref() != Some(old_capture)
                        && self.by_capture.get(old_capture) == Some(&id)
                    {
                        self.by_capture.remove(old_capture);
                    }
                }
            }
            if let Some(capture) = &order.provider_capture_id {
                self.by_capture
                    .entry(capture.clone())
                    .or_insert_with(|| id.clone());
            }
            self.orders.insert(id, order);
        }
        self.processed.extend(staged.processed);
    }
}

/// One write: reads see the committed state plus this write's own changes.
#[derive(Debug)]
pub struct MemoryTx<'a> {
    base: &'a Memory,
    staged: RefCell<Staged>,
}

impl<'a> MemoryTx<'a> {
    pub fn new(base: &'a Memory) -> MemoryTx<'a> {
        MemoryTx {
            base,
            staged: RefCell::new(Staged::default()),
        }
    }

    pub fn into_staged(self) -> Staged {
        self.staged.into_inner()
    }

    pub fn order(&self, id: &str) -> Option<Order> {
        self.staged
            .borrow()
            .orders
            .get(id)
            .cloned()
            .or_else(|| self.base.order(id))
    }

    /// The order that recorded PaymentIntent `payment_intent` (the first created, if several).
    pub fn order_by_capture_id(&self, payment_intent: &str) -> Option<Order> {
        let staged = self.staged.borrow();
        let mut candidates: Vec<Order> = staged
            .orders
            .values()
            .filter(|o| o.provider_capture_id.as_deref() == Some(payment_intent))
            .cloned()
            .collect();
        if let Some(id) = self.base.by_capture.get(payment_intent) {
            let current = staged
                .orders
                .get(id)
                .cloned()
                .or_else(|| self.base.order(id));
            if let Some(order) = current {
                if order.provider_capture_id.as_deref() == Some(payment_intent)
                    && !candidates.iter().any(|c| c.id == order.id)
                {
                    candidates.push(order);
                }
            }
        }
        candidates
            .into_iter()
            .min_by(|a, b| (&a.created_at, &a.id).cmp(&(&b.created_at, &b.id)))
    }

    pub fn insert_order(&self, order: &Order) -> Result<(), StoreError> {
        if self.order(&order.id).is_some() {
            return Err(StoreError::DuplicateOrder(order.id.clone()));
        }
        self.staged
            .borrow_mut()
            .orders
            .insert(order.id.clone(), order.clone());
        Ok(())
    }

    /// Writes `update` to order `id` (ids it leaves `None` are kept) and returns the order.
    pub fn apply(&self, id: &str, update: &Update, now: &str) -> Option<Order> {
        let mut order = self.order(id)?;
        order.status = update.status;
        if let Some(session) = &update.provider_order_id {
            order.provider_order_id = Some(session.clone());
        }
        if let Some(intent) = &update.provider_capture_id {
            order.provider_capture_id = Some(intent.clone());
        }
        order.updated_at = now.to_string();
        self.staged
            .borrow_mut()
            .orders
            .insert(id.to_string(), order.clone());
        Some(order)
    }

    pub fn is_processed(&self, event_id: &str) -> bool {
        self.staged.borrow().processed.contains(event_id) || self.base.processed.contains(event_id)
    }

    pub fn mark_processed(&self, event_id: &str) {
        self.staged
            .borrow_mut()
            .processed
            .insert(event_id.to_string());
    }
}
