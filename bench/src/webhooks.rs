//! Webhook benchmarks: signed deliveries per second to a fast local receiver, and the time from
//! a payment to its delivery. stripe-stateful-mock sends no webhooks at all; localstripe sends
//! `customer.created` (its charges and refunds send none), each after a fixed 1 s sleep.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::load::{run_count, Conn, Operation};
use crate::ops::{bind, session_form, Fixtures, Op};
use crate::receiver::Receiver;
use crate::servers::{Kind, Programs, Server, SimOptions};
use crate::stats::{percentile, Runs};

pub const SECRET: &str = "whsec_stripebench";

/// What the webhook benchmarks of one server gave.
#[derive(Debug, Clone, Default)]
pub struct WebhookFigures {
    /// Deliveries per second while a burst of payments (customers on localstripe) is made.
    pub burst: Runs,
    /// stripe-sim only: a held backlog released at once.
    pub backlog: Runs,
    pub latency_p50: Duration,
    pub latency_p99: Duration,
    /// Deliveries whose signature did not verify (must stay 0).
    pub bad_signatures: u64,
}

/// Settings of the webhook runs.
#[derive(Debug, Clone, Copy)]
pub struct WebhookPlan {
    pub runs: usize,
    /// Payments per burst / backlog on stripe-sim.
    pub payments: u64,
    /// Customers per burst on localstripe (it slows down as its store grows).
    pub peer_events: u64,
    /// Payments (or customers) timed one by one for the latency.
    pub latency_samples: u64,
    pub connections: usize,
}

pub fn measure(
    runtime: &tokio::runtime::Runtime,
    kind: Kind,
    programs: &Programs,
    plan: WebhookPlan,
) -> Result<WebhookFigures, String> {
    let receiver = runtime.block_on(Receiver::start(SECRET))?;
    match kind {
        Kind::StripeSim => {
            let server = Server::start(
                kind,
                programs,
                &SimOptions {
                    forward_to: Some(receiver.url.clone()),
                    webhook_secret: Some(SECRET.to_string()),
                    events: None,
                    extra: Vec::new(),
                },
            )?;
            runtime.block_on(sim(&server, &receiver, plan))
        }
        Kind::Localstripe => {
            let server = Server::start(kind, programs, &SimOptions::default())?;
            runtime.block_on(localstripe(&server, &receiver, plan))
        }
        Kind::StatefulMock => Err("stripe-stateful-mock sends no webhooks".into()),
    }
}

async fn sim(
    server: &Server,
    receiver: &Receiver,
    plan: WebhookPlan,
) -> Result<WebhookFigures, String> {
    let key = server.kind.api_key();
    let mut control = Conn::connect(server.addr, key).await?;
    let pay = bind(Op::Payment, Kind::StripeSim, &Fixtures::default());
    // Warm-up: connections, allocator, the receiver.
    run_count(server.addr, key, plan.connections, 200, pay.clone()).await?;
    receiver.wait_for(1, Duration::from_secs(5)).await;
    let mut figures = WebhookFigures::default();
    let (mut burst, mut backlog) = (Vec::new(), Vec::new());
    let mut next = 1_000u64;
    for _ in 0..plan.runs {
        // A burst: deliveries while payments are being made, first request to last arrival.
        settle(&mut control).await?;
        receiver.reset("");
        let started = Instant::now();
        make(server, &plan, &pay, plan.payments, &mut next).await?;
        settle(&mut control).await?;
        let (delivered, bad) = receiver.counts();
        figures.bad_signatures += bad;
        burst.push(delivered as f64 / started.elapsed().as_secs_f64());

        // A backlog: the same payments held, then released at once.
        control
            .post_form("/_sim/webhooks/hold", "")
            .await?
            .ok_json("holding")?;
        make(server, &plan, &pay, plan.payments, &mut next).await?;
        let status = control
            .get("/_sim/webhooks")
            .await?
            .ok_json("delivery status")?;
        let held = status["held"].as_u64().unwrap_or(0);
        receiver.reset("");
        let started = Instant::now();
        let release = control.send_json(
            "/_sim/webhooks/release",
            r#"{"parallel":true,"resume":true}"#,
        );
        let (answer, arrived) =
            tokio::join!(release, receiver.wait_for(held, Duration::from_secs(120)));
        let elapsed = started.elapsed();
        answer?.ok_json("releasing")?;
        if arrived < held {
            return Err(format!("released {held} deliveries, {arrived} arrived"));
        }
        figures.bad_signatures += receiver.counts().1;
        backlog.push(held as f64 / elapsed.as_secs_f64());
    }
    figures.burst = Runs::new(burst);
    figures.backlog = Runs::new(backlog);

    // Latency: one payment at a time, from the pay request to its checkout.session.completed.
    settle(&mut control).await?;
    receiver.reset("checkout.session.completed");
    let mut paid = Vec::new();
    for n in 0..plan.latency_samples {
        let session = control
            .post_form("/v1/checkout/sessions", &session_form(next + n, 2000))
            .await?
            .ok_json("creating a session")?["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let sent = Instant::now();
        control
            .post_form(
                &format!("/_sim/checkout/sessions/{session}/pay"),
                "card=4242424242424242",
            )
            .await?
            .ok_json("paying")?;
        paid.push((session, sent));
    }
    settle(&mut control).await?;
    (figures.latency_p50, figures.latency_p99) = latencies(receiver, &paid)?;
    Ok(figures)
}

/// Waits until stripe-sim has no delivery in flight or due.
async fn settle(control: &mut Conn) -> Result<(), String> {
    control
        .send_json("/_sim/webhooks/flush", r#"{"timeout_ms":60000}"#)
        .await?
        .ok_json("flushing deliveries")
        .map(|_| ())
}

async fn localstripe(
    server: &Server,
    receiver: &Receiver,
    plan: WebhookPlan,
) -> Result<WebhookFigures, String> {
    let key = server.kind.api_key();
    let mut control = Conn::connect(server.addr, key).await?;
    let form = format!(
        "url={}&secret={SECRET}&events%5B%5D=customer.created",
        receiver.url.replace(':', "%3A").replace('/', "%2F")
    );
    control
        .post_form("/_config/webhooks/stripebench", &form)
        .await?
        .ok_json("registering the webhook")?;
    let create = bind(Op::CreateCustomer, Kind::Localstripe, &Fixtures::default());
    let mut figures = WebhookFigures::default();
    let mut burst = Vec::new();
    let mut next = 1_000u64;
    for _ in 0..plan.runs {
        receiver.reset("");
        let started = Instant::now();
        make(server, &plan, &create, plan.peer_events, &mut next).await?;
        let arrived = receiver
            .wait_for(plan.peer_events, Duration::from_secs(60))
            .await;
        let elapsed = started.elapsed();
        if arrived < plan.peer_events {
            return Err(format!(
                "{} customers created, {arrived} customer.created delivered",
                plan.peer_events
            ));
        }
        figures.bad_signatures += receiver.counts().1;
        burst.push(arrived as f64 / elapsed.as_secs_f64());
    }
    figures.burst = Runs::new(burst);
    receiver.reset("customer.created");
    let mut created = Vec::new();
    for n in 0..plan.latency_samples {
        let sent = Instant::now();
        let customer = control
            .post_form("/v1/customers", &format!("email=late{n}%40example.com"))
            .await?
            .ok_json("creating a customer")?["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        created.push((customer, sent));
    }
    receiver
        .wait_for(plan.latency_samples, Duration::from_secs(30))
        .await;
    (figures.latency_p50, figures.latency_p99) = latencies(receiver, &created)?;
    Ok(figures)
}

fn latencies(
    receiver: &Receiver,
    sent: &[(String, Instant)],
) -> Result<(Duration, Duration), String> {
    let mut all = Vec::new();
    for (object, at) in sent {
        let arrived = receiver
            .arrival_of(object)
            .ok_or_else(|| format!("no delivery arrived about {object}"))?;
        all.push(arrived.saturating_duration_since(*at));
    }
    Ok((percentile(&mut all, 50.0), percentile(&mut all, 99.0)))
}

/// Runs `op` `count` times over the plan's connections, numbering its iterations from `*next`
/// on (ids stay unique across runs).
async fn make(
    server: &Server,
    plan: &WebhookPlan,
    op: &Arc<dyn Operation>,
    count: u64,
    next: &mut u64,
) -> Result<(), String> {
    let numbered = Offset::wrap(op.clone(), *next);
    run_count(
        server.addr,
        server.kind.api_key(),
        plan.connections,
        count,
        numbered,
    )
    .await?;
    *next += count;
    Ok(())
}

/// An operation whose iteration numbers start at `offset` (unique ids across runs).
struct Offset {
    inner: Arc<dyn Operation>,
    offset: u64,
}

impl Offset {
    fn wrap(inner: Arc<dyn Operation>, offset: u64) -> Arc<dyn Operation> {
        Arc::new(Offset { inner, offset })
    }
}

impl Operation for Offset {
    fn run<'a>(
        &'a self,
        conn: &'a mut Conn,
        n: u64,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + 'a>> {
        self.inner.run(conn, n + self.offset)
    }
}
