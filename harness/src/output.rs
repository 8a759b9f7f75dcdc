//! What a started target prints: its stdout and stderr, captured byte-safely into a bounded
//! buffer of numbered lines.
//!
//! A target is code still being written: it may print bytes that are not UTF-8, lines without
//! end, or floods of output. The capture must survive all of it, because the day it stops
//! reading, the target's next write fails (`EPIPE`) and the app dies of it. So each stream is
//! read as bytes, split on `\n`, decoded lossily, and a line longer than [`LINE_CAP`] is cut into
//! pieces; what is kept is bounded in lines and bytes, the oldest lines going first.
//!
//! Colour and cursor codes (ANSI escape sequences: loggers colour their levels, frameworks
//! their banners) are removed as lines are read, so messages and reports show plain text.
//!
//! Every line carries a sequence number that only grows, so a caller can take a
//! [mark](OutputBuffer::mark) before something happens and read [what was printed
//! since](OutputBuffer::since) afterwards (the lines printed during one scenario step, say).

use std::collections::VecDeque;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// The longest line kept whole: a longer one (or output that never ends its line) is cut into
/// pieces of this size, so one line cannot grow without bound.
pub const LINE_CAP: usize = 8 * 1024;

/// The most lines the buffer keeps (per target; a scenario's worth, and more).
pub const MAX_LINES: usize = 5_000;

/// The most bytes of text the buffer keeps.
pub const MAX_BYTES: usize = 1024 * 1024;

/// The first lines a target printed are kept whatever follows: its start-up lines say what went
/// wrong more often than the thousand lines of access log after them.
pub const FIRST_LINES: usize = 20;

/// Which of the target's streams a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// One line the target printed (or one piece of a line longer than [`LINE_CAP`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLine {
    /// Its number among every line the target printed on either stream, from 0. Numbers only
    /// grow; a gap means lines were dropped by the buffer's caps.
    pub seq: u64,
    /// When the harness read it.
    pub at: SystemTime,
    pub stream: Stream,
    /// The line without its `\n` (nor a `\r` before it); bytes that are not UTF-8 are replaced
    /// by U+FFFD.
    pub text: String,
    /// The line went on past [`LINE_CAP`] bytes: the next piece from this stream continues it.
    pub cut: bool,
}

/// The lines kept, shared between the threads that read the target's streams and the harness.
#[derive(Debug, Clone, Default)]
pub struct OutputBuffer {
    // A std mutex: it is held only to push or copy lines, never across an `.await`.
    inner: Arc<Mutex<Lines>>,
}

#[derive(Debug, Default)]
struct Lines {
    lines: VecDeque<OutputLine>,
    /// Bytes of text in `lines`.
    bytes: usize,
    /// The sequence number of the next line.
    next: u64,
    /// Lines dropped to stay within the caps.
    dropped: u64,
    /// The first [`FIRST_LINES`] lines ever pushed.
    first: Vec<OutputLine>,
}

impl OutputBuffer {
    /// Stores one line, dropping the oldest ones if the buffer is over its caps.
    pub fn push(&self, stream: Stream, text: String, cut: bool) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let seq = inner.next;
        inner.next += 1;
        inner.bytes += text.len();
        let line = OutputLine {
            seq,
            at: SystemTime::now(),
            stream,
            text,
            cut,
        };
        if inner.first.len() < FIRST_LINES {
            inner.first.push(line.clone());
        }
        inner.lines.push_back(line);
        while inner.lines.len() > MAX_LINES || inner.bytes > MAX_BYTES {
            let Some(old) = inner.lines.pop_front() else {
                break;
            };
            inner.bytes -= old.text.len();
            inner.dropped += 1;
        }
    }

    /// The sequence number the next line will get: lines from here on are "since" this mark.
    pub fn mark(&self) -> u64 {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).next
    }

    /// The lines kept whose number is `mark` or more, oldest first.
    pub fn since(&self, mark: u64) -> Vec<OutputLine> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        // Numbers are consecutive in the buffer: skip straight to the mark.
        let first = inner.lines.front().map(|l| l.seq).unwrap_or(inner.next);
        let skip = usize::try_from(mark.saturating_sub(first)).unwrap_or(usize::MAX);
        inner.lines.iter().skip(skip).cloned().collect()
    }

    /// How many lines were dropped to stay within [`MAX_LINES`] and [`MAX_BYTES`].
    pub fn dropped(&self) -> u64 {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).dropped
    }

    /// The last `lines` lines as text for an error message, each shortened to `width` bytes.
    pub fn tail(&self, lines: usize, width: usize) -> String {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let start = inner.lines.len().saturating_sub(lines);
        let out: Vec<String> = inner
            .lines
            .iter()
            .skip(start)
            .map(|l| shorten(&l.text, width))
            .collect();
        out.join("\n")
    }

    /// The first `head` lines the target ever printed, then the last `tail` ones, each
    /// shortened to `width` bytes, with how many were left out between: for messages about a
    /// target that did not start, whose start-up lines say why.
    pub fn head_and_tail(&self, head: usize, tail: usize, width: usize) -> String {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let last: Vec<&OutputLine> = {
            let start = inner.lines.len().saturating_sub(tail);
            inner.lines.iter().skip(start).collect()
        };
        let first_of_tail = last.first().map(|l| l.seq).unwrap_or(inner.next);
        let first: Vec<&OutputLine> = inner
            .first
            .iter()
            .take(head)
            .filter(|l| l.seq < first_of_tail)
            .collect();
        let mut out: Vec<String> = first.iter().map(|l| shorten(&l.text, width)).collect();
        let shown_head_end = first.last().map(|l| l.seq + 1).unwrap_or(0);
        let between = first_of_tail.saturating_sub(shown_head_end);
        if between > 0 && !first.is_empty() {
            out.push(format!("… {between} lines …"));
        }
        out.extend(last.iter().map(|l| shorten(&l.text, width)));
        out.join("\n")
    }
}

/// `text`, or its first `width` bytes and its length when it is longer.
fn shorten(text: &str, width: usize) -> String {
    if text.len() <= width {
        text.to_string()
    } else {
        let head = &text[..floor_char_boundary(text, width)];
        format!("{head}… ({} bytes)", text.len())
    }
}

/// The largest index `<= index` that is a char boundary of `text`.
pub(crate) fn floor_char_boundary(text: &str, index: usize) -> usize {
    if index >= text.len() {
        return text.len();
    }
    (0..=index)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0)
}

/// Splits a byte stream into lines: at `\n`, and at [`LINE_CAP`] for a line without end.
#[derive(Debug, Default)]
pub struct LineSplitter {
    pending: Vec<u8>,
}

impl LineSplitter {
    /// Feeds bytes; calls `emit(text, cut)` for each complete line or piece.
    pub fn feed(&mut self, mut bytes: &[u8], emit: &mut impl FnMut(String, bool)) {
        while let Some(newline) = bytes.iter().position(|&b| b == b'\n') {
            let (line, rest) = bytes.split_at(newline);
            self.pending.extend_from_slice(line);
            self.cut_long(emit);
            let mut line = std::mem::take(&mut self.pending);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            emit(lossy(line), false);
            bytes = &rest[1..];
        }
        self.pending.extend_from_slice(bytes);
        self.cut_long(emit);
    }

    /// The stream ended: what is left is a last line without `\n`.
    pub fn finish(&mut self, emit: &mut impl FnMut(String, bool)) {
        if !self.pending.is_empty() {
            emit(lossy(std::mem::take(&mut self.pending)), false);
        }
    }

    /// Emits pieces of [`LINE_CAP`] bytes while the pending line is longer than that. A piece
    /// ends before a character split in two, so it reads as the target wrote it.
    fn cut_long(&mut self, emit: &mut impl FnMut(String, bool)) {
        while self.pending.len() > LINE_CAP {
            let continues = |b: u8| b & 0xC0 == 0x80;
            let mut end = LINE_CAP;
            if continues(self.pending[LINE_CAP]) {
                // The cap falls inside a character: end the piece where the character starts.
                if let Some(start) = (LINE_CAP - 3..LINE_CAP)
                    .rev()
                    .find(|&i| self.pending[i] >= 0xC0)
                {
                    end = start;
                }
            }
            let rest = self.pending.split_off(end);
            emit(lossy(std::mem::replace(&mut self.pending, rest)), true);
        }
    }
}

fn lossy(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// Reads `reader` to its end on the calling thread, line by line into `buffer`. It stops only
/// at the end of the stream (or if the stream itself fails): never because of what it read.
pub fn capture(mut reader: impl Read, stream: Stream, buffer: &OutputBuffer) {
    let mut splitter = LineSplitter::default();
    let mut emit = |text: String, cut: bool| buffer.push(stream, strip_ansi(text), cut);
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => splitter.feed(&chunk[..n], &mut emit),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    splitter.finish(&mut emit);
}

/// `text` without ANSI escape sequences: CSI (`ESC [ … final`, colours and cursor moves), OSC
/// (`ESC ] … BEL` or `ESC \\`, titles and links), and two-byte escapes. Other text is kept as is.
pub fn strip_ansi(text: String) -> String {
    if !text.contains('\u{1b}') && !text.contains('\u{9b}') {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.next() {
                // CSI: parameters and intermediates, then one final byte in @..~.
                Some('[') => {
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
                // OSC: up to BEL or ST (ESC \).
                Some(']') => {
                    while let Some(c) = chars.next() {
                        if c == '\u{7}' {
                            break;
                        }
                        if c == '\u{1b}' && chars.peek() == Some(&'\\') {
                            chars.next();
                            break;
                        }
                    }
                }
                // A two-byte escape (ESC c, ESC 7…): drop both.
                Some(_) | None => {}
            },
            // The one-byte CSI.
            '\u{9b}' => {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_lines_survive_a_flood_and_the_gap_is_counted() {
        let buffer = OutputBuffer::default();
        buffer.push(Stream::Stdout, "app: listening on 8000".into(), false);
        for i in 0..(MAX_LINES + 100) {
            buffer.push(Stream::Stderr, format!("GET / 404 #{i}"), false);
        }
        let text = buffer.head_and_tail(5, 3, 100);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "app: listening on 8000");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("… ") && l.ends_with(" lines …")),
            "{text}"
        );
        assert_eq!(
            lines.last(),
            Some(&format!("GET / 404 #{}", MAX_LINES + 99).as_str())
        );
        // Few lines: each once, no gap.
        let small = OutputBuffer::default();
        small.push(Stream::Stdout, "a".into(), false);
        small.push(Stream::Stdout, "b".into(), false);
        assert_eq!(small.head_and_tail(5, 3, 100), "a\nb");
    }

    #[test]
    fn colour_codes_and_titles_are_removed_and_plain_text_is_kept() {
        let coloured =
            "\u{1b}[32mINFO\u{1b}[0m  Uvicorn running on \u{1b}[1mhttp://127.0.0.1:8000\u{1b}[0m"
                .to_string();
        assert_eq!(
            strip_ansi(coloured),
            "INFO  Uvicorn running on http://127.0.0.1:8000"
        );
        assert_eq!(
            strip_ansi("\u{1b}]0;title\u{7}ready \u{1b}[2K\u{1b}[1;31mERR\u{1b}[m".into()),
            "ready ERR"
        );
        assert_eq!(strip_ansi("é plain [32m".into()), "é plain [32m");
        assert_eq!(
            strip_ansi("cut at the end \u{1b}[3".into()),
            "cut at the end "
        );
    }

    fn split(chunks: &[&[u8]]) -> Vec<(String, bool)> {
        let mut out = Vec::new();
        let mut splitter = LineSplitter::default();
        let mut emit = |t: String, c: bool| out.push((t, c));
        for chunk in chunks {
            splitter.feed(chunk, &mut emit);
        }
        splitter.finish(&mut emit);
        out
    }

    #[test]
    fn lines_are_split_on_newlines_across_reads_and_crlf_is_trimmed() {
        let lines = split(&[b"one\r\ntw", b"o\nthree"]);
        assert_eq!(
            lines,
            [
                ("one".to_string(), false),
                ("two".to_string(), false),
                ("three".to_string(), false)
            ]
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_become_replacement_characters_and_the_line_is_kept() {
        let lines = split(&[b"caf\xe9 ok\n\xff\xfe\n", b"after\n"]);
        assert_eq!(lines[0].0, "caf\u{fffd} ok");
        assert_eq!(lines[1].0, "\u{fffd}\u{fffd}");
        assert_eq!(lines[2].0, "after");
    }

    #[test]
    fn a_line_without_end_is_cut_into_pieces_at_the_cap() {
        let long = vec![b'x'; LINE_CAP * 2 + 10];
        let lines = split(&[&long, b"\nnext\n"]);
        assert_eq!(lines.len(), 4);
        assert_eq!((lines[0].0.len(), lines[0].1), (LINE_CAP, true));
        assert_eq!((lines[1].0.len(), lines[1].1), (LINE_CAP, true));
        assert_eq!((lines[2].0.len(), lines[2].1), (10, false));
        assert_eq!(lines[3].0, "next");
    }

    #[test]
    fn a_cut_never_splits_a_character() {
        // "é" is two bytes: with one byte of padding, one falls across the cap.
        let mut text = vec![b'a'];
        for _ in 0..LINE_CAP {
            text.extend_from_slice("é".as_bytes());
        }
        let lines = split(&[&text]);
        assert!(lines.iter().all(|(t, _)| !t.contains('\u{fffd}')));
        let joined: String = lines.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(joined.as_bytes(), &text[..]);
    }

    #[test]
    fn the_buffer_keeps_the_newest_lines_within_its_caps_and_counts_the_rest() {
        let buffer = OutputBuffer::default();
        for i in 0..MAX_LINES + 7 {
            buffer.push(Stream::Stdout, format!("line {i}"), false);
        }
        assert_eq!(buffer.dropped(), 7);
        let kept = buffer.since(0);
        assert_eq!(kept.len(), MAX_LINES);
        assert_eq!(kept[0].seq, 7);
        assert_eq!(kept[0].text, "line 7");

        for _ in 0..(MAX_BYTES / LINE_CAP) + 3 {
            buffer.push(Stream::Stderr, "y".repeat(LINE_CAP), true);
        }
        let bytes: usize = buffer.since(0).iter().map(|l| l.text.len()).sum();
        assert!(bytes <= MAX_BYTES, "{bytes}");
    }

    #[test]
    fn since_a_mark_gives_exactly_the_lines_printed_after_it() {
        let buffer = OutputBuffer::default();
        buffer.push(Stream::Stdout, "before".into(), false);
        let mark = buffer.mark();
        buffer.push(Stream::Stderr, "during 1".into(), false);
        buffer.push(Stream::Stdout, "during 2".into(), false);
        let lines = buffer.since(mark);
        assert_eq!(
            lines
                .iter()
                .map(|l| (l.seq, l.stream, l.text.as_str()))
                .collect::<Vec<_>>(),
            [
                (1, Stream::Stderr, "during 1"),
                (2, Stream::Stdout, "during 2")
            ]
        );
        assert!(buffer.since(buffer.mark()).is_empty());
    }

    #[test]
    fn capture_reads_to_the_end_whatever_the_bytes() {
        let buffer = OutputBuffer::default();
        let mut input = b"\xff\xfe binary\n".to_vec();
        input.extend(vec![b'z'; LINE_CAP + 1]);
        input.extend_from_slice(b"\nlast line");
        capture(&input[..], Stream::Stdout, &buffer);
        let texts: Vec<String> = buffer.since(0).into_iter().map(|l| l.text).collect();
        assert_eq!(texts.len(), 4);
        assert_eq!(texts[3], "last line");
        assert_eq!(
            buffer.tail(3, 5),
            format!("zzzzz… ({LINE_CAP} bytes)\nz\nlast … (9 bytes)")
        );
    }
}
