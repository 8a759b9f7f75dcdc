//! What a run produces for people and tools: the lines it prints ([`lines`]), JUnit XML
//! ([`junit`]), and the report an auditor can sign off ([`data`] as `report.json`, rendered as
//! `report.md` and `report.html`).

pub mod build;
pub mod data;
pub mod html;
pub mod junit;
pub mod lines;
pub mod markdown;

use std::path::Path;

pub use data::{Report, ReportKind};
pub use lines::{
    describe, evidence, failure_evidence, program, replay_command, stopped_summary, summary,
};

/// Writes `report.json`, `report.md` and `report.html` into `dir` (created if needed).
pub fn write_report(dir: &Path, report: &Report) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let json = serde_json::to_string_pretty(report).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("report.json"), json + "\n")?;
    std::fs::write(dir.join("report.md"), markdown::markdown(report))?;
    std::fs::write(dir.join("report.html"), html::html(report))?;
    Ok(())
}

/// Reads a `report.json` (for `stripe-harness merge`).
pub fn read_report(path: &Path) -> Result<Report, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not a report: {e}", path.display()))
}
