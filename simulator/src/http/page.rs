//! The shell of every HTML page the simulator serves (hosted checkout, confirmation, error pages,
//! receipts): one `<head>`, one stylesheet, the TEST MODE badge. Pages are [`maud`] templates,
//! so every value is escaped where it is spliced in; nothing here builds HTML from strings.
//!
//! The pages work without JavaScript (tests drive them with plain HTTP forms); the checkout page
//! adds one small inline script that fills the form from the test-card list.

use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup, PreEscaped, DOCTYPE};

/// Who the buyer is paying, as the pages name the account.
pub const MERCHANT: &str = "stripe-sim";

/// How wide a page is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One centred card: confirmations, errors, receipts.
    Narrow,
    /// The checkout page: its body brings its own `<main>` with two columns.
    Wide,
}

/// An HTML answer: `body` inside the shared shell, never cached (a page shows live state).
pub fn page(status: StatusCode, title: &str, layout: Layout, body: Markup) -> Response {
    let html = shell(title, layout, body).into_string();
    (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

/// A narrow page with a heading and one paragraph: what the error pages say.
pub fn message_page(status: StatusCode, title: &str, heading: &str, text: &str) -> Response {
    page(
        status,
        title,
        Layout::Narrow,
        html! {
            h1 { (heading) }
            p { (text) }
        },
    )
}

/// A page's `<head>`: its title, the viewport for phones, and its stylesheet (the hosted
/// pages' and the dashboard's).
pub(crate) fn head(title: &str, style: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) }
            style { (PreEscaped(style)) }
        }
    }
}

/// The document around a page's body.
fn shell(title: &str, layout: Layout, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(&format!("{title} · {MERCHANT}"), STYLE))
            body {
                @match layout {
                    Layout::Narrow => main.narrow {
                        (merchant_header())
                        (body)
                    },
                    Layout::Wide => (body),
                }
            }
        }
    }
}

/// The merchant's name and the TEST MODE badge, at the top of every page.
pub fn merchant_header() -> Markup {
    html! {
        p.merchant {
            span.merchant-name { (MERCHANT) }
            " "
            span.badge { "TEST MODE" }
        }
    }
}

/// The stylesheet of every page. Colours are chosen for contrast: body text `#1a1f36` and
/// secondary text `#596171` on white are above 4.5:1 (WCAG AA); placeholders (`#6a7383`, 4.8:1)
/// are lighter than typed text and show a format (`MM / YY`), never a value that could pass for
/// one typed. The checkout page has two columns, the summary and the payment form, and one
/// column under 700 px.
const STYLE: &str = r#"
*,*::before,*::after{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a1f36;background:#fff}
a{color:#4b44d6}
:focus-visible{outline:3px solid #635bff;outline-offset:2px}
h1{font-size:24px;line-height:1.3;margin:8px 0 16px}
h2{font-size:16px;margin:24px 0 8px}
.merchant{display:flex;align-items:center;gap:8px;margin:0 0 16px;font-weight:600}
.badge{background:#ffde92;color:#5c3b00;font-size:12px;font-weight:700;letter-spacing:.04em;padding:2px 8px;border-radius:4px}
.muted{color:#596171}
.narrow{max-width:560px;margin:40px auto;padding:32px;border:1px solid #e3e8ee;border-radius:8px;box-shadow:0 2px 8px rgba(26,31,54,.08)}
table{width:100%;border-collapse:collapse}
td,th{padding:8px 0;text-align:left;vertical-align:top;font-weight:400}
td.amount,th.amount{text-align:right;white-space:nowrap;padding-left:16px}
tr.total td,tr.total th{font-weight:600;border-top:1px solid #e3e8ee}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:6px 16px;margin:16px 0}
dl.facts dt{color:#596171}
dl.facts dd{margin:0;overflow-wrap:anywhere}
.error{background:#fde8e8;color:#a4141f;padding:12px 16px;border-radius:6px;margin:0 0 16px}
.checkout{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);min-height:100vh}
.summary{background:#f6f9fc;border-right:1px solid #e3e8ee;padding:48px 48px 32px;display:flex;justify-content:flex-end}
.payment{padding:48px 48px 32px;display:flex;justify-content:flex-start}
.column{width:100%;max-width:420px}
.amount-due{font-size:36px;font-weight:600;margin:0 0 24px;letter-spacing:-.01em}
.back{display:inline-block;margin:0 0 16px}
.items td{border-top:1px solid #e3e8ee}
.items .quantity{display:block;color:#596171;font-size:14px}
label{display:block;margin:12px 0 4px;font-size:14px;font-weight:500;color:#30313d}
input[type=text],input[type=email],input:not([type]){width:100%;padding:10px 12px;font:inherit;color:#1a1f36;background:#fff;border:1px solid #8792a2;border-radius:6px}
input::placeholder{color:#6a7383;opacity:1}
input:focus{border-color:#635bff}
#payment-form>h2:first-child{margin-top:0}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:12px}
fieldset{border:0;padding:0;margin:20px 0 0}
legend{font-size:16px;font-weight:600;padding:0;margin:0 0 8px}
.method{border:1px solid #8792a2;border-radius:6px;margin:0 0 8px;padding:12px}
.method>input[type=radio]{width:16px;height:16px;margin:0 8px 0 0;vertical-align:middle;accent-color:#635bff}
.method>label{display:inline;margin:0;vertical-align:middle;font-size:15px;font-weight:600}
.method>input[type=radio]:not(:checked)~.fields{display:none}
.method>input[type=radio]:checked~.fields{display:block}
.hint{font-size:13px;color:#596171;margin:8px 0 0}
button.pay{display:block;width:100%;margin:24px 0 0;background:#635bff;color:#fff;border:0;border-radius:6px;padding:12px 16px;font:inherit;font-weight:600;cursor:pointer}
button.pay:hover{background:#4b44d6}
.testmode{margin:32px 0 0;padding:16px;border:1px dashed #c38b00;border-radius:8px;background:#fffaf0}
.testmode h2{margin:0 0 4px}
.testmode h3{font-size:14px;margin:16px 0 4px}
.testmode p{margin:0;font-size:14px;color:#4f3500}
.fills{list-style:none;margin:0;padding:0}
.fills li{display:flex;flex-wrap:wrap;gap:0 12px;padding:3px 0;font-size:14px;border-top:1px solid #f3e3bf}
.fills a{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;white-space:nowrap}
.fills .note{margin-left:auto;color:#4f3500;text-align:right;overflow-wrap:anywhere}
@media (max-width:700px){
.checkout{grid-template-columns:minmax(0,1fr);min-height:0}
.summary{border-right:0;border-bottom:1px solid #e3e8ee;padding:24px 20px;justify-content:center}
.payment{padding:24px 20px;justify-content:center}
.amount-due{font-size:30px;margin-bottom:12px}
.narrow{margin:0;border:0;border-radius:0;box-shadow:none;padding:24px 20px}
}
"#;
