//! `report.html`: one self-contained file (inline CSS, no external assets, no JavaScript) that
//! reads offline and prints: the header, the rule matrix, the hazards of a property run, and every
//! scenario with its trace in a collapsible `<details>` (failures open), each order's state
//! timeline and the deliveries table.

use std::fmt::Write as _;

use crate::report::data::{Report, ReportKind, ScenarioReport};
use crate::report::markdown::thousands;
use crate::rules::scope_words;
use crate::trace::{clock_time, one_line, StepTrace};

/// Escapes text for HTML and XML alike (element content and quoted attributes): `& < > " '`,
/// and control characters, which XML 1.0 allows nowhere, as U+FFFD.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && !matches!(c, '\n' | '\t' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// An id usable as an HTML anchor.
fn anchor(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

const STYLE: &str = r#"
:root { --pass: #1a7f37; --fail: #cf222e; --muted: #57606a; --line: #d0d7de; --bg: #f6f8fa; }
* { box-sizing: border-box; }
body { font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1f2328; margin: 0 auto; max-width: 1200px; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 12px; } h2 { font-size: 19px; margin: 28px 0 10px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 14px 0 6px; } h4 { font-size: 13px; margin: 12px 0 4px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; } th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: var(--bg); font-weight: 600; } td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
pre { background: var(--bg); border: 1px solid var(--line); padding: 8px; overflow-x: auto; white-space: pre-wrap; word-break: break-word; margin: 4px 0; }
.verdict { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff; font-size: 12px; font-weight: 600; vertical-align: middle; }
.verdict.pass { background: var(--pass); } .verdict.fail { background: var(--fail); }
.failed { color: var(--fail); font-weight: 600; } .muted { color: var(--muted); }
details { border: 1px solid var(--line); border-radius: 6px; margin: 6px 0; padding: 0 10px; }
details[open] { padding-bottom: 8px; } summary { cursor: pointer; padding: 6px 0; }
details.step { border-style: dashed; } details.fail > summary { color: var(--fail); }
.failure { border-left: 4px solid var(--fail); background: #fff5f5; padding: 6px 10px; margin: 8px 0; }
.failure dt { font-weight: 600; float: left; width: 90px; clear: left; } .failure dd { margin: 0 0 2px 100px; }
.timeline span.state { padding: 0 6px; border-radius: 4px; background: var(--bg); border: 1px solid var(--line); }
.note { color: var(--muted); font-size: 13px; }
.diff .del { background: #ffebe9; } .diff .ins { background: #e6ffec; } .diff .hunk { color: var(--muted); }
@media print { body { max-width: none; padding: 0; } details { break-inside: avoid; } summary { list-style: none; } }
"#;

/// The report as one HTML page.
pub fn html(report: &Report) -> String {
    let h = &report.header;
    let t = &report.totals;
    let verdict = if t.failed == 0 { "pass" } else { "fail" };
    let what = match report.kind {
        ReportKind::Run => "scenarios",
        ReportKind::Prop => "histories",
    };
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>stripe-harness report: {}</title><style>{STYLE}</style></head>\n<body>\n",
        esc(&h.target)
    );
    let _ = writeln!(
        out,
        "<header><h1>stripe-harness report <span class=\"verdict {verdict}\" id=\"verdict\">{}</span></h1>",
        verdict.to_uppercase()
    );
    out.push_str("<table class=\"meta\" id=\"header\">\n");
    let mut row = |k: &str, v: String| {
        let _ = writeln!(out, "<tr><th>{}</th><td>{v}</td></tr>", esc(k));
    };
    row("target", esc(&h.target));
    if let Some(file) = &h.target_file {
        row("target file", format!("<code>{}</code>", esc(file)));
    }
    row("command", format!("<code>{}</code>", esc(&h.command)));
    row("seed", h.seed.to_string());
    row(
        "harness",
        format!("stripe-harness {}", esc(&h.harness_version)),
    );
    row("Stripe API version", esc(&h.api_version));
    row(
        "policy",
        format!(
            "partial_refund_marks_refunded = {}, unpaid_may_fail = {}, return_route_may_change = {}",
            h.policy.partial_refund_marks_refunded,
            h.policy.unpaid_may_fail,
            h.policy.return_route_may_change
        ),
    );
    row("date", esc(&h.date));
    if let Some(partition) = &h.partition {
        row("partition", esc(partition));
    }
    row(
        "result",
        format!(
            "{} {what}: {} passed, <span class=\"{}\">{} failed</span>{}; {} rule checks, {} failed",
            thousands(t.played),
            thousands(t.passed),
            if t.failed > 0 { "failed" } else { "" },
            thousands(t.failed),
            if t.skipped > 0 {
                format!(", {} skipped", thousands(t.skipped))
            } else {
                String::new()
            },
            thousands(t.checks_passed + t.checks_failed),
            thousands(t.checks_failed)
        ),
    );
    if let Some(prop) = &report.prop {
        row(
            "steps",
            format!(
                "{} steps in {} histories",
                thousands(prop.steps),
                thousands(prop.histories)
            ),
        );
    }
    out.push_str("</table></header>\n");

    rule_matrix(report, &mut out);
    if let Some(prop) = &report.prop {
        out.push_str("<section id=\"hazards\"><h2>Hazards exercised</h2><table><tr><th>hazard</th><th>times</th></tr>\n");
        for (name, n) in prop.hazards.rows() {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td class=\"num\">{}</td></tr>",
                esc(&name),
                thousands(n)
            );
        }
        out.push_str("</table></section>\n");
    }

    let title = match report.kind {
        ReportKind::Run => "Scenarios",
        ReportKind::Prop => "Failing histories, shrunk and replayed",
    };
    let _ = writeln!(out, "<section id=\"scenarios\"><h2>{title}</h2>");
    if report.scenarios.is_empty() {
        out.push_str("<p class=\"note\">No history broke a rule.</p>\n");
    }
    for scenario in &report.scenarios {
        scenario_block(report, scenario, &mut out);
    }
    out.push_str("</section>\n");
    out.push_str("<footer><h2>What this report shows</h2><p class=\"note\">Every rule above was checked by the harness against the target's answers and Stripe's ground truth from stripe-sim, as many times as the matrix says, in the scenarios and histories listed. It proves nothing about flows the scenarios and histories did not exercise, about Stripe features outside the simulator, or about the app's behaviour against real Stripe (network, live keys, API versions other than the one above). Rule ids and their texts: <code>stripe-harness rules</code>.</p></footer>\n");
    out.push_str("</body></html>\n");
    out
}

fn rule_matrix(report: &Report, out: &mut String) {
    out.push_str("<section id=\"rules\"><h2>Rule matrix</h2>\n<table id=\"rule-matrix\"><tr><th>rule</th><th>checked</th><th>passed</th><th>failed</th><th>exercised by</th></tr>\n");
    for row in &report.rules {
        let by = match row.histories {
            Some(histories) => format!("{} histories", thousands(histories)),
            None if row.exercised_by.is_empty() => {
                "<span class=\"muted\">not exercised</span>".to_string()
            }
            None => {
                let links: Vec<String> = row
                    .exercised_by
                    .iter()
                    .map(|n| format!("<a href=\"#scenario-{}\">{}</a>", anchor(n), esc(n)))
                    .collect();
                if links.len() == 1 {
                    links.join("")
                } else {
                    format!(
                        "<details><summary>{} scenarios</summary>{}</details>",
                        row.exercised_by.len(),
                        links.join(", ")
                    )
                }
            }
        };
        let _ = writeln!(
            out,
            "<tr id=\"rule-{}\"><td><code>{}</code><br>{}<details><summary class=\"muted\">what it requires, and why</summary><p>{}</p><p><b>Because:</b> {}</p><p><b>Typical violation:</b> {}</p></details></td><td>{}</td><td class=\"num\">{}</td><td class=\"num{}\">{}</td><td>{by}</td></tr>",
            row.id,
            row.id,
            esc(&row.name),
            esc(&row.requires),
            esc(&row.why),
            esc(&row.typical_violation),
            scope_words(row.scope),
            thousands(row.checks.passed),
            if row.checks.failed > 0 { " failed" } else { "" },
            thousands(row.checks.failed)
        );
    }
    out.push_str("</table></section>\n");
}

fn scenario_block(report: &Report, scenario: &ScenarioReport, out: &mut String) {
    let verdict = if scenario.passed { "pass" } else { "fail" };
    let _ = writeln!(
        out,
        "<details class=\"scenario {verdict}\" id=\"scenario-{}\"{}><summary><span class=\"verdict {verdict}\">{}</span> <b>{}</b> <span class=\"muted\">{} · {} steps · {} ms</span></summary>",
        anchor(&scenario.name),
        if scenario.passed { "" } else { " open" },
        verdict.to_uppercase(),
        esc(&scenario.name),
        esc(&scenario.group),
        scenario.trace.len(),
        scenario.duration_ms
    );
    if !scenario.rule.is_empty() {
        let _ = writeln!(out, "<p class=\"note\">{}</p>", esc(&scenario.rule));
    }
    if let Some(f) = &scenario.failure {
        let _ = writeln!(
            out,
            "<dl class=\"failure\"><dt>rule</dt><dd><a href=\"#rule-{}\"><code>{}</code></a> {}</dd><dt>why</dt><dd>{}</dd><dt>step</dt><dd>{} <code>{}</code></dd><dt>expected</dt><dd>{}</dd><dt>observed</dt><dd>{}</dd><dt>replay</dt><dd><code>{}</code></dd></dl>",
            f.rule,
            f.rule,
            esc(&f.rule_name),
            esc(&f.detail),
            f.step,
            esc(&f.step_description),
            esc(&f.expected),
            esc(&f.observed),
            esc(&scenario.replay)
        );
        if let Some(diff) = &f.diff {
            out.push_str("<h4>Snapshot diff</h4><pre class=\"diff\">");
            for line in diff.lines() {
                let class = match line.chars().next() {
                    Some('-') => "del",
                    Some('+') => "ins",
                    Some('@') => "hunk",
                    _ => "same",
                };
                let _ = writeln!(out, "<span class=\"{class}\">{}</span>", esc(line));
            }
            out.push_str("</pre>\n");
        }
    }
    if let Some(prop) = &report.prop {
        if let Some(found) = prop.failures.iter().find(|p| p.scenario == scenario.name) {
            let _ = writeln!(
                out,
                "<p>Found at case {}, shrunk from {} to {} steps:</p><pre>{}</pre>",
                found.case,
                found.original_steps,
                found.shrunk_steps,
                esc(&found.history)
            );
        }
    }
    if !scenario.timeline.is_empty() {
        out.push_str("<h4>Order states</h4><div class=\"timeline\">");
        for (alias, states) in &scenario.timeline {
            let states: Vec<String> = states
                .iter()
                .map(|s| format!("<span class=\"state\">{s}</span>"))
                .collect();
            let _ = write!(
                out,
                "<div><b>{}</b>: {}</div>",
                esc(alias),
                states.join(" → ")
            );
        }
        out.push_str("</div>\n");
    }
    deliveries_table(&scenario.trace, out);
    if !scenario.trace.is_empty() {
        out.push_str("<h4>Steps</h4>\n");
    }
    for step in &scenario.trace {
        step_block(scenario, step, out);
    }
    out.push_str("</details>\n");
}

fn deliveries_table(trace: &[StepTrace], out: &mut String) {
    let rows: Vec<(usize, &crate::trace::DeliveryTrace)> = trace
        .iter()
        .flat_map(|s| s.deliveries.iter().map(move |d| (s.number, d)))
        .collect();
    if rows.is_empty() {
        return;
    }
    out.push_str("<h4>Deliveries</h4><table class=\"deliveries\"><tr><th>step</th><th>event</th><th>kind</th><th>signed at</th><th>answer</th><th>latency</th><th>first bytes of the answer</th></tr>\n");
    for (step, d) in rows {
        let status = match (d.status, &d.error) {
            (Some(s), _) => s.to_string(),
            (None, Some(e)) => format!("no answer: {}", one_line(e, 80)),
            (None, None) => "no answer".to_string(),
        };
        let ok = d.status.is_some_and(|s| (200..300).contains(&s));
        let _ = writeln!(
            out,
            "<tr><td class=\"num\">{step}</td><td><span class=\"mono\">{}</span><br><span class=\"muted mono\">{}</span></td><td>{}</td><td class=\"num\">{}</td><td class=\"num{}\">{}</td><td class=\"num\">{} ms</td><td class=\"mono\">{}</td></tr>",
            esc(&d.event_type),
            esc(&d.event_id),
            esc(&d.describe_kind()),
            d.signed_at,
            if ok { "" } else { " failed" },
            esc(&status),
            d.latency_ms,
            esc(&one_line(&d.answer, 300))
        );
    }
    out.push_str("</table>\n");
}

fn step_block(scenario: &ScenarioReport, step: &StepTrace, out: &mut String) {
    let failed_here = scenario
        .failure
        .as_ref()
        .is_some_and(|f| f.step == step.number);
    let _ = writeln!(
        out,
        "<details class=\"step{}\"{}><summary>step {}: <code>{}</code> <span class=\"muted\">{} · {} ms</span></summary>",
        if failed_here { " fail" } else { "" },
        if failed_here { " open" } else { "" },
        step.number,
        esc(&step.step),
        esc(&step.outcome),
        step.duration_ms
    );
    if !step.created.is_empty() {
        let created: Vec<String> = step
            .created
            .iter()
            .map(|c| {
                format!(
                    "<b>{}</b> = <span class=\"mono\">{}</span>",
                    esc(&c.alias),
                    esc(&c.id)
                )
            })
            .collect();
        let _ = writeln!(out, "<p>created: {}</p>", created.join(", "));
    }
    if !step.deliveries.is_empty() {
        out.push_str("<p>webhook attempts:</p><pre>");
        for d in &step.deliveries {
            let _ = writeln!(out, "{}", esc(&d.line(2048)));
        }
        out.push_str("</pre>");
    }
    if !step.calls.is_empty() {
        out.push_str("<table class=\"calls\"><tr><th>call</th><th>request</th><th>answer</th><th>latency</th><th>first bytes of the answer</th></tr>");
        for c in &step.calls {
            let status = c
                .status
                .map(|s| s.to_string())
                .unwrap_or_else(|| format!("no answer: {}", c.error.clone().unwrap_or_default()));
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td class=\"mono\">{} {}</td><td class=\"num\">{}</td><td class=\"num\">{} ms</td><td class=\"mono\">{}</td></tr>",
                esc(&c.call),
                esc(&c.method),
                esc(&c.path),
                esc(&status),
                c.latency_ms,
                esc(&one_line(&c.answer, 300))
            );
        }
        out.push_str("</table>");
    }
    if !step.output.is_empty() {
        out.push_str("<p>the target printed:</p><pre>");
        for line in &step.output {
            let _ = writeln!(
                out,
                "{} {:<6} {}",
                clock_time(line.at_ms),
                esc(&line.stream),
                esc(&line.text)
            );
        }
        if step.output_dropped > 0 {
            let _ = writeln!(out, "({} more lines not kept)", step.output_dropped);
        }
        out.push_str("</pre>");
    }
    if !step.observations.is_empty() {
        out.push_str("<table class=\"observations\"><tr><th>order</th><th>observed</th><th>the judge allowed</th></tr>");
        for o in &step.observations {
            let allowed: Vec<String> = o
                .allowed
                .iter()
                .map(|a| {
                    let why = match a.rule {
                        Some(rule) => format!(" <a href=\"#rule-{rule}\"><code>{rule}</code></a>"),
                        None if a.allowed => {
                            " <span class=\"muted\">(in transit)</span>".to_string()
                        }
                        None => String::new(),
                    };
                    if a.allowed {
                        format!("{}{why}", a.state)
                    } else {
                        format!("<s>{}</s>{why}", a.state)
                    }
                })
                .collect();
            let mut observed = o.state.to_string();
            if let Some(s) = &o.provider_order_id {
                let _ = write!(
                    observed,
                    "<br><span class=\"muted\">providerOrderId</span> {}",
                    esc(&s.show())
                );
            }
            if let Some(pi) = &o.provider_capture_id {
                let _ = write!(
                    observed,
                    "<br><span class=\"muted\">providerCaptureId</span> {}",
                    esc(&pi.show())
                );
            }
            let _ = writeln!(
                out,
                "<tr><td><b>{}</b></td><td>{observed}</td><td>{}</td></tr>",
                esc(&o.order),
                allowed.join("<br>")
            );
        }
        out.push_str("</table>");
    }
    let checks: Vec<String> = step
        .checks
        .counts
        .iter()
        .map(|(rule, c)| {
            if c.failed > 0 {
                format!("<span class=\"failed\">{rule} ✗{}</span>", c.failed)
            } else {
                format!("{rule} ✓{}", c.passed)
            }
        })
        .collect();
    if !checks.is_empty() {
        let _ = writeln!(out, "<p class=\"note\">checks: {}</p>", checks.join(", "));
    }
    out.push_str("</details>\n");
}
