//! Control over webhook delivery: endpoints and their secrets, holding and releasing, faults,
//! one-off signed or forged requests, resends, and the delivery log.

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::control::{Control, DeliveryStatus, EventView, RolledSecret, WebhookEndpointInfo};
use crate::error::{ApiError, ApiResult};
use crate::params::Metadata;
use crate::resources::webhook_endpoint::EndpointSpec;
use crate::table::PageRequest;
use crate::typed_ids::{EndpointId, EventId};
use crate::webhooks::dispatcher::{execute, run_job, run_job_recorded};
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
    /// Records made at or after this simulator time.
    pub since: Option<i64>,
    /// Records made at or before this simulator time.
    pub until: Option<i64>,
}

impl DeliveryFilter {
    pub fn accepts(&self, r: &DeliveryRecord) -> bool {
        self.event.as_ref().is_none_or(|e| r.event_id == *e)
            && self.endpoint.as_ref().is_none_or(|e| r.endpoint_id == *e)
            && self.outcome.is_none_or(|o| r.status == o)
            && self.since.is_none_or(|t| r.created >= t)
            && self.until.is_none_or(|t| r.created <= t)
    }
}

/// One page of the delivery log, newest first, like a page of a Stripe list.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryPage {
    pub data: Vec<DeliveryRecord>,
    pub has_more: bool,
    /// Records dropped by retention so far: they are in no page.
    pub dropped: u64,
}

/// The largest page of the delivery log (as Stripe's lists).
pub const MAX_DELIVERY_PAGE: usize = 100;

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
        let rolled: RolledSecret =
            self.shared
                .with_store(|store, now| -> ApiResult<RolledSecret> {
                    let expires_at = store.roll_webhook_secret(endpoint, overlap_seconds, now)?;
                    Ok(RolledSecret {
                        id: endpoint.clone(),
                        secret: store.endpoint_info(endpoint)?.secret,
                        previous_secret_expires_at: expires_at,
                    })
                })?;
        self.shared
            .tell_webhooks_changed(|| format!("{endpoint}: secret rolled"));
        Ok(rolled)
    }

    /// Enables or disables an endpoint, as `POST /v1/webhook_endpoints/{id}` with `disabled`
    /// does: a disabled endpoint gets no new deliveries; enabling it again is a fresh start.
    pub fn set_webhook_endpoint_enabled(
        &self,
        endpoint: &EndpointId,
        enabled: bool,
    ) -> ApiResult<WebhookEndpointInfo> {
        let mut fields = std::collections::BTreeMap::new();
        fields.insert(
            "disabled".to_string(),
            crate::form::FormValue::Text((!enabled).to_string()),
        );
        let info = self
            .shared
            .with_store(|store, _| -> ApiResult<WebhookEndpointInfo> {
                store.update_webhook_endpoint(endpoint, crate::params::Params::new(fields))?;
                store.endpoint_info(endpoint)
            })?;
        self.shared.tell_webhooks_changed(|| {
            format!(
                "{endpoint}: {}",
                if enabled { "enabled" } else { "disabled" }
            )
        });
        Ok(info)
    }

    /// `Auto` delivers at once; `Hold` queues deliveries until [`Control::release`].
    pub fn set_delivery_mode(&self, mode: DeliveryMode) {
        self.shared
            .with_store(|store, _| store.deliveries.mode = mode);
        self.shared.tell_webhooks_changed(|| match mode {
            DeliveryMode::Hold => "deliveries held".to_string(),
            DeliveryMode::Auto => "deliveries sent at once".to_string(),
        });
    }

    /// The mode, the records by state, what is scheduled and which faults wait.
    pub fn delivery_status(&self) -> DeliveryStatus {
        self.shared.with_store(|store, now| {
            let log = &store.deliveries;
            // One pass over the log, however many states are counted.
            let mut counts = std::collections::HashMap::new();
            for record in log.records() {
                *counts.entry(record.status).or_insert(0usize) += 1;
            }
            let count = |status: RecordStatus| counts.get(&status).copied().unwrap_or(0);
            DeliveryStatus {
                mode: log.mode,
                held: count(RecordStatus::Held),
                pending: count(RecordStatus::Pending),
                in_flight: count(RecordStatus::InFlight),
                succeeded: count(RecordStatus::Succeeded),
                failed: count(RecordStatus::Failed),
                canceled: count(RecordStatus::Canceled),
                dropped: log.dropped,
                idle: log.idle(now),
                next_attempt_at: log.next_due(),
                faults: log.faults.clone(),
                retry_schedule: log.policy.delays.clone(),
            }
        })
    }

    /// Sends the held deliveries in `release.order`, one after the other (each awaited, so the
    /// receiver sees exactly that order) or all at once. Returns the records released.
    ///
    /// ```
    /// use stripe_sim::{DeliveryMode, DuplicateMode, Release, ReleaseOrder, Simulator};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let sim = Simulator::builder().seed(1).start().await?;
    /// sim.set_delivery_mode(DeliveryMode::Hold);
    /// // … a payment happens; its events wait …
    /// let released = sim
    ///     .release(Release {
    ///         order: ReleaseOrder::Reverse,               // newest first
    ///         duplicate: Some(DuplicateMode::Sequential), // and each one twice
    ///         resume: true,                               // then deliver at once again
    ///         ..Release::default()
    ///     })
    ///     .await?;
    /// assert!(released.is_empty(), "nothing was held yet");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn release(&self, release: Release) -> ApiResult<Vec<DeliveryRecord>> {
        let jobs = self
            .shared
            .with_store(|store, now| store.release_held(&release.order, release.duplicate, now))?;
        // Each record as its delivery left it (retention may drop a delivered one right after).
        let mut released = Vec::new();
        if release.parallel {
            let mut running = tokio::task::JoinSet::new();
            for job in jobs {
                let shared = self.shared.clone();
                running.spawn(async move { run_job_recorded(&shared, job).await.1 });
            }
            while let Some(done) = running.join_next().await {
                released.extend(done.ok().flatten());
            }
        } else {
            for job in jobs {
                released.extend(run_job_recorded(&self.shared, job).await.1);
            }
        }
        if release.resume {
            self.set_delivery_mode(DeliveryMode::Auto);
        }
        Ok(released)
    }

    /// Applies `fault` to the next matching delivery attempts, after checking that it means
    /// something (a count of at least one, a delay with its duration, an event type that
    /// exists, an endpoint that exists).
    ///
    /// ```
    /// use stripe_sim::{Fault, FaultKind, Forgery, Simulator};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let sim = Simulator::builder().seed(1).start().await?;
    /// // The next checkout.session.completed attempt is signed too long ago: a replay.
    /// sim.add_fault(Fault {
    ///     event_type: Some("checkout.session.completed".into()),
    ///     ..Fault::new(Forgery::Stale)
    /// })?;
    /// // A fault that could never apply is an error, not a silent no-op.
    /// let typo = Fault { event_type: Some("checkout.sesion.completed".into()), ..Fault::new(FaultKind::Drop) };
    /// assert!(sim.add_fault(typo).unwrap_err().message.starts_with("No event type matches"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn add_fault(&self, fault: Fault) -> ApiResult<()> {
        self.add_faults(vec![fault])
    }

    /// [`Control::add_fault`] for several faults: all are added, or none.
    pub fn add_faults(&self, faults: Vec<Fault>) -> ApiResult<()> {
        for fault in &faults {
            fault.validate()?;
        }
        self.shared
            .with_store(|store, _| {
                for fault in &faults {
                    if let Some(endpoint) = &fault.endpoint {
                        if store.webhook_endpoints.get(endpoint).is_none() {
                            return Err(ApiError::no_such(
                                "webhook_endpoint",
                                endpoint,
                                "endpoint",
                            ));
                        }
                    }
                }
                let added = faults.len();
                store.deliveries.faults.extend(faults);
                Ok(added)
            })
            .map(|added| {
                self.shared
                    .tell_webhooks_changed(|| format!("{added} fault(s) added"));
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
        self.shared
            .tell_webhooks_changed(|| "faults cleared".to_string());
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
                        crate::url_check::check_endpoint_url(url, "url")?;
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
            &self.shared.config,
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
            store.admit_write()?;
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

    /// The delivery log: every (event, endpoint) record matching `filter`, with its attempts,
    /// oldest first. It copies every match under the store lock: for a long log, page through it
    /// with [`Control::delivery_page`].
    pub fn deliveries(&self, filter: &DeliveryFilter) -> Vec<DeliveryRecord> {
        self.shared.with_store(|store, _| {
            store
                .deliveries
                .records()
                .filter(|r| filter.accepts(r))
                .cloned()
                .collect()
        })
    }

    /// One page of the delivery log, newest first, paginated like Stripe's lists: `limit` (1 to
    /// 100) records after the cursor `starting_after` (older) or before `ending_before` (newer),
    /// both record ids. The page walks from its cursor and stops after `limit + 1` matches, so
    /// it holds the store lock for a page's worth of work, not the whole log's.
    pub fn delivery_page(
        &self,
        filter: &DeliveryFilter,
        page: &PageRequest,
    ) -> ApiResult<DeliveryPage> {
        if !(1..=MAX_DELIVERY_PAGE).contains(&page.limit) {
            return Err(ApiError::invalid(
                format!(
                    "Invalid limit: must be between 1 and {MAX_DELIVERY_PAGE} (got {})",
                    page.limit
                ),
                Some("limit"),
            ));
        }
        self.shared.with_store(|store, _| {
            let (records, has_more) = store
                .deliveries
                .records
                .page(page, "delivery", |r| filter.accepts(r))?;
            Ok(DeliveryPage {
                data: records.into_iter().cloned().collect(),
                has_more,
                dropped: store.deliveries.dropped,
            })
        })
    }

    /// The delivery records of one event (one per endpoint it was sent to), with their
    /// attempts: an index lookup, not a scan of the log.
    pub fn deliveries_of_event(&self, event: &EventId) -> Vec<DeliveryRecord> {
        self.shared
            .with_store(|store, _| store.deliveries.of_event(event).cloned().collect())
    }

    /// A mark for [`Control::deliveries_since`]: where the next delivery record will be.
    pub fn delivery_count(&self) -> usize {
        self.shared.with_store(|store, _| store.deliveries.mark())
    }

    /// The delivery records created since `mark` (an earlier [`Control::delivery_count`]) and
    /// still held.
    pub fn deliveries_since(&self, mark: usize) -> Vec<DeliveryRecord> {
        self.shared
            .with_store(|store, _| store.deliveries.records_since(mark).cloned().collect())
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
            enabled_events: endpoint.enabled_events.clone(),
            secret: endpoint.secret().to_string(),
            status: if endpoint.disabled {
                "disabled"
            } else {
                "enabled"
            },
            disabled_reason: endpoint.disabled_reason.clone(),
            failing_since: endpoint.failing_since,
        })
    }
}
