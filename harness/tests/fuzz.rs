//! Fuzzing the two file formats a user hands the harness: scenarios and target files. Neither
//! parser may panic on any input; a scenario that parses comes back the same through
//! `to_toml` (found scenarios are written that way); a target file that parses holds only
//! values the harness can use (no timeout that overflows a deadline, no route without a path).
//!
//! Inputs are arbitrary bytes and text, and structure-aware: files built from every field with
//! hostile values, then mutated. Cases per property: `FUZZ_CASES` (1,000 by default, about a
//! second in debug; CI runs 10,000 in release). The `#[ignore]`d variants run at least a million:
//! `cargo test --release -p stripe-harness --test fuzz -- --ignored`. The seed is drawn at random
//! and printed on failure; `FUZZ_SEED` replays it.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use stripe_harness::scenario::{
    Capture, CreateOrder, Expect, Fault, Forge, OpenSession, Pay, PaymentOutcome, Refund, Release,
};
use stripe_harness::target_file::{split_route, Command};
use stripe_harness::OrderState;
use stripe_harness::{Scenario, Step, TargetFile};
use stripe_sim::{DuplicateMode, EventType, FaultKind, Forgery, ReleaseOrderWord, Vocabulary};

const DEFAULT_CASES: u32 = 1000;
const MILLION: u32 = 1_000_000;

fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES)
}

/// Runs `test` on `cases` values of `strategy`, from `FUZZ_SEED` or a fresh seed printed on
/// failure.
fn fuzz<S: Strategy>(
    name: &str,
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let seed: u64 = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            now.as_nanos() as u64 ^ u64::from(std::process::id())
        });
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 10_000,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &key));
    let started = Instant::now();
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{name}: {e}\nreplay with FUZZ_SEED={seed}");
    }
    eprintln!(
        "{name}: {cases} cases in {:.1} s (FUZZ_SEED={seed})",
        started.elapsed().as_secs_f64()
    );
}

// ---- scenarios ---------------------------------------------------------------------------

/// Text that is mostly harmless but sometimes is not: quotes, escapes, newlines, unicode,
/// control characters, TOML syntax.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z][a-z0-9_]{0,8}",
        1 => Just(String::new()),
        1 => Just("checkout.session.completed".to_string()),
        2 => any::<String>(),
        1 => "[\"'\\\\\n\r\t #=\\[\\]{},.\u{0}\u{7f}\u{feff}é🦀]{0,12}",
    ]
}

fn maybe<T: std::fmt::Debug + Clone>(
    s: impl Strategy<Value = T>,
) -> impl Strategy<Value = Option<T>> {
    prop::option::of(s)
}

/// Any word of one of stripe-sim's vocabularies.
fn word<T: Vocabulary + std::fmt::Debug>() -> impl Strategy<Value = T> {
    prop::sample::select(T::ALL)
}

fn payment_outcome() -> impl Strategy<Value = PaymentOutcome> {
    prop::sample::select(vec![
        PaymentOutcome::Succeeded,
        PaymentOutcome::Declined,
        PaymentOutcome::Processing,
    ])
}

fn order_state() -> impl Strategy<Value = OrderState> {
    prop::sample::select(OrderState::ALL.to_vec())
}

/// TOML integers are 64-bit signed: the values a file can hold.
fn toml_u64() -> impl Strategy<Value = u64> {
    prop_oneof![Just(0u64), Just(i64::MAX as u64), 0..=i64::MAX as u64]
}

fn open_session() -> impl Strategy<Value = OpenSession> {
    (
        text(),
        maybe(text()),
        maybe(text()),
        maybe(any::<i64>()),
        maybe(text()),
    )
        .prop_map(
            |(alias, order, client_reference_id, amount, currency)| OpenSession {
                alias,
                order,
                client_reference_id,
                amount,
                currency,
            },
        )
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (text(), any::<i64>(), text(), text()).prop_map(|(alias, amount, currency, provider)| {
            Step::CreateOrder(CreateOrder {
                alias,
                amount,
                currency,
                provider,
            })
        }),
        open_session().prop_map(Step::OpenLink),
        open_session().prop_map(Step::CreateSession),
        (
            text(),
            maybe(text()),
            maybe(text()),
            maybe(text()),
            maybe(payment_outcome())
        )
            .prop_map(
                |(session, card, sepa_debit, us_bank_account, expect)| Step::Pay(Pay {
                    session,
                    card,
                    sepa_debit,
                    us_bank_account,
                    expect,
                })
            ),
        any::<i64>().prop_map(|seconds| Step::Advance { seconds }),
        (text(), maybe(any::<i64>()), maybe(text())).prop_map(|(session, amount, expect_error)| {
            Step::Refund(Refund {
                session,
                amount,
                expect_error,
            })
        }),
        text().prop_map(|session| Step::Expire { session }),
        Just(Step::Hold {}),
        (
            maybe(word::<ReleaseOrderWord>()),
            maybe(prop::collection::vec(word::<EventType>(), 0..3)),
            maybe(toml_u64()),
            maybe(word::<DuplicateMode>()),
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(|(order, events, seed, duplicate, keep_holding, parallel)| {
                Step::Release(Release {
                    order,
                    events,
                    seed,
                    duplicate,
                    keep_holding,
                    parallel,
                })
            }),
        (
            word::<FaultKind>(),
            any::<u32>(),
            maybe(text()),
            maybe(any::<i64>()),
            maybe(word::<DuplicateMode>())
        )
            .prop_map(
                |(kind, count, event, delay_seconds, mode)| Step::Fault(Fault {
                    kind,
                    count,
                    event,
                    delay_seconds,
                    mode,
                })
            ),
        (
            word::<Forgery>(),
            maybe(word::<EventType>()),
            maybe(text()),
            maybe(text())
        )
            .prop_map(|(kind, event, session, paid_for)| Step::Forge(Forge {
                kind,
                event,
                session,
                paid_for,
            })),
        maybe(any::<i64>()).prop_map(|overlap_seconds| Step::RollSecret { overlap_seconds }),
        Just(Step::EndpointDown {}),
        Just(Step::EndpointUp {}),
        text().prop_map(|session| Step::Capture(Capture { session })),
        (word::<EventType>(), maybe(text()), any::<bool>()).prop_map(
            |(event, session, new_event)| {
                Step::Resend {
                    event,
                    session,
                    new_event,
                }
            }
        ),
        word::<EventType>().prop_map(|event| Step::Trigger { event }),
        (
            text(),
            maybe(order_state()),
            maybe(prop::collection::vec(order_state(), 0..3))
        )
            .prop_map(|(order, status, status_in)| Step::Expect(Expect {
                order,
                status,
                status_in,
            })),
        text().prop_map(|label| Step::Snapshot { label }),
    ]
}

/// A rule as `Scenario::parse` makes it: comment lines joined by spaces, trimmed.
fn rule() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "Rule: [a-z ,.'`]{0,40}[a-z.]",
        "[a-z#][^\n\r\u{0}-\u{8}\u{a}-\u{1f}\u{7f}]{0,30}[a-z.]",
    ]
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        rule(),
        maybe(toml_u64()),
        prop::collection::vec(step(), 0..6),
    )
        .prop_map(|(rule, seed, steps)| Scenario {
            name: "fuzz".into(),
            rule,
            seed,
            steps,
            ..Scenario::default()
        })
}

/// Edits of a text: a byte dropped, a character inserted, a line duplicated or cut.
fn mutated(text: String) -> impl Strategy<Value = String> {
    let len = text.len();
    prop::collection::vec(
        (0..=len, 0u8..4, any::<char>(), "[\\[\\]{}=\"#\n ,.0-9a-z]"),
        0..4,
    )
    .prop_map(move |edits| {
        let mut out = text.clone();
        for (at, kind, c, token) in edits {
            let at = (0..=at.min(out.len()))
                .rev()
                .find(|&i| out.is_char_boundary(i))
                .unwrap_or(0);
            match kind {
                0 => {
                    if let Some(ch) = out[at..].chars().next() {
                        out.replace_range(at..at + ch.len_utf8(), "");
                    }
                }
                1 => out.insert(at, c),
                2 => out.insert_str(at, &token),
                _ => out.truncate(at),
            }
        }
        out
    })
}

/// What parses comes back the same through `to_toml`.
fn round_trips(parsed: &Scenario) -> Result<(), TestCaseError> {
    let written = parsed.to_toml();
    let again = Scenario::parse(&written, &parsed.name).map_err(|e| {
        TestCaseError::fail(format!(
            "to_toml wrote a file that does not parse: {e}\n{written}"
        ))
    })?;
    prop_assert_eq!(&again.steps, &parsed.steps, "{}", written);
    prop_assert_eq!(again.seed, parsed.seed);
    prop_assert_eq!(&again.rule, &parsed.rule);
    Ok(())
}

fn scenario_bytes(cases: u32) {
    fuzz(
        "scenario: arbitrary bytes",
        cases,
        prop::collection::vec(any::<u8>(), 0..512),
        |bytes| {
            let text = String::from_utf8_lossy(&bytes);
            if let Ok(parsed) = Scenario::parse(&text, "fuzz") {
                round_trips(&parsed)?;
            }
            Ok(())
        },
    );
}

fn scenario_structured(cases: u32) {
    fuzz(
        "scenario: generated, written, mutated",
        cases,
        scenario().prop_flat_map(|s| {
            let text = s.to_toml();
            (Just(s), mutated(text))
        }),
        |(scenario, mutated)| {
            // Written by `to_toml`, read back the same.
            let written = scenario.to_toml();
            let parsed = Scenario::parse(&written, "fuzz").map_err(|e| {
                TestCaseError::fail(format!(
                    "to_toml wrote a file that does not parse: {e}\n{written}"
                ))
            })?;
            prop_assert_eq!(&parsed.steps, &scenario.steps, "{}", written);
            prop_assert_eq!(parsed.seed, scenario.seed);
            prop_assert_eq!(&parsed.rule, &scenario.rule);
            // Damaged: no panic, and what still parses round-trips.
            if let Ok(parsed) = Scenario::parse(&mutated, "fuzz") {
                round_trips(&parsed)?;
            }
            Ok(())
        },
    );
}

#[test]
fn scenario_parse_never_panics_on_arbitrary_bytes_and_what_parses_round_trips() {
    scenario_bytes(cases());
}

#[test]
fn generated_scenarios_round_trip_through_to_toml_and_mutations_never_panic() {
    scenario_structured(cases());
}

#[test]
#[ignore = "a million cases: cargo test --release -p stripe-harness --test fuzz -- --ignored"]
fn scenario_parse_never_panics_on_a_million_inputs() {
    scenario_bytes(cases().max(MILLION));
}

#[test]
#[ignore = "a million cases: cargo test --release -p stripe-harness --test fuzz -- --ignored"]
fn a_million_generated_scenarios_round_trip() {
    scenario_structured(cases().max(MILLION));
}

// ---- target files ------------------------------------------------------------------------

/// A value no field expects: numbers at the edges, text of every kind, other TOML types.
fn any_value() -> BoxedStrategy<String> {
    prop_oneof![
        prop::sample::select(vec![0i64, -1, 3601, i64::MAX, i64::MIN]).prop_map(|i| i.to_string()),
        any::<i64>().prop_map(|i| i.to_string()),
        text().prop_map(|t| toml::Value::String(t).to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        Just("true".to_string()),
        Just("1.5e300".to_string()),
        prop::collection::vec(text(), 0..3)
            .prop_map(|v| toml::Value::try_from(v).unwrap().to_string()),
    ]
    .boxed()
}

/// A field: values it accepts, values it must refuse.
struct Key {
    name: &'static str,
    valid: &'static [&'static str],
    invalid: &'static [&'static str],
}

const fn key(
    name: &'static str,
    valid: &'static [&'static str],
    invalid: &'static [&'static str],
) -> Key {
    Key {
        name,
        valid,
        invalid,
    }
}

/// `key = value`, absent half the time (or always present); hostile with probability `p`.
fn line(key: &Key, p: f64, always: bool) -> BoxedStrategy<Option<String>> {
    let (name, valid, invalid) = (key.name, key.valid, key.invalid);
    let value = prop::bool::weighted(p).prop_flat_map(move |hostile| {
        if hostile {
            prop_oneof![
                prop::sample::select(invalid).prop_map(str::to_string),
                any_value()
            ]
            .boxed()
        } else {
            prop::sample::select(valid).prop_map(str::to_string).boxed()
        }
    });
    let line = value.prop_map(move |v| format!("{name} = {v}"));
    if always {
        line.prop_map(Some).boxed()
    } else {
        prop::option::of(line).boxed()
    }
}

/// A section of lines (a table header unless `name` is empty), sometimes with an unknown key.
fn section(
    name: &'static str,
    keys: &'static [Key],
    p: f64,
    always: bool,
) -> BoxedStrategy<String> {
    let lines: Vec<_> = keys.iter().map(|k| line(k, p, always)).collect();
    (
        lines,
        prop::option::weighted((p / 4.0).max(0.001), "[a-z_]{1,10}"),
    )
        .prop_map(move |(lines, unknown)| {
            let mut out = if name.is_empty() {
                String::new()
            } else {
                format!("[{name}]\n")
            };
            for l in lines.into_iter().flatten() {
                out.push_str(&l);
                out.push('\n');
            }
            if let Some(key) = unknown {
                out.push_str(&format!("{key} = 1\n"));
            }
            out
        })
        .boxed()
}

const SECS: &[&str] = &["1", "2", "15", "60", "3600"];
const BAD_SECS: &[&str] = &["0", "3601", "9223372036854775807", "-1", "\"15\""];
const ROUTE_BAD: &[&str] = &[
    "\"POST\"",
    "\"/api/orders\"",
    "\"GET /a b\"",
    "\"BAD\\u0000 /x\"",
    "\"\"",
    "\"GET /api/orders\"",
];
const POINTER: &[&str] = &["\"/id\"", "\"/status\"", "\"\"", "\"/a/0\"", "\"/~1x\""];
const POINTER_BAD: &[&str] = &["\"id\"", "\"~\"", "\"status\""];
const WORDS: &[&str] = &["[\"paid\"]", "[\"PAID\", \"done\"]", "[]", "[\"Complete\"]"];
const WORDS_BAD: &[&str] = &["[\"\"]", "[\"pending\"]", "[\"refunded\"]"];
const SECRET: &[&str] = &["\"whsec_x\"", "\"sk_test_1\""];
const SECRET_BAD: &[&str] = &["\"\"", "\"with space\"", "\"tab\\t\""];
const PATH: &[&str] = &["\"/health\"", "\"/\"", "\"/api/webhooks/stripe\""];
const PATH_BAD: &[&str] = &["\"health\"", "\"/a b\"", "\"\""];
const BOOL: &[&str] = &["true", "false"];

static TOP: [Key; 5] = [
    key("name", &["\"my-app\"", "\"é 🦀\""], &["\"\"", "\" \""]),
    key("api_key", SECRET, SECRET_BAD),
    key("call_timeout_secs", SECS, BAD_SECS),
    key(
        "max_consecutive_timeouts",
        &["1", "3", "1000"],
        &["0", "1001", "-3"],
    ),
    key(
        "max_answer_bytes",
        &["1024", "1048576", "268435456"],
        &["0", "1023", "268435457", "9223372036854775807"],
    ),
];
static RUNNING: [Key; 3] = [
    key(
        "url",
        &["\"http://127.0.0.1:3000\"", "\"https://example.com/base/\""],
        &[
            "\"127.0.0.1:3000\"",
            "\"not a url\"",
            "\"ftp://x/\"",
            "\"http://\"",
        ],
    ),
    key("webhook_secret", SECRET, SECRET_BAD),
    key("simulator_port", &["0", "12111", "65535"], &["65536", "-1"]),
];
static START: [Key; 5] = [
    key(
        "command",
        &["\"node server.js\"", "[\"node\", \"server.js\"]"],
        &[
            "[]",
            "\"\"",
            "[\"\"]",
            "\"a\\u0000b\"",
            "[\"x\", \"\\u0000\"]",
        ],
    ),
    key("cwd", &["\".\"", "\"../x\""], &["\"a\\u0000\""]),
    key(
        "env",
        &["{ A = \"1\" }", "{}"],
        &["{ \"A=B\" = \"1\" }", "{ \"\" = \"1\" }"],
    ),
    key("ready_path", PATH, PATH_BAD),
    key("ready_timeout_secs", SECS, BAD_SECS),
];
static ROUTES: [Key; 6] = [
    key(
        "create_order",
        &["\"POST /api/orders\"", "\"post /x?y=1\""],
        ROUTE_BAD,
    ),
    key("create_order_body", &["{ amount = \"{amount}\" }"], &["[]"]),
    key("order_id_pointer", POINTER, POINTER_BAD),
    key(
        "get_order",
        &["\"GET /api/orders/{id}\"", "\"GET /o?id={id}\""],
        ROUTE_BAD,
    ),
    key(
        "webhook",
        &["\"/hooks\"", "\"POST /hooks\""],
        &["\"hooks\"", "\"GET /hooks\"", "\"/a b\""],
    ),
    key(
        "capture",
        &[
            "\"POST /api/orders/capture\"",
            "\"GET /ok?session_id={session_id}\"",
            "false",
        ],
        ROUTE_BAD,
    ),
];
static FIELDS: [Key; 3] = [
    key("status", POINTER, POINTER_BAD),
    key("provider_order_id", POINTER, POINTER_BAD),
    key("provider_capture_id", POINTER, POINTER_BAD),
];
static STATUS_WORDS: [Key; 3] = [
    key("pending", &["[\"pending\"]", "[\"open\"]"], WORDS_BAD),
    key("paid", WORDS, WORDS_BAD),
    key("refunded", &["[\"refunded\"]"], &["[\"paid\"]"]),
];
static POLICY: [Key; 2] = [
    key("partial_refund_marks_refunded", BOOL, &["1", "\"yes\""]),
    key("unpaid_may_fail", BOOL, &["1"]),
];

/// Target files from valid to hostile: how hostile (the chance of each value being wrong) is
/// drawn first, so that valid files, files with one wrong value and garbage all come up.
fn target_toml() -> impl Strategy<Value = String> {
    prop::sample::select(vec![0.0, 0.02, 0.1, 0.5])
        .prop_flat_map(|p| {
            // Started (most often), running, both or neither.
            let how = prop::sample::select(vec![0u8, 0, 0, 1, 1, 2, 3]);
            (
                how,
                section("", &TOP, p, false),
                section("", &RUNNING, p, true),
                section("start", &START[1..], p, false),
                line(&START[0], p, true),
                section("routes", &ROUTES, p, false),
                section("fields", &FIELDS, p, false),
                section("status_words", &STATUS_WORDS, p, false),
                section("policy", &POLICY, p, false),
            )
        })
        .prop_map(
            |(how, top, running, start, command, routes, fields, words, policy)| {
                let start = format!("{start}{}\n", command.unwrap_or_default());
                let (running, start) = match how {
                    0 => (String::new(), start),
                    1 => (running, String::new()),
                    2 => (running, start),
                    _ => (String::new(), String::new()),
                };
                format!("{top}{running}{start}{routes}{fields}{words}{policy}")
            },
        )
        .prop_flat_map(|text| prop_oneof![2 => Just(text.clone()), 1 => mutated(text)])
}

/// What the harness relies on in a target file that parsed.
fn sane(file: &TargetFile) -> Result<(), TestCaseError> {
    prop_assert!(file.validate().is_ok());
    prop_assert!(file.start.is_some() != file.url.is_some());
    let call = file.call_timeout();
    prop_assert!(call >= Duration::from_secs(1) && call <= Duration::from_secs(3600));
    prop_assert!(Instant::now().checked_add(call).is_some());
    prop_assert!(file.timeouts_before_hung() >= 1);
    prop_assert!((1024..=256 * 1024 * 1024).contains(&file.answer_cap()));
    if let Some(start) = &file.start {
        prop_assert!((1..=3600).contains(&start.ready_timeout_secs));
        prop_assert!(tokio::time::Instant::now()
            .checked_add(Duration::from_secs(start.ready_timeout_secs))
            .is_some());
        match &start.command {
            Command::Shell(line) => prop_assert!(!line.trim().is_empty()),
            Command::Argv(argv) => prop_assert!(argv.first().is_some_and(|p| !p.trim().is_empty())),
        }
        prop_assert!(start
            .ready_path
            .as_deref()
            .is_none_or(|p| p.starts_with('/')));
    }
    if let Some(url) = &file.url {
        prop_assert!(reqwest::Url::parse(url).is_ok());
    }
    for route in [
        Some(&file.routes.create_order),
        Some(&file.routes.get_order),
        file.routes.capture.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        let (_, path) = split_route(route).map_err(TestCaseError::fail)?;
        prop_assert!(path.starts_with('/') && !path.contains(char::is_whitespace));
    }
    prop_assert!(
        file.routes.get_order.contains("{id}"),
        "get_order without its id"
    );
    let webhook = file.routes.webhook_path().map_err(TestCaseError::fail)?;
    prop_assert!(webhook.starts_with('/'));
    for pointer in [
        &file.routes.order_id_pointer,
        &file.fields.status,
        &file.fields.provider_order_id,
        &file.fields.provider_capture_id,
    ] {
        prop_assert!(pointer.is_empty() || pointer.starts_with('/'));
    }
    Ok(())
}

fn target_bytes(cases: u32) {
    fuzz(
        "target file: arbitrary bytes",
        cases,
        prop::collection::vec(any::<u8>(), 0..512),
        |bytes| {
            if let Ok(file) = TargetFile::parse(&String::from_utf8_lossy(&bytes)) {
                sane(&file)?;
            }
            Ok(())
        },
    );
}

fn target_structured(cases: u32) {
    fuzz(
        "target file: generated and mutated",
        cases,
        target_toml(),
        |text| {
            if let Ok(file) = TargetFile::parse(&text) {
                sane(&file)?;
            }
            Ok(())
        },
    );
}

#[test]
fn target_file_parse_never_panics_on_arbitrary_bytes() {
    target_bytes(cases());
}

#[test]
fn generated_target_files_either_fail_to_parse_or_hold_sane_values() {
    target_structured(cases());
}

#[test]
#[ignore = "a million cases: cargo test --release -p stripe-harness --test fuzz -- --ignored"]
fn target_file_parse_never_panics_on_a_million_inputs() {
    target_bytes(cases().max(MILLION));
}

#[test]
#[ignore = "a million cases: cargo test --release -p stripe-harness --test fuzz -- --ignored"]
fn a_million_generated_target_files_are_sane_or_refused() {
    target_structured(cases().max(MILLION));
}

#[test]
fn the_generator_reaches_valid_target_files() {
    // A generator that never produces a valid file would test only the error paths.
    let mut runner = TestRunner::deterministic();
    let strategy = target_toml();
    let valid = (0..500)
        .filter(|_| {
            let text = strategy.new_tree(&mut runner).unwrap().current();
            TargetFile::parse(&text).is_ok()
        })
        .count();
    assert!(
        valid >= 10,
        "only {valid} of 500 generated target files were valid"
    );
}
