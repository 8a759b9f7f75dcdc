//! The report's data: everything a run found, in one versioned structure that `report.json`
//! holds as is and that the Markdown, HTML and JUnit renderings read from.
//!
//! The schema is `stripe-harness-report/1`; fields are only ever added within a version. Its
//! documentation is `harness/docs/report-schema.md`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::hazards::Hazards;
use crate::judge::{Counts, RuleTally};
use crate::rules::{Rule, Scope};
use crate::runner::ScenarioResult;
use crate::state::OrderState;
use crate::target_file::Policy;
use crate::trace::StepTrace;

/// The schema this version writes.
pub const SCHEMA: &str = "stripe-harness-report/1";

/// What a report covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// Scripted scenarios (`stripe-harness run`).
    Run,
    /// Property-based histories (`stripe-harness prop`).
    Prop,
}

/// A whole report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub kind: ReportKind,
    pub header: Header,
    pub totals: Totals,
    /// Every rule, with how often it was checked and by what.
    pub rules: Vec<RuleRow>,
    /// Every scenario played (for `prop`: the failing histories, shrunk and replayed).
    pub scenarios: Vec<ScenarioReport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prop: Option<PropReport>,
}

/// Who was tested, how, and when.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    /// The target's name (`reference target`, or the target file's `name`).
    pub target: String,
    /// The target file, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_file: Option<String>,
    /// The command line that made the report.
    pub command: String,
    pub seed: u64,
    pub harness_version: String,
    /// The Stripe API version the simulator rendered objects and events at.
    pub api_version: String,
    /// The policy in force (where the payment spec leaves room).
    pub policy: Policy,
    /// When the report was made, UTC (RFC 3339).
    pub date: String,
    /// `K/N` when the run was one partition of a larger one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
}

/// The counts at the top of a report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Scenarios played (`run`), or histories (`prop`).
    pub played: u64,
    pub passed: u64,
    pub failed: u64,
    /// Scenarios not played: they need a route the app does not have (counted apart from
    /// `played`).
    #[serde(default)]
    pub skipped: u64,
    /// Rule checks made, across everything played.
    pub checks_passed: u64,
    pub checks_failed: u64,
}

/// One row of the rule matrix.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuleRow {
    pub id: Rule,
    pub name: String,
    pub scope: Scope,
    pub requires: String,
    pub why: String,
    pub typical_violation: String,
    pub checks: Counts,
    /// The scenarios that checked it at least once (`run`).
    pub exercised_by: Vec<String>,
    /// The histories that checked it at least once (`prop`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histories: Option<u64>,
}

/// One scenario or history, with its evidence.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioReport {
    pub name: String,
    /// Its folder under the library, or the `group` in its file.
    pub group: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The scenario's opening comment.
    pub rule: String,
    pub seed: u64,
    pub passed: bool,
    /// Why it was not played, when it was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    pub duration_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<FailureReport>,
    /// The command that replays it.
    pub replay: String,
    pub checks: RuleTally,
    /// Per order: every distinct state observed, in order.
    pub timeline: BTreeMap<String, Vec<OrderState>>,
    pub trace: Vec<StepTrace>,
}

/// A broken rule, with where and how.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FailureReport {
    pub rule: Rule,
    pub rule_name: String,
    pub detail: String,
    /// 1-based step; one past the last step for convergence.
    pub step: usize,
    pub step_description: String,
    pub expected: String,
    pub observed: String,
    /// For `snapshot-matches`: the line diff from the accepted snapshot to what the target did
    /// (`-` accepted, `+` now, `@@` where each change starts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

/// What a property run covered.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PropReport {
    pub histories: u64,
    /// Steps played across the histories, once interpreted.
    pub steps: u64,
    pub hazards: Hazards,
    pub failures: Vec<PropFailure>,
    /// `K/N` case partitions merged into this report.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partitions: Vec<String>,
}

/// A failing history, shrunk.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PropFailure {
    /// 1-based case number.
    pub case: u32,
    pub rule: Rule,
    pub original_steps: usize,
    pub shrunk_steps: usize,
    /// The shrunk history as a scenario file.
    pub history: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written_to: Option<String>,
    pub replay: String,
    /// The name of its entry in `scenarios` (with the replayed trace).
    pub scenario: String,
}

impl Report {
    /// An empty report of `kind` for `header`: every rule listed, nothing checked yet.
    pub fn new(kind: ReportKind, header: Header) -> Report {
        Report {
            schema: SCHEMA.to_string(),
            kind,
            header,
            totals: Totals::default(),
            rules: Rule::ALL
                .into_iter()
                .map(|rule| RuleRow {
                    id: rule,
                    name: rule.name().to_string(),
                    scope: rule.scope(),
                    requires: rule.requires().to_string(),
                    why: rule.why().to_string(),
                    typical_violation: rule.typical_violation().to_string(),
                    checks: Counts::default(),
                    exercised_by: Vec::new(),
                    histories: None,
                })
                .collect(),
            scenarios: Vec::new(),
            prop: None,
        }
    }

    /// Adds a played scenario: its verdict, its checks and its trace.
    pub fn add_scenario(&mut self, result: &ScenarioResult, group: String, replay: String) {
        if result.was_skipped() {
            self.totals.skipped += 1;
            self.list_scenario(result, group, replay);
            return;
        }
        self.totals.played += 1;
        if result.passed() {
            self.totals.passed += 1;
        } else {
            self.totals.failed += 1;
        }
        self.count_checks(&result.tally, Some(&result.name));
        self.list_scenario(result, group, replay);
    }

    /// Lists a scenario with its trace, without counting it (a property run counts its
    /// histories from their coverage).
    pub fn list_scenario(&mut self, result: &ScenarioResult, group: String, replay: String) {
        self.scenarios.push(ScenarioReport {
            name: result.name.clone(),
            group,
            path: result.path.clone(),
            rule: result.rule.clone(),
            seed: result.seed,
            passed: result.passed(),
            skipped: result.skipped.clone(),
            duration_ms: u64::try_from(result.duration.as_millis()).unwrap_or(u64::MAX),
            failure: result.failure.as_ref().map(|f| FailureReport {
                rule: f.violation.rule,
                rule_name: f.violation.rule.name().to_string(),
                detail: f.violation.detail.clone(),
                step: f.step,
                step_description: f.step_description.clone(),
                expected: f.violation.expected.clone(),
                observed: f.violation.observed.clone(),
                diff: f.diff.clone(),
            }),
            replay,
            checks: result.tally.clone(),
            timeline: result.history.clone(),
            trace: result.trace.clone(),
        });
    }

    /// Adds checks to the matrix; `by` names the scenario that made them.
    pub fn count_checks(&mut self, tally: &RuleTally, by: Option<&str>) {
        for row in &mut self.rules {
            let Some(counts) = tally.counts.get(&row.id) else {
                continue;
            };
            row.checks.passed += counts.passed;
            row.checks.failed += counts.failed;
            self.totals.checks_passed += counts.passed;
            self.totals.checks_failed += counts.failed;
            if let Some(name) = by {
                if counts.passed + counts.failed > 0 && !row.exercised_by.iter().any(|n| n == name)
                {
                    row.exercised_by.push(name.to_string());
                }
            }
        }
    }

    /// The scenarios that failed.
    pub fn failures(&self) -> impl Iterator<Item = &ScenarioReport> {
        self.scenarios.iter().filter(|s| !s.passed)
    }

    /// Several reports of one run (partitions of `run` or `prop`) as one.
    pub fn merge(mut parts: Vec<Report>) -> Result<Report, String> {
        let Some(mut merged) = parts.first().cloned() else {
            return Err("nothing to merge".into());
        };
        for part in &parts {
            if part.schema != SCHEMA {
                return Err(format!(
                    "a report of schema {} cannot be merged by this version ({SCHEMA})",
                    part.schema
                ));
            }
            if part.kind != merged.kind || part.header.seed != merged.header.seed {
                return Err(
                    "the reports are not partitions of one run (kind or seed differ)".into(),
                );
            }
        }
        merged.totals = Totals::default();
        for row in &mut merged.rules {
            row.checks = Counts::default();
            row.exercised_by.clear();
            row.histories = None;
        }
        merged.scenarios.clear();
        merged.header.partition = None;
        let mut prop: Option<PropReport> = None;
        for part in parts.drain(..) {
            merged.totals.played += part.totals.played;
            merged.totals.passed += part.totals.passed;
            merged.totals.failed += part.totals.failed;
            merged.totals.skipped += part.totals.skipped;
            merged.totals.checks_passed += part.totals.checks_passed;
            merged.totals.checks_failed += part.totals.checks_failed;
            for row in &part.rules {
                if let Some(mine) = merged.rules.iter_mut().find(|r| r.id == row.id) {
                    mine.checks.passed += row.checks.passed;
                    mine.checks.failed += row.checks.failed;
                    for name in &row.exercised_by {
                        if !mine.exercised_by.contains(name) {
                            mine.exercised_by.push(name.clone());
                        }
                    }
                    if let Some(n) = row.histories {
                        *mine.histories.get_or_insert(0) += n;
                    }
                }
            }
            merged.scenarios.extend(part.scenarios);
            if let Some(p) = part.prop {
                let into = prop.get_or_insert(PropReport {
                    histories: 0,
                    steps: 0,
                    hazards: Hazards::default(),
                    failures: Vec::new(),
                    partitions: Vec::new(),
                });
                into.histories += p.histories;
                into.steps += p.steps;
                into.hazards.merge(&p.hazards);
                into.failures.extend(p.failures);
                into.partitions.extend(p.partitions);
                into.partitions.extend(part.header.partition);
            }
        }
        merged.scenarios.sort_by(|a, b| a.name.cmp(&b.name));
        if let Some(p) = &mut prop {
            p.failures.sort_by_key(|f| f.case);
            p.partitions.sort();
        }
        merged.prop = prop;
        Ok(merged)
    }
}

/// Today's date and time, UTC, as RFC 3339 (`2026-12-06T19:49:18Z`).
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    rfc3339(secs)
}

/// Unix seconds as RFC 3339 UTC.
pub fn rfc3339(secs: i64) -> String {
    let (year, month, day) = stripe_sim::civil_date(secs);
    let rem = secs.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_767_225_600), "2026-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400 + 3661), "2000-02-29T01:01:01Z");
    }
}
