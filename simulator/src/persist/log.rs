//! The commit log beside the state file (`FILE-log`): where a change is committed before its
//! request is answered.
//!
//! Why a log in front of SQLite: a commit to SQLite writes every page it touched to SQLite's own
//! WAL, two system calls a page. Creating one customer changes three rows (the customer, its
//! event, the meta row) on about four pages, so a commit was 8 to 16 system calls and well over
//! 100 µs, paid by every request that waits for it. Appending the same rows to this log is one
//! `write` (plus one `fdatasync` with `--state-fsync`). The writer folds the log into SQLite in
//! large transactions (every few MiB, when idle, and at shutdown), where a page is written once
//! for hundreds of changes, and then empties the log.
//!
//! A record is `length (u32) | checksum (u64, FNV-1a of the payload) | payload`, the payload a
//! list of [`Op`]s. Replaying the log at start is safe whatever was folded already: each op sets
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
//! simulator never touches it. It is emptied once folded, and removed when the simulator stops
//! cleanly.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// One change to the rows of the state file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Every row is deleted (`POST /_sim/reset`).
    Reset,
    Delete {
        kind: String,
        id: String,
    },
    Upsert {
        kind: String,
        id: String,
        pos: i64,
        body: Vec<u8>,
    },
}

impl Op {
    /// Roughly what the op holds, to bound what waits in memory to be folded.
    pub fn size(&self) -> usize {
        match self {
            Op::Reset => 1,
            Op::Delete { kind, id } => kind.len() + id.len() + 16,
            Op::Upsert { kind, id, body, .. } => kind.len() + id.len() + body.len() + 32,
        }
    }
}

/// The open log, appended to by the writer thread only.
#[derive(Debug)]
pub struct Log {
    path: PathBuf,
    file: File,
    fsync: bool,
    /// Reused for each record.
    buffer: Vec<u8>,
}

const HEADER: usize = 12;

/// Where the log of the state file at `state` lives.
pub fn path_of(state: &Path) -> PathBuf {
    let mut name = state.as_os_str().to_os_string();
    name.push("-log");
    PathBuf::from(name)
}

/// Why a log cannot be read.
#[derive(Debug)]
pub enum ReadError {
    Io(std::io::Error),
    /// A record in the middle of the log is damaged (what it says).
    Damaged(String),
}

impl Log {
    /// The records in the log of `state`, oldest first (none when there is no log). Changes
    /// nothing.
    pub fn read(state: &Path) -> Result<Vec<Vec<Op>>, ReadError> {
        let bytes = match std::fs::read(path_of(state)) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(ReadError::Io(e)),
        };
        decode_records(&bytes).map_err(ReadError::Damaged)
    }

    /// Opens the log of `state` for appending, empty (created when missing): what it held must
    /// be in SQLite already.
    pub fn create(state: &Path, fsync: bool) -> std::io::Result<Log> {
        let path = path_of(state);
        let file = OpenOptions::new().append(true).create(true).open(&path)?;
        file.set_len(0)?;
        Ok(Log {
            path,
            file,
            fsync,
            buffer: Vec::new(),
        })
    }

    /// Appends one record; once this returns, the ops survive the simulator being killed (and,
    /// with `fsync`, the machine losing power).
    pub fn append(&mut self, ops: &[Op]) -> std::io::Result<()> {
        self.buffer.clear();
        self.buffer.extend_from_slice(&[0; HEADER]);
        for op in ops {
            encode_op(op, &mut self.buffer);
        }
        let payload = &self.buffer[HEADER..];
        let length = u32::try_from(payload.len()).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "a record over 4 GiB")
        })?;
        let checksum = fnv1a(payload);
        self.buffer[..4].copy_from_slice(&length.to_le_bytes());
        self.buffer[4..HEADER].copy_from_slice(&checksum.to_le_bytes());
        self.file.write_all(&self.buffer)?;
        if self.fsync {
            self.file.sync_data()?;
        }
        Ok(())
    }

    /// Empties the log, once everything in it is in SQLite.
    pub fn clear(&mut self) -> std::io::Result<()> {
        self.file.set_len(0)
    }

    /// Removes the log (everything in it is in SQLite, the simulator is stopping).
    pub fn remove(self) -> std::io::Result<()> {
        drop(self.file);
        std::fs::remove_file(&self.path)
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
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
                kind: self.string()?,
                id: self.string()?,
            },
            2 => Op::Upsert {
                kind: self.string()?,
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
    let mut records = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let rest = &bytes[at..];
        if rest.len() < HEADER || rest.iter().all(|&b| b == 0) {
            break; // cut short, or zeros
        }
        let length = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let mut checksum = [0; 8];
        checksum.copy_from_slice(&rest[4..HEADER]);
        let Some(payload) = HEADER
            .checked_add(length)
            .and_then(|end| rest.get(HEADER..end))
        else {
            break; // runs past the end: cut short
        };
        let end = at + HEADER + length;
        let number = records.len() + 1;
        if fnv1a(payload) != u64::from_le_bytes(checksum) {
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
        let mut payload = Vec::new();
        for op in ops {
            encode_op(op, &mut payload);
        }
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&fnv1a(&payload).to_le_bytes());
        bytes.extend_from_slice(&payload);
        bytes
    }

    #[test]
    fn records_come_back_in_the_order_they_were_appended() {
        let state = temp("order");
        let _ = std::fs::remove_file(path_of(&state));
        assert!(Log::read(&state).unwrap().is_empty(), "no log, no records");
        let mut log = Log::create(&state, false).unwrap();
        let first = vec![Op::Reset, upsert("cus_1", "{\"a\":1}")];
        let second = vec![Op::Delete {
            kind: "customers".into(),
            id: "cus_1".into(),
        }];
        log.append(&first).unwrap();
        log.append(&second).unwrap();
        drop(log);

        assert_eq!(Log::read(&state).unwrap(), vec![first, second]);
        let log = Log::create(&state, false).unwrap();
        assert!(Log::read(&state).unwrap().is_empty(), "create empties it");
        log.remove().unwrap();
        assert!(!path_of(&state).exists());
    }

    #[test]
    fn what_a_crash_leaves_at_the_end_is_ignored() {
        let one = vec![upsert("cus_1", "{}")];
        let mut bytes = record(&one);
        bytes.extend(record(&one));
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
        let mut bytes = record(&one);
        let first = bytes.len();
        bytes.extend(record(&one));
        bytes.extend(record(&one));
        bytes[first + HEADER + 3] ^= 1;
        let error = decode_records(&bytes).unwrap_err();
        assert!(
            error.starts_with(&format!("record 2 of the log (at byte {first} of")),
            "{error}"
        );

        // Whole by its checksum, but not a list of changes.
        let mut bytes = record(&one);
        let payload = [9u8, 1, 2];
        bytes.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&fnv1a(&payload).to_le_bytes());
        bytes.extend_from_slice(&payload);
        let error = decode_records(&bytes).unwrap_err();
        assert!(error.contains("cannot read"), "{error}");
    }

    #[test]
    fn emptying_the_log_starts_it_again() {
        let state = temp("clear");
        let _ = std::fs::remove_file(path_of(&state));
        let mut log = Log::create(&state, true).unwrap();
        log.append(&[Op::Reset]).unwrap();
        log.clear().unwrap();
        log.append(&[upsert("cus_2", "{}")]).unwrap();
        drop(log);
        assert_eq!(
            Log::read(&state).unwrap(),
            vec![vec![upsert("cus_2", "{}")]]
        );
        Log::create(&state, false).unwrap().remove().unwrap();
    }
}
