//! Persistence: orders and processed webhook events, in SQLite (or in memory, the `memory`
//! [variant](crate::variant), in [`crate::memory_store`]).
//!
//! One connection behind a std [`Mutex`]: rusqlite's `Connection` is `Send` but not `Sync`, and
//! every statement here is short and synchronous. No `.await` ever happens while the lock is
//! held (the lock guard lives only inside the methods below, which are not `async`), so a slow
//! call to Stripe never blocks the database and the guard never crosses a suspension point.
//!
//! Every write runs in a `BEGIN IMMEDIATE` transaction: the write lock is taken before the
//! current state is read, so two concurrent deliveries of the same event cannot both see
//! `pending` and both apply (this also holds when several processes share one database file).

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};

use crate::memory_store::{Memory, MemoryTx};
use crate::order::{Order, OrderStatus, UnknownStatus};
use crate::rules::Update;
use crate::variant::Storage;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS orders (
    id                  TEXT PRIMARY KEY,
    product_id          TEXT NOT NULL,
    product_name        TEXT NOT NULL,
    amount              INTEGER NOT NULL CHECK (amount > 0),
    currency            TEXT NOT NULL,
    provider            TEXT NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'failed', 'refunded')),
    provider_order_id   TEXT,
    provider_capture_id TEXT,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
-- charge.refunded finds its order by PaymentIntent.
CREATE INDEX IF NOT EXISTS orders_provider_capture_id ON orders (provider_capture_id);
CREATE TABLE IF NOT EXISTS processed_events (
    event_id     TEXT PRIMARY KEY,
    event_type   TEXT NOT NULL,
    processed_at TEXT NOT NULL
);
";

const ORDER_COLUMNS: &str = "id, product_id, product_name, amount, currency, provider, status, \
     provider_order_id, provider_capture_id, created_at, updated_at";

/// A database failure; the HTTP layer answers 500 and Stripe retries.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("corrupt order row: {0}")]
    CorruptRow(#[from] UnknownStatus),
    #[error("an order with id {0} exists already")]
    DuplicateOrder(String),
}

/// The orders database.
#[derive(Debug)]
pub struct Store {
    backend: Backend,
}

#[derive(Debug)]
enum Backend {
    Sqlite(Mutex<Connection>),
    // Also a std mutex held only by the synchronous methods below, never across an `.await`.
    Memory(Mutex<Memory>),
}

impl Store {
    /// The store `storage` asks for: SQLite at `path`, or maps in memory (`path` unused).
    pub fn open_as(storage: Storage, path: &str) -> Result<Store, StoreError> {
        match storage {
            Storage::Sqlite => Store::open(path),
            Storage::Memory => Ok(Store::in_memory()),
        }
    }

    /// Orders in maps in this process, no SQLite.
    pub fn in_memory() -> Store {
        Store {
            backend: Backend::Memory(Mutex::new(Memory::default())),
        }
    }

    /// Opens (and creates) the database at `path`; `:memory:` keeps it in this process only.
    pub fn open(path: &str) -> Result<Store, StoreError> {
        let conn = if path == ":memory:" {
            Connection::open_in_memory()?
        } else {
            let conn = Connection::open(path)?;
            // WAL lets readers proceed during a write; the busy timeout makes a second process
            // wait for BEGIN IMMEDIATE instead of failing at once.
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| {
                row.get::<_, String>(0)
            })?;
            conn
        };
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Store {
            backend: Backend::Sqlite(Mutex::new(conn)),
        })
    }

    /// Runs `f` inside one `BEGIN IMMEDIATE` transaction: committed if `f` returns `Ok`, rolled
    /// back otherwise.
    pub fn write<T, E>(&self, f: impl FnOnce(&OrderTx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        // A panic in another request cannot leave a half-applied write behind (the transaction
        // rolls back when dropped; staged memory changes are dropped), so a poisoned lock is
        // safe to keep using.
        match &self.backend {
            Backend::Sqlite(conn) => {
                let mut conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(StoreError::from)?;
                let result = f(&OrderTx {
                    inner: Tx::Sqlite(&tx),
                })?;
                tx.commit().map_err(StoreError::from)?;
                Ok(result)
            }
            Backend::Memory(memory) => {
                let mut memory = memory.lock().unwrap_or_else(PoisonError::into_inner);
                let tx = MemoryTx::new(&memory);
                let result = f(&OrderTx {
                    inner: Tx::Memory(&tx),
                })?;
                let staged = tx.into_staged();
                memory.commit(staged);
                Ok(result)
            }
        }
    }

    pub fn insert_order(&self, order: &Order) -> Result<(), StoreError> {
        self.write(|tx| tx.insert_order(order))
    }

    pub fn order(&self, id: &str) -> Result<Option<Order>, StoreError> {
        match &self.backend {
            Backend::Sqlite(conn) => {
                let conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
                find_order(&conn, "id", id)
            }
            Backend::Memory(memory) => Ok(memory
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .order(id)),
        }
    }

    /// How many events have been recorded as processed (for tests and diagnostics).
    pub fn processed_event_count(&self) -> Result<u64, StoreError> {
        match &self.backend {
            Backend::Sqlite(conn) => {
                let conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
                Ok(
                    conn.query_row("SELECT COUNT(*) FROM processed_events", [], |row| {
                        row.get(0)
                    })?,
                )
            }
            Backend::Memory(memory) => Ok(memory
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .processed_count()),
        }
    }
}

/// The operations available inside a write transaction.
pub struct OrderTx<'a> {
    inner: Tx<'a>,
}

enum Tx<'a> {
    Sqlite(&'a Transaction<'a>),
    Memory(&'a MemoryTx<'a>),
}

impl OrderTx<'_> {
    pub fn insert_order(&self, order: &Order) -> Result<(), StoreError> {
        let tx = match &self.inner {
            Tx::Sqlite(tx) => tx,
            Tx::Memory(memory) => return memory.insert_order(order),
        };
        // Cached statements: parsing the SQL again on every request was a tenth of a harness run.
        tx.prepare_cached(
            &format!("INSERT INTO orders ({ORDER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"),
        )?.execute(
            params![
                order.id,
                order.product_id,
                order.product_name,
                order.amount,
                order.currency,
                order.provider,
                order.status.as_str(),
                order.provider_order_id,
                order.provider_capture_id,
                order.created_at,
                order.updated_at,
            ],
        )?;
        Ok(())
    }

    pub fn order(&self, id: &str) -> Result<Option<Order>, StoreError> {
        match &self.inner {
            Tx::Sqlite(tx) => find_order(tx, "id", id),
            Tx::Memory(memory) => Ok(memory.order(id)),
        }
    }

    /// The order paid by PaymentIntent `payment_intent`, if any.
    pub fn order_by_capture_id(&self, payment_intent: &str) -> Result<Option<Order>, StoreError> {
        match &self.inner {
            Tx::Sqlite(tx) => find_order(tx, "provider_capture_id", payment_intent),
            Tx::Memory(memory) => Ok(memory.order_by_capture_id(payment_intent)),
        }
    }

    /// Writes `update` to order `id` and returns the order as it now is.
    pub fn apply(&self, id: &str, update: &Update, now: &str) -> Result<Option<Order>, StoreError> {
        let tx = match &self.inner {
            Tx::Sqlite(tx) => tx,
            Tx::Memory(memory) => return Ok(memory.apply(id, update, now)),
        };
        tx.prepare_cached(
            "UPDATE orders SET status = ?2,
                 provider_order_id = COALESCE(?3, provider_order_id),
                 provider_capture_id = COALESCE(?4, provider_capture_id),
                 updated_at = ?5
             WHERE id = ?1",
        )?
        .execute(params![
            id,
            update.status.as_str(),
            update.provider_order_id,
            update.provider_capture_id,
            now
        ])?;
        self.order(id)
    }

    /// Whether event `event_id` was already processed (a redelivery).
    pub fn is_processed(&self, event_id: &str) -> Result<bool, StoreError> {
        let tx = match &self.inner {
            Tx::Sqlite(tx) => tx,
            Tx::Memory(memory) => return Ok(memory.is_processed(event_id)),
        };
        Ok(tx
            .prepare_cached("SELECT 1 FROM processed_events WHERE event_id = ?1")?
            .query_row([event_id], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Records event `event_id` as processed, in the same transaction as its effect.
    pub fn mark_processed(
        &self,
        event_id: &str,
        event_type: &str,
        now: &str,
    ) -> Result<(), StoreError> {
        let tx = match &self.inner {
            Tx::Sqlite(tx) => tx,
            Tx::Memory(memory) => {
                memory.mark_processed(event_id);
                return Ok(());
            }
        };
        tx.prepare_cached(
                "INSERT OR IGNORE INTO processed_events (event_id, event_type, processed_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![event_id, event_type, now])?;
        Ok(())
    }
}

fn find_order(conn: &Connection, column: &str, value: &str) -> Result<Option<Order>, StoreError> {
    // `column` is one of two literals chosen in this file, never user input.
    let sql = format!(
        "SELECT {ORDER_COLUMNS} FROM orders WHERE {column} = ?1 ORDER BY created_at LIMIT 1"
    );
    let row = conn
        .prepare_cached(&sql)?
        .query_row([value], RawOrder::from_row)
        .optional()?;
    Ok(row.map(RawOrder::into_order).transpose()?)
}

/// A row before its status string is checked.
struct RawOrder {
    order: Order,
    status: String,
}

impl RawOrder {
    fn from_row(row: &Row<'_>) -> Result<RawOrder, rusqlite::Error> {
        Ok(RawOrder {
            order: Order {
                id: row.get(0)?,
                product_id: row.get(1)?,
                product_name: row.get(2)?,
                amount: row.get(3)?,
                currency: row.get(4)?,
                provider: row.get(5)?,
                status: OrderStatus::Pending,
                provider_order_id: row.get(7)?,
                provider_capture_id: row.get(8)?,
                created_at: row.get(9)?,
                updated_at: row.get(10)?,
            },
            status: row.get(6)?,
        })
    }

    fn into_order(self) -> Result<Order, UnknownStatus> {
        Ok(Order {
            status: self.status.parse()?,
            ..self.order
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(id: &str) -> Order {
        Order {
            id: id.into(),
            product_id: "lifetime".into(),
            product_name: "Lifetime".into(),
            amount: 19900,
            currency: "USD".into(),
            provider: "stripe".into(),
            status: OrderStatus::Pending,
            provider_order_id: None,
            provider_capture_id: None,
            created_at: "t0".into(),
            updated_at: "t0".into(),
        }
    }

    #[test]
    fn an_inserted_order_reads_back_unchanged() {
        let store = Store::open(":memory:").unwrap();
        store.insert_order(&pending("a")).unwrap();
        assert_eq!(store.order("a").unwrap(), Some(pending("a")));
        assert_eq!(store.order("b").unwrap(), None);
    }

    #[test]
    fn an_update_keeps_ids_it_does_not_set_and_is_found_by_capture_id() {
        let store = Store::open(":memory:").unwrap();
        store.insert_order(&pending("a")).unwrap();
        let paid = Update {
            status: OrderStatus::Paid,
            provider_order_id: Some("cs_1".into()),
            provider_capture_id: Some("pi_1".into()),
        };
        let refunded = Update {
            status: OrderStatus::Refunded,
            provider_order_id: None,
            provider_capture_id: None,
        };
        store
            .write(|tx| {
                tx.apply("a", &paid, "t1")?;
                tx.apply("a", &refunded, "t2")
            })
            .unwrap();
        let order = store
            .write(|tx| tx.order_by_capture_id("pi_1"))
            .unwrap()
            .unwrap();
        assert_eq!(order.status, OrderStatus::Refunded);
        assert_eq!(order.provider_order_id.as_deref(), Some("cs_1"));
        assert_eq!(order.updated_at, "t2");
    }

    #[test]
    fn a_failed_write_rolls_back_everything_it_did() {
        for store in [Store::open(":memory:").unwrap(), Store::in_memory()] {
            let result: Result<(), StoreError> = store.write(|tx| {
                tx.insert_order(&pending("a"))?;
                tx.mark_processed("evt_1", "checkout.session.completed", "t")?;
                Err(StoreError::CorruptRow(UnknownStatus("boom".into())))
            });
            assert!(result.is_err());
            assert_eq!(store.order("a").unwrap(), None);
            assert_eq!(store.processed_event_count().unwrap(), 0);
        }
    }

    #[test]
    fn both_stores_find_an_order_by_the_payment_it_recorded_last() {
        for store in [Store::open(":memory:").unwrap(), Store::in_memory()] {
            store.insert_order(&pending("a")).unwrap();
            let paid_by = |pi: &str| Update {
                status: OrderStatus::Paid,
                provider_order_id: Some(format!("cs_{pi}")),
                provider_capture_id: Some(pi.to_string()),
            };
            store
                .write(|tx| tx.apply("a", &paid_by("pi_1"), "t1"))
                .unwrap();
            store
                .write(|tx| tx.apply("a", &paid_by("pi_2"), "t2"))
                .unwrap();
            let by = |pi: &str| store.write(|tx| tx.order_by_capture_id(pi)).unwrap();
            assert_eq!(by("pi_2").map(|o| o.id), Some("a".to_string()));
            assert_eq!(by("pi_1"), None);
            assert!(store.write(|tx| tx.insert_order(&pending("a"))).is_err());
        }
    }

    #[test]
    fn processed_events_are_remembered() {
        let store = Store::open(":memory:").unwrap();
        store
            .write(|tx| tx.mark_processed("evt_1", "charge.refunded", "t"))
            .unwrap();
        assert!(store.write(|tx| tx.is_processed("evt_1")).unwrap());
        assert!(!store.write(|tx| tx.is_processed("evt_2")).unwrap());
    }

    #[test]
    fn a_database_file_survives_reopening() {
        let path = std::env::temp_dir().join(format!(
            "reference-target-store-{}.sqlite",
            std::process::id()
        ));
        let path_str = path.to_string_lossy().into_owned();
        {
            let store = Store::open(&path_str).unwrap();
            store.insert_order(&pending("kept")).unwrap();
        }
        let reopened = Store::open(&path_str).unwrap();
        assert!(reopened.order("kept").unwrap().is_some());
        drop(reopened);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{path_str}{suffix}"));
        }
    }
}
