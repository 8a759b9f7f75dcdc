'use strict';
// Orders and processed events in SQLite (better-sqlite3). Every webhook is applied inside one
// IMMEDIATE transaction that also records its event id, so redeliveries never apply twice.

const Database = require('better-sqlite3');

const SCHEMA = `
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
CREATE INDEX IF NOT EXISTS orders_provider_capture_id ON orders (provider_capture_id);
CREATE TABLE IF NOT EXISTS processed_events (
    event_id     TEXT PRIMARY KEY,
    event_type   TEXT NOT NULL,
    processed_at TEXT NOT NULL
);
`;

function toOrder(row) {
  return row && {
    id: row.id,
    productId: row.product_id,
    productName: row.product_name,
    amount: row.amount,
    currency: row.currency,
    provider: row.provider,
    status: row.status,
    providerOrderId: row.provider_order_id,
    providerCaptureId: row.provider_capture_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function openStore(path = ':memory:') {
  const db = new Database(path);
  if (path !== ':memory:') db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.exec(SCHEMA);
  const now = () => new Date().toISOString();
  const q = {
    insert: db.prepare(`INSERT INTO orders (id, product_id, product_name, amount, currency, provider, status,
      provider_order_id, provider_capture_id, created_at, updated_at)
      VALUES (@id, @productId, @productName, @amount, @currency, @provider, 'pending', NULL, NULL, @now, @now)`),
    byId: db.prepare('SELECT * FROM orders WHERE id = ?'),
    byCapture: db.prepare('SELECT * FROM orders WHERE provider_capture_id = ? LIMIT 1'),
    update: db.prepare(`UPDATE orders SET status = @status,
      provider_order_id = COALESCE(@providerOrderId, provider_order_id),
      provider_capture_id = COALESCE(@providerCaptureId, provider_capture_id),
      updated_at = @now WHERE id = @id`),
    processed: db.prepare('SELECT 1 FROM processed_events WHERE event_id = ?'),
    markProcessed: db.prepare('INSERT OR IGNORE INTO processed_events (event_id, event_type, processed_at) VALUES (?, ?, ?)'),
  };
  return {
    insertOrder(order) {
      q.insert.run({ ...order, now: now() });
      return toOrder(q.byId.get(order.id));
    },
    order: (id) => toOrder(q.byId.get(id)),
    orderByCaptureId: (pi) => toOrder(q.byCapture.get(pi)),
    applyUpdate(id, update) {
      q.update.run({
        id,
        status: update.status,
        providerOrderId: update.providerOrderId ?? null,
        providerCaptureId: update.providerCaptureId ?? null,
        now: now(),
      });
    },
    isProcessed: (eventId) => q.processed.get(eventId) !== undefined,
    markProcessed: (eventId, type) => q.markProcessed.run(eventId, type, now()),
    /** Runs fn inside BEGIN IMMEDIATE … COMMIT (rolled back if it throws). */
    transaction: (fn) => db.transaction(fn).immediate(),
    close: () => db.close(),
  };
}

module.exports = { openStore };
