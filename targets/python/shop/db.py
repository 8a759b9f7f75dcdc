"""Orders and processed webhook events in SQLite (the standard library's sqlite3).

Every request opens its own short-lived connection, so the app is safe under the thread pool
that runs FastAPI's sync endpoints. Writes that must not interleave (applying a webhook) run in
one ``BEGIN IMMEDIATE`` transaction, which takes SQLite's write lock up front.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone

SCHEMA = """
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
"""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Order:
    id: str
    product_id: str
    product_name: str
    amount: int
    currency: str
    provider: str
    status: str
    provider_order_id: str | None
    provider_capture_id: str | None
    created_at: str
    updated_at: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Order:
        return cls(**{key: row[key] for key in row.keys()})


class Tx:
    """The queries available inside one transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def order(self, order_id: str) -> Order | None:
        row = self._conn.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
        return Order.from_row(row) if row else None

    def order_by_capture_id(self, payment_intent: str) -> Order | None:
        row = self._conn.execute(
            "SELECT * FROM orders WHERE provider_capture_id = ? LIMIT 1", (payment_intent,)
        ).fetchone()
        return Order.from_row(row) if row else None

    def insert_order(
        self, *, product_id: str, product_name: str, amount: int, currency: str, provider: str
    ) -> Order:
        order_id = str(uuid.uuid4())
        now = _now()
        self._conn.execute(
            """INSERT INTO orders (id, product_id, product_name, amount, currency, provider, status,
                                   provider_order_id, provider_capture_id, created_at, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, 'pending', NULL, NULL, ?, ?)""",
            (order_id, product_id, product_name, amount, currency, provider, now, now),
        )
        order = self.order(order_id)
        assert order is not None
        return order

    def update_order(
        self,
        order_id: str,
        status: str,
        provider_order_id: str | None = None,
        provider_capture_id: str | None = None,
    ) -> None:
        self._conn.execute(
            """UPDATE orders SET status = ?,
                   provider_order_id = COALESCE(?, provider_order_id),
                   provider_capture_id = COALESCE(?, provider_capture_id),
                   updated_at = ?
               WHERE id = ?""",
            (status, provider_order_id, provider_capture_id, _now(), order_id),
        )

    def is_processed(self, event_id: str) -> bool:
        row = self._conn.execute(
            "SELECT 1 FROM processed_events WHERE event_id = ?", (event_id,)
        ).fetchone()
        return row is not None

    def mark_processed(self, event_id: str, event_type: str) -> None:
        self._conn.execute(
            "INSERT OR IGNORE INTO processed_events (event_id, event_type, processed_at) VALUES (?, ?, ?)",
            (event_id, event_type, _now()),
        )


class Store:
    def __init__(self, path: str, *, durable: bool = True) -> None:
        """``durable=False`` (a throwaway database): WAL without an fsync per commit."""
        self.path = path
        self._synchronous = "FULL" if durable else "NORMAL"
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # isolation_level=None: no implicit transactions, we say BEGIN ourselves.
        # timeout: how long to wait for another connection's write lock.
        with closing(sqlite3.connect(self.path, timeout=10, isolation_level=None)) as conn:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
            yield conn

    @contextmanager
    def read(self) -> Iterator[Tx]:
        with self._connect() as conn:
            yield Tx(conn)

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """BEGIN IMMEDIATE … COMMIT, rolled back if the block raises."""
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield Tx(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
