//! The shell every dashboard page shares: head, navigation, styles and the small inline script
//! that keeps an open page live.
//!
//! The script is the only JavaScript: it listens to the live stream (`/live`) and, when
//! something happened, fetches the page again and swaps in the sections marked `data-live`
//! (forms being filled in are outside them and keep their input). The tail page appends each
//! notice as a line instead. Without JavaScript the pages are complete; a reload shows what
//! changed.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::{Viewer, BASE};

/// Which entry of the navigation is the current page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Overview,
    Sessions,
    Events,
    Webhooks,
    Tail,
}

const ENTRIES: &[(Nav, &str, &str)] = &[
    (Nav::Overview, "", "Overview"),
    (Nav::Sessions, "/sessions", "Checkout sessions"),
    (Nav::Events, "/events", "Events"),
    (Nav::Webhooks, "/webhooks", "Webhooks"),
    (Nav::Tail, "/tail", "Tail"),
];

const STYLE: &str = r#"
:root { --fg:#1a1f36; --muted:#697386; --line:#e3e8ee; --bg:#f6f9fc; --accent:#635bff; --ok:#0a7d4f; --bad:#c0123c; --warn:#a35c00; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color:var(--fg); background:var(--bg); }
header { background:#fff; border-bottom:1px solid var(--line); padding:0 16px; display:flex; flex-wrap:wrap; align-items:center; gap:4px 16px; }
header .brand { font-weight:700; padding:12px 0; color:var(--accent); text-decoration:none; }
header nav { display:flex; flex-wrap:wrap; gap:2px; flex:1; }
header nav a { padding:12px 10px; color:var(--fg); text-decoration:none; border-bottom:2px solid transparent; }
header nav a[aria-current=page] { border-bottom-color:var(--accent); color:var(--accent); font-weight:600; }
header .who { display:flex; align-items:center; gap:8px; color:var(--muted); font-size:12px; }
.stream { padding:2px 8px; border-radius:10px; background:var(--line); color:#3c4257; }
body[data-stream=open] .stream { background:#d7f7e6; color:var(--ok); }
main { max-width:1180px; margin:0 auto; padding:16px; }
h1 { font-size:22px; margin:8px 0 16px; }
h2 { font-size:16px; margin:24px 0 8px; }
section.card > h2:first-child { margin-top:4px; }
section.card { background:#fff; border:1px solid var(--line); border-radius:8px; padding:12px 16px; margin-bottom:16px; overflow-x:auto; }
table { border-collapse:collapse; width:100%; }
th, td { text-align:left; padding:6px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { color:var(--muted); font-weight:600; font-size:12px; text-transform:uppercase; letter-spacing:.03em; }
td.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
code, pre, .mono { font-family:ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size:12.5px; }
pre { background:#f3f5f9; padding:8px; border-radius:6px; overflow-x:auto; max-height:420px; margin:6px 0; white-space:pre-wrap; word-break:break-all; }
.pill { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px; background:var(--line); white-space:nowrap; }
.pill.ok { background:#d7f7e6; color:var(--ok); } .pill.bad { background:#ffe1e6; color:var(--bad); } .pill.warn { background:#fff0d6; color:var(--warn); }
.muted { color:var(--muted); }
.error { color:var(--bad); }
.notice { background:#eef0ff; border:1px solid #c9c6ff; border-radius:6px; padding:8px 12px; margin-bottom:16px; }
form.inline { display:inline-flex; flex-wrap:wrap; gap:6px; align-items:center; margin:2px 6px 2px 0; }
form.stack { display:flex; flex-wrap:wrap; gap:8px; align-items:flex-end; }
form.stack label { display:flex; flex-direction:column; font-size:12px; color:var(--muted); gap:2px; }
input, select { font:inherit; padding:5px 8px; border:1px solid #c1c9d2; border-radius:6px; background:#fff; max-width:100%; }
button, .button { font:inherit; padding:5px 12px; border:1px solid var(--accent); border-radius:6px; background:var(--accent); color:#fff; cursor:pointer; text-decoration:none; display:inline-block; white-space:nowrap; }
button.secondary, .button.secondary { background:#fff; color:var(--accent); }
button.danger { background:#fff; color:var(--bad); border-color:var(--bad); }
.clock { font-size:20px; font-weight:600; font-variant-numeric:tabular-nums; }
.grid { margin-bottom:16px; display:grid; grid-template-columns:repeat(auto-fit, minmax(150px, 1fr)); gap:8px; }
.stat { background:#fff; border:1px solid var(--line); border-radius:8px; padding:10px 12px; }
.stat b { display:block; font-size:20px; }
details > summary { cursor:pointer; color:var(--accent); }
.attempts { margin:4px 0 0; }
.attempts td { font-size:12.5px; }
ol.tail { list-style:none; margin:0; padding:8px; background:#0f1222; color:#d5d9e6; border-radius:8px; min-height:240px; font-family:ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size:12.5px; overflow-x:auto; }
ol.tail li { white-space:pre; padding:1px 0; }
ol.tail li.fail { color:#ff8fa3; } ol.tail li.ok { color:#7ee2b8; } ol.tail li.ev { color:#d5d9e6; } ol.tail li.skip { color:#f5d58a; }
h1 code { word-break:break-all; font-size:15px; }
td.mono { white-space:nowrap; }
table.kv th { width:13em; }
td.sig { white-space:normal; word-break:break-all; min-width:18em; }
@media (max-width: 640px) {
  main { padding:10px; }
  header { padding:0 10px; }
  header nav { order:3; flex:1 0 100%; flex-wrap:nowrap; overflow-x:auto; }
  header nav a { padding:8px 8px; white-space:nowrap; }
  header .who { margin-left:auto; }
  th, td { padding:5px 4px; }
  .hide-narrow { display:none; }
}
"#;

/// Keeps the page live: see the module's note. Written for old browsers too (no build step).
pub const SCRIPT: &str = r#"
(function () {
  if (!window.EventSource || !window.fetch || !window.DOMParser) return;
  var tail = document.getElementById("tail");
  var source = new EventSource(document.body.getAttribute("data-base") + "/live");
  var timer = null;
  source.onopen = function () { document.body.setAttribute("data-stream", "open"); };
  source.onerror = function () { document.body.setAttribute("data-stream", "closed"); };
  function refresh() {
    timer = null;
    fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (text) {
        var fresh = new DOMParser().parseFromString(text, "text/html");
        var sections = document.querySelectorAll("[data-live]");
        for (var i = 0; i < sections.length; i++) {
          var old = sections[i];
          var replacement = fresh.getElementById(old.id);
          if (!replacement) continue;
          var open = old.querySelectorAll("details[open][id]");
          old.innerHTML = replacement.innerHTML;
          for (var j = 0; j < open.length; j++) {
            var again = document.getElementById(open[j].id);
            if (again) again.open = true;
          }
        }
        document.body.setAttribute("data-refreshed", String(Date.now()));
      })
      .catch(function () {});
  }
  function changed() { if (!timer) timer = setTimeout(refresh, 120); }
  function line(data, cls) {
    var li = document.createElement("li");
    li.textContent = data.line;
    li.className = cls;
    tail.appendChild(li);
    while (tail.children.length > 500) tail.removeChild(tail.firstChild);
    tail.scrollTop = tail.scrollHeight;
  }
  source.addEventListener("skipped", function (m) {
    if (tail) line(JSON.parse(m.data), "skip"); else changed();
  });
  source.addEventListener("event", function (m) {
    if (tail) line(JSON.parse(m.data), "ev"); else changed();
  });
  source.addEventListener("clock", function (m) {
    if (tail) line(JSON.parse(m.data), "ev"); else changed();
  });
  source.addEventListener("webhooks", function (m) {
    if (tail) line(JSON.parse(m.data), "ev"); else changed();
  });
  source.addEventListener("attempt", function (m) {
    var data = JSON.parse(m.data);
    if (tail) line(data, data.delivered ? "ok" : "fail"); else changed();
  });
})();
"#;

/// A page of the dashboard.
pub fn page(title: &str, nav: Nav, viewer: &Viewer, notice: Option<&str>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (crate::http::page::head(&format!("{title} · stripe-sim"), STYLE))
            body data-base=(BASE) data-stream="connecting" {
                header {
                    a.brand href=(BASE) { "stripe-sim" }
                    nav {
                        @for (entry, path, label) in ENTRIES {
                            @if *entry == nav {
                                a href={ (BASE) (path) } aria-current="page" { (label) }
                            } @else {
                                a href={ (BASE) (path) } { (label) }
                            }
                        }
                    }
                    div.who {
                        span.stream title="Live updates" { "live" }
                        @if viewer.cookie {
                            form.inline method="post" action={ (BASE) "/logout" } {
                                (csrf_field(viewer))
                                button.secondary type="submit" { "Log out" }
                            }
                        }
                    }
                }
                main {
                    @if let Some(notice) = notice {
                        div.notice role="status" id="notice" { (notice) }
                    }
                    (body)
                }
                script { (PreEscaped(SCRIPT)) }
            }
        }
    }
}

/// A page outside the logged-in shell (login, refusals).
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (crate::http::page::head(&format!("{title} · stripe-sim"), STYLE))
            body {
                main { section.card { (body) } }
            }
        }
    }
}

/// The hidden field every POST form carries.
pub fn csrf_field(viewer: &Viewer) -> Markup {
    html! { input type="hidden" name=(super::csrf::FIELD) value=(viewer.csrf); }
}

/// A one-button POST form.
pub fn button(viewer: &Viewer, action: &str, label: &str, class: &str) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            (csrf_field(viewer))
            button type="submit" class=(class) { (label) }
        }
    }
}

/// The Content-Security-Policy of every page: nothing from elsewhere, and no script but the
/// dashboard's own (by its hash), so even a value that escaped escaping could not run.
pub fn content_security_policy() -> &'static str {
    static POLICY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    POLICY.get_or_init(|| {
        use base64::Engine;
        use sha2::Digest;
        let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(SCRIPT));
        format!(
            "default-src 'self'; script-src 'sha256-{hash}'; style-src 'unsafe-inline'; \
             img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
             base-uri 'none'"
        )
    })
}
