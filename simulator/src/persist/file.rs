//! The state file itself: SQLite in WAL mode, one table of rows `(kind, id, pos, body)` and one
//! of facts about the file (its schema version). The only part of the simulator that does disk
//! I/O, on its own thread.
//!
//! * An exclusive lock, taken at open and held until the simulator stops (SQLite's exclusive
//!   locking mode), keeps a second simulator off the same file; the operating system drops it
//!   when the process dies, even by `kill -9`.
//! * WAL mode with `synchronous=NORMAL` makes a commit one append to the log, no fsync: a
//!   committed change survives the simulator crashing or being killed. With `--state-fsync`
//!   (`synchronous=FULL`) every commit is also fsynced, so it survives a power cut too.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;
use std::sync::Arc;

use rusqlite::{params, Connection, ErrorCode, OptionalExtension};

use super::{ChangeSet, Durable, META};

/// The version of the file's layout this simulator writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

/// `MIGRATIONS[n]` turns a file of schema `n + 1` into schema `n + 2`. None yet: schema 1 is the
/// first.
pub const MIGRATIONS: &[fn(&rusqlite::Transaction<'_>) -> rusqlite::Result<()>] = &[];

/// At most this many change sets in one transaction, so one commit never grows without bound.
const MAX_BATCH: usize = 4096;

/// Why a state file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("state file {path}: {message}")]
    Open { path: PathBuf, message: String },
    #[error("state file {path} is in use by another stripe-sim (only one simulator may use a state file at a time; stop the other one or give this one another --state)")]
    Locked { path: PathBuf },
    #[error("state file {path} is not a stripe-sim state file ({message}); refusing to touch it")]
    Foreign { path: PathBuf, message: String },
    #[error("state file {path} was written by a newer stripe-sim (schema {found}; this one reads schema {SCHEMA_VERSION} and older): use that version, or another --state")]
    Newer { path: PathBuf, found: u32 },
    #[error("state file {path} cannot be read: {message}; it was not changed (use the stripe-sim that wrote it, or another --state)")]
    Corrupt { path: PathBuf, message: String },
    #[error("state file: {kind} {id} cannot be read by this version of stripe-sim ({message}); it was not changed (use the stripe-sim that wrote it, or another --state)")]
    Row {
        kind: String,
        id: String,
        message: String,
    },
    #[error("{0}")]
    Seed(String),
}

/// One stored row.
#[derive(Debug)]
pub struct Row {
    pub id: String,
    pub pos: i64,
    body: Vec<u8>,
}

impl Row {
    /// The row's body as `T`; a body this version cannot read is an error naming the row.
    pub fn decode<T: for<'de> serde::Deserialize<'de>>(&self, kind: &str) -> Result<T, StateError> {
        serde_json::from_slice(&self.body).map_err(|e| StateError::Row {
            kind: kind.to_string(),
            id: self.id.clone(),
            message: e.to_string(),
        })
    }
}

/// Every row of a file, by kind, each kind in position order.
#[derive(Debug, Default)]
pub struct Rows {
    by_kind: HashMap<String, Vec<Row>>,
}

impl Rows {
    /// Takes the rows of `kind` out (none if there are none).
    pub fn take(&mut self, kind: &str) -> Vec<Row> {
        self.by_kind.remove(kind).unwrap_or_default()
    }

    /// Kinds not taken yet.
    pub fn kinds(&self) -> impl Iterator<Item = &str> {
        self.by_kind.keys().map(String::as_str)
    }
}

fn sqlite_error(path: &Path, e: rusqlite::Error) -> StateError {
    let code = e.sqlite_error_code();
    match code {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StateError::Locked {
            path: path.to_path_buf(),
        },
        Some(ErrorCode::NotADatabase) => StateError::Foreign {
            path: path.to_path_buf(),
            message: "it is not an SQLite database".to_string(),
        },
        _ => StateError::Open {
            path: path.to_path_buf(),
            message: e.to_string(),
        },
    }
}

/// Opens (or creates) the file, locks it, checks or creates its schema, and reads every row.
pub fn open(path: &Path, fsync: bool) -> Result<(Connection, Rows), StateError> {
    let err = |e| sqlite_error(path, e);
    let mut conn = Connection::open(path).map_err(err)?;
    conn.busy_timeout(std::time::Duration::ZERO).map_err(err)?;
    conn.query_row("PRAGMA locking_mode=EXCLUSIVE", [], |_| Ok(()))
        .map_err(err)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))
        .map_err(err)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StateError::Open {
            path: path.to_path_buf(),
            message: format!("cannot switch it to WAL mode (it stays in {mode} mode)"),
        });
    }
    conn.execute_batch(if fsync {
        "PRAGMA synchronous=FULL"
    } else {
        "PRAGMA synchronous=NORMAL"
    })
    .map_err(err)?;
    // Take the exclusive lock now, and keep it: a second simulator fails here.
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)
        .map_err(err)?;
    check_schema(path, &tx)?;
    tx.commit().map_err(err)?;
    let rows = read_rows(&conn).map_err(err)?;
    Ok((conn, rows))
}

/// Creates the schema in a new file, migrates an older one, and refuses anything else.
fn check_schema(path: &Path, tx: &rusqlite::Transaction<'_>) -> Result<(), StateError> {
    let err = |e| sqlite_error(path, e);
    let tables: Vec<String> = {
        let mut stmt = tx
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .map_err(err)?;
        let names = stmt
            .query_map([], |row| row.get::<_, String>(0))
            .map_err(err)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(err)?;
        names
    };
    if tables.is_empty() {
        tx.execute_batch(
            "CREATE TABLE stripe_sim (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE state_rows (
                 kind TEXT NOT NULL,
                 id TEXT NOT NULL,
                 pos INTEGER NOT NULL,
                 body BLOB NOT NULL,
                 PRIMARY KEY (kind, id)
             ) WITHOUT ROWID;",
        )
        .map_err(err)?;
        tx.execute(
            "INSERT INTO stripe_sim (key, value) VALUES ('schema_version', ?1), ('created_by', ?2)",
            params![
                SCHEMA_VERSION.to_string(),
                format!("stripe-sim {}", env!("CARGO_PKG_VERSION"))
            ],
        )
        .map_err(err)?;
        return Ok(());
    }
    if !tables.iter().any(|t| t == "stripe_sim") {
        return Err(StateError::Foreign {
            path: path.to_path_buf(),
            message: format!("it has the tables {}", tables.join(", ")),
        });
    }
    let version: Option<String> = tx
        .query_row(
            "SELECT value FROM stripe_sim WHERE key = 'schema_version'",
            [],
            |row| row.get(0),
        )
        .optional()
        .map_err(err)?;
    let version: u32 = version
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| StateError::Foreign {
            path: path.to_path_buf(),
            message: "it has no schema version".to_string(),
        })?;
    if version > SCHEMA_VERSION {
        return Err(StateError::Newer {
            path: path.to_path_buf(),
            found: version,
        });
    }
    if version == 0 {
        return Err(StateError::Foreign {
            path: path.to_path_buf(),
            message: "its schema version is 0".to_string(),
        });
    }
    for migration in &MIGRATIONS[(version - 1) as usize..] {
        migration(tx).map_err(err)?;
    }
    tx.execute(
        "UPDATE stripe_sim SET value = ?1 WHERE key = 'schema_version'",
        params![SCHEMA_VERSION.to_string()],
    )
    .map_err(err)?;
    Ok(())
}

fn read_rows(conn: &Connection) -> rusqlite::Result<Rows> {
    let mut stmt = conn.prepare("SELECT kind, id, pos, body FROM state_rows ORDER BY kind, pos")?;
    let mut rows = Rows::default();
    let mut cursor = stmt.query([])?;
    while let Some(row) = cursor.next()? {
        let kind: String = row.get(0)?;
        // Written as a blob; anything else (a hand-edited file) reaches decoding, which names
        // the row it cannot read.
        let body = match row.get_ref(3)? {
            rusqlite::types::ValueRef::Blob(bytes) | rusqlite::types::ValueRef::Text(bytes) => {
                bytes.to_vec()
            }
            _ => Vec::new(),
        };
        rows.by_kind.entry(kind).or_default().push(Row {
            id: row.get(1)?,
            pos: row.get(2)?,
            body,
        });
    }
    Ok(rows)
}

/// The writer thread: takes every change set queued, commits them in one transaction, tells
/// the waiters, and goes round again until the simulator drops its sender.
pub fn run_writer(mut conn: Connection, changes: Receiver<ChangeSet>, durable: Arc<Durable>) {
    while let Ok(first) = changes.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match changes.try_recv() {
                Ok(more) => batch.push(more),
                Err(_) => break,
            }
        }
        if durable.failure().is_some() {
            continue; // the file is broken: nothing more is written, every waiter is told
        }
        let last = batch.last().map(|c| c.seq).unwrap_or_default();
        match write_batch(&mut conn, &batch) {
            Ok(()) => {
                durable.committed.store(last, Ordering::Release);
                durable.progress.notify_waiters();
            }
            Err(e) => durable.fail(e),
        }
    }
}

fn write_batch(conn: &mut Connection, batch: &[ChangeSet]) -> Result<(), String> {
    let tx = conn.transaction().map_err(|e| e.to_string())?;
    {
        let mut delete = tx
            .prepare_cached("DELETE FROM state_rows WHERE kind = ?1 AND id = ?2")
            .map_err(|e| e.to_string())?;
        let mut upsert = tx
            .prepare_cached(
                "INSERT OR REPLACE INTO state_rows (kind, id, pos, body) VALUES (?1, ?2, ?3, ?4)",
            )
            .map_err(|e| e.to_string())?;
        let mut meta = None;
        for changes in batch {
            if changes.reset {
                tx.execute("DELETE FROM state_rows", [])
                    .map_err(|e| e.to_string())?;
            }
            for (kind, id) in &changes.deletes {
                delete
                    .execute(params![kind, id])
                    .map_err(|e| e.to_string())?;
            }
            for row in &changes.upserts {
                let body = row
                    .body
                    .encode()
                    .map_err(|e| format!("cannot serialize {} {}: {e}", row.kind, row.id))?;
                upsert
                    .execute(params![row.kind, row.id, row.pos, body])
                    .map_err(|e| e.to_string())?;
            }
            if changes.meta.is_some() {
                meta = changes.meta.as_ref();
            }
        }
        if let Some(meta) = meta {
            let body = serde_json::to_vec(meta).map_err(|e| e.to_string())?;
            upsert
                .execute(params![META, "state", 0, body])
                .map_err(|e| e.to_string())?;
        }
    }
    tx.commit().map_err(|e| e.to_string())
}
