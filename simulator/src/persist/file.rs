//! The state file itself: SQLite in WAL mode, one table of rows `(kind, id, pos, body)` and one
//! of facts about the file (its schema version), with its commit log in front. The writer
//! thread (folds, and fsyncs with `--state-fsync`) is the only part of the simulator that
//! writes SQLite; appends to the log are made by the operation that changed the store.
//!
//! * An exclusive lock, taken at open and held until the simulator stops (SQLite's exclusive
//!   locking mode), keeps a second simulator off the same file; the operating system drops it
//!   when the process dies, even by `kill -9`.
//! * A change is committed when its record is appended to the log beside the file ([`Log`]),
//!   with no fsync: it survives the simulator crashing or being killed. With `--state-fsync`
//!   the writer also fsyncs the log (once for every record appended meanwhile) before the
//!   change counts as committed, so it survives a power cut too.
//! * The log is folded into SQLite (WAL mode, `synchronous=NORMAL`, or `FULL` with
//!   `--state-fsync`) in large transactions: moved aside first (appends go on in a new log),
//!   and removed once the fold is committed. A reset is folded at once, before it is answered,
//!   and the file shrunk (`VACUUM`): nothing of the forgotten state stays in either file.
//! * At start, the logs are read before anything is changed: what they hold is folded, a write
//!   cut short at an end is dropped, and a record damaged in a middle is refused, naming the
//!   log.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{params, Connection, ErrorCode, OptionalExtension};

use super::log::{self, Log, Op};
use super::{Appended, Appender, ChangeSet, Durable, META};

/// The version of the file's layout this simulator writes and reads.
pub const SCHEMA_VERSION: u32 = 2;

/// `MIGRATIONS[n]` turns a file of schema `n + 1` into schema `n + 2`.
pub const MIGRATIONS: &[fn(&rusqlite::Transaction<'_>) -> rusqlite::Result<()>] =
    &[rows_in_write_order];

/// The table of rows (schema 2).
///
/// A plain rowid table, so rows are stored in the order they were last written: a new object,
/// its event and the meta row all land on the last page, and a commit writes a few pages to the
/// log. Only the `(kind, id)` index takes random inserts, and its entries are small. (Schema 1
/// kept the rows themselves in `(kind, id)` order, `WITHOUT ROWID`: every write landed on a
/// random page of kilobyte-sized rows, split it often, spilled events to overflow pages, and a
/// commit wrote about eight pages.)
const STATE_ROWS: &str = "CREATE TABLE state_rows (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    pos INTEGER NOT NULL,
    body BLOB NOT NULL,
    UNIQUE (kind, id)
);";

/// Schema 1 to 2: the same rows, stored in write order (see [`STATE_ROWS`]).
fn rows_in_write_order(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(&format!(
        "ALTER TABLE state_rows RENAME TO state_rows_1;
         {STATE_ROWS}
         INSERT INTO state_rows (kind, id, pos, body)
             SELECT kind, id, pos, body FROM state_rows_1 ORDER BY kind, pos;
         DROP TABLE state_rows_1;"
    ))
}

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
pub fn open(path: &Path, fsync: bool) -> Result<(Connection, Log, Rows), StateError> {
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
    // A fold touches pages all over the `(kind, id)` index: keep them in memory (32 MiB at
    // most) rather than read them back each time, and copy the WAL into the file every 16 MiB
    // rather than every 4 (a copy fsyncs twice; it comes after a fold, in the background of
    // nothing but the next commit).
    conn.execute_batch("PRAGMA cache_size=-32768; PRAGMA wal_autocheckpoint=4096;")
        .map_err(err)?;
    // Take the exclusive lock now, and keep it: a second simulator fails here, before it reads
    // or writes the log.
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)
        .map_err(err)?;
    // What the last run committed to its log and had not folded into SQLite yet (it was
    // killed). Read before anything is changed: a damaged log is refused with both files as
    // they were.
    let records = Log::read(path).map_err(|e| match e {
        log::ReadError::Io(log_path, e) => StateError::Open {
            path: log_path,
            message: e.to_string(),
        },
        log::ReadError::Damaged(log_path, message) => StateError::Corrupt {
            path: log_path,
            message: format!("{message} (the commit log of {})", path.display()),
        },
    })?;
    check_schema(path, &tx)?;
    tx.commit().map_err(err)?;
    if !records.is_empty() {
        apply(&mut conn, records.iter().flatten()).map_err(err)?;
    }
    // Everything the log held is in SQLite now: start it empty (this also drops what a crash
    // left cut short at its end, which new records must not follow).
    let log = Log::create(path).map_err(|e| StateError::Open {
        path: log::path_of(path),
        message: e.to_string(),
    })?;
    let rows = read_rows(&conn).map_err(err)?;
    Ok((conn, log, rows))
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
        tx.execute_batch("CREATE TABLE stripe_sim (key TEXT PRIMARY KEY, value TEXT NOT NULL);")
            .map_err(err)?;
        tx.execute_batch(STATE_ROWS).map_err(err)?;
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
    // In write order; each kind is put in position order below (cheaper than asking SQLite to
    // sort a million rows).
    let mut stmt = conn.prepare("SELECT kind, id, pos, body FROM state_rows")?;
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
    for kind in rows.by_kind.values_mut() {
        kind.sort_by_key(|row| row.pos);
    }
    Ok(rows)
}

/// The writer thread: folds what was appended to the log into SQLite, and with
/// `--state-fsync` makes appends durable by fsyncing the log.
pub(super) struct Writer {
    pub conn: Connection,
    /// The state file's path (its logs are named after it).
    pub state: PathBuf,
    pub appender: Arc<Mutex<Option<Appender>>>,
    pub from_appender: Receiver<Appended>,
    pub durable: Arc<Durable>,
    /// With `--state-fsync`: a handle on the current log, to fsync it.
    pub fsync: Option<File>,
}

/// What the writer holds between two wake-ups.
#[derive(Default)]
struct Folding {
    /// Bytes appended to the log and not yet in SQLite.
    pending_bytes: usize,
    /// The last change set received.
    received: u64,
    /// A reset received and not yet folded.
    reset: Option<u64>,
}

impl Folding {
    fn take(&mut self, appended: Appended) {
        self.pending_bytes += appended.bytes;
        self.received = appended.seq;
        if appended.reset {
            self.reset = Some(appended.seq);
        }
    }
}

/// Fold the log into SQLite once this much waits in it...
const FOLD_BYTES: usize = 4 << 20;
/// ...or when nothing was appended for this long (with `--state-fsync`)...
const FOLD_IDLE: Duration = Duration::from_millis(20);
/// ...or between two looks (without it).
const POLL: Duration = Duration::from_millis(5);

impl Writer {
    /// Runs until the persister is closed, then folds what is left and removes the logs.
    pub fn run(mut self) {
        let mut folding = Folding::default();
        loop {
            let first = if folding.pending_bytes == 0 {
                match self.from_appender.recv() {
                    Ok(first) => first,
                    Err(_) => break,
                }
            } else if self.fsync.is_some() {
                match self.from_appender.recv_timeout(FOLD_IDLE) {
                    Ok(first) => first,
                    Err(RecvTimeoutError::Timeout) => {
                        self.fold(&mut folding);
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            } else {
                // Nothing waits for this thread: look every few milliseconds rather than block,
                // so that an append wakes nobody (a wake-up per request cost more than the
                // append itself).
                std::thread::sleep(POLL);
                match self.from_appender.try_recv() {
                    Ok(first) => first,
                    Err(TryRecvError::Empty) => {
                        self.fold(&mut folding);
                        continue;
                    }
                    Err(TryRecvError::Disconnected) => break,
                }
            };
            folding.take(first);
            // Group commit: one fsync for everything appended meanwhile.
            while let Ok(more) = self.from_appender.try_recv() {
                folding.take(more);
            }
            if self.durable.failure().is_some() {
                continue; // the file is broken: nothing more is written, every waiter is told
            }
            if let Some(log) = &self.fsync {
                self.synced(log, folding.received);
            }
            if folding.reset.is_some() || folding.pending_bytes >= FOLD_BYTES {
                self.fold(&mut folding);
            }
        }
        self.fold(&mut folding);
        if self.durable.failure().is_none() {
            // Everything is in SQLite: a clean stop leaves no log behind.
            let _ = log::remove_all(&self.state);
        }
    }

    /// fsyncs `log`; then every change set up to `received` is committed.
    fn synced(&self, log: &File, received: u64) {
        match log.sync_data() {
            Ok(()) => {
                self.durable.committed.store(received, Ordering::Release);
                self.durable.progress.notify_waiters();
            }
            Err(e) => self
                .durable
                .fail(format!("cannot fsync the state file's log: {e}")),
        }
    }

    /// Moves the log aside (appends go on in a new one), writes what it held into SQLite in one
    /// transaction, and removes it. After a reset, also shrinks the file and answers the reset.
    fn fold(&mut self, folding: &mut Folding) {
        if self.durable.failure().is_some() {
            return;
        }
        let moved = {
            let mut appender = self.appender.lock().unwrap_or_else(|p| p.into_inner());
            // Everything in the log has been announced (append and announcement are one step
            // under this lock): take the announcements still on their way.
            while let Ok(more) = self.from_appender.try_recv() {
                folding.take(more);
            }
            if folding.pending_bytes == 0 {
                return;
            }
            match appender.as_mut() {
                // Stopping: nothing is appended any more, and the log is removed once folded.
                None => None,
                Some(appender) => match appender.log.move_aside(&self.state) {
                    Ok(moved) => {
                        if self.fsync.is_some() {
                            match appender.log.sync_handle() {
                                Ok(handle) => self.fsync = Some(handle),
                                Err(e) => {
                                    return self.durable.fail(format!(
                                        "cannot open the state file's new log twice: {e}"
                                    ))
                                }
                            }
                        }
                        Some(moved)
                    }
                    Err(e) => {
                        return self
                            .durable
                            .fail(format!("cannot move the state file's log aside: {e}"))
                    }
                },
            }
        };
        if self.fsync.is_some() {
            if let Some(moved) = &moved {
                self.synced(moved, folding.received);
            }
        }
        // The ops, read back from the log moved aside (or, when stopping, from the log
        // itself): still in the page cache, and read here they are allocated and freed on
        // this thread.
        let records = match moved {
            Some(_) => Log::read_folding(&self.state),
            None => Log::read(&self.state),
        };
        let ops: Vec<Op> = match records {
            Ok(records) => records.into_iter().flatten().collect(),
            Err(log::ReadError::Io(path, e)) => {
                return self
                    .durable
                    .fail(format!("cannot read {} to fold it: {e}", path.display()))
            }
            Err(log::ReadError::Damaged(path, message)) => {
                return self
                    .durable
                    .fail(format!("cannot fold {}: {message}", path.display()))
            }
        };
        let folded = apply(&mut self.conn, last_of_each_row(&ops).into_iter())
            .map_err(|e| e.to_string())
            .and_then(|()| {
                log::remove_folded(&self.state)
                    .map_err(|e| format!("cannot remove the folded log: {e}"))
            });
        if let Err(e) = folded {
            return self.durable.fail(e);
        }
        folding.pending_bytes = 0;
        if let Some(reset) = folding.reset.take() {
            // A reset is answered once SQLite holds no more than the fresh state and the logs
            // are empty: nothing of the forgotten state stays on disk.
            self.shrink();
            self.durable.reset_folded.store(reset, Ordering::Release);
            self.durable.progress.notify_waiters();
        }
    }

    /// After a reset: gives the pages of the deleted rows back to the file system (`VACUUM`,
    /// quick on the few rows left) and empties SQLite's WAL. Best effort: the rows are gone
    /// already, and a file left larger than it needs is still correct.
    fn shrink(&mut self) {
        let _ = self
            .conn
            .execute_batch("VACUUM; PRAGMA wal_checkpoint(TRUNCATE);");
    }
}

/// The rows a change set writes, in order: a reset first, then deletes, then rows, then the
/// meta row. Consumes it: ids and bodies move into the ops.
pub(super) fn ops_of(changes: ChangeSet) -> Result<Vec<Op>, String> {
    let mut out = Vec::with_capacity(
        usize::from(changes.reset) + changes.deletes.len() + changes.upserts.len() + 1,
    );
    if changes.reset {
        out.push(Op::Reset);
    }
    for (kind, id) in changes.deletes {
        out.push(Op::Delete {
            kind: kind.into(),
            id,
        });
    }
    for row in changes.upserts {
        let body = row
            .body
            .map_err(|e| format!("cannot serialize {} {}: {e}", row.kind, row.id))?;
        out.push(Op::Upsert {
            kind: row.kind.into(),
            id: row.id,
            pos: row.pos,
            body,
        });
    }
    if let Some(meta) = changes.meta {
        out.push(Op::Upsert {
            kind: META.into(),
            id: "state".to_string(),
            pos: 0,
            body: meta,
        });
    }
    Ok(out)
}

/// What applying `ops` in order comes to: everything from the last reset on, and of that only
/// the last op of each row (each op sets or deletes a whole row), in their order. A fold holds
/// thousands of writes of the meta row and of objects changed again and again; SQLite gets one
/// each.
fn last_of_each_row(ops: &[Op]) -> Vec<&Op> {
    let from = ops
        .iter()
        .rposition(|op| matches!(op, Op::Reset))
        .unwrap_or(0);
    // foldhash, not the standard SipHash: several times faster on short keys, still seeded per
    // process (idempotency keys are chosen by clients).
    let mut seen: HashSet<(&str, &str), foldhash::fast::RandomState> = HashSet::default();
    let mut kept: Vec<&Op> = ops[from..]
        .iter()
        .rev()
        .filter(|op| match op {
            Op::Reset => true,
            Op::Delete { kind, id } | Op::Upsert { kind, id, .. } => seen.insert((kind, id)),
        })
        .collect();
    kept.reverse();
    kept
}

/// Applies `ops` to the rows in one transaction.
fn apply<'a>(conn: &mut Connection, ops: impl Iterator<Item = &'a Op>) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut delete = tx.prepare_cached("DELETE FROM state_rows WHERE kind = ?1 AND id = ?2")?;
        let mut upsert = tx.prepare_cached(
            "INSERT OR REPLACE INTO state_rows (kind, id, pos, body) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for op in ops {
            match op {
                Op::Reset => {
                    tx.execute("DELETE FROM state_rows", [])?;
                }
                Op::Delete { kind, id } => {
                    delete.execute(params![kind, id])?;
                }
                Op::Upsert {
                    kind,
                    id,
                    pos,
                    body,
                } => {
                    upsert.execute(params![kind, id, pos, body])?;
                }
            }
        }
    }
    tx.commit()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// A state file path of its own, removed with its WAL and log when dropped.
    struct Temp(PathBuf);

    impl Temp {
        fn new(name: &str) -> Temp {
            Temp(
                std::env::temp_dir()
                    .join(format!("stripe-sim-file-{name}-{}.db", std::process::id())),
            )
        }
    }

    impl Drop for Temp {
        fn drop(&mut self) {
            for suffix in ["", "-wal", "-shm", "-log", "-log.folding"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
            }
        }
    }

    fn customer(id: &str) -> Op {
        Op::Upsert {
            kind: "customers".into(),
            id: id.into(),
            pos: 0,
            body: b"{}".to_vec(),
        }
    }

    fn customers(path: &Path) -> usize {
        let (_conn, _log, mut rows) = open(path, false).unwrap();
        rows.take("customers").len()
    }

    /// Rows in the SQLite file itself, the log left aside.
    fn rows_in_sqlite(path: &Path) -> i64 {
        Connection::open(path)
            .unwrap()
            .query_row("SELECT count(*) FROM state_rows", [], |row| row.get(0))
            .unwrap()
    }

    #[test]
    fn a_second_open_is_refused_before_it_touches_the_log() {
        let file = Temp::new("lock");
        let (conn, mut log, _) = open(&file.0, false).unwrap();
        log.append(&[customer("cus_1")]).unwrap();
        let before = std::fs::read(log::path_of(&file.0)).unwrap();

        assert!(matches!(
            open(&file.0, false),
            Err(StateError::Locked { .. })
        ));

        assert_eq!(std::fs::read(log::path_of(&file.0)).unwrap(), before);
        drop((conn, log)); // as a kill -9 leaves them: the record in the log, not folded
        assert_eq!(customers(&file.0), 1);
    }

    #[test]
    fn a_fold_writes_only_the_last_op_of_each_row_since_the_last_reset() {
        let body = |b: &str| Op::Upsert {
            kind: "customers".into(),
            id: "cus_1".into(),
            pos: 0,
            body: b.as_bytes().to_vec(),
        };
        let ops = vec![
            customer("cus_0"),
            Op::Reset,
            body("1"),
            customer("cus_2"),
            body("2"),
            Op::Delete {
                kind: "customers".into(),
                id: "cus_2".into(),
            },
        ];
        let kept: Vec<Op> = last_of_each_row(&ops).into_iter().cloned().collect();
        assert_eq!(kept, vec![Op::Reset, body("2"), ops[5].clone()]);
    }

    #[test]
    fn a_crash_in_the_middle_of_a_fold_loses_nothing() {
        let file = Temp::new("fold");
        let (conn, mut log, _) = open(&file.0, false).unwrap();
        log.append(&[customer("cus_1")]).unwrap();
        drop(log.move_aside(&file.0).unwrap());
        log.append(&[customer("cus_2")]).unwrap();
        drop((conn, log)); // killed before the moved log was folded into SQLite

        assert_eq!(customers(&file.0), 2);
        assert!(!log::folding_path_of(&file.0).exists(), "folded at start");
    }

    #[test]
    fn a_write_cut_short_at_the_end_of_the_log_is_dropped_and_later_records_count() {
        let file = Temp::new("torn");
        let (conn, mut log, _) = open(&file.0, false).unwrap();
        log.append(&[customer("cus_1")]).unwrap();
        drop((conn, log));
        let mut torn = std::fs::OpenOptions::new()
            .append(true)
            .open(log::path_of(&file.0))
            .unwrap();
        std::io::Write::write_all(&mut torn, &[200, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]).unwrap();
        drop(torn);

        let (conn, mut log, mut rows) = open(&file.0, false).unwrap();
        assert_eq!(rows.take("customers").len(), 1);
        assert_eq!(
            std::fs::metadata(log::path_of(&file.0)).unwrap().len(),
            log::MAGIC.len() as u64
        );
        log.append(&[customer("cus_2")]).unwrap();
        drop((conn, log));

        assert_eq!(
            customers(&file.0),
            2,
            "the record after the torn one is read"
        );
    }

    #[test]
    fn a_damaged_record_in_the_middle_of_the_log_is_refused_and_nothing_changes() {
        let file = Temp::new("damaged");
        let (conn, mut log, _) = open(&file.0, false).unwrap();
        for id in ["cus_1", "cus_2", "cus_3"] {
            log.append(&[customer(id)]).unwrap();
        }
        drop((conn, log));
        let log_path = log::path_of(&file.0);
        let mut bytes = std::fs::read(&log_path).unwrap();
        let second = bytes.len() / 3;
        bytes[second + 20] ^= 0x40;
        std::fs::write(&log_path, &bytes).unwrap();

        let error = open(&file.0, false).unwrap_err();

        let message = error.to_string();
        assert!(
            matches!(&error, StateError::Corrupt { path, .. } if *path == log_path),
            "{message}"
        );
        assert!(
            message.contains(&log_path.display().to_string()),
            "{message}"
        );
        assert!(message.contains("record 2 of the log"), "{message}");
        assert_eq!(std::fs::read(&log_path).unwrap(), bytes);
        assert_eq!(rows_in_sqlite(&file.0), 0, "nothing of the log was folded");
    }
}
