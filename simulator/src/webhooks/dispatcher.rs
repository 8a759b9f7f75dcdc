//! Sending deliveries: signing each attempt with the wall clock, applying faults, and the
//! background loop that picks up due attempts.
//!
//! Attempts run on their own tasks, bounded by a semaphore, and never hold the store lock while
//! waiting on the network: a slow or dead endpoint costs one permit, not the API.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::clock::wall_clock_now;
use crate::ids::IdGenerator;
use crate::live::Live;
use crate::shared::Shared;
use crate::webhooks::faults::{tamper, DuplicateMode, FaultKind, Forgery};
use crate::webhooks::log::{Attempt, AttemptJob, DeliveryRecord};
use crate::webhooks::signature;

/// How often the loop looks for due retries when nothing wakes it (system clock).
const POLL: Duration = Duration::from_millis(250);

/// How much of a response body the log keeps by default ([`crate::SimConfig`]'s
/// `webhook_answer_excerpt`): enough to recognise an error page, small enough for a log of a
/// million attempts.
pub const RESPONSE_EXCERPT: usize = 512;

/// How much of a response body is read at most. Reading a small answer to its end lets the
/// connection be reused; an endpoint answering megabytes (or forever) costs no more than this:
/// the rest is never read, and the connection is dropped.
pub const MAX_RESPONSE_READ: usize = 64 * 1024;

/// How old a `stale` fault's timestamp is: well past the SDKs' 300 s tolerance.
const STALE_AGE: i64 = 3600;

/// What the request carries as `Stripe-Signature`, and the body actually sent.
struct Prepared {
    signature: Option<String>,
    body: Vec<u8>,
    signed_at: i64,
}

fn prepare(job: &AttemptJob, forgery: Option<Forgery>) -> Prepared {
    let now = wall_clock_now();
    let secrets: Vec<&str> = job.secrets.iter().map(String::as_str).collect();
    let genuine = |t: i64| Some(signature::header(&secrets, t, &job.body));
    match forgery {
        Some(Forgery::Tamper) => Prepared {
            signature: genuine(now),
            body: tamper(&job.body),
            signed_at: now,
        },
        Some(Forgery::Stale) => Prepared {
            signature: genuine(now - STALE_AGE),
            body: job.body.clone(),
            signed_at: now - STALE_AGE,
        },
        Some(Forgery::WrongSecret) => {
            // A secret nobody was given, derived from the body so it is stable per event.
            let mut rng = IdGenerator::new(job.body.len() as u64 ^ 0x5eed);
            let wrong = format!("whsec_{}", rng.alphanumeric(32));
            Prepared {
                signature: Some(signature::header(&[&wrong], now, &job.body)),
                body: job.body.clone(),
                signed_at: now,
            }
        }
        Some(Forgery::Unsigned) => Prepared {
            signature: None,
            body: job.body.clone(),
            signed_at: now,
        },
        Some(Forgery::BadHeader) => Prepared {
            signature: Some(format!(
                "t={now}v1:{}",
                signature::sign(secrets.last().copied().unwrap_or_default(), now, &job.body)
            )),
            body: job.body.clone(),
            signed_at: now,
        },
        None => Prepared {
            signature: genuine(now),
            body: job.body.clone(),
            signed_at: now,
        },
    }
}

/// One POST, with Stripe's headers, never following redirects (3xx is a failure).
async fn post(
    client: &reqwest::Client,
    url: &str,
    prepared: Prepared,
    config: &crate::SimConfig,
    at: i64,
    fault: Option<FaultKind>,
    manual: bool,
) -> Attempt {
    let timeout = config.webhook_timeout;
    let mut request = client
        .post(url)
        .timeout(timeout)
        .header("Content-Type", "application/json; charset=utf-8")
        .header(
            "User-Agent",
            "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        )
        .header("Accept", "*/*; q=0.5, application/xml")
        .header("Cache-Control", "no-cache")
        .body(prepared.body);
    if let Some(sig) = &prepared.signature {
        request = request.header("Stripe-Signature", sig.as_str());
    }
    let started = Instant::now();
    let result = request.send().await;
    let mut attempt = Attempt {
        seq: 0,
        at,
        signed_at: prepared.signed_at,
        status_code: None,
        latency_ms: 0,
        error: None,
        response: String::new(),
        fault,
        manual,
        signature: prepared.signature,
    };
    match result {
        Ok(response) => {
            attempt.status_code = Some(response.status().as_u16());
            match read_excerpt(response, config.webhook_answer_excerpt).await {
                Ok(excerpt) => attempt.response = String::from_utf8_lossy(&excerpt).into_owned(),
                Err(e) => attempt.error = Some(format!("reading the response failed: {e}")),
            }
        }
        Err(e) => {
            attempt.error = Some(if e.is_timeout() {
                format!("timed out after {} ms", timeout.as_millis())
            } else if e.is_connect() {
                format!("connection failed: {e}")
            } else {
                e.to_string()
            });
        }
    }
    attempt.latency_ms = started.elapsed().as_millis() as u64;
    attempt
}

/// Streams at most [`MAX_RESPONSE_READ`] bytes of a response and keeps the first
/// `excerpt_bytes` of them; the rest of the body is left unread.
async fn read_excerpt(
    mut response: reqwest::Response,
    excerpt_bytes: usize,
) -> reqwest::Result<Vec<u8>> {
    let mut excerpt = Vec::new();
    let mut read = 0;
    while read < MAX_RESPONSE_READ {
        let Some(chunk) = response.chunk().await? else {
            break;
        };
        read += chunk.len();
        let room = excerpt_bytes.saturating_sub(excerpt.len());
        excerpt.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
    Ok(excerpt)
}

/// Sends one job, applying its fault, and returns every attempt made (two for a duplicate).
pub async fn execute(
    client: &reqwest::Client,
    job: &AttemptJob,
    sim_now: i64,
    config: &crate::SimConfig,
) -> Vec<Attempt> {
    let fault = job.fault.as_ref();
    let kind = fault.map(|f| f.fault);
    // One request of this job, signed now; `forgery` decides how the signature is spoiled.
    let send = |forgery: Option<Forgery>| {
        post(
            client,
            &job.url,
            prepare(job, forgery),
            config,
            sim_now,
            kind,
            job.manual,
        )
    };
    match kind {
        Some(FaultKind::Drop) => vec![Attempt {
            seq: 0,
            at: sim_now,
            signed_at: wall_clock_now(),
            status_code: None,
            latency_ms: 0,
            error: Some(
                "dropped by fault injection: the request never reached the endpoint".to_string(),
            ),
            response: String::new(),
            fault: kind,
            manual: job.manual,
            signature: None,
        }],
        Some(FaultKind::Duplicate) => {
            match fault.and_then(|f| f.duplicate_mode).unwrap_or_default() {
                DuplicateMode::Concurrent => {
                    let (a, b) = tokio::join!(send(None), send(None));
                    vec![a, b]
                }
                DuplicateMode::Sequential => vec![send(None).await, send(None).await],
            }
        }
        Some(FaultKind::Delay) => {
            if let Some(ms) = fault.and_then(|f| f.delay_ms) {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            vec![send(None).await]
        }
        Some(FaultKind::Forge(forgery)) => vec![send(Some(forgery)).await],
        None => vec![send(None).await],
    }
}

/// Sends a job under a concurrency permit and records the outcome.
pub async fn run_job(shared: &Shared, job: AttemptJob) -> Vec<Attempt> {
    run_job_recorded(shared, job).await.0
}

/// [`run_job`], also answering the job's record as the outcome left it (read in the same
/// operation, before retention may drop a finished record).
pub async fn run_job_recorded(
    shared: &Shared,
    job: AttemptJob,
) -> (Vec<Attempt>, Option<DeliveryRecord>) {
    let _permit = shared.delivery_permits.acquire().await;
    let attempts = execute(&shared.http, &job, shared.clock.now(), &shared.config).await;
    let mut record = None;
    if let Some(record_id) = &job.record_id {
        let recorded = attempts.clone();
        record = shared.with_store(|store, now| {
            if job.manual {
                store.log_manual_attempts(record_id, recorded);
            } else {
                store.finish_attempts(record_id, recorded, now);
            }
            store.deliveries.get(record_id).cloned()
        });
        if shared.live.watched() {
            if let Some(record) = &record {
                shared.live.send(Live::attempts(record, &attempts));
            }
        }
    }
    shared.settled.notify_waiters();
    (attempts, record)
}

/// The background loop: whenever woken (new events, a clock advance, a finished attempt) or
/// every [`POLL`], start every attempt that is due.
pub async fn run(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut poll = tokio::time::interval(POLL);
    loop {
        tokio::select! {
            _ = shared.wake.notified() => {}
            _ = poll.tick() => {}
            _ = stop.changed() => break,
        }
        let jobs = shared.with_store(|store, now| store.take_due_attempts(now));
        if shared.config.delivery_concurrency <= 1 {
            // One at a time, in event order: deterministic arrival for test drivers.
            for job in jobs {
                run_job(&shared, job).await;
            }
            continue;
        }
        for job in jobs {
            let task_shared = shared.clone();
            tokio::spawn(async move {
                run_job(&task_shared, job).await;
            });
        }
    }
}
