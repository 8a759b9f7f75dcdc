//! Acting on pending snapshots: `stripe-harness snapshots review DIR` walks them one by one
//! (accept, reject, skip), `snapshots accept DIR` and `snapshots reject DIR` act on all of them.
//!
//! The review reads one answer per line, so a terminal drives it and so does a script (the
//! tests give it their answers as text).

use std::io::{BufRead, Write};

use crate::snapshots::diff::line_diff;
use crate::snapshots::store::{SnapshotDir, SnapshotError};

/// What a review did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReviewOutcome {
    pub accepted: Vec<String>,
    pub rejected: Vec<String>,
    /// Left pending: skipped, or not reached when the review was quit (or its input ended).
    pub skipped: Vec<String>,
}

impl ReviewOutcome {
    /// `2 accepted, 1 rejected, 0 skipped`.
    pub fn describe(&self) -> String {
        format!(
            "{} accepted, {} rejected, {} left pending",
            self.accepted.len(),
            self.rejected.len(),
            self.skipped.len()
        )
    }
}

/// One answer at the prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Choice {
    Accept,
    Reject,
    Skip,
    Quit,
}

fn choice(line: &str) -> Option<Choice> {
    match line.trim().to_ascii_lowercase().as_str() {
        "a" | "accept" => Some(Choice::Accept),
        "r" | "reject" => Some(Choice::Reject),
        "s" | "skip" | "" => Some(Choice::Skip),
        "q" | "quit" => Some(Choice::Quit),
        _ => None,
    }
}

fn io(dir: &SnapshotDir) -> impl Fn(std::io::Error) -> SnapshotError + '_ {
    move |source| SnapshotError::Io {
        action: "talk to the terminal while reviewing",
        path: dir.path().display().to_string(),
        source,
    }
}

/// Shows each pending snapshot of `dir` with its diff against the accepted one and asks what to
/// do with it, reading answers from `input` (`a` accept, `r` reject, `s` or Enter skip, `q`
/// quit).
pub fn review(
    dir: &SnapshotDir,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> Result<ReviewOutcome, SnapshotError> {
    let names = dir.pending_names()?;
    let mut outcome = ReviewOutcome::default();
    if names.is_empty() {
        writeln!(out, "no pending snapshot in {}", dir.path().display()).map_err(io(dir))?;
        return Ok(outcome);
    }
    let mut quit = false;
    for (index, name) in names.iter().enumerate() {
        if quit {
            outcome.skipped.push(name.clone());
            continue;
        }
        let Some(pending) = dir.pending(name)? else {
            continue;
        };
        let accepted = dir.accepted(name)?;
        writeln!(
            out,
            "\n── {name} ({} of {}) ──────────────────────────────",
            index + 1,
            names.len()
        )
        .map_err(io(dir))?;
        match &accepted {
            Some(_) => writeln!(
                out,
                "{} changed (- accepted, + new):",
                dir.accepted_path(name).display()
            ),
            None => writeln!(
                out,
                "{} is new (no accepted snapshot yet):",
                dir.pending_path(name).display()
            ),
        }
        .map_err(io(dir))?;
        let old = accepted.as_ref().map(|a| a.body.as_str()).unwrap_or("");
        write!(out, "{}", line_diff(old, &pending.body)).map_err(io(dir))?;
        let answer = loop {
            write!(out, "accept (a), reject (r), skip (s), quit (q)? ").map_err(io(dir))?;
            out.flush().map_err(io(dir))?;
            let mut line = String::new();
            if input.read_line(&mut line).map_err(io(dir))? == 0 {
                // The input ended: what is left stays pending.
                writeln!(out).map_err(io(dir))?;
                break Choice::Quit;
            }
            match choice(&line) {
                Some(choice) => break choice,
                None => writeln!(out, "'{}' is not an answer", line.trim()).map_err(io(dir))?,
            }
        };
        match answer {
            Choice::Accept => {
                dir.accept(name)?;
                outcome.accepted.push(name.clone());
            }
            Choice::Reject => {
                dir.reject(name)?;
                outcome.rejected.push(name.clone());
            }
            Choice::Skip => outcome.skipped.push(name.clone()),
            Choice::Quit => {
                outcome.skipped.push(name.clone());
                quit = true;
            }
        }
    }
    writeln!(out, "{}", outcome.describe()).map_err(io(dir))?;
    Ok(outcome)
}

/// Accepts every pending snapshot of `dir`; returns their names.
pub fn accept_all(dir: &SnapshotDir) -> Result<Vec<String>, SnapshotError> {
    let names = dir.pending_names()?;
    for name in &names {
        dir.accept(name)?;
    }
    Ok(names)
}

/// Rejects every pending snapshot of `dir` (the accepted ones stay); returns their names.
pub fn reject_all(dir: &SnapshotDir) -> Result<Vec<String>, SnapshotError> {
    let names = dir.pending_names()?;
    for name in &names {
        dir.reject(name)?;
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshots::format::SnapFile;

    fn file(body: &str) -> SnapFile {
        SnapFile::with_body(body)
    }

    #[test]
    fn a_scripted_review_accepts_rejects_and_skips() {
        let path =
            std::env::temp_dir().join(format!("stripe-harness-review-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        let dir = SnapshotDir::new(&path).unwrap();
        dir.write_accepted("b", &file("old\nsame")).unwrap();
        for (name, body) in [("a", "1"), ("b", "new\nsame"), ("c", "3"), ("d", "4")] {
            dir.write_pending(name, &file(body)).unwrap();
        }
        let mut input: &[u8] = b"a\nwhat\nr\ns\n";
        let mut out = Vec::new();
        let outcome = review(&dir, &mut input, &mut out).unwrap();
        let shown = String::from_utf8(out).unwrap();
        assert_eq!(outcome.accepted, vec!["a"]);
        assert_eq!(outcome.rejected, vec!["b"]);
        // The input ended before d: it stays pending.
        assert_eq!(outcome.skipped, vec!["c", "d"]);
        assert!(shown.contains("-old\n+new\n same\n"), "{shown}");
        assert!(shown.contains("'what' is not an answer"), "{shown}");
        assert_eq!(dir.accepted("a").unwrap().unwrap().body, "1");
        assert_eq!(dir.accepted("b").unwrap().unwrap().body, "old\nsame");
        assert_eq!(dir.pending_names().unwrap(), vec!["c", "d"]);
        assert_eq!(accept_all(&dir).unwrap(), vec!["c", "d"]);
        assert!(reject_all(&dir).unwrap().is_empty());
        let _ = std::fs::remove_dir_all(&path);
    }
}
