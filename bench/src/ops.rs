//! The operations measured, and how each server does them. Where a peer lacks an operation the
//! table says so; where it does the same thing differently (a payment), the notes say how.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::load::{Conn, Operation};
use crate::servers::Kind;

/// A measured API operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    RetrieveCustomer,
    CreateCustomer,
    RetrieveSession,
    CreateSession,
    CreateRefund,
    /// A whole payment, as each server knows one.
    Payment,
}

impl Op {
    pub const API: [Op; 5] = [
        Op::RetrieveSession,
        Op::CreateSession,
        Op::RetrieveCustomer,
        Op::CreateCustomer,
        Op::CreateRefund,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Op::RetrieveCustomer => "GET /v1/customers/{id}",
            Op::CreateCustomer => "POST /v1/customers (form)",
            Op::RetrieveSession => "GET /v1/checkout/sessions/{id}",
            Op::CreateSession => "POST /v1/checkout/sessions (form)",
            Op::CreateRefund => "POST /v1/refunds (1 cent of a charge)",
            Op::Payment => "a whole payment",
        }
    }

    /// Whether `kind`'s version of the operation does the same work as ours, so that the ratio
    /// means something. stripe-stateful-mock's "payment" is one charge request: no session, no
    /// event log, none of what a payment through Checkout is.
    pub fn comparable(self, kind: Kind) -> bool {
        self.supported_by(kind) && !(self == Op::Payment && kind == Kind::StatefulMock)
    }

    /// Whether `kind` can do it at all.
    pub fn supported_by(self, kind: Kind) -> bool {
        match (self, kind) {
            // Neither peer has Checkout Sessions (both answer 404).
            (Op::RetrieveSession | Op::CreateSession, Kind::StripeSim) => true,
            (Op::RetrieveSession | Op::CreateSession, _) => false,
            _ => true,
        }
    }
}

/// The form of a one-item payment-mode session, as the SDKs encode it.
pub fn session_form(n: u64, amount: u64) -> String {
    format!(
        "mode=payment&client_reference_id=order_{n}\
         &success_url=https%3A%2F%2Fshop.example%2Fthanks\
         &line_items%5B0%5D%5Bquantity%5D=1\
         &line_items%5B0%5D%5Bprice_data%5D%5Bcurrency%5D=usd\
         &line_items%5B0%5D%5Bprice_data%5D%5Bunit_amount%5D={amount}\
         &line_items%5B0%5D%5Bprice_data%5D%5Bproduct_data%5D%5Bname%5D=Bench+T-shirt"
    )
}

fn customer_form(n: u64) -> String {
    format!("email=buyer{n}%40example.com&name=Bench+Buyer+{n}")
}

/// Objects an operation reads or refunds, made before the load starts.
#[derive(Debug, Clone, Default)]
pub struct Fixtures {
    pub customer: String,
    pub session: String,
    /// A charge big enough for every 1-cent refund of the run.
    pub charge: String,
}

/// The largest USD charge Stripe (and stripe-stateful-mock) accepts: room for ~10^8 refunds.
const BIG_AMOUNT: u64 = 99_999_999;

/// Makes the fixtures `kind` supports.
pub async fn fixtures(conn: &mut Conn, kind: Kind) -> Result<Fixtures, String> {
    let customer = conn
        .post_form("/v1/customers", &customer_form(0))
        .await?
        .ok_json("creating a customer")?["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut fixtures = Fixtures {
        customer,
        ..Fixtures::default()
    };
    match kind {
        Kind::StripeSim => {
            let (session, charge) = sim_payment(conn, 0, BIG_AMOUNT).await?;
            fixtures.session = session;
            fixtures.charge = charge;
        }
        Kind::Localstripe => {
            // localstripe refuses `tok_visa` as a charge source; `pm_card_visa` works.
            let form = format!("amount={BIG_AMOUNT}&currency=usd&source=pm_card_visa");
            fixtures.charge = id_of(conn.post_form("/v1/charges", &form).await, "a charge")?;
        }
        Kind::StatefulMock => {
            let form = format!("amount={BIG_AMOUNT}&currency=usd&source=tok_visa");
            fixtures.charge = id_of(conn.post_form("/v1/charges", &form).await, "a charge")?;
        }
    }
    Ok(fixtures)
}

fn id_of(answer: Result<crate::load::Answer, String>, what: &str) -> Result<String, String> {
    let value = answer?.ok_json(&format!("creating {what}"))?;
    value["id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("creating {what}: no id in the answer"))
}

/// On stripe-sim: a session paid by card 4242 through the control API (what the hosted page
/// does). Returns the session and its charge.
pub async fn sim_payment(conn: &mut Conn, n: u64, amount: u64) -> Result<(String, String), String> {
    let session = create_and_pay(conn, n, amount).await?;
    let session_now = conn
        .get(&format!(
            "/v1/checkout/sessions/{session}?expand%5B%5D=payment_intent"
        ))
        .await?
        .ok_json("retrieving the paid session")?;
    let charge = session_now["payment_intent"]["latest_charge"]
        .as_str()
        .ok_or("the paid session's PaymentIntent has no charge")?
        .to_string();
    Ok((session, charge))
}

/// On stripe-sim: creates a session for `amount` cents and pays it by card; returns its id.
async fn create_and_pay(conn: &mut Conn, n: u64, amount: u64) -> Result<String, String> {
    let session = id_of(
        conn.post_form("/v1/checkout/sessions", &session_form(n, amount))
            .await,
        "a checkout session",
    )?;
    conn.post_form(
        &format!("/_sim/checkout/sessions/{session}/pay"),
        "card=4242424242424242",
    )
    .await?
    .ok_json("paying the session")?;
    Ok(session)
}

/// One operation against one server, ready for the load generator.
pub struct Bound {
    pub op: Op,
    pub kind: Kind,
    pub fixtures: Fixtures,
}

impl Operation for Bound {
    fn run<'a>(
        &'a self,
        conn: &'a mut Conn,
        n: u64,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            let f = &self.fixtures;
            match self.op {
                Op::RetrieveCustomer => {
                    check(conn.get(&format!("/v1/customers/{}", f.customer)).await)
                }
                Op::CreateCustomer => {
                    check(conn.post_form("/v1/customers", &customer_form(n)).await)
                }
                Op::RetrieveSession => check(
                    conn.get(&format!("/v1/checkout/sessions/{}", f.session))
                        .await,
                ),
                Op::CreateSession => check(
                    conn.post_form("/v1/checkout/sessions", &session_form(n, 2000))
                        .await,
                ),
                Op::CreateRefund => check(
                    conn.post_form("/v1/refunds", &format!("charge={}&amount=1", f.charge))
                        .await,
                ),
                Op::Payment => payment(conn, self.kind, n).await,
            }
        })
    }
}

fn check(answer: Result<crate::load::Answer, String>) -> Result<(), String> {
    answer?.ok_json("request").map(|_| ())
}

/// A whole payment: on stripe-sim a Checkout Session created, paid by card on the hosted page's
/// route, and its `checkout.session.completed` event read back; on localstripe a PaymentIntent
/// confirmed with a card and its event read back; on stripe-stateful-mock (no PaymentIntents, no
/// events) a card charge.
async fn payment(conn: &mut Conn, kind: Kind, n: u64) -> Result<(), String> {
    match kind {
        Kind::StripeSim => {
            create_and_pay(conn, n, 2000).await?;
            newest_event_exists(conn, "checkout.session.completed").await
        }
        Kind::Localstripe => {
            conn.post_form(
                "/v1/payment_intents",
                "amount=2000&currency=usd&confirm=true&payment_method=pm_card_visa&payment_method_types%5B%5D=card",
            )
            .await?
            .ok_json("confirming a PaymentIntent")?;
            newest_event_exists(conn, "payment_intent.succeeded").await
        }
        Kind::StatefulMock => check(
            conn.post_form("/v1/charges", "amount=2000&currency=usd&source=tok_visa")
                .await,
        ),
    }
}

/// Reads the event log back: the payment's event must be there.
async fn newest_event_exists(conn: &mut Conn, event_type: &str) -> Result<(), String> {
    let events = conn
        .get(&format!("/v1/events?type={event_type}&limit=1"))
        .await?
        .ok_json("listing events")?;
    if events["data"].as_array().is_none_or(Vec::is_empty) {
        return Err(format!("no {event_type} event logged"));
    }
    Ok(())
}

/// Binds `op` to `kind` with its fixtures.
pub fn bind(op: Op, kind: Kind, fixtures: &Fixtures) -> Arc<dyn Operation> {
    Arc::new(Bound {
        op,
        kind,
        fixtures: fixtures.clone(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::net::SocketAddr;
    use std::time::Duration;

    use super::*;
    use crate::load::{run_count, run_window, Load};

    async fn simulator() -> (stripe_sim::Simulator, SocketAddr) {
        let sim = stripe_sim::Simulator::builder()
            .api_key(Kind::StripeSim.api_key())
            .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .start()
            .await
            .unwrap();
        let addr = sim
            .base_url()
            .trim_start_matches("http://")
            .parse()
            .unwrap();
        (sim, addr)
    }

    // Every operation the table measures succeeds on stripe-sim as encoded here: a benchmark of
    // error answers would measure nothing.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_operation_succeeds_against_stripe_sim() {
        let (_sim, addr) = simulator().await;
        let mut conn = Conn::connect(addr, Kind::StripeSim.api_key())
            .await
            .unwrap();
        let fixtures = fixtures(&mut conn, Kind::StripeSim).await.unwrap();
        assert!(fixtures.customer.starts_with("cus_"));
        assert!(fixtures.session.starts_with("cs_test_"));
        assert!(fixtures.charge.starts_with("ch_"));
        for op in Op::API.into_iter().chain([Op::Payment]) {
            let bound = bind(op, Kind::StripeSim, &fixtures);
            for n in 0..3 {
                bound
                    .run(&mut conn, n)
                    .await
                    .unwrap_or_else(|e| panic!("{}: {e}", op.label()));
            }
        }
        // The refunds came off the big charge, one cent each.
        let charge = conn
            .get(&format!("/v1/charges/{}", fixtures.charge))
            .await
            .unwrap()
            .ok_json("charge")
            .unwrap();
        assert_eq!(charge["amount_refunded"], 3);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_load_generator_counts_what_it_sends() {
        let (_sim, addr) = simulator().await;
        let create = bind(Op::CreateCustomer, Kind::StripeSim, &Fixtures::default());
        run_count(addr, Kind::StripeSim.api_key(), 3, 25, create.clone())
            .await
            .unwrap();
        let mut conn = Conn::connect(addr, Kind::StripeSim.api_key())
            .await
            .unwrap();
        let list = conn
            .get("/v1/customers?limit=100")
            .await
            .unwrap()
            .ok_json("customers")
            .unwrap();
        assert_eq!(list["data"].as_array().unwrap().len(), 25);

        let load = Load {
            connections: 2,
            warmup: Duration::from_millis(20),
            measure: Duration::from_millis(100),
        };
        let window = run_window(addr, Kind::StripeSim.api_key(), load, create, 1_000)
            .await
            .unwrap();
        assert!(window.completed > 0);
        assert_eq!(window.errors, 0, "{:?}", window.first_error);
        assert_eq!(window.latencies.len() as u64, window.completed);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn errors_are_counted_not_hidden() {
        let (_sim, addr) = simulator().await;
        let missing = Fixtures {
            customer: "cus_missing".into(),
            ..Fixtures::default()
        };
        let load = Load {
            connections: 1,
            warmup: Duration::ZERO,
            measure: Duration::from_millis(50),
        };
        let window = run_window(
            addr,
            Kind::StripeSim.api_key(),
            load,
            bind(Op::RetrieveCustomer, Kind::StripeSim, &missing),
            0,
        )
        .await
        .unwrap();
        assert_eq!(window.completed, 0);
        assert!(window.errors > 0);
        assert!(window.first_error.unwrap().contains("404"));
    }
}
