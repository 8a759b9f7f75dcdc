//! The hosted checkout page and its confirmation page, as templates over plain views: what the
//! handlers in `hosted.rs` read from the store (under its lock) becomes a [`CheckoutView`] or a
//! [`ConfirmationView`], rendered after.
//!
//! The page is one form posted to `/c/pay/{session}` with Stripe-like fields (`method`, `email`,
//! `name`, `card_number`, `exp`, `cvc`, `iban`, `routing_number`, `account_number`): tests and
//! drivers post those names over plain HTTP, so they never change. The payment method is a radio
//! group whose unchosen sections CSS hides; without CSS every section shows and the radio still
//! decides. In test mode (always, here) a list of test cards and bank accounts fills the form:
//! a click runs the inline script, and without JavaScript the same entry is a link to
//! `?prefill=…`, which renders the page with those values in the form.

use maud::{html, Markup, PreEscaped};

use crate::test_cards::{
    CardBehaviour, DelayedOutcome, RefundBehaviour, TestCard, TEST_BANK_ACCOUNTS, TEST_CARDS,
    TEST_IBANS, TEST_ROUTING_NUMBER,
};

use super::page::{merchant_header, MERCHANT};

/// A payment method the page offers, by its Stripe type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayMethod {
    Card,
    SepaDebit,
    UsBankAccount,
}

impl PayMethod {
    /// The `method` field's value, Stripe's payment method type.
    pub fn as_str(self) -> &'static str {
        match self {
            PayMethod::Card => "card",
            PayMethod::SepaDebit => "sepa_debit",
            PayMethod::UsBankAccount => "us_bank_account",
        }
    }

    pub fn parse(word: &str) -> Option<PayMethod> {
        [
            PayMethod::Card,
            PayMethod::SepaDebit,
            PayMethod::UsBankAccount,
        ]
        .into_iter()
        .find(|m| m.as_str() == word)
    }

    fn label(self) -> &'static str {
        match self {
            PayMethod::Card => "Card",
            PayMethod::SepaDebit => "SEPA Direct Debit",
            PayMethod::UsBankAccount => "US bank account (ACH Direct Debit)",
        }
    }

    /// The id of the first field of its section (focused after an error).
    fn first_field(self) -> &'static str {
        match self {
            PayMethod::Card => "card_number",
            PayMethod::SepaDebit => "iban",
            PayMethod::UsBankAccount => "routing_number",
        }
    }
}

/// What the form shows in its fields: nothing, what the buyer typed before an error (email, name,
/// the chosen method and the routing number: card numbers, expiries, CVCs, IBANs and account
/// numbers are never echoed back), or a test entry's values (`?prefill=…`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entered {
    pub method: Option<PayMethod>,
    pub email: String,
    pub name: String,
    pub card_number: String,
    pub exp: String,
    pub cvc: String,
    pub iban: String,
    pub routing_number: String,
    pub account_number: String,
}

impl Entered {
    /// What is kept of a submitted form when the page is shown again.
    pub fn kept_from(field: &dyn Fn(&str) -> Option<String>) -> Entered {
        Entered {
            method: field("method").as_deref().and_then(PayMethod::parse),
            email: field("email").unwrap_or_default(),
            name: field("name").unwrap_or_default(),
            routing_number: field("routing_number").unwrap_or_default(),
            ..Entered::default()
        }
    }

    /// Sets one field by its form name (the names [`fills`] gives).
    fn set(&mut self, name: &str, value: String) {
        let slot = match name {
            "card_number" => &mut self.card_number,
            "exp" => &mut self.exp,
            "cvc" => &mut self.cvc,
            "iban" => &mut self.iban,
            "routing_number" => &mut self.routing_number,
            "account_number" => &mut self.account_number,
            _ => return,
        };
        *slot = value;
    }
}

/// One line of the order summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemView {
    pub description: String,
    pub quantity: i64,
    /// Unit price and line amount, formatted (`$25.00`).
    pub unit_amount: String,
    pub amount: String,
}

/// Everything the checkout page of an open session shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutView {
    pub session_id: String,
    pub items: Vec<ItemView>,
    /// The total, formatted.
    pub total: String,
    /// A "Back" link, for sessions made through the API with a `cancel_url`.
    pub cancel_url: Option<String>,
    pub methods: Vec<PayMethod>,
    pub entered: Entered,
    pub error: Option<String>,
    /// An expiry in the future of the simulator's clock, `MM / YY`, for the test entries.
    pub test_expiry: String,
    /// Seconds before bank debits settle (`--settlement-delay`).
    pub settlement_delay: i64,
}

impl CheckoutView {
    /// Fills the form with a test entry's values (`?prefill=4242424242424242`, an IBAN or an
    /// ACH account number); an entry the page does not offer changes nothing.
    pub fn prefill(&mut self, value: &str) {
        let Some(entry) = test_entries(&self.methods)
            .into_iter()
            .find(|e| e.value == value)
        else {
            return;
        };
        self.entered.method = Some(entry.method);
        for (name, value) in fills(&entry, &self.test_expiry) {
            self.entered.set(name, value);
        }
    }

    fn chosen(&self) -> PayMethod {
        self.entered
            .method
            .filter(|m| self.methods.contains(m))
            .or_else(|| self.methods.first().copied())
            .unwrap_or(PayMethod::Card)
    }
}

/// The checkout page's body: the summary column and the payment column.
pub fn checkout(view: &CheckoutView) -> Markup {
    html! {
        main.checkout {
            section.summary aria-label="Order summary" {
                div.column { (summary(view)) }
            }
            section.payment aria-label="Payment" {
                div.column {
                    (payment_form(view))
                    (test_mode_panel(view))
                }
            }
        }
        script { (PreEscaped(FILL_SCRIPT)) }
    }
}

fn summary(view: &CheckoutView) -> Markup {
    html! {
        @if let Some(url) = &view.cancel_url {
            a.back href=(url) { "← Back" }
        }
        (merchant_header())
        h1 {
            span.muted { "Pay " (MERCHANT) }
            br;
            span.amount-due { (view.total) }
        }
        (items_table(&view.items, "Total due", &view.total))
    }
}

/// The line items and the total, as the summary and the confirmation show them.
fn items_table(items: &[ItemView], total_label: &str, total: &str) -> Markup {
    html! {
        table.items {
            @for item in items {
                tr {
                    td {
                        (item.description) " × " (item.quantity)
                        @if item.quantity > 1 {
                            span.quantity { (item.unit_amount) " each" }
                        }
                    }
                    td.amount { (item.amount) }
                }
            }
            tr.total {
                td { (total_label) }
                td.amount { (total) }
            }
        }
    }
}

fn payment_form(view: &CheckoutView) -> Markup {
    let chosen = view.chosen();
    let entered = &view.entered;
    // After an error, the chosen method's first field takes the focus (the alert is read out).
    let focus = view.error.as_ref().map(|_| chosen.first_field());
    let autofocus = |id: &str| focus == Some(id);
    html! {
        @if let Some(message) = &view.error {
            p.error id="payment-error" role="alert" { (message) }
        }
        form id="payment-form" method="post" action={ "/c/pay/" (view.session_id) } {
            h2 { "Contact information" }
            label for="email" { "Email" }
            input id="email" name="email" type="email" autocomplete="email"
                placeholder="you@example.com" value=(entered.email);
            label for="name" { "Full name" }
            input id="name" name="name" type="text" autocomplete="name" value=(entered.name);
            @if let [only] = view.methods.as_slice() {
                div.single {
                    h2 { (only.label()) }
                    input type="hidden" name="method" value=(only.as_str());
                    (method_fields(*only, entered, &autofocus, view.settlement_delay))
                }
            } @else {
                fieldset {
                    legend { "Payment method" }
                    @for method in &view.methods {
                        @let id = format!("method-{}", method.as_str());
                        div.method {
                            input type="radio" id=(id) name="method" value=(method.as_str())
                                checked[*method == chosen];
                            label for=(id) { (method.label()) }
                            div.fields {
                                (method_fields(*method, entered, &autofocus, view.settlement_delay))
                            }
                        }
                    }
                }
            }
            button.pay id="pay" type="submit" { "Pay " (view.total) }
        }
    }
}

fn method_fields(
    method: PayMethod,
    entered: &Entered,
    autofocus: &dyn Fn(&str) -> bool,
    settlement_delay: i64,
) -> Markup {
    html! {
        @match method {
            PayMethod::Card => {
                label for="card_number" { "Card number" }
                input id="card_number" name="card_number" type="text" inputmode="numeric"
                    autocomplete="cc-number" placeholder="1234 1234 1234 1234"
                    value=(entered.card_number) autofocus[autofocus("card_number")];
                div.pair {
                    div {
                        label for="exp" { "Expiry (MM / YY)" }
                        input id="exp" name="exp" type="text" inputmode="numeric"
                            autocomplete="cc-exp" placeholder="MM / YY" value=(entered.exp);
                    }
                    div {
                        label for="cvc" { "CVC" }
                        input id="cvc" name="cvc" type="text" inputmode="numeric"
                            autocomplete="cc-csc" placeholder="CVC" value=(entered.cvc);
                    }
                }
            },
            PayMethod::SepaDebit => {
                label for="iban" { "IBAN" }
                input id="iban" name="iban" type="text" autocomplete="off"
                    placeholder="DE00 0000 0000 0000 0000 00" value=(entered.iban)
                    autofocus[autofocus("iban")];
                p.hint {
                    "By paying you authorise " (MERCHANT) " to debit this account. The payment "
                    "settles after " (delay_words(settlement_delay)) "."
                }
            },
            PayMethod::UsBankAccount => {
                label for="routing_number" { "Routing number" }
                input id="routing_number" name="routing_number" type="text" inputmode="numeric"
                    autocomplete="off" placeholder="9 digits" value=(entered.routing_number)
                    autofocus[autofocus("routing_number")];
                label for="account_number" { "Account number" }
                input id="account_number" name="account_number" type="text" inputmode="numeric"
                    autocomplete="off" placeholder="Account number" value=(entered.account_number);
                p.hint {
                    "The payment settles after " (delay_words(settlement_delay)) "."
                }
            },
        }
    }
}

/// `3 minutes`, `1 hour`, `45 seconds`.
fn delay_words(seconds: i64) -> String {
    let (n, unit) = match seconds {
        s if s >= 3600 && s % 3600 == 0 => (s / 3600, "hour"),
        s if s >= 60 && s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// One clickable entry of the test-mode list.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TestEntry {
    method: PayMethod,
    /// What `?prefill=` names: the card number, IBAN or account number, without spaces.
    value: &'static str,
    /// How the entry reads: the number grouped as typed.
    shown: String,
    /// What happens when it pays.
    note: String,
    group: &'static str,
}

const SUCCEEDS: &str = "Cards that succeed";
const DECLINES: &str = "Cards that are declined";
const SEPA: &str = "SEPA Direct Debit (settles later)";
const ACH: &str = "ACH Direct Debit, routing 110000000 (settles later)";

/// The test cards and bank accounts the page offers, in the order they are listed.
fn test_entries(methods: &[PayMethod]) -> Vec<TestEntry> {
    let mut entries = Vec::new();
    if methods.contains(&PayMethod::Card) {
        for card in TEST_CARDS {
            entries.push(TestEntry {
                method: PayMethod::Card,
                value: card.number,
                shown: grouped_card(card.number),
                note: card_note(card),
                group: match card.behaviour {
                    CardBehaviour::Succeeds(_) => SUCCEEDS,
                    CardBehaviour::Declines(_) => DECLINES,
                },
            });
        }
    }
    if methods.contains(&PayMethod::SepaDebit) {
        for iban in TEST_IBANS {
            entries.push(TestEntry {
                method: PayMethod::SepaDebit,
                value: iban.iban,
                shown: grouped(iban.iban, &[4]),
                note: delayed_note(iban.outcome),
                group: SEPA,
            });
        }
    }
    if methods.contains(&PayMethod::UsBankAccount) {
        for account in TEST_BANK_ACCOUNTS {
            entries.push(TestEntry {
                method: PayMethod::UsBankAccount,
                value: account.account_number,
                shown: account.account_number.to_string(),
                note: delayed_note(account.outcome),
                group: ACH,
            });
        }
    }
    entries
}

fn card_note(card: &TestCard) -> String {
    let brand = match card.brand {
        "visa" => "Visa",
        "mastercard" => "Mastercard",
        "amex" => "Amex",
        "discover" => "Discover",
        "jcb" => "JCB",
        other => other,
    };
    match card.behaviour {
        CardBehaviour::Succeeds(RefundBehaviour::Immediate) => {
            format!("{brand} {}: succeeds", card.funding)
        }
        CardBehaviour::Succeeds(_) | CardBehaviour::Declines(_) => card.note.to_string(),
    }
}

fn delayed_note(outcome: DelayedOutcome) -> String {
    match outcome {
        DelayedOutcome::Succeeds => "succeeds".to_string(),
        DelayedOutcome::Fails { code, .. } => format!("fails: {code}"),
        DelayedOutcome::NeverSettles => "stays processing".to_string(),
    }
}

/// A card number as printed on the card: 4-6-5 for American Express, groups of 4 otherwise.
fn grouped_card(number: &str) -> String {
    if number.len() == 15 {
        grouped(number, &[4, 6, 5])
    } else {
        grouped(number, &[4])
    }
}

/// `text` in groups of the given sizes (the last size repeats), joined by spaces.
fn grouped(text: &str, sizes: &[usize]) -> String {
    let mut out = String::new();
    let mut rest = text;
    let mut i = 0;
    while !rest.is_empty() {
        let size = sizes
            .get(i)
            .or(sizes.last())
            .copied()
            .unwrap_or(4)
            .max(1)
            .min(rest.len());
        let (head, tail) = rest.split_at(size);
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(head);
        rest = tail;
        i += 1;
    }
    out
}

/// The form fields a test entry fills, by name.
fn fills(entry: &TestEntry, expiry: &str) -> Vec<(&'static str, String)> {
    match entry.method {
        PayMethod::Card => vec![
            ("card_number", entry.shown.clone()),
            ("exp", expiry.to_string()),
            ("cvc", "123".to_string()),
        ],
        PayMethod::SepaDebit => vec![("iban", entry.shown.clone())],
        PayMethod::UsBankAccount => vec![
            ("routing_number", TEST_ROUTING_NUMBER.to_string()),
            ("account_number", entry.value.to_string()),
        ],
    }
}

/// The fields as the script reads them: a JSON object of name → value.
fn fills_json(entry: &TestEntry, expiry: &str) -> String {
    let map: serde_json::Map<String, serde_json::Value> = fills(entry, expiry)
        .into_iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::String(v)))
        .collect();
    serde_json::Value::Object(map).to_string()
}

/// The test-mode helper: every test card and account the page accepts, grouped by outcome.
fn test_mode_panel(view: &CheckoutView) -> Markup {
    let entries = test_entries(&view.methods);
    let mut groups: Vec<&'static str> = Vec::new();
    for entry in &entries {
        if !groups.contains(&entry.group) {
            groups.push(entry.group);
        }
    }
    html! {
        section.testmode aria-labelledby="test-data-heading" {
            h2 id="test-data-heading" { "Test mode: fill the form with test data" }
            p {
                "Pick a number to fill the form, then pay. Cards take any future expiry and any CVC."
            }
            @for group in &groups {
                h3 { (group) }
                ul.fills {
                    @for entry in entries.iter().filter(|e| e.group == *group) {
                        li {
                            a href={ "?prefill=" (entry.value) }
                                data-method=(entry.method.as_str())
                                data-fill=(fills_json(entry, &view.test_expiry)) {
                                (entry.shown)
                            }
                            span.note { (entry.note) }
                        }
                    }
                }
            }
        }
    }
}

/// Fills the form from a test entry on click; the link's `?prefill=` does the same without
/// JavaScript. Then the Pay button takes the focus, so Enter pays.
const FILL_SCRIPT: &str = r#"
document.addEventListener('click', function (event) {
  var link = event.target.closest('a[data-fill]');
  var form = document.getElementById('payment-form');
  if (!link || !form) return;
  event.preventDefault();
  var radio = document.getElementById('method-' + link.dataset.method);
  if (radio) radio.checked = true;
  var fields = JSON.parse(link.dataset.fill);
  Object.keys(fields).forEach(function (name) {
    var input = form.elements.namedItem(name);
    if (input) input.value = fields[name];
  });
  document.getElementById('pay').focus();
});
"#;

/// What the confirmation page of a completed session shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmationView {
    pub session_id: String,
    /// Paid, or processing (a bank debit that has not settled).
    pub paid: bool,
    pub items: Vec<ItemView>,
    pub total: String,
    pub client_reference_id: Option<String>,
    pub email: Option<String>,
    /// `Visa – 4242`.
    pub payment_method: Option<String>,
    pub receipt_url: Option<String>,
    /// The payment link's `after_completion.hosted_confirmation.custom_message`.
    pub custom_message: Option<String>,
}

impl ConfirmationView {
    pub fn title(&self) -> &'static str {
        if self.paid {
            "Thanks for your payment"
        } else {
            "Thanks for your order"
        }
    }
}

/// The confirmation page's body: what was paid, for what, and the ids to quote.
pub fn confirmation(view: &ConfirmationView) -> Markup {
    html! {
        h1 { (view.title()) }
        p {
            @if view.paid {
                "Your payment is complete."
            } @else {
                "Your payment is processing. You will be notified once it completes."
            }
        }
        @if let Some(message) = &view.custom_message {
            p { (message) }
        }
        (items_table(&view.items, if view.paid { "Amount paid" } else { "Amount" }, &view.total))
        dl.facts {
            @if let Some(reference) = &view.client_reference_id {
                dt { "Reference" }
                dd { (reference) }
            }
            @if let Some(email) = &view.email {
                dt { "Email" }
                dd { (email) }
            }
            @if let Some(method) = &view.payment_method {
                dt { "Payment method" }
                dd { (method) }
            }
            dt { "Checkout session" }
            dd { code { (view.session_id) } }
        }
        @if let Some(url) = &view.receipt_url {
            p { a href=(url) { "View receipt" } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(methods: Vec<PayMethod>) -> CheckoutView {
        CheckoutView {
            session_id: "cs_test_1".into(),
            items: vec![ItemView {
                description: "Lifetime".into(),
                quantity: 1,
                unit_amount: "$199.00".into(),
                amount: "$199.00".into(),
            }],
            total: "$199.00".into(),
            cancel_url: None,
            methods,
            entered: Entered::default(),
            error: None,
            test_expiry: "12 / 30".into(),
            settlement_delay: 180,
        }
    }

    #[test]
    fn card_numbers_are_grouped_as_printed() {
        assert_eq!(grouped_card("4242424242424242"), "4242 4242 4242 4242");
        assert_eq!(grouped_card("378282246310005"), "3782 822463 10005");
        assert_eq!(
            grouped("DE89370400440532013000", &[4]),
            "DE89 3704 0044 0532 0130 00"
        );
    }

    #[test]
    fn prefill_with_a_test_card_fills_the_card_fields() {
        let mut v = view(vec![PayMethod::Card, PayMethod::UsBankAccount]);

        v.prefill("4000000000009995");

        assert_eq!(v.entered.method, Some(PayMethod::Card));
        assert_eq!(v.entered.card_number, "4000 0000 0000 9995");
        assert_eq!(v.entered.exp, "12 / 30");
        assert_eq!(v.entered.cvc, "123");
    }

    #[test]
    fn prefill_with_an_ach_account_chooses_the_bank_method() {
        let mut v = view(vec![PayMethod::Card, PayMethod::UsBankAccount]);

        v.prefill("000123456789");

        assert_eq!(v.chosen(), PayMethod::UsBankAccount);
        assert_eq!(v.entered.routing_number, "110000000");
        assert_eq!(v.entered.account_number, "000123456789");
    }

    #[test]
    fn prefill_of_an_entry_the_page_does_not_offer_changes_nothing() {
        let mut v = view(vec![PayMethod::Card, PayMethod::UsBankAccount]);

        v.prefill("DE89370400440532013000");
        v.prefill("1234");

        assert_eq!(v.entered, Entered::default());
    }

    #[test]
    fn delays_read_in_the_largest_whole_unit() {
        assert_eq!(delay_words(180), "3 minutes");
        assert_eq!(delay_words(3600), "1 hour");
        assert_eq!(delay_words(90), "90 seconds");
    }

    #[test]
    fn the_confirmation_escapes_what_the_merchant_and_the_buyer_gave() {
        let confirmation_view = ConfirmationView {
            session_id: "cs_test_1".into(),
            paid: true,
            items: view(vec![]).items,
            total: "$199.00".into(),
            client_reference_id: Some("<script>alert(1)</script>".into()),
            email: Some("a\"b@example.com".into()),
            payment_method: Some("Visa – 4242".into()),
            receipt_url: Some("http://127.0.0.1/receipts/payment/ch_1?a=1&b=\"2".into()),
            custom_message: Some("<b>Thanks</b> & bye".into()),
        };

        let html = confirmation(&confirmation_view).into_string();

        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert!(
            html.contains("&lt;b&gt;Thanks&lt;/b&gt; &amp; bye"),
            "{html}"
        );
        assert!(html.contains("a&quot;b@example.com"), "{html}");
        assert!(
            html.contains(r#"href="http://127.0.0.1/receipts/payment/ch_1?a=1&amp;b=&quot;2""#),
            "{html}"
        );
        assert!(
            !html.contains("<script>") && !html.contains("<b>"),
            "{html}"
        );
    }
}
