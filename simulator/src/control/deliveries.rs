//! Control over webhook delivery: endpoints and their secrets, holding and releasing, faults,
//! one-off signed or forged requests, resends, and the delivery log.

use std::time::Duration;

use serde_json::Value;

use crate::control::{Control, DeliveryStatus, EventView, RolledSecret, WebhookEndpointInfo};
use crate::error::{ApiError, ApiResult};
use crate::params::Metadata;
use crate::resources::webhook_endpoint::EndpointSpec;
use crate::typed_ids::{EndpointId, EventId};
use crate::webhooks::dispatcher::{execute, run_job};
use crate::webhooks::faults::{DuplicateMode, Fault, Forgery};
use crate::webhooks::log::{
    Attempt, AttemptJob, DeliveryMode, DeliveryRecord, RecordStatus, ReleaseOrder,
};

/// The longest a rolled-away secret keeps signing: Stripe allows 24 hours.
pub const MAX_ROLL_OVERLAP: i64 = 24 * 3600;

/// Releasing held deliveries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Release {
    pub order: ReleaseOrder,
    /// Send each released delivery twice.
    pub duplicate: Option<DuplicateMode>,
    /// All at once (up to the delivery concurrency), as Stripe does when an endpoint comes back:
    /// arrival order is then not guaranteed. Otherwise one after the other, each awaited.
    pub parallel: bool,
    /// Deliver automatically again afterwards.
    pub resume: bool,
}

/// Where a one-off request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryTarget {
    /// A registered endpoint, signed with its current secrets.
    Endpoint(EndpointId),
    /// Any URL, signed with this secret.
    Url { url: String, secret: String },
}

/// What a one-off request carries.
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryBody {
    /// An event of the log, rendered as its endpoint would receive it.
    Event(EventId),
    /// Any JSON, sent as serialized here.
    Json(Value),
    /// Any text, byte for byte.
    Raw(String),
}

/// One request outside the delivery log and its retries: genuine, or forged.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub to: DeliveryTarget,
    pub body: DeliveryBody,
    pub forgery: Option<Forgery>,
}

/// Which records of the delivery log to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryFilter {
    pub event: Option<EventId>,
    pub endpoint: Option<EndpointId>,
    pub outcome: Option<RecordStatus>,
}

impl Control {
    /// Adds a webhook endpoint now; with `spec.secret` unset a `whsec_…` secret is generated.
    pub fn add_webhook_endpoint(&self, spec: EndpointSpec) -> ApiResult<WebhookEndpointInfo> {
        self.shared.with_store(|store, now| {
            let id = store.add_webhook_endpoint(spec, None, Metadata::new(), now)?;
            store.endpoint_info(&id)
        })
    }

    /// Every webhook endpoint with its current secret.
    pub fn webhook_endpoints(&self) -> Vec<WebhookEndpointInfo> {
        self.shared.with_store(|store, _| {
            store
                .webhook_endpoints
                .iter()
                .filter_map(|e| store.endpoint_info(&e.id).ok())
                .collect()
        })
    }

    /// Rolls an endpoint's secret; the old one keeps signing for `overlap_seconds` (0 to 24
    /// hours, as Stripe allows).
    pub fn roll_webhook_secret(
        &self,
        endpoint: &EndpointId,
        overlap_seconds: i64,
    ) -> ApiResult<RolledSecret> {
        if !(0..=MAX_ROLL_OVERLAP).contains(&overlap_seconds) {
            return Err(ApiError::invalid(
                format!("expires_in must be between 0 and {MAX_ROLL_OVERLAP} seconds (24 hours)."),
                Some("expires_in"),
            ));
        }
        self.shared.with_store(|store, now| {
            let expires_at = store.roll_webhook_secret(endpoint, overlap_seconds, now)?;
            Ok(RolledSecret {
                id: endpoint.clone(),
                secret: store.endpoint_info(endpoint)?.secret,
                previous_secret_expires_at: expires_at,
            })
        })
    }

    /// `Auto` delivers at once; `Hold` queues deliveries until [`Control::release`].
    pub fn set_delivery_mode(&self, mode: DeliveryMode) {
        self.shared
            .with_store(|store, _| store.deliveries.mode = mode);
    }

    /// The mode, the records by state, what is scheduled and which faults wait.
    pub fn delivery_status(&self) -> DeliveryStatus {
        self.shared.with_store(|store, now| {
            let log = &store.deliveries;
            let count =
                |status: RecordStatus| log.records().iter().filter(|r| r.status == status).count();
            DeliveryStatus {
                mode: log.mode,
                held: count(RecordStatus::Held),
                pending: count(RecordStatus::Pending),
                in_flight: count(RecordStatus::InFlight),
                succeeded: count(RecordStatus::Succeeded),
                failed: count(RecordStatus::Failed),
                idle: log.idle(now),
                next_attempt_at: log.next_due(),
                faults: log.faults.clone(),
                retry_schedule: log.policy.delays.clone(),
            }
        })
    }

    /// Sends the held deliveries in `release.order`, one after the other (each awaited, so the
    /// receiver sees exactly that order) or all at once. Returns the records released.
    pub async fn release(&self, release: Release) -> ApiResult<Vec<DeliveryRecord>> {
        let jobs = self
            .shared
            .with_store(|store, now| store.release_held(&release.order, release.duplicate, now))?;
        let record_ids: Vec<String> = jobs.iter().filter_map(|j| j.record_id.clone()).collect();
        if release.parallel {
            let mut running = tokio::task::JoinSet::new();
            for job in jobs {
                let shared = self.shared.clone();
                running.spawn(async move { run_job(&shared, job).await });
            }
            while running.join_next().await.is_some() {}
        } else {
            for job in jobs {
                run_job(&self.shared, job).await;
            }
        }
        if release.resume {
            self.set_delivery_mode(DeliveryMode::Auto);
        }
        Ok(self.shared.with_store(|store, _| {
            record_ids
                .iter()
                .filter_map(|id| store.deliveries.get(id).cloned())
                .collect()
        }))
    }

    /// Applies `fault` to the next matching delivery attempts, after checking that it means
    /// something (a count of at least one, a delay with its duration, an event type that
    /// exists, an endpoint that exists).
    pub fn add_fault(&self, fault: Fault) -> ApiResult<()> {
        self.add_faults(vec![fault])
    }

    /// [`Control::add_fault`] for several faults: all are added, or none.
    pub fn add_faults(&self, faults: Vec<Fault>) -> ApiResult<()> {
        for fault in &faults {
            fault.validate()?;
        }
        self.shared.with_store(|store, _| {
            for fault in &faults {
                if let Some(endpoint) = &fault.endpoint {
                    if store.webhook_endpoints.get(endpoint).is_none() {
                        return Err(ApiError::no_such("webhook_endpoint", endpoint, "endpoint"));
                    }
                }
            }
            store.deliveries.faults.extend(faults);
            Ok(())
        })
    }

    /// The faults still waiting to apply.
    pub fn faults(&self) -> Vec<Fault> {
        self.shared
            .with_store(|store, _| store.deliveries.faults.clone())
    }

    pub fn clear_faults(&self) {
        self.shared
            .with_store(|store, _| store.deliveries.faults.clear());
    }

    /// Sends one request, signed or forged, and answers with what the endpoint said. It is not
    /// part of the delivery log or its retries.
    pub async fn deliver(&self, delivery: Delivery) -> ApiResult<Attempt> {
        let job = self
            .shared
            .with_store(|store, now| -> ApiResult<AttemptJob> {
                let (url, secrets, endpoint_id) = match &delivery.to {
                    DeliveryTarget::Endpoint(id) => {
                        let endpoint = store
                            .webhook_endpoints
                            .get(id)
                            .ok_or_else(|| ApiError::no_such("webhook_endpoint", id, "endpoint"))?;
                        (
                            endpoint.url.clone(),
                            endpoint.signing_secrets(now),
                            Some(id.as_str()),
                        )
                    }
                    DeliveryTarget::Url { url, secret } => {
                        (url.clone(), vec![secret.clone()], None)
                    }
                };
                let body = match &delivery.body {
                    DeliveryBody::Event(id) => {
                        let event = store
                            .events
                            .get(id)
                            .ok_or_else(|| ApiError::no_such("event", id, "event_id"))?;
                        match endpoint_id {
                            Some(endpoint) => store.event_body(id, endpoint).unwrap_or_default(),
                            None => store.event_json(event, None),
                        }
                    }
                    DeliveryBody::Json(value) => serde_json::to_vec(value).unwrap_or_default(),
                    DeliveryBody::Raw(text) => text.clone().into_bytes(),
                };
                Ok(AttemptJob {
                    record_id: None,
                    url,
                    secrets,
                    body,
                    fault: delivery.forgery.map(Fault::new),
                    manual: true,
                })
            })?;
        let attempts = execute(
            &self.shared.http,
            &job,
            self.shared.clock.now(),
            self.shared.config.webhook_timeout,
        )
        .await;
        attempts
            .into_iter()
            .next()
            .ok_or_else(|| ApiError::internal("the delivery made no attempt"))
    }

    /// Resends an event now to one endpoint (or every endpoint), outside its retry schedule, like
    /// `stripe events resend`: retries already scheduled are not cancelled. Returns the attempts.
    pub async fn resend(
        &self,
        event: &EventId,
        endpoint: Option<&EndpointId>,
    ) -> ApiResult<Vec<Attempt>> {
        let jobs = self
            .shared
            .with_store(|store, now| store.resend_jobs(event, endpoint.map(|e| e.as_str()), now))?;
        let mut attempts = Vec::new();
        for job in jobs {
            attempts.extend(run_job(&self.shared, job).await);
        }
        Ok(attempts)
    }

    /// A second Event object (new id, same type and data) for the change `event` recorded, as
    /// Stripe sometimes generates; it is delivered like any new event. Not a redelivery of the
    /// same event: that is [`Control::resend`].
    pub fn reissue_event(&self, event: &EventId) -> ApiResult<EventView> {
        self.shared.with_store(|store, now| {
            let id = store.duplicate_event(event, now)?;
            store
                .events
                .get(&id)
                .map(EventView::of)
                .ok_or_else(|| ApiError::internal("the reissued event vanished"))
        })
    }

    /// Waits until no delivery is in flight or due now (held ones excepted), up to `timeout`.
    /// Returns whether that point was reached.
    pub async fn wait_for_deliveries(&self, timeout: Duration) -> bool {
        self.shared.wait_for_deliveries(timeout).await
    }

    /// Waits until the deliveries that exist now have settled, whatever is created meanwhile:
    /// for drivers that share one simulator.
    pub async fn wait_for_deliveries_so_far(&self, timeout: Duration) -> bool {
        self.shared.wait_for_deliveries_so_far(timeout).await
    }

    /// The delivery log: every (event, endpoint) record with its attempts, oldest first.
    pub fn deliveries(&self, filter: &DeliveryFilter) -> Vec<DeliveryRecord> {
        self.shared.with_store(|store, _| {
            store
                .deliveries
                .records()
                .iter()
                .filter(|r| filter.event.as_ref().is_none_or(|e| r.event_id == *e))
                .filter(|r| filter.endpoint.as_ref().is_none_or(|e| r.endpoint_id == *e))
                .filter(|r| filter.outcome.is_none_or(|o| r.status == o))
                .cloned()
                .collect()
        })
    }

    /// How many delivery records exist: a mark for [`Control::deliveries_since`].
    pub fn delivery_count(&self) -> usize {
        self.shared
            .with_store(|store, _| store.deliveries.records().len())
    }

    /// The delivery records created since `mark` (an earlier [`Control::delivery_count`]).
    pub fn deliveries_since(&self, mark: usize) -> Vec<DeliveryRecord> {
        self.shared
            .with_store(|store, _| store.deliveries.records_since(mark).to_vec())
    }

    /// When the next delivery attempt is due (simulator time), if any is scheduled.
    pub fn next_delivery_due(&self) -> Option<i64> {
        self.shared
            .with_store(|store, _| store.deliveries.next_due())
    }
}

impl crate::store::Store {
    /// An endpoint's id, URL and current secret.
    pub(crate) fn endpoint_info(&self, id: &str) -> ApiResult<WebhookEndpointInfo> {
        let endpoint = self
            .webhook_endpoints
            .get(id)
            .ok_or_else(|| ApiError::no_such("webhook_endpoint", id, "id"))?;
        Ok(WebhookEndpointInfo {
            id: EndpointId::trusted(endpoint.id.as_str()),
            url: endpoint.url.clone(),
            secret: endpoint.secret().to_string(),
        })
    }
}
