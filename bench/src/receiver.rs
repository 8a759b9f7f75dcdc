//! A fast webhook receiver: checks every delivery's `Stripe-Signature` (HMAC-SHA256 of
//! `t.body`, as the SDKs do), notes when each event arrived, and answers 200 at once.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use sha2::Sha256;
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// What has arrived.
#[derive(Debug, Default)]
struct Arrivals {
    valid: u64,
    invalid: u64,
    /// `data.object.id` → first arrival, for events of the watched type.
    watched: HashMap<String, Instant>,
}

/// A running receiver.
pub struct Receiver {
    pub url: String,
    secret: String,
    watch_type: Mutex<String>,
    arrivals: Mutex<Arrivals>,
    changed: Notify,
}

impl Receiver {
    /// Listens on a free loopback port (on the current runtime) for POSTs signed with `secret`.
    pub async fn start(secret: &str) -> Result<Arc<Receiver>, String> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("receiver cannot listen: {e}"))?;
        let addr: SocketAddr = listener.local_addr().map_err(|e| e.to_string())?;
        let receiver = Arc::new(Receiver {
            url: format!("http://{addr}/webhooks"),
            secret: secret.to_string(),
            watch_type: Mutex::new(String::new()),
            arrivals: Mutex::new(Arrivals::default()),
            changed: Notify::new(),
        });
        let serving = receiver.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                stream.set_nodelay(true).ok();
                let receiver = serving.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let receiver = receiver.clone();
                        async move { Ok::<_, Infallible>(receiver.handle(request).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(receiver)
    }

    async fn handle(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let arrived = Instant::now();
        let header = request
            .headers()
            .get("stripe-signature")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = match request.into_body().collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => return respond(400),
        };
        let valid = header.is_some_and(|h| verify(&self.secret, &h, &body));
        {
            let mut arrivals = self.arrivals.lock().unwrap_or_else(|p| p.into_inner());
            if !valid {
                arrivals.invalid += 1;
            } else {
                arrivals.valid += 1;
                let watch = self.watch_type.lock().unwrap_or_else(|p| p.into_inner());
                if !watch.is_empty() {
                    if let Some(object) = watched_object(&body, &watch) {
                        arrivals.watched.entry(object).or_insert(arrived);
                    }
                }
            }
        }
        self.changed.notify_waiters();
        respond(if valid { 200 } else { 400 })
    }

    /// Forgets what arrived, and watches events of `event_type` from now on.
    pub fn reset(&self, event_type: &str) {
        *self.arrivals.lock().unwrap_or_else(|p| p.into_inner()) = Arrivals::default();
        *self.watch_type.lock().unwrap_or_else(|p| p.into_inner()) = event_type.to_string();
    }

    /// Deliveries whose signature checked out, and those whose did not.
    pub fn counts(&self) -> (u64, u64) {
        let a = self.arrivals.lock().unwrap_or_else(|p| p.into_inner());
        (a.valid, a.invalid)
    }

    /// When the watched event about `object_id` first arrived.
    pub fn arrival_of(&self, object_id: &str) -> Option<Instant> {
        let a = self.arrivals.lock().unwrap_or_else(|p| p.into_inner());
        a.watched.get(object_id).copied()
    }

    /// Waits until `valid` signed deliveries have arrived (or `timeout`); the arrival count.
    pub async fn wait_for(&self, valid: u64, timeout: Duration) -> u64 {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            let (count, _) = self.counts();
            if count >= valid {
                return count;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.counts().0;
            }
        }
    }
}

fn respond(status: u16) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(b"{\"received\":true}")));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or_default();
    response
}

/// Stripe's scheme: `t=…,v1=…[,v1=…]`, v1 = hex HMAC-SHA256(secret, "t.body").
fn verify(secret: &str, header: &str, body: &[u8]) -> bool {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", t)) => timestamp = Some(t),
            Some(("v1", s)) => signatures.push(s),
            _ => {}
        }
    }
    let Some(t) = timestamp else { return false };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body);
    let expected = hex::encode(mac.finalize().into_bytes());
    signatures.iter().any(|s| *s == expected)
}

/// `data.object.id` of an event of type `event_type`.
fn watched_object(body: &[u8], event_type: &str) -> Option<String> {
    let event: serde_json::Value = serde_json::from_slice(body).ok()?;
    if event["type"] != event_type {
        return None;
    }
    event["data"]["object"]["id"].as_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::load::Conn;
    use crate::ops::sim_payment;

    // stripe-sim's real deliveries reach the receiver, verify, and are timed by session.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn receives_and_verifies_stripe_sim_deliveries() {
        let receiver = Receiver::start("whsec_receiver_test").await.unwrap();
        let sim = stripe_sim::Simulator::builder()
            .api_key("sk_test_receiver")
            .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .start()
            .await
            .unwrap();
        sim.add_webhook_endpoint(stripe_sim::EndpointSpec {
            url: receiver.url.clone(),
            enabled_events: vec!["*".into()],
            secret: Some("whsec_receiver_test".into()),
            api_version: None,
        })
        .unwrap();
        receiver.reset("checkout.session.completed");
        let addr = sim
            .base_url()
            .trim_start_matches("http://")
            .parse()
            .unwrap();
        let mut conn = Conn::connect(addr, "sk_test_receiver").await.unwrap();
        let (session, _) = sim_payment(&mut conn, 1, 2000).await.unwrap();
        assert!(sim.wait_for_deliveries(Duration::from_secs(10)).await);
        let (valid, invalid) = receiver.counts();
        assert!(
            valid >= 3,
            "payment_intent, charge and session events: {valid}"
        );
        assert_eq!(invalid, 0);
        assert!(receiver.arrival_of(&session).is_some());
        assert_eq!(
            receiver.wait_for(valid, Duration::from_millis(10)).await,
            valid
        );
    }

    // The fact sheet's test vector style: a signature made here must verify, a changed body not.
    #[test]
    fn verifies_stripe_signatures() {
        let secret = "whsec_test";
        let body = br#"{"id":"evt_1"}"#;
        let mut mac =
            Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!());
        mac.update(b"1700000000.");
        mac.update(body);
        let sig = hex::encode(mac.finalize().into_bytes());
        let header = format!("t=1700000000,v1={sig}");
        assert!(verify(secret, &header, body));
        assert!(!verify(secret, &header, br#"{"id":"evt_2"}"#));
        assert!(!verify("whsec_other", &header, body));
        assert!(!verify(secret, "v1=abc", body));
    }

    #[test]
    fn finds_the_object_of_watched_events_only() {
        let body = br#"{"type":"customer.created","data":{"object":{"id":"cus_1"}}}"#;
        assert_eq!(
            watched_object(body, "customer.created").as_deref(),
            Some("cus_1")
        );
        assert_eq!(watched_object(body, "charge.refunded"), None);
    }
}
