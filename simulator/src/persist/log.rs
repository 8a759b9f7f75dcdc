//! The commit log beside the state file (`FILE-log`): where a change is committed before its
//! request is answered.
//!
//! Why a log in front of SQLite: a commit to SQLite writes every page it touched to SQLite's own
//! WAL, two system calls a page. Creating one customer changes three rows (the customer, its
//! event, the meta row) on about four pages, so a commit was 8 to 16 system calls and well over
//! 100 µs, paid by every request that waits for it. Appending the same rows to this log is one
//! `write`, made by the request itself (with `--state-fsync`, the writer thread then fsyncs the
//! log once for every record appended meanwhile). The writer folds the log into SQLite in large
//! transactions (every few MiB, when idle, and at shutdown), where a page is written once for
//! hundreds of changes.
//!
//! A fold first moves the log aside (`FILE-log.folding`) and starts a new one, so appending
//! never waits for SQLite; the moved log is removed once its records are in SQLite. At start,
//! the moved log (if a crash left one) is read before the log: its records are the older ones.
//!
//! A log starts with [`MAGIC`], then records: `length (u32) | checksum (u64) | payload`, the
//! payload a list of [`Op`]s. The checksum is FNV-1a over the payload's 64-bit words (then its
//! last bytes): eight times fewer steps than byte by byte, which cost a request about a
//! microsecond. A log without the magic was written before it (version 1: FNV-1a byte by byte)
//! and is still read. Replaying the log at start is safe whatever was folded already: each op sets
//! or deletes whole rows (a reset deletes them all), so applying a suffix of the history again
//! ends in the same rows.
//!
//! What a crash can leave at the end of the log is ignored: a last record cut short or failing
//! its checksum (the simulator was killed, or the machine lost power, in the middle of a write
//! that was never acknowledged), or zeros (a file system that grew the file before writing the
//! data). A damaged record with more records after it is not a crash's doing: the log is refused,
//! naming the file, and nothing is changed.
//!
//! The log is read, and written, only after SQLite's exclusive lock is taken, so a second
//! simulator never touches it. It is removed when the simulator stops cleanly.

use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A row's kind: a name known at compile time when written, read back as text.
pub type Kind = Cow<'static, str>;

/// One change to the rows of the state file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Every row is deleted (`POST /_sim/reset`).
    Reset,
    Delete {
        kind: Kind,
        id: String,
    },
    Upsert {
        kind: Kind,
        id: String,
        pos: i64,
        body: Vec<u8>,
    },
}

/// The open log, appended to under the persister's lock.
#[derive(Debug)]
pub struct Log {
    path: PathBuf,
    file: File,
    /// Reused for each record.
    buffer: Vec<u8>,
}

const HEADER: usize = 12;

/// The first bytes of a log whose checksums are [`Checksum::Words`].
pub const MAGIC: &[u8; 8] = b"simlog2\n";

/// How a log's records are checksummed.
#[derive(Debug, Clone, Copy)]
enum Checksum {
    /// Version 1 (no magic): FNV-1a byte by byte.
    Bytes,
    /// Version 2: FNV-1a over little-endian 64-bit words, then the remaining bytes.
    Words,
}

impl Checksum {
    fn of(self, payload: &[u8]) -> u64 {
        match self {
            Checksum::Bytes => fnv1a(FNV_OFFSET, payload),
            Checksum::Words => {
                let mut hash = FNV_OFFSET;
                let mut words = payload.chunks_exact(8);
                for word in &mut words {
                    let mut w = [0; 8];
                    w.copy_from_slice(word);
                    hash ^= u64::from_le_bytes(w);
                    hash = hash.wrapping_mul(FNV_PRIME);
                }
                fnv1a(hash, words.remainder())
            }
        }
    }
}

/// Where the log of the state file at `state` lives.
pub fn path_of(state: &Path) -> PathBuf {
    with_suffix(state, "-log")
}

/// Where a log being folded into SQLite lives.
pub fn folding_path_of(state: &Path) -> PathBuf {
    with_suffix(state, "-log.folding")
}

fn with_suffix(state: &Path, suffix: &str) -> PathBuf {
    let mut name = state.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// Why a log cannot be read.
#[derive(Debug)]
pub enum ReadError {
    Io(PathBuf, std::io::Error),
    /// A record in the middle of the log at this path is damaged (what it says).
    Damaged(PathBuf, String),
}

impl Log {
    /// The records the logs of `state` hold, oldest first: a log moved aside for a fold that a
    /// crash interrupted, then the log (none when there is neither). Changes nothing.
    pub fn read(state: &Path) -> Result<Vec<Vec<Op>>, ReadError> {
        let mut records = read_file(folding_path_of(state))?;
        records.extend(read_file(path_of(state))?);
        Ok(records)
    }

    /// The records of the log moved aside for a fold, oldest first (none when there is none).
    pub fn read_folding(state: &Path) -> Result<Vec<Vec<Op>>, ReadError> {
        read_file(folding_path_of(state))
    }

    /// Opens the log of `state` for appending, empty (created when missing), and removes a log
    /// moved aside for a fold: what they held must be in SQLite already.
    pub fn create(state: &Path) -> std::io::Result<Log> {
        remove_if_there(&folding_path_of(state))?;
        Log::start(state)
    }

    fn start(state: &Path) -> std::io::Result<Log> {
        let path = path_of(state);
        let mut file = OpenOptions::new().append(true).create(true).open(&path)?;
        file.set_len(0)?;
        file.write_all(MAGIC)?;
        Ok(Log {
            path,
            file,
            buffer: Vec::new(),
        })
    }

    /// Appends one record; once this returns, the ops survive the simulator being killed (and,
    /// once [`Log::sync_handle`]'s file is synced, the machine losing power).
    /// Returns the record's size in bytes.
    pub fn append(&mut self, ops: &[Op]) -> std::io::Result<usize> {
        self.buffer.clear();
        self.buffer.extend_from_slice(&[0; HEADER]);
        for op in ops {
            encode_op(op, &mut self.buffer);
        }
        let payload = &self.buffer[HEADER..];
        let length = u32::try_from(payload.len()).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "a record over 4 GiB")
        })?;
        let checksum = Checksum::Words.of(payload);
        self.buffer[..4].copy_from_slice(&length.to_le_bytes());
        self.buffer[4..HEADER].copy_from_slice(&checksum.to_le_bytes());
        self.file.write_all(&self.buffer)?;
        Ok(self.buffer.len())
    }

    /// A second handle on the log's file, to fsync it without holding the log.
    pub fn sync_handle(&self) -> std::io::Result<File> {
        self.file.try_clone()
    }

    /// Moves the log aside for a fold (`FILE-log.folding`, which must not exist) and goes on in
    /// a new, empty log. Returns a handle on the moved one, to fsync what was appended to it.
    pub fn move_aside(&mut self, state: &Path) -> std::io::Result<File> {
        std::fs::rename(&self.path, folding_path_of(state))?;
        let moved = std::mem::replace(self, Log::start(state)?);
        Ok(moved.file)
    }
}

/// The records of one log file (none when it does not exist).
fn read_file(path: PathBuf) -> Result<Vec<Vec<Op>>, ReadError> {
    match std::fs::read(&path) {
        Ok(bytes) => decode_records(&bytes).map_err(|m| ReadError::Damaged(path, m)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(ReadError::Io(path, e)),
    }
}

/// Removes the log moved aside for a fold, once its records are in SQLite.
pub fn remove_folded(state: &Path) -> std::io::Result<()> {
    remove_if_there(&folding_path_of(state))
}

/// Removes both logs (everything in them is in SQLite, the simulator is stopping).
pub fn remove_all(state: &Path) -> std::io::Result<()> {
    remove_if_there(&folding_path_of(state))?;
    remove_if_there(&path_of(state))
}

fn remove_if_there(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv1a(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    hash
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    // Bodies are far below 4 GiB (requests are limited to a few MiB).
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

fn encode_op(op: &Op, out: &mut Vec<u8>) {
    match op {
        Op::Reset => out.push(0),
        Op::Delete { kind, id } => {
            out.push(1);
            put_bytes(out, kind.as_bytes());
            put_bytes(out, id.as_bytes());
        }
        Op::Upsert {
            kind,
            id,
            pos,
            body,
        } => {
            out.push(2);
            put_bytes(out, kind.as_bytes());
            put_bytes(out, id.as_bytes());
            out.extend_from_slice(&pos.to_le_bytes());
            put_bytes(out, body);
        }
    }
}

/// Reads ops from a record's payload.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    fn string(&mut self) -> Option<String> {
        String::from_utf8(self.bytes()?.to_vec()).ok()
    }

    fn op(&mut self) -> Option<Op> {
        Some(match self.take(1)?[0] {
            0 => Op::Reset,
            1 => Op::Delete {
                kind: Cow::Owned(self.string()?),
                id: self.string()?,
            },
            2 => Op::Upsert {
                kind: Cow::Owned(self.string()?),
                id: self.string()?,
                pos: i64::from_le_bytes(self.take(8)?.try_into().ok()?),
                body: self.bytes()?.to_vec(),
            },
            _ => return None,
        })
    }
}

/// Every whole record. The end of the log may be a record cut short, a last record failing its
/// checksum, or zeros: what a crash leaves, ignored. A damaged record followed by anything but
/// zeros, or a record whose changes cannot be read, is an error saying which.
fn decode_records(bytes: &[u8]) -> Result<Vec<Vec<Op>>, String> {
    let (checksum, mut at) = if bytes.starts_with(MAGIC) {
        (Checksum::Words, MAGIC.len())
    } else if MAGIC.starts_with(bytes) {
        return Ok(Vec::new()); // empty, or killed while the magic was written
    } else {
        (Checksum::Bytes, 0)
    };
    let mut records = Vec::new();
    while at < bytes.len() {
        let rest = &bytes[at..];
        if rest.len() < HEADER || rest.iter().all(|&b| b == 0) {
            break; // cut short, or zeros
        }
        let length = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let mut stored = [0; 8];
        stored.copy_from_slice(&rest[4..HEADER]);
        let Some(payload) = HEADER
            .checked_add(length)
            .and_then(|end| rest.get(HEADER..end))
        else {
            break; // runs past the end: cut short
        };
        let end = at + HEADER + length;
        let number = records.len() + 1;
        if checksum.of(payload) != u64::from_le_bytes(stored) {
            if bytes[end..].iter().all(|&b| b == 0) {
                break; // the last record, torn
            }
            return Err(format!(
                "record {number} of the log (at byte {at} of {}) fails its checksum and more records follow it, so it was not cut short by a crash",
                bytes.len()
            ));
        }
        let mut reader = Reader(payload);
        let mut ops = Vec::new();
        while !reader.0.is_empty() {
            match reader.op() {
                Some(op) => ops.push(op),
                None => {
                    return Err(format!(
                        "record {number} of the log (at byte {at} of {}) holds a change this version of stripe-sim cannot read",
                        bytes.len()
                    ))
                }
            }
        }
        records.push(ops);
        at = end;
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upsert(id: &str, body: &str) -> Op {
        Op::Upsert {
            kind: "customers".into(),
            id: id.into(),
            pos: 7,
            body: body.as_bytes().to_vec(),
        }
    }

    fn temp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("stripe-sim-log-{name}-{}.db", std::process::id()))
    }

    fn record(ops: &[Op]) -> Vec<u8> {
        record_with(Checksum::Words, ops)
    }

    fn record_with(checksum: Checksum, ops: &[Op]) -> Vec<u8> {
        let mut payload = Vec::new();
        for op in ops {
            encode_op(op, &mut payload);
        }
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&checksum.of(&payload).to_le_bytes());
        bytes.extend_from_slice(&payload);
        bytes
    }

    /// A log as this version writes it: the magic, then `records`.
    fn log_of(records: &[Vec<u8>]) -> Vec<u8> {
        let mut bytes = MAGIC.to_vec();
        for record in records {
            bytes.extend_from_slice(record);
        }
        bytes
    }

    #[test]
    fn a_log_written_before_the_magic_is_read_with_its_own_checksum() {
        let one = vec![upsert("cus_1", "{\"a\":1}")];
        let old: Vec<u8> = [
            record_with(Checksum::Bytes, &one),
            record_with(Checksum::Bytes, &one),
        ]
        .concat();
        assert_eq!(
            decode_records(&old).unwrap(),
            vec![one.clone(), one.clone()]
        );
        // The two checksums differ, so neither version's records pass for the other's.
        let new_in_old = [record(&one), record(&one)].concat();
        assert!(decode_records(&new_in_old).is_err());
        assert_eq!(decode_records(&log_of(&[record(&one)])).unwrap(), vec![one]);
        // Killed while the magic was written: an empty log.
        for cut in 0..MAGIC.len() {
            assert!(decode_records(&MAGIC[..cut]).unwrap().is_empty());
        }
    }

    #[test]
    fn records_come_back_in_the_order_they_were_appended() {
        let state = temp("order");
        let _ = std::fs::remove_file(path_of(&state));
        assert!(Log::read(&state).unwrap().is_empty(), "no log, no records");
        let mut log = Log::create(&state).unwrap();
        let first = vec![Op::Reset, upsert("cus_1", "{\"a\":1}")];
        let second = vec![Op::Delete {
            kind: "customers".into(),
            id: "cus_1".into(),
        }];
        log.append(&first).unwrap();
        log.append(&second).unwrap();
        drop(log);

        assert_eq!(Log::read(&state).unwrap(), vec![first, second]);
        let log = Log::create(&state).unwrap();
        assert!(Log::read(&state).unwrap().is_empty(), "create empties it");
        drop(log);
        remove_all(&state).unwrap();
        assert!(!path_of(&state).exists());
    }

    #[test]
    fn what_a_crash_leaves_at_the_end_is_ignored() {
        let one = vec![upsert("cus_1", "{}")];
        let bytes = log_of(&[record(&one), record(&one)]);
        assert_eq!(decode_records(&bytes).unwrap().len(), 2);
        // Cut short anywhere in the last record, header included.
        for cut in 1..record(&one).len() {
            let torn = &bytes[..bytes.len() - cut];
            assert_eq!(decode_records(torn).unwrap().len(), 1, "cut {cut}");
        }
        // The last record damaged, or followed by zeros.
        let last = bytes.len() - 1;
        let mut damaged = bytes.clone();
        damaged[last] ^= 1;
        assert_eq!(decode_records(&damaged).unwrap().len(), 1);
        damaged.extend([0; 100]);
        assert_eq!(decode_records(&damaged).unwrap().len(), 1);
        let mut zeros = bytes.clone();
        zeros.extend([0; 4096]);
        assert_eq!(decode_records(&zeros).unwrap().len(), 2);
    }

    #[test]
    fn a_damaged_record_in_the_middle_is_an_error() {
        let one = vec![upsert("cus_1", "{}")];
        let mut bytes = log_of(&[record(&one), record(&one), record(&one)]);
        let first = MAGIC.len() + record(&one).len();
        bytes[first + HEADER + 3] ^= 1;
        let error = decode_records(&bytes).unwrap_err();
        assert!(
            error.starts_with(&format!("record 2 of the log (at byte {first} of")),
            "{error}"
        );

        // Whole by its checksum, but not a list of changes.
        let mut bytes = log_of(&[record(&one)]);
        let payload = [9u8, 1, 2];
        bytes.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&Checksum::Words.of(&payload).to_le_bytes());
        bytes.extend_from_slice(&payload);
        let error = decode_records(&bytes).unwrap_err();
        assert!(error.contains("cannot read"), "{error}");
    }

    #[test]
    fn a_log_moved_aside_for_a_fold_is_read_first_until_it_is_removed() {
        let state = temp("aside");
        remove_all(&state).unwrap();
        let mut log = Log::create(&state).unwrap();
        log.append(&[upsert("cus_1", "{}")]).unwrap();
        let moved = log.move_aside(&state).unwrap();
        moved.sync_data().unwrap();
        log.append(&[upsert("cus_2", "{}")]).unwrap();
        drop(log);

        // As a crash in the middle of a fold leaves them: the older records come first.
        assert_eq!(
            Log::read(&state).unwrap(),
            vec![vec![upsert("cus_1", "{}")], vec![upsert("cus_2", "{}")]]
        );
        remove_folded(&state).unwrap();
        assert_eq!(
            Log::read(&state).unwrap(),
            vec![vec![upsert("cus_2", "{}")]]
        );
        drop(Log::create(&state).unwrap());
        remove_all(&state).unwrap();
        assert!(!path_of(&state).exists() && !folding_path_of(&state).exists());
    }
}
