//! Persistence: `--state FILE` keeps every change in an SQLite file, so a restarted simulator
//! comes back with every object, event, delivery record, pending retry and held delivery, the
//! webhook endpoints with their secrets, the clock and the seeded id stream.
//!
//! ## How
//!
//! The store is plain data changed only inside [`crate::shared::Shared::with_store`] (every
//! `/v1` handler, hosted page, control operation, the dispatcher's bookkeeping and the clock
//! ticker go through it), so changes are captured there, generically, after each operation:
//!
//! * each [`Table`] remembers the positions it wrote and the ids it dropped (insert, `get_mut`,
//!   remove and eviction all go through it), and so do the idempotency keys and the timeline;
//! * the small rest (id generator, clock, delivery mode, faults, seeded links, counters) is one
//!   `meta` row, compared with the last one sent;
//! * the changed rows are serialized (serde JSON, readable with the `sqlite3` shell) and
//!   committed there and then, by appending one record to the file's log ([`log`], one
//!   `write`), and the writer thread is told. Every few MiB, when idle and at shutdown, the
//!   writer moves the log aside (appends never wait for SQLite), reads the records back and
//!   folds them into SQLite (WAL mode) in one transaction; a start after a crash folds what
//!   the logs still hold before reading the rows. With `--state-fsync` the writer fsyncs the
//!   log once for every record appended meanwhile (group commit). A reset is folded before it
//!   is answered, so it leaves neither file holding the state it forgot.
//!
//! Why the append is made by the operation itself and not by the writer thread: a request that
//! waited for the writer paid two thread wake-ups (the writer's, then its own), which cost more
//! than the write, and at two connections `--state` served about 40% of the in-memory rate.
//!
//! "A request answered 2xx is on disk": an HTTP request that changed something waits, after
//! its handler and without the store lock, until its change is committed (see
//! [`crate::http`]'s state layer): without `--state-fsync` it is by then, with it the request
//! waits for the writer's fsync. Reads wait for nothing. Work the simulator does on its own
//! (delivery bookkeeping) is written in the background: a crash can lose the outcome of the last
//! attempts, which are then made again at start-up (at least once, as Stripe delivers).
//!
//! Why not an append-only journal of operations replayed at start: every mutation path (the
//! `/v1` handlers, hosted pages, control operations, the dispatcher, retention) would have to be
//! expressed as a serializable command and replay would have to be deterministic across
//! versions. Capturing the resulting rows needs neither, keeps the file a plain table of the
//! current state (no replay time growing with history, nothing to compact), and adding a table
//! to persistence is one line in [`tables!`] below.
//!
//! Without `--state` none of this runs: tables track nothing (`None`), no capture, no waiting.
//!
//! ## Compatibility
//!
//! The file carries a schema version. A file from a newer version, an unknown kind of row, or a
//! row this version cannot read is refused at start with a message naming it, never misread. A
//! new field of a stored struct needs `#[serde(default)]` (or a migration in
//! [`file::MIGRATIONS`] and a new [`file::SCHEMA_VERSION`]).

mod file;
mod log;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::clock::{wall_clock_now, Clock, ClockMode};
use crate::idempotency::Kept;
use crate::ids::IdGenerator;
use crate::params::Metadata;
use crate::resources::webhook_endpoint::EndpointSpec;
use crate::store::{Job, Store};
use crate::table::{Changes, Identified, Table};
use crate::webhooks::faults::Fault;
use crate::webhooks::log::DeliveryMode;

pub use file::StateError;

/// Every table that persistence writes: `"kind" => field of Store`. A new table is one more
/// line here (its struct needs `Clone`, `Serialize` and `Deserialize`).
macro_rules! tables {
    ($($kind:literal => $($field:ident).+),* $(,)?) => {
        fn track_tables(store: &mut Store, everything: bool) {
            $( store$(.$field)+.track_changes(everything); )*
        }

        fn drain_tables(store: &mut Store, out: &mut ChangeSet) {
            $(
                if let Some(changes) = store$(.$field)+.take_changes() {
                    drain_table($kind, &store$(.$field)+, changes, out);
                }
            )*
        }

        fn restore_tables(store: &mut Store, rows: &mut file::Rows) -> Result<(), StateError> {
            $( store$(.$field)+ = restore_table($kind, rows)?; )*
            Ok(())
        }

        fn stored_rows(store: &Store) -> usize {
            0 $( + store$(.$field)+.len() )*
        }
    };
}

tables! {
    "customers" => customers,
    "products" => products,
    "prices" => prices,
    "payment_links" => payment_links,
    "checkout_sessions" => sessions,
    "payment_intents" => payment_intents,
    "charges" => charges,
    "refunds" => refunds,
    "payment_methods" => payment_methods,
    "webhook_endpoints" => webhook_endpoints,
    "events" => events,
    "delivery_records" => deliveries.records,
}

/// Kinds of rows that are not tables.
const META: &str = "meta";
const IDEMPOTENCY: &str = "idempotency";
const TIMELINE: &str = "timeline";

/// Stored objects that count against `--max-objects`: every table but the event log and the
/// delivery log, which retention bounds.
pub fn object_count(store: &Store) -> usize {
    stored_rows(store) - store.events.len() - store.deliveries.len()
}

/// One row to write, its body serialized where it was captured: from the row itself, under the
/// store lock, rather than from a clone made to serialize it later (a clone of an event cost
/// more than writing it).
struct Upsert {
    kind: &'static str,
    id: String,
    pos: i64,
    body: serde_json::Result<Vec<u8>>,
}

impl Upsert {
    fn of<T: Serialize>(kind: &'static str, id: String, pos: i64, row: &T) -> Upsert {
        Upsert {
            kind,
            id,
            pos,
            body: serde_json::to_vec(row),
        }
    }
}

/// Everything one operation changed, in the order the writer applies it: a reset empties the
/// file first, then rows are deleted, then written, then the meta row.
#[derive(Default)]
struct ChangeSet {
    seq: u64,
    reset: bool,
    deletes: Vec<(&'static str, String)>,
    upserts: Vec<Upsert>,
    /// The meta row, encoded.
    meta: Option<Vec<u8>>,
}

impl ChangeSet {
    fn is_empty(&self) -> bool {
        !self.reset && self.deletes.is_empty() && self.upserts.is_empty()
    }
}

/// Word to the writer that a change set was appended to the log. The writer reads the ops
/// back from the log when it folds: handing it the ops themselves made every request's
/// allocations be freed on the writer's thread, and glibc's malloc paid for that in locks and
/// fragmentation on the request thread.
struct Appended {
    seq: u64,
    reset: bool,
    /// The record's size, to fold once enough waits in the log.
    bytes: usize,
}

/// The log and the way to the writer, together under one lock: a change set is appended and
/// announced in one step, so that a fold, which moves the log aside under this lock, has been
/// told of everything the moved log holds (which change sets, whether a reset). `None` once
/// the persister is closed.
#[derive(Debug)]
struct Appender {
    log: log::Log,
    to_writer: Sender<Appended>,
}

fn drain_table<T>(kind: &'static str, table: &Table<T>, changes: Changes, out: &mut ChangeSet)
where
    T: Identified + Clone + Serialize + Send + 'static,
{
    for id in changes.removed {
        out.deletes.push((kind, id.into()));
    }
    for position in changes.touched {
        if let Some(item) = table.at(position) {
            out.upserts.push(Upsert::of(
                kind,
                item.id().to_string(),
                position as i64,
                item,
            ));
        }
    }
}

fn restore_table<T>(kind: &'static str, rows: &mut file::Rows) -> Result<Table<T>, StateError>
where
    T: Identified + for<'de> Deserialize<'de>,
{
    let rows = rows.take(kind);
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        items.push((row.pos.max(0) as usize, row.decode::<T>(kind)?));
    }
    Ok(Table::restore(items))
}

/// A scheduled job as a row.
#[derive(Serialize, Deserialize)]
/// Generic over the job so a row is written from a borrowed job and read as an owned one.
struct TimelineRow<J> {
    due: i64,
    seq: u64,
    job: J,
}

/// The small state beside the tables, one row, written with every change set (the id
/// generator moves with every operation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Meta {
    /// The id generator's state. First, so that a change set whose only other change is this
    /// number writes the row from the last encoding (see [`MetaEncoding`]).
    ids: u64,
    seed: u64,
    timeline_seq: u64,
    clock_mode: ClockMode,
    /// Offset from the wall clock (system mode) or the time itself (manual mode).
    clock: i64,
    delivery_mode: DeliveryMode,
    faults: Vec<Fault>,
    seeded_links: BTreeMap<String, String>,
    events_dropped: u64,
    deliveries_dropped: u64,
}

impl Meta {
    fn of(store: &Store, clock: &Clock) -> Meta {
        Meta {
            ids: store.ids.state(),
            seed: store.config.seed,
            timeline_seq: store.timeline_seq,
            clock_mode: clock.mode(),
            clock: clock.raw(),
            delivery_mode: store.deliveries.mode,
            faults: store.deliveries.faults.clone(),
            seeded_links: store.seeded_links.clone(),
            events_dropped: store.events_dropped,
            deliveries_dropped: store.deliveries.dropped,
        }
    }

    /// Whether the store and clock still hold this, apart from the id generator (a GET draws
    /// a request id; that alone is not worth a write: the next real change carries it).
    /// Compared in place, not with a new `Meta`: that cloned the faults and links on every
    /// operation. Destructured, so a new field cannot be forgotten here.
    fn matches(&self, store: &Store, clock: &Clock) -> bool {
        let Meta {
            ids: _,
            seed,
            timeline_seq,
            clock_mode,
            clock: raw_clock,
            delivery_mode,
            faults,
            seeded_links,
            events_dropped,
            deliveries_dropped,
        } = self;
        *seed == store.config.seed
            && *timeline_seq == store.timeline_seq
            && *clock_mode == clock.mode()
            && *raw_clock == clock.raw()
            && *delivery_mode == store.deliveries.mode
            && *faults == store.deliveries.faults
            && *seeded_links == store.seeded_links
            && *events_dropped == store.events_dropped
            && *deliveries_dropped == store.deliveries.dropped
    }

    /// Simulator time as the file left it.
    fn now(&self) -> i64 {
        match self.clock_mode {
            ClockMode::Manual => self.clock,
            ClockMode::System => wall_clock_now() + self.clock,
        }
    }
}

/// How far commits have got, and how requests wait for them.
#[derive(Debug, Default)]
struct Durable {
    /// The last change set committed.
    committed: AtomicU64,
    /// The last change set that was a reset, and the last reset folded into SQLite: a reset is
    /// answered only once it is folded.
    reset_asked: AtomicU64,
    reset_folded: AtomicU64,
    /// Why the file can no longer be written, once it cannot.
    failed: Mutex<Option<String>>,
    /// Signalled after every commit (or failure).
    progress: tokio::sync::Notify,
}

impl Durable {
    fn failure(&self) -> Option<String> {
        self.failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn fail(&self, message: String) {
        let mut failed = self.failed.lock().unwrap_or_else(|p| p.into_inner());
        failed.get_or_insert(message);
        drop(failed);
        self.progress.notify_waiters();
    }
}

/// What capture remembers between operations. Only touched under the store lock.
#[derive(Debug, Default)]
struct CaptureState {
    seq: u64,
    /// The meta row last written, and its encoding.
    last_meta: Option<(Meta, MetaEncoding)>,
}

/// The meta row's JSON split after its first field, `ids`: the row for another id generator
/// state is `{"ids":N` and the same rest. Serializing the whole row (faults, links) for every
/// operation cost more than the operation's own rows.
#[derive(Debug)]
struct MetaEncoding {
    /// Everything after the `ids` value: `,"seed":…}`.
    rest: Vec<u8>,
}

impl MetaEncoding {
    const HEAD: &'static [u8] = b"{\"ids\":";

    fn of(meta: &Meta) -> serde_json::Result<MetaEncoding> {
        let json = serde_json::to_vec(meta)?;
        let digits = json.get(Self::HEAD.len()..).map_or(0, |after| {
            after.iter().take_while(|b| b.is_ascii_digit()).count()
        });
        debug_assert!(json.starts_with(Self::HEAD), "ids is Meta's first field");
        Ok(MetaEncoding {
            rest: json[Self::HEAD.len() + digits..].to_vec(),
        })
    }

    /// The row with the id generator at `ids`.
    fn with_ids(&self, ids: u64) -> Vec<u8> {
        let mut row = Vec::with_capacity(Self::HEAD.len() + 20 + self.rest.len());
        row.extend_from_slice(Self::HEAD);
        row.extend_from_slice(ids.to_string().as_bytes());
        row.extend_from_slice(&self.rest);
        row
    }
}

/// The simulator's side of a state file: capture and append under the lock, and waiting for
/// the writer.
#[derive(Debug)]
pub struct Persister {
    path: PathBuf,
    appender: Arc<Mutex<Option<Appender>>>,
    /// `--state-fsync`: a commit is durable once the writer has fsynced the log.
    fsync: bool,
    durable: Arc<Durable>,
    capture: Mutex<CaptureState>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// What the file held at start, for the banner.
    pub restored: Restored,
}

impl std::fmt::Debug for ChangeSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeSet")
            .field("seq", &self.seq)
            .field("reset", &self.reset)
            .field("deletes", &self.deletes.len())
            .field("upserts", &self.upserts.len())
            .finish()
    }
}

/// What a state file held when the simulator started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Restored {
    /// Whether the file had a simulator's state (false: a new file).
    pub existing: bool,
    pub objects: usize,
    pub events: usize,
    pub delivery_records: usize,
    /// Deliveries waiting (pending, held, or in flight when the simulator stopped).
    pub waiting_deliveries: usize,
}

/// A simulator's state read from (or started in) a state file.
pub struct Opened {
    pub store: Store,
    pub clock: Clock,
    pub persister: Persister,
}

/// How to open a state file.
pub struct OpenOptions<'a> {
    pub path: &'a Path,
    /// fsync every commit (survives a power cut, not only a crash of the simulator).
    pub fsync: bool,
    pub config: &'a crate::config::SimConfig,
    pub clock_mode: ClockMode,
    /// Where a manual clock starts in a new file.
    pub manual_start: i64,
    /// Endpoints given at start (`--forward-to`): created in a restored state unless an
    /// endpoint with the same URL is already there.
    pub endpoints: &'a [EndpointSpec],
}

/// Opens a state file (creating it when missing), takes its lock, and reads the state it holds;
/// a new file gets `fresh` (the seed file applied), written whole.
pub fn open(
    options: OpenOptions<'_>,
    fresh: impl FnOnce(&Clock) -> Result<Store, StateError>,
) -> Result<Opened, StateError> {
    let OpenOptions {
        path,
        fsync,
        config,
        clock_mode,
        manual_start,
        endpoints,
    } = options;
    let (conn, log, mut rows) = file::open(path, fsync)?;
    let (mut store, clock, restored) = match rows.take(META).pop() {
        None => {
            if let Some(kind) = rows.kinds().next() {
                return Err(StateError::Corrupt {
                    path: path.to_path_buf(),
                    message: format!("it has rows of kind '{kind}' but no meta row"),
                });
            }
            let clock = match clock_mode {
                ClockMode::Manual => Clock::manual(manual_start),
                ClockMode::System => Clock::system(),
            };
            let mut store = fresh(&clock)?;
            track(&mut store, true);
            (store, clock, Restored::default())
        }
        Some(meta_row) => {
            let meta: Meta = meta_row.decode(META)?;
            let clock = Clock::resumed(clock_mode, meta.now());
            let mut store = restore(config, meta, &mut rows)?;
            // From here on, what changes is written: the file holds the rest already.
            track(&mut store, false);
            store.deliveries.requeue_in_flight(clock.now());
            for spec in endpoints {
                if !store.webhook_endpoints.iter().any(|e| e.url == spec.url) {
                    store
                        .add_webhook_endpoint(spec.clone(), None, Metadata::new(), clock.now())
                        .map_err(|e| StateError::Corrupt {
                            path: path.to_path_buf(),
                            message: format!("cannot add the endpoint {}: {}", spec.url, e.message),
                        })?;
                }
            }
            let restored = Restored {
                existing: true,
                objects: object_count(&store),
                events: store.events.len(),
                delivery_records: store.deliveries.len(),
                waiting_deliveries: store
                    .deliveries
                    .unsettled()
                    .filter(|(_, r)| !r.status.is_final())
                    .count(),
            };
            (store, clock, restored)
        }
    };
    if let Some(kind) = rows.kinds().next() {
        return Err(StateError::Corrupt {
            path: path.to_path_buf(),
            message: format!(
                "it has rows of kind '{kind}', which this version of stripe-sim does not know (a newer version wrote it?)"
            ),
        });
    }
    let durable = Arc::new(Durable::default());
    let (to_writer, from_appender) = std::sync::mpsc::channel();
    let sync = log.sync_handle().map_err(|e| StateError::Open {
        path: path.to_path_buf(),
        message: format!("cannot open the state file's log twice: {e}"),
    })?;
    let appender = Arc::new(Mutex::new(Some(Appender { log, to_writer })));
    let writer = file::Writer {
        conn,
        state: path.to_path_buf(),
        appender: appender.clone(),
        from_appender,
        durable: durable.clone(),
        fsync: fsync.then_some(sync),
    };
    let writer = std::thread::Builder::new()
        .name("stripe-sim-state".into())
        .spawn(move || writer.run())
        .map_err(|e| StateError::Open {
            path: path.to_path_buf(),
            message: format!("cannot start the writer thread: {e}"),
        })?;
    let persister = Persister {
        path: path.to_path_buf(),
        appender,
        fsync,
        durable,
        capture: Mutex::new(CaptureState::default()),
        writer: Mutex::new(Some(writer)),
        restored,
    };
    // Write what was read back (the in-flight records now due again, a new file's seed): from
    // here on the file and memory agree.
    persister.capture(&mut store, &clock, !restored.existing);
    Ok(Opened {
        store,
        clock,
        persister,
    })
}

/// Starts change tracking on every part of a store; with `everything`, what it holds already
/// counts as changed (a new file, or a reset, is written whole).
pub fn track(store: &mut Store, everything: bool) {
    track_tables(store, everything);
    store.idempotency.track_changes(everything);
    store.timeline_changes = Some(if everything {
        store.timeline.keys().copied().collect()
    } else {
        Vec::new()
    });
}

/// A store rebuilt from the rows of a state file.
fn restore(
    config: &crate::config::SimConfig,
    meta: Meta,
    rows: &mut file::Rows,
) -> Result<Store, StateError> {
    let config = crate::config::SimConfig {
        seed: meta.seed,
        ..config.clone()
    };
    let mut store = Store::new(config);
    restore_tables(&mut store, rows)?;
    store.ids = IdGenerator::new(meta.ids);
    store.timeline_seq = meta.timeline_seq;
    for row in rows.take(TIMELINE) {
        let job: TimelineRow<Job> = row.decode(TIMELINE)?;
        store.timeline.insert((job.due, job.seq), job.job);
    }
    let mut keys = Vec::new();
    for row in rows.take(IDEMPOTENCY) {
        let kept: Kept = row.decode(IDEMPOTENCY)?;
        keys.push((row.id, kept));
    }
    store.idempotency.restore(keys);
    store.link_tokens = store
        .payment_links
        .iter()
        .map(|l| (l.token.clone(), l.id.clone()))
        .collect::<HashMap<_, _>>();
    store.seeded_links = meta.seeded_links;
    store.events_dropped = meta.events_dropped;
    store.deliveries.mode = meta.delivery_mode;
    store.deliveries.faults = meta.faults;
    store.deliveries.rebuild_indexes(meta.deliveries_dropped);
    Ok(store)
}

impl Persister {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Hands what `store` changed since the last call to the writer; returns the change set's
    /// number to wait for, or `None` if nothing worth writing changed. Called under the store
    /// lock, so change sets are numbered and queued in the order they happened.
    pub fn capture(&self, store: &mut Store, clock: &Clock, reset: bool) -> Option<u64> {
        let mut changes = ChangeSet {
            reset,
            ..ChangeSet::default()
        };
        drain_tables(store, &mut changes);
        for (key, kept) in store.idempotency.take_changes() {
            match kept {
                Some(kept) => {
                    let pos = kept.first_used;
                    changes
                        .upserts
                        .push(Upsert::of(IDEMPOTENCY, key, pos, &kept))
                }
                None => changes.deletes.push((IDEMPOTENCY, key)),
            }
        }
        if let Some(keys) = store.timeline_changes.as_mut().map(std::mem::take) {
            for (due, seq) in keys {
                let id = format!("{due}:{seq}");
                match store.timeline.get(&(due, seq)) {
                    Some(job) => changes.upserts.push(Upsert::of(
                        TIMELINE,
                        id,
                        seq as i64,
                        &TimelineRow { due, seq, job },
                    )),
                    None => changes.deletes.push((TIMELINE, id)),
                }
            }
        }
        let mut state = self.capture.lock().unwrap_or_else(|p| p.into_inner());
        let meta_moved = state
            .last_meta
            .as_ref()
            .is_none_or(|(last, _)| !last.matches(store, clock));
        if changes.is_empty() && !meta_moved {
            return None;
        }
        if meta_moved {
            let meta = Meta::of(store, clock);
            match MetaEncoding::of(&meta) {
                Ok(encoding) => state.last_meta = Some((meta, encoding)),
                Err(e) => {
                    self.durable
                        .fail(format!("cannot serialize the simulator's state: {e}"));
                    return None;
                }
            }
        }
        state.seq += 1;
        changes.seq = state.seq;
        changes.meta = state
            .last_meta
            .as_ref()
            .map(|(_, encoding)| encoding.with_ids(store.ids.state()));
        let seq = state.seq;
        drop(state);
        if let Err(e) = self.append(changes) {
            self.durable.fail(e);
        }
        Some(seq)
    }

    /// Commits a change set: appends it to the log and hands it to the writer, in one step.
    fn append(&self, changes: ChangeSet) -> Result<(), String> {
        if self.durable.failure().is_some() {
            return Ok(()); // the file is broken: every waiter is told already
        }
        let (seq, reset) = (changes.seq, changes.reset);
        let ops = file::ops_of(changes)?;
        let mut appender = self.appender.lock().unwrap_or_else(|p| p.into_inner());
        let appender = appender
            .as_mut()
            .ok_or("the state file is closed: the simulator is stopping")?;
        let bytes = appender
            .log
            .append(&ops)
            .map_err(|e| format!("cannot write the state file's log: {e}"))?;
        appender
            .to_writer
            .send(Appended { seq, reset, bytes })
            .map_err(|_| "the state file's writer has stopped".to_string())?;
        if reset {
            self.durable.reset_asked.store(seq, Ordering::Release);
        }
        if !self.fsync {
            // In the log, after every change set before it (appends are made in order, under
            // the store lock): committed.
            self.durable.committed.store(seq, Ordering::Release);
        }
        Ok(())
    }

    /// Writes the meta row even if only the id generator moved (at shutdown).
    pub fn capture_meta(&self, store: &mut Store, clock: &Clock) {
        self.capture
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .last_meta = None;
        self.capture(store, clock, false);
    }

    /// Waits until change set `seq` (and every one before it) is committed.
    pub async fn wait(&self, seq: u64) -> Result<(), String> {
        loop {
            let progress = self.durable.progress.notified();
            tokio::pin!(progress);
            progress.as_mut().enable();
            if let Some(failure) = self.durable.failure() {
                return Err(failure);
            }
            let reset = self.durable.reset_asked.load(Ordering::Acquire);
            let reset_done =
                reset > seq || self.durable.reset_folded.load(Ordering::Acquire) >= reset;
            if self.durable.committed.load(Ordering::Acquire) >= seq && reset_done {
                return Ok(());
            }
            progress.await;
        }
    }

    /// Waits until every change captured so far is committed.
    pub async fn flush(&self) -> Result<(), String> {
        let seq = self.capture.lock().unwrap_or_else(|p| p.into_inner()).seq;
        self.wait(seq).await
    }

    /// Stops the writer after it has committed everything queued, and releases the file.
    pub fn close(&self) {
        drop(
            self.appender
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take(),
        );
        if let Some(writer) = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = writer.join();
        }
    }
}

impl Drop for Persister {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_meta_row_rebuilt_for_new_ids_reads_back_as_the_row_with_those_ids() {
        let mut store = Store::new(crate::config::SimConfig::default());
        store
            .seeded_links
            .insert("lifetime".into(), "plink_1\"quoted\"".into());
        let clock = Clock::manual(1_700_000_000);
        let meta = Meta::of(&store, &clock);
        let encoding = MetaEncoding::of(&meta).unwrap();
        for ids in [0, 7, 12_345, u64::MAX] {
            let row: Meta = serde_json::from_slice(&encoding.with_ids(ids)).unwrap();
            assert_eq!(
                row,
                Meta {
                    ids,
                    ..meta.clone()
                }
            );
        }
        assert!(meta.matches(&store, &clock));
        store.events_dropped += 1;
        assert!(!meta.matches(&store, &clock), "a moved field is seen");
    }
}
