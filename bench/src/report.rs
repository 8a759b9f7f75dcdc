//! The one table: each measure, our figure, each peer's, the ratio to the fastest peer, and
//! whether the goal of issue 7 is met.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use crate::api::{key, ApiPlan, Figure, ServerFigures};
use crate::harness_bench::PropFigures;
use crate::ops::Op;
use crate::scale::{Pricing, SessionMemory};
use crate::servers::Kind;
use crate::stats::Runs;
use crate::webhooks::WebhookFigures;

/// Everything one benchmark run measured. A `None` section was not asked for; an `Err` is shown
/// in its cells (a peer that failed to start, say).
#[derive(Debug, Default)]
pub struct Report {
    pub api_plan: Option<ApiPlan>,
    pub api: BTreeMap<Kind, Result<ServerFigures, String>>,
    pub webhooks: BTreeMap<Kind, Result<WebhookFigures, String>>,
    /// (jobs, scenarios per second)
    pub scripted: Vec<(usize, Result<Runs, String>)>,
    /// Scripted scenarios/s against the Python example target, 1 and 2 instances (`--jobs`).
    pub python: Vec<(usize, Result<Runs, String>)>,
    /// (jobs, cases per second)
    pub prop: Vec<(usize, Result<PropFigures, String>)>,
    pub startup: BTreeMap<Kind, Result<Runs, String>>,
    /// Memory per session, with a stored price and with `price_data`.
    pub memory: Vec<(Pricing, Result<SessionMemory, String>)>,
    /// What `--state` costs, memory after a reset, and the long run.
    pub state: Option<Result<crate::state::StateFigures, String>>,
    /// What an open dashboard costs the API.
    pub dashboard: Option<Result<crate::dashboard::DashboardFigures, String>>,
}

const PEERS: [Kind; 2] = [Kind::Localstripe, Kind::StatefulMock];

struct Table {
    out: String,
}

impl Table {
    fn new() -> Table {
        let mut out = String::new();
        out.push_str("| Measure | stripe-sim | localstripe | stripe-stateful-mock | ours ÷ fastest peer | Goal |\n");
        out.push_str("|---|---|---|---|---|---|\n");
        Table { out }
    }

    fn row(&mut self, cells: [String; 6]) {
        let _ = writeln!(self.out, "| {} |", cells.join(" | "));
    }
}

impl Report {
    /// Everything that went wrong (not a goal missed: a measurement that could not be made, a
    /// request answered with an error, a delivery whose signature did not verify).
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (kind, result) in &self.api {
            match result {
                Err(e) => problems.push(format!("API on {}: {e}", kind.name())),
                Ok(figures) => {
                    for ((op, connections), f) in &figures.figures {
                        if f.errors > 0 {
                            let label = Op::API.get(*op).map_or("a whole payment", |o| o.label());
                            problems.push(format!(
                                "{label} at {connections} connections on {}: {} errors ({})",
                                kind.name(),
                                f.errors,
                                f.first_error.as_deref().unwrap_or_default()
                            ));
                        }
                    }
                }
            }
        }
        for (kind, result) in &self.webhooks {
            match result {
                // stripe-stateful-mock has no webhooks: that is a fact, not a failure.
                Err(_) if *kind == Kind::StatefulMock => {}
                Err(e) => problems.push(format!("webhooks on {}: {e}", kind.name())),
                Ok(w) if w.bad_signatures > 0 => problems.push(format!(
                    "webhooks on {}: {} deliveries whose signature did not verify",
                    kind.name(),
                    w.bad_signatures
                )),
                Ok(_) => {}
            }
        }
        let harness = self.scripted.iter().map(|(_, r)| r.as_ref().err());
        let prop = self.prop.iter().map(|(_, r)| r.as_ref().err());
        for e in harness.chain(prop).flatten() {
            problems.push(format!("harness: {e}"));
        }
        for (kind, result) in &self.startup {
            if let Err(e) = result {
                problems.push(format!("startup of {}: {e}", kind.name()));
            }
        }
        for (_, result) in &self.memory {
            if let Err(e) = result {
                problems.push(format!("session memory: {e}"));
            }
        }
        if let Some(Err(e)) = &self.state {
            problems.push(format!("state: {e}"));
        }
        if let Some(Err(e)) = &self.dashboard {
            problems.push(format!("dashboard: {e}"));
        }
        problems
    }

    pub fn render(&self) -> String {
        let mut t = Table::new();
        self.api_rows(&mut t);
        self.webhook_rows(&mut t);
        self.harness_rows(&mut t);
        self.scale_rows(&mut t);
        let mut out = t.out;
        if let Some(state) = &self.state {
            out.push_str(&crate::state::render(state));
        }
        if let Some(dashboard) = &self.dashboard {
            out.push_str(&crate::dashboard::render(dashboard));
        }
        out
    }

    fn api_rows(&self, t: &mut Table) {
        let Some(plan) = &self.api_plan else { return };
        let mut items: Vec<(Op, usize)> = Vec::new();
        for op in Op::API {
            for &c in &plan.connections {
                items.push((op, c));
            }
        }
        items.push((Op::Payment, plan.flow_connections));
        for (op, connections) in items {
            let figure = |kind: Kind| -> Result<Option<&Figure>, String> {
                match self.api.get(&kind) {
                    None => Err("not run".into()),
                    Some(Err(e)) => Err(short(e)),
                    Some(Ok(f)) => Ok(f.figures.get(&(key(op), connections))),
                }
            };
            let cell = |kind: Kind| match figure(kind) {
                Err(e) => e,
                Ok(None) if !op.supported_by(kind) => "not supported".into(),
                Ok(None) => "—".into(),
                Ok(Some(f)) if !op.comparable(kind) => {
                    format!(
                        "{} (not comparable: {})",
                        throughput_cell(f),
                        flow_note(kind)
                    )
                }
                Ok(Some(f)) => throughput_cell(f),
            };
            let ours = figure(Kind::StripeSim).ok().flatten();
            let best_peer = PEERS
                .iter()
                .filter(|k| op.comparable(**k))
                .filter_map(|k| figure(*k).ok().flatten())
                .max_by(|a, b| a.per_second.median().total_cmp(&b.per_second.median()));
            let (ratio, goal) = match (ours, best_peer) {
                (Some(o), Some(p)) if p.per_second.median() == 0.0 => (
                    "∞ (the peer finished none)".into(),
                    format!("≥ 2× and lower p99 {}", mark(o.per_second.median() > 0.0)),
                ),
                (Some(o), Some(p)) => {
                    let ratio = o.per_second.median() / p.per_second.median();
                    let met = ratio >= 2.0 && o.p99 < p.p99;
                    (
                        format!("{ratio:.1}×"),
                        format!("≥ 2× and lower p99 {}", mark(met)),
                    )
                }
                _ => ("—".into(), "no peer does this".into()),
            };
            t.row([
                format!("{} · {connections} conns", op.label()),
                cell(Kind::StripeSim),
                cell(Kind::Localstripe),
                cell(Kind::StatefulMock),
                ratio,
                goal,
            ]);
        }
        let memory = |kind: Kind| match self.api.get(&kind) {
            Some(Ok(f)) => format!("{:.1} MiB", f.peak_memory_kib as f64 / 1024.0),
            Some(Err(e)) => short(e),
            None => "not run".into(),
        };
        t.row([
            "peak memory of the server over the API runs (VmHWM)".into(),
            memory(Kind::StripeSim),
            memory(Kind::Localstripe),
            memory(Kind::StatefulMock),
            "—".into(),
            "—".into(),
        ]);
    }

    fn webhook_rows(&self, t: &mut Table) {
        if self.webhooks.is_empty() {
            return;
        }
        let get = |kind: Kind| -> Result<&WebhookFigures, String> {
            match self.webhooks.get(&kind) {
                None => Err("not run".into()),
                Some(Err(e)) => Err(short(e)),
                Some(Ok(f)) => Ok(f),
            }
        };
        let cell = |kind: Kind, f: &dyn Fn(&WebhookFigures) -> String| match get(kind) {
            Ok(w) => f(w),
            Err(e) => e,
        };
        let burst = |w: &WebhookFigures| rate(&w.burst);
        let ratio = match (get(Kind::StripeSim), get(Kind::Localstripe)) {
            (Ok(o), Ok(p)) => format!("{:.0}×", o.burst.median() / p.burst.median().max(1e-9)),
            _ => "—".into(),
        };
        t.row([
            "signed webhook deliveries/s during a burst of payments (localstripe: of customers)"
                .into(),
            cell(Kind::StripeSim, &burst),
            cell(Kind::Localstripe, &burst),
            cell(Kind::StatefulMock, &burst),
            ratio,
            "—".into(),
        ]);
        let backlog = get(Kind::StripeSim)
            .map(|w| w.backlog.median())
            .unwrap_or(0.0);
        t.row([
            "signed webhook deliveries/s, a held backlog released at once".into(),
            cell(Kind::StripeSim, &|w| rate(&w.backlog)),
            "no backlog control".into(),
            cell(Kind::StatefulMock, &|_| String::new()),
            "—".into(),
            format!("≥ 5,000/s {}", mark(backlog >= 5000.0)),
        ]);
        let latency =
            |w: &WebhookFigures| format!("p50 {} · p99 {}", ms(w.latency_p50), ms(w.latency_p99));
        let lower = matches!(
            (get(Kind::StripeSim), get(Kind::Localstripe)),
            (Ok(o), Ok(p)) if o.latency_p99 < p.latency_p99
        );
        t.row([
            "payment (customer) to its signed delivery".into(),
            cell(Kind::StripeSim, &latency),
            cell(Kind::Localstripe, &latency),
            cell(Kind::StatefulMock, &latency),
            "—".into(),
            format!("lower p99 {}", mark(lower)),
        ]);
        let bad: u64 = self
            .webhooks
            .values()
            .filter_map(|w| w.as_ref().ok())
            .map(|w| w.bad_signatures)
            .sum();
        if bad > 0 {
            t.row([
                format!("deliveries whose signature did not verify: {bad}"),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                mark(false).into(),
            ]);
        }
    }

    fn harness_rows(&self, t: &mut Table) {
        for (jobs, runs) in &self.scripted {
            let (cell, met) = match runs {
                Ok(r) => (rate(r), r.median() >= 500.0),
                Err(e) => (short(e), false),
            };
            t.row([
                format!(
                    "harness: scripted scenarios/s, reference target, {}",
                    jobs_label(*jobs)
                ),
                cell,
                "—".into(),
                "—".into(),
                "—".into(),
                format!("≥ 500/s {}", mark(met)),
            ]);
        }
        let one = self
            .python
            .iter()
            .find(|(j, _)| *j == 1)
            .and_then(|(_, r)| r.as_ref().ok())
            .map(Runs::median);
        for (jobs, runs) in &self.python {
            let (cell, goal) = match runs {
                Ok(r) => {
                    let speedup = one.map(|o| r.median() / o.max(1e-9));
                    match (jobs, speedup) {
                        (2, Some(x)) => (
                            format!("{} ({x:.2}× one job)", rate(r)),
                            format!("≥ 1.6× {}", mark(x >= 1.6)),
                        ),
                        _ => (rate(r), "—".into()),
                    }
                }
                Err(e) => (short(e), "—".into()),
            };
            t.row([
                format!(
                    "harness: scripted scenarios/s, Python target (FastAPI), {}",
                    jobs_label(*jobs)
                ),
                cell,
                "—".into(),
                "—".into(),
                "—".into(),
                goal,
            ]);
        }
        for (jobs, figures) in &self.prop {
            let (cell, met) = match figures {
                Ok(f) => (
                    format!(
                        "{} ({:.1} steps each once interpreted)",
                        rate(&f.cases_per_second),
                        f.steps_per_case
                    ),
                    f.cases_per_second.median() >= 200.0,
                ),
                Err(e) => (short(e), false),
            };
            t.row([
                format!(
                    "harness: property cases/s of 20 generated steps, {}",
                    jobs_label(*jobs)
                ),
                cell,
                "—".into(),
                "—".into(),
                "—".into(),
                format!("≥ 200/s {}", mark(met)),
            ]);
        }
    }

    fn scale_rows(&self, t: &mut Table) {
        for (pricing, memory) in &self.memory {
            let (cell, met) = match memory {
                Ok(m) => (
                    format!(
                        "{:.0} B ({} sessions created in {:.0} s; peak {:.0} MiB)",
                        m.bytes_per_session,
                        thousands(m.sessions as f64),
                        m.fill_time.as_secs_f64(),
                        m.peak_kib as f64 / 1024.0
                    ),
                    m.bytes_per_session < 2048.0,
                ),
                Err(e) => (short(e), false),
            };
            let (label, goal) = match pricing {
                Pricing::StoredPrice => (
                    "memory per stored Checkout Session (of a stored price, as Payment Links make)",
                    format!("< 2 KiB {}", mark(met)),
                ),
                Pricing::PriceData => (
                    "memory per Checkout Session with `price_data` (with its inline Product, Price and their 2 events)",
                    "—".to_string(),
                ),
            };
            t.row([
                label.into(),
                cell,
                "no sessions".into(),
                "no sessions".into(),
                "—".into(),
                goal,
            ]);
        }
        if !self.startup.is_empty() {
            let cell = |kind: Kind| match self.startup.get(&kind) {
                Some(Ok(r)) => {
                    let (low, high) = r.range();
                    format!("{:.0} ms ({low:.0}–{high:.0} ms)", r.median())
                }
                Some(Err(e)) => short(e),
                None => "not run".into(),
            };
            let ours = match self.startup.get(&Kind::StripeSim) {
                Some(Ok(r)) => r.median(),
                _ => f64::INFINITY,
            };
            let best_peer = PEERS
                .iter()
                .filter_map(|k| match self.startup.get(k) {
                    Some(Ok(r)) => Some(r.median()),
                    _ => None,
                })
                .fold(f64::INFINITY, f64::min);
            t.row([
                "startup: spawn to the first answer".into(),
                cell(Kind::StripeSim),
                cell(Kind::Localstripe),
                cell(Kind::StatefulMock),
                if best_peer.is_finite() {
                    format!("{:.0}× faster", best_peer / ours.max(1e-9))
                } else {
                    "—".into()
                },
                format!("< 100 ms {}", mark(ours < 100.0)),
            ]);
        }
    }
}

/// What a "payment" is on a peer whose figure is shown but not compared.
fn flow_note(kind: Kind) -> &'static str {
    match kind {
        Kind::StatefulMock => "one charge request, no session, no event log",
        _ => "",
    }
}

const README_START: &str = "<!-- bench-table:start -->";
const README_END: &str = "<!-- bench-table:end -->";

/// Replaces what lies between the bench-table markers of the markdown file at `path`.
pub fn update_markdown(path: &std::path::Path, report: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let updated = replace_between(&text, report).ok_or_else(|| {
        format!(
            "{} has no {README_START} … {README_END} section",
            path.display()
        )
    })?;
    std::fs::write(path, updated).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn replace_between(text: &str, report: &str) -> Option<String> {
    let start = text.find(README_START)? + README_START.len();
    let end = start + text[start..].find(README_END)?;
    Some(format!(
        "{}\n{}\n{}",
        &text[..start],
        report.trim(),
        &text[end..]
    ))
}

fn jobs_label(jobs: usize) -> String {
    if jobs == 1 {
        "1 job".into()
    } else {
        format!("{jobs} jobs")
    }
}

fn throughput_cell(f: &Figure) -> String {
    if f.per_second.median() == 0.0 && f.errors == 0 {
        return "none finished within a window".into();
    }
    let mut cell = format!(
        "{} · p50 {} · p99 {}",
        rate(&f.per_second),
        ms(f.p50),
        ms(f.p99)
    );
    if f.errors > 0 {
        let _ = write!(
            cell,
            " · **{} errors** ({})",
            f.errors,
            short(f.first_error.as_deref().unwrap_or(""))
        );
    }
    cell
}

/// `12,345/s ±3%`
pub fn rate(runs: &Runs) -> String {
    format!(
        "{}/s ±{:.0}%",
        thousands(runs.median()),
        runs.spread() * 100.0
    )
}

pub fn thousands(value: f64) -> String {
    let rounded = value.round() as u64;
    let digits = rounded.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if value < 100.0 && value.fract() != 0.0 {
        return format!("{value:.1}");
    }
    out
}

pub fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

fn mark(met: bool) -> &'static str {
    if met {
        "✅"
    } else {
        "❌"
    }
}

/// An error short enough for a cell, without pipes that would break the table.
fn short(e: &str) -> String {
    let one_line: String = e.replace(['|', '\n'], " ");
    one_line.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_section_is_replaced_and_nothing_else() {
        let text = "intro\n<!-- bench-table:start -->\nold\n<!-- bench-table:end -->\noutro\n";
        assert_eq!(
            replace_between(text, "new table\n").unwrap(),
            "intro\n<!-- bench-table:start -->\nnew table\n<!-- bench-table:end -->\noutro\n"
        );
        assert_eq!(replace_between("no markers", "x"), None);
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(1234567.4), "1,234,567");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(61.37), "61.4");
        assert_eq!(ms(Duration::from_micros(1234)), "1.23 ms");
        assert_eq!(ms(Duration::from_millis(250)), "250 ms");
        assert_eq!(ms(Duration::from_millis(1500)), "1.50 s");
    }

    #[test]
    fn the_ratio_column_compares_with_the_fastest_peer_and_checks_the_goal() {
        let figure = |per_second: f64, p99_ms: u64| Figure {
            per_second: Runs::new(vec![per_second]),
            p50: Duration::from_millis(1),
            p99: Duration::from_millis(p99_ms),
            ..Figure::default()
        };
        let server = |f: Figure| {
            let mut s = ServerFigures::default();
            s.figures.insert((key(Op::RetrieveCustomer), 2), f);
            Ok(s)
        };
        let mut report = Report {
            api_plan: Some(ApiPlan {
                runs: 1,
                warmup: Duration::ZERO,
                measure: Duration::ZERO,
                connections: vec![2],
                flow_connections: 2,
            }),
            ..Report::default()
        };
        report
            .api
            .insert(Kind::StripeSim, server(figure(9000.0, 2)));
        report
            .api
            .insert(Kind::Localstripe, server(figure(1000.0, 9)));
        report
            .api
            .insert(Kind::StatefulMock, server(figure(3000.0, 5)));
        let table = report.render();
        let row = table
            .lines()
            .find(|l| l.starts_with("| GET /v1/customers/{id} · 2 conns"))
            .unwrap_or_default();
        assert!(row.contains("| 3.0× |"), "{row}");
        assert!(row.contains("✅"), "{row}");
        // Sessions: no peer has them.
        let sessions = table
            .lines()
            .find(|l| l.starts_with("| GET /v1/checkout/sessions/{id} · 2 conns"))
            .unwrap_or_default();
        assert!(sessions.contains("not supported"), "{sessions}");

        report
            .api
            .insert(Kind::StatefulMock, server(figure(6000.0, 1)));
        let table = report.render();
        let row = table
            .lines()
            .find(|l| l.starts_with("| GET /v1/customers/{id} · 2 conns"))
            .unwrap_or_default();
        assert!(row.contains("| 1.5× |") && row.contains("❌"), "{row}");
    }
}
