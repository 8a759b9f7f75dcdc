//! Scale: how fast a server starts, and how much memory each stored Checkout Session costs once
//! a million are stored.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::load::{run_count, Conn, Operation};
use crate::ops::{bind, Fixtures, Op};
use crate::servers::{Kind, Programs, Server, SimOptions};
use crate::stats::Runs;

/// Startup times (spawn to the first 200 on the ready path), in milliseconds.
pub fn startup(kind: Kind, programs: &Programs, runs: usize) -> Result<Runs, String> {
    let mut times = Vec::new();
    for _ in 0..runs {
        let server = Server::start(kind, programs, &SimOptions::default())?;
        times.push(server.startup.as_secs_f64() * 1000.0);
    }
    Ok(Runs::new(times))
}

/// What filling stripe-sim with sessions gave.
#[derive(Debug, Clone)]
pub struct SessionMemory {
    pub sessions: u64,
    pub bytes_per_session: f64,
    pub fill_time: Duration,
    pub peak_kib: u64,
}

/// How the sessions name what they sell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pricing {
    /// A stored Price, as Payment Links do: the session is all that is stored.
    StoredPrice,
    /// `price_data` with `product_data`: Stripe stores an inline Product and Price beside each
    /// session (and the simulator their `product.created` and `price.created` events).
    PriceData,
}

/// Creates `sessions` Checkout Sessions over the API and divides the server's memory growth by
/// their number (resident memory after, minus resident memory after a small warm-up).
pub fn session_memory(
    runtime: &tokio::runtime::Runtime,
    programs: &Programs,
    sessions: u64,
    pricing: Pricing,
) -> Result<SessionMemory, String> {
    // Every event kept (no --max-records), so the figure is what each session really costs.
    let options = SimOptions {
        extra: vec!["--max-records".into(), "0".into()],
        ..SimOptions::default()
    };
    let server = Server::start(Kind::StripeSim, programs, &options)?;
    let key = Kind::StripeSim.api_key();
    let create: Arc<dyn Operation> = match pricing {
        Pricing::PriceData => bind(Op::CreateSession, Kind::StripeSim, &Fixtures::default()),
        Pricing::StoredPrice => {
            let price = runtime.block_on(async {
                let mut conn = Conn::connect(server.addr, key).await?;
                let price = conn
                    .post_form(
                        "/v1/prices",
                        "currency=usd&unit_amount=2000&product_data%5Bname%5D=Bench+T-shirt",
                    )
                    .await?
                    .ok_json("creating a price")?;
                Ok::<_, String>(price["id"].as_str().unwrap_or_default().to_string())
            })?;
            Arc::new(SessionOfPrice { price })
        }
    };
    runtime.block_on(run_count(server.addr, key, 4, 1_000, create.clone()))?;
    let before = server
        .memory_kib()
        .ok_or("cannot read the server's memory")?;
    let fill_time = runtime.block_on(run_count(server.addr, key, 16, sessions, create))?;
    let after = server
        .memory_kib()
        .ok_or("cannot read the server's memory")?;
    Ok(SessionMemory {
        sessions,
        bytes_per_session: (after.saturating_sub(before) * 1024) as f64 / sessions as f64,
        fill_time,
        peak_kib: server.peak_memory_kib().unwrap_or(0),
    })
}

/// `POST /v1/checkout/sessions` for one unit of a stored price.
struct SessionOfPrice {
    price: String,
}

impl Operation for SessionOfPrice {
    fn run<'a>(
        &'a self,
        conn: &'a mut Conn,
        n: u64,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            let form = format!(
                "mode=payment&client_reference_id=order_{n}\
                 &success_url=https%3A%2F%2Fshop.example%2Fthanks\
                 &line_items%5B0%5D%5Bprice%5D={}&line_items%5B0%5D%5Bquantity%5D=1",
                self.price
            );
            conn.post_form("/v1/checkout/sessions", &form)
                .await?
                .ok_json("creating a session")
                .map(|_| ())
        })
    }
}
