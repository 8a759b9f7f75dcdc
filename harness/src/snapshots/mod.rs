//! Approved snapshots of what a target did: `stripe-harness run --snapshots DIR`.
//!
//! The judge allows every correct design, so it cannot flag a change from one correct behaviour
//! to another (an early refund applied at once where it used to wait, a new status word, a
//! reference that now names the charge). A snapshot records what the app did in one scenario
//! ([`content`]); a reviewer accepts it once, the team commits it, and every later run compares:
//! a difference fails the scenario with rule `snapshot-matches` and its line diff ([`diff`]).
//!
//! Files use insta's `.snap` format and layout ([`format`], [`store`]): `DIR/<scenario>.snap`
//! accepted, `DIR/<scenario>.snap.new` pending, so Rust users can keep `cargo insta review`;
//! the harness reads and writes them itself, without a Rust toolchain. Pending snapshots are
//! accepted or rejected all at once or one by one ([`review`]).

pub mod content;
pub mod diff;
pub mod format;
pub mod review;
pub mod store;

use std::path::PathBuf;

pub use format::SnapFile;
pub use store::{SnapshotDir, SnapshotError};

use crate::judge::Violation;
use crate::rules::Rule;
use crate::runner::{Failure, ScenarioResult};
use crate::scenario::{Scenario, Step};
use crate::target_file::{Fields, Snapshots};

/// The environment variable that says what a run writes ([`write_mode`]).
pub const ENV: &str = "STRIPE_HARNESS_SNAPSHOTS";

/// What a run writes when a snapshot is new or differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Writes it as accepted (`--accept`, `STRIPE_HARNESS_SNAPSHOTS=accept`): the scenario passes.
    Accept,
    /// Writes it beside the accepted one as `.snap.new` (the default): the scenario fails.
    Pending,
    /// Writes nothing (`CI=true`, `STRIPE_HARNESS_SNAPSHOTS=no`): the scenario fails, and the
    /// report and the JUnit file carry the diff.
    Nothing,
}

/// What a run writes: `--accept` (`accept`), else `STRIPE_HARNESS_SNAPSHOTS` (`env`: `accept`,
/// `new`, `no`, or `auto`), else `.snap.new` files, or nothing under CI (`ci`). CI never
/// accepts on its own: `STRIPE_HARNESS_SNAPSHOTS=accept` under CI is refused, only an explicit
/// `--accept` accepts there.
pub fn write_mode(accept: bool, env: Option<&str>, ci: bool) -> Result<WriteMode, String> {
    if accept {
        return Ok(WriteMode::Accept);
    }
    match env.map(str::trim) {
        None | Some("") | Some("auto") if ci => Ok(WriteMode::Nothing),
        None | Some("") | Some("auto") => Ok(WriteMode::Pending),
        Some("accept") if ci => Err(format!(
            "{ENV}=accept is refused under CI: CI never accepts snapshots on its own (a run there only reports). Pass --accept if this job is meant to accept them"
        )),
        Some("accept") => Ok(WriteMode::Accept),
        Some("new") => Ok(WriteMode::Pending),
        Some("no") => Ok(WriteMode::Nothing),
        Some(other) => Err(format!(
            "{ENV}={other}: expected accept, new, no or auto"
        )),
    }
}

/// Whether the `CI` variable says this is a CI run (`true`, `1`, anything but empty, `0`,
/// `false` or `no`), as CI systems set it.
pub fn in_ci(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        !matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "" | "0" | "false" | "no"
        )
    })
}

/// How a run checks its snapshots.
#[derive(Debug, Clone)]
pub struct SnapshotOptions {
    pub dir: SnapshotDir,
    pub write: WriteMode,
    /// The target file's `[fields]` (the defaults for the embedded reference target).
    pub fields: Fields,
    /// The target file's `[snapshots]`.
    pub spec: Snapshots,
    /// This program as it is run (`stripe-harness`, `cargo run -p stripe-harness --`), for the
    /// commands a mismatch suggests.
    pub program: String,
}

/// What a run found in its snapshots.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckSummary {
    /// Scenarios whose snapshot matched.
    pub matched: Vec<String>,
    /// Scenarios without an accepted snapshot (failed, unless accepted).
    pub new: Vec<String>,
    /// Scenarios whose snapshot differs (failed, unless accepted).
    pub changed: Vec<String>,
    /// New or changed snapshots written as accepted.
    pub accepted: Vec<String>,
    /// Pending files written.
    pub written: Vec<PathBuf>,
    /// Scenarios not compared: skipped, or failed by the judge (their failure is the verdict,
    /// and no snapshot of a failing run is written).
    pub unchecked: Vec<String>,
}

impl CheckSummary {
    /// `snapshots in DIR: 50 match, 2 new, 1 changed (…)`.
    pub fn describe(&self, options: &SnapshotOptions) -> String {
        let dir = options.dir.path().display();
        let mut line = format!(
            "snapshots in {dir}: {} match, {} new, {} changed",
            self.matched.len(),
            self.new.len(),
            self.changed.len()
        );
        if !self.accepted.is_empty() {
            line.push_str(&format!(", {} accepted", self.accepted.len()));
        }
        if !self.unchecked.is_empty() {
            line.push_str(&format!(
                ", {} not compared (skipped or failed)",
                self.unchecked.len()
            ));
        }
        let waiting = (self.new.len() + self.changed.len()).saturating_sub(self.accepted.len());
        if waiting > 0 {
            match options.write {
                WriteMode::Pending => line.push_str(&format!(
                    "\n  the new versions are in {dir}/*.snap.new: review them with `{p} snapshots review {dir}`, or accept them all with `{p} snapshots accept {dir}`",
                    p = options.program
                )),
                WriteMode::Nothing => line.push_str(
                    "\n  nothing written (CI, or STRIPE_HARNESS_SNAPSHOTS=no): the diffs are above and in the reports",
                ),
                WriteMode::Accept => {}
            }
        }
        line
    }
}

/// The insta header of a scenario's snapshot.
fn snap_file(result: &ScenarioResult, body: String) -> SnapFile {
    SnapFile {
        source: "stripe-harness run --snapshots".to_string(),
        expression: format!("what the target did in scenario {}", result.name),
        input_file: result.path.as_ref().map(|p| {
            let path = std::path::Path::new(p);
            // A path relative to where the run started is the same on every machine; an
            // absolute one is not, so only its file name is kept.
            if path.is_absolute() {
                path.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| p.clone())
            } else {
                p.clone()
            }
        }),
        body,
    }
}

/// Whether `scenario` releases deliveries in parallel: its states in between are racy.
fn racy(scenario: Option<&Scenario>) -> bool {
    scenario.is_some_and(|s| {
        s.steps
            .iter()
            .any(|step| matches!(step, Step::Release(r) if r.parallel))
    })
}

/// The snapshot `result` would be written as (its scenario among `scenarios`).
pub fn snapshot_of(
    result: &ScenarioResult,
    scenarios: &[Scenario],
    fields: &Fields,
    spec: &Snapshots,
) -> SnapFile {
    let scenario = scenarios.iter().find(|s| s.name == result.name);
    snap_file(result, content::body(result, racy(scenario), fields, spec))
}

/// Compares every scenario that passed the judge with its accepted snapshot in the folder,
/// writes what [`WriteMode`] says, and fails (`snapshot-matches`, with the diff) each one that
/// is new or differs, unless it was accepted. An unreadable folder or malformed file stops the
/// check with an error naming it.
pub fn check_results(
    options: &SnapshotOptions,
    scenarios: &[Scenario],
    results: &mut [ScenarioResult],
) -> Result<CheckSummary, SnapshotError> {
    let mut names = std::collections::HashSet::new();
    for result in results.iter() {
        if !names.insert(result.name.as_str()) {
            return Err(SnapshotError::Config(format!(
                "two scenarios are named {}: their snapshots would share {}; rename one",
                result.name,
                options.dir.accepted_path(&result.name).display()
            )));
        }
    }
    let mut summary = CheckSummary::default();
    for result in results.iter_mut() {
        if result.was_skipped() || !result.passed() {
            summary.unchecked.push(result.name.clone());
            continue;
        }
        let new = snapshot_of(result, scenarios, &options.fields, &options.spec);
        let accepted = options.dir.accepted(&result.name)?;
        let old_body = match &accepted {
            Some(old) if old.body == new.body => {
                if options.write != WriteMode::Nothing {
                    options.dir.remove_pending(&result.name)?;
                }
                result.tally.pass(Rule::SnapshotMatches);
                summary.matched.push(result.name.clone());
                continue;
            }
            Some(old) => {
                summary.changed.push(result.name.clone());
                Some(old.body.as_str())
            }
            None => {
                summary.new.push(result.name.clone());
                None
            }
        };
        let accepted_path = options.dir.accepted_path(&result.name);
        if options.write == WriteMode::Accept {
            options.dir.write_accepted(&result.name, &new)?;
            result.tally.pass(Rule::SnapshotMatches);
            summary.accepted.push(result.name.clone());
            continue;
        }
        let written = match options.write {
            WriteMode::Pending => Some(options.dir.write_pending(&result.name, &new)?),
            _ => None,
        };
        let diff = diff::line_diff(old_body.unwrap_or(""), &new.body);
        let (removed, added) = diff::changed_lines(old_body.unwrap_or(""), &new.body);
        let dir = options.dir.path().display();
        let (detail, expected) = match old_body {
            None => (
                format!(
                    "no accepted snapshot of this scenario yet: what the target did ({added} lines) is new"
                ),
                format!("an accepted snapshot at {}", accepted_path.display()),
            ),
            Some(_) => (
                format!(
                    "what the target did differs from its accepted snapshot: {removed} lines removed, {added} added"
                ),
                format!("what {} records", accepted_path.display()),
            ),
        };
        let observed = match &written {
            Some(path) => format!(
                "the new version, written to {}; review: {p} snapshots review {dir}; accept all: {p} snapshots accept {dir}",
                path.display(),
                p = options.program
            ),
            None => format!(
                "the new version (not written: CI, or {ENV}=no); rerun with --accept to accept it"
            ),
        };
        let violation = Violation::new(Rule::SnapshotMatches, detail, expected, observed);
        result.tally.fail(Rule::SnapshotMatches);
        let steps = scenarios
            .iter()
            .find(|s| s.name == result.name)
            .map(|s| s.steps.len())
            .unwrap_or(0);
        result.failure = Some(Failure {
            step: steps + 2,
            step_description: format!(
                "snapshot: the whole scenario against {}",
                accepted_path.display()
            ),
            order: None,
            violation,
            diff: Some(diff),
        });
        summary.written.extend(written);
    }
    Ok(summary)
}

/// The accepted snapshots in the folder that no scenario of `results` made: left behind by
/// scenarios renamed or removed. Meaningful only when a run played the whole library.
pub fn orphans(
    dir: &SnapshotDir,
    results: &[ScenarioResult],
) -> Result<Vec<String>, SnapshotError> {
    Ok(dir
        .accepted_names()?
        .into_iter()
        .filter(|name| !results.iter().any(|r| &r.name == name))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_never_accepts_unless_told_to_explicitly() {
        assert_eq!(write_mode(false, None, false), Ok(WriteMode::Pending));
        assert_eq!(write_mode(false, None, true), Ok(WriteMode::Nothing));
        assert_eq!(
            write_mode(false, Some("accept"), false),
            Ok(WriteMode::Accept)
        );
        let refused = write_mode(false, Some("accept"), true).unwrap_err();
        assert!(
            refused.contains("CI never accepts") && refused.contains("--accept"),
            "{refused}"
        );
        assert_eq!(
            write_mode(true, Some("accept"), true),
            Ok(WriteMode::Accept)
        );
        assert_eq!(write_mode(true, None, true), Ok(WriteMode::Accept));
        assert_eq!(write_mode(false, Some("new"), true), Ok(WriteMode::Pending));
        assert_eq!(write_mode(false, Some("no"), false), Ok(WriteMode::Nothing));
        assert!(write_mode(false, Some("always"), false)
            .unwrap_err()
            .contains("accept, new, no"));
        assert!(in_ci(Some("true")) && in_ci(Some("1")));
        assert!(!in_ci(None) && !in_ci(Some("false")) && !in_ci(Some("")));
    }
}
