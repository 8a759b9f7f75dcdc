//! The delivery log: one record per (event, endpoint), every attempt in it, and the bookkeeping
//! that decides what is sent next. Pure and synchronous, like the rest of the store; the
//! [`super::dispatcher`] does the sending.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::ids::IdGenerator;
use crate::resources::event::EventType;
use crate::store::Store;
use crate::typed_ids::{DeliveryId, EndpointId, EventId};
use crate::vocabulary::Vocabulary;
use crate::webhooks::faults::{take_matching, DuplicateMode, Fault, FaultKind};
use crate::webhooks::schedule::RetryPolicy;

/// `auto`: deliver as soon as an event exists. `hold`: queue deliveries until released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DeliveryMode {
    #[default]
    Auto,
    Hold,
}

impl Vocabulary for DeliveryMode {
    const WHAT: &'static str = "delivery mode";
    const ALL: &'static [Self] = &[DeliveryMode::Auto, DeliveryMode::Hold];

    fn as_str(&self) -> &'static str {
        match self {
            DeliveryMode::Auto => "auto",
            DeliveryMode::Hold => "hold",
        }
    }
}

/// Where a delivery record stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordStatus {
    /// Waiting for a release (hold mode).
    Held,
    /// Waiting for its next attempt (`next_attempt_at`).
    Pending,
    /// An attempt is on its way.
    InFlight,
    /// A genuine attempt got a 2xx.
    Succeeded,
    /// Every retry failed.
    Failed,
    /// The endpoint was deleted or disabled before the next retry.
    Canceled,
}

impl Vocabulary for RecordStatus {
    const WHAT: &'static str = "delivery outcome";
    const ALL: &'static [Self] = &[
        RecordStatus::Held,
        RecordStatus::Pending,
        RecordStatus::InFlight,
        RecordStatus::Succeeded,
        RecordStatus::Failed,
        RecordStatus::Canceled,
    ];

    fn as_str(&self) -> &'static str {
        match self {
            RecordStatus::Held => "held",
            RecordStatus::Pending => "pending",
            RecordStatus::InFlight => "in_flight",
            RecordStatus::Succeeded => "succeeded",
            RecordStatus::Failed => "failed",
            RecordStatus::Canceled => "canceled",
        }
    }
}

impl RecordStatus {
    /// Whether the record can no longer change.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            RecordStatus::Succeeded | RecordStatus::Failed | RecordStatus::Canceled
        )
    }
}

crate::vocabulary::serde_as_word!(DeliveryMode);
crate::vocabulary::serde_as_word!(RecordStatus);

/// One HTTP request to an endpoint (or one that a fault swallowed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attempt {
    /// Simulator time of the attempt.
    pub at: i64,
    /// The `t=` of the signature: the wall clock when it was sent.
    pub signed_at: i64,
    pub status_code: Option<u16>,
    pub latency_ms: u64,
    pub error: Option<String>,
    /// The first bytes of the response body.
    pub response: String,
    pub fault: Option<FaultKind>,
    /// A resend or a forged delivery asked for through the control API.
    pub manual: bool,
}

impl Attempt {
    /// A genuine attempt answered 2xx: the event is delivered.
    pub fn delivered(&self) -> bool {
        !self
            .fault
            .is_some_and(|f| f.is_forgery() || f == FaultKind::Drop)
            && self.status_code.is_some_and(|s| (200..300).contains(&s))
    }
}

/// One event to one endpoint, with every attempt made.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryRecord {
    pub id: DeliveryId,
    pub event_id: EventId,
    pub event_type: EventType,
    pub endpoint_id: EndpointId,
    pub status: RecordStatus,
    pub next_attempt_at: Option<i64>,
    pub attempts: Vec<Attempt>,
    /// Retries scheduled so far (the first attempt is not a retry).
    pub retries: usize,
}

/// Everything the dispatcher needs to send one delivery; built under the lock, sent without it.
#[derive(Debug, Clone)]
pub struct AttemptJob {
    /// `None` for manual deliveries that belong to no record.
    pub record_id: Option<String>,
    pub url: String,
    /// Secrets that sign, the current one last.
    pub secrets: Vec<String>,
    pub body: Vec<u8>,
    pub fault: Option<Fault>,
    pub manual: bool,
}

#[derive(Debug, Default)]
pub struct DeliveryLog {
    pub mode: DeliveryMode,
    pub policy: RetryPolicy,
    pub faults: Vec<Fault>,
    records: Vec<DeliveryRecord>,
    index: HashMap<DeliveryId, usize>,
    /// Event id → its records (one per endpoint), so a finished attempt updates the event's
    /// `pending_webhooks` without scanning the whole log.
    by_event: HashMap<EventId, Vec<usize>>,
    /// Every record before this index is finished for good (succeeded, failed or canceled), so
    /// the scans for due work start here: a long-running simulator does not rescan its history.
    settled_prefix: usize,
    /// Set when work became due, so the server wakes the dispatcher.
    pub wake: bool,
}

impl DeliveryLog {
    pub fn new(policy: RetryPolicy) -> Self {
        DeliveryLog {
            policy,
            ..DeliveryLog::default()
        }
    }

    pub fn records(&self) -> &[DeliveryRecord] {
        &self.records
    }

    pub fn get(&self, id: &str) -> Option<&DeliveryRecord> {
        self.index.get(id).map(|&i| &self.records[i])
    }

    fn get_mut(&mut self, id: &str) -> Option<&mut DeliveryRecord> {
        self.index.get(id).map(|&i| &mut self.records[i])
    }

    fn push(&mut self, record: DeliveryRecord) {
        self.index.insert(record.id.clone(), self.records.len());
        self.by_event
            .entry(record.event_id.clone())
            .or_default()
            .push(self.records.len());
        self.records.push(record);
    }

    /// The records of one event, one per endpoint it was sent to.
    pub fn of_event<'a>(&'a self, event_id: &str) -> impl Iterator<Item = &'a DeliveryRecord> + 'a {
        self.by_event
            .get(event_id)
            .into_iter()
            .flatten()
            .map(|&i| &self.records[i])
    }

    /// Moves [`DeliveryLog::settled_prefix`] past records that can no longer change.
    fn advance_settled_prefix(&mut self) {
        while self.settled_prefix < self.records.len()
            && self.records[self.settled_prefix].status.is_final()
        {
            self.settled_prefix += 1;
        }
    }

    /// Records that may still change, with their indices.
    fn unsettled(&self) -> impl Iterator<Item = (usize, &DeliveryRecord)> {
        self.records.iter().enumerate().skip(self.settled_prefix)
    }

    /// Records created at or after `mark` (a length of the log taken earlier).
    pub fn records_since(&self, mark: usize) -> &[DeliveryRecord] {
        &self.records[mark.min(self.records.len())..]
    }

    /// Whether nothing is being sent and nothing is due at `now` (held deliveries do not count).
    pub fn idle(&self, now: i64) -> bool {
        self.idle_through(self.records.len(), now)
    }

    /// [`DeliveryLog::idle`] for the first `mark` records only (those that existed when the
    /// caller started waiting): later events do not hold it up.
    pub fn idle_through(&self, mark: usize, now: i64) -> bool {
        !self
            .unsettled()
            .take_while(|(i, _)| *i < mark)
            .any(|(_, r)| {
                r.status == RecordStatus::InFlight
                    || (r.status == RecordStatus::Pending
                        && r.next_attempt_at.is_some_and(|t| t <= now))
            })
    }

    /// The earliest scheduled attempt, if any.
    pub fn next_due(&self) -> Option<i64> {
        self.unsettled()
            .map(|(_, r)| r)
            .filter(|r| r.status == RecordStatus::Pending)
            .filter_map(|r| r.next_attempt_at)
            .min()
    }
}

/// The order held deliveries are released in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ReleaseOrder {
    /// The order the events happened in.
    #[default]
    AsIs,
    /// Newest first.
    Reverse,
    /// A permutation drawn from this seed.
    Shuffle(u64),
    /// Only these events, in this order.
    Events(Vec<EventId>),
}

/// A release order as one word, the way scenario files and the control API spell it (`shuffle`
/// takes its seed beside it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ReleaseOrderWord {
    #[default]
    AsIs,
    Reverse,
    Shuffle,
}

impl Vocabulary for ReleaseOrderWord {
    const WHAT: &'static str = "release order";
    const ALL: &'static [Self] = &[
        ReleaseOrderWord::AsIs,
        ReleaseOrderWord::Reverse,
        ReleaseOrderWord::Shuffle,
    ];

    fn as_str(&self) -> &'static str {
        match self {
            ReleaseOrderWord::AsIs => "as_is",
            ReleaseOrderWord::Reverse => "reverse",
            ReleaseOrderWord::Shuffle => "shuffle",
        }
    }
}

crate::vocabulary::serde_as_word!(ReleaseOrderWord);

impl ReleaseOrder {
    /// The order a word names; `shuffle` draws from `seed` (0 when not given).
    pub fn from_word(word: ReleaseOrderWord, seed: Option<u64>) -> ReleaseOrder {
        match word {
            ReleaseOrderWord::AsIs => ReleaseOrder::AsIs,
            ReleaseOrderWord::Reverse => ReleaseOrder::Reverse,
            ReleaseOrderWord::Shuffle => ReleaseOrder::Shuffle(seed.unwrap_or(0)),
        }
    }
}

impl Store {
    /// Called for every new event: one record per enabled endpoint that wants it.
    pub fn enqueue_deliveries(&mut self, event_id: &str, event_type: EventType, now: i64) -> u32 {
        let endpoints: Vec<String> = self
            .webhook_endpoints
            .iter()
            .filter(|e| e.wants(event_type))
            .map(|e| e.id.clone())
            .collect();
        let held = self.deliveries.mode == DeliveryMode::Hold;
        for endpoint_id in &endpoints {
            let id = DeliveryId::trusted(format!("wd_{}", self.ids.alphanumeric(24)));
            self.deliveries.push(DeliveryRecord {
                id,
                event_id: EventId::trusted(event_id),
                event_type,
                endpoint_id: EndpointId::trusted(endpoint_id.as_str()),
                status: if held {
                    RecordStatus::Held
                } else {
                    RecordStatus::Pending
                },
                next_attempt_at: (!held).then_some(now),
                attempts: Vec::new(),
                retries: 0,
            });
        }
        if !held && !endpoints.is_empty() {
            self.deliveries.wake = true;
        }
        endpoints.len() as u32
    }

    /// The event body for one endpoint: rendered at the endpoint's API version (the event's own,
    /// the account's default when it happened, when the endpoint pins none), with the current
    /// `pending_webhooks`.
    pub fn event_body(&self, event_id: &str, endpoint_id: &str) -> Option<Vec<u8>> {
        let event = self.events.get(event_id)?;
        let version = self
            .webhook_endpoints
            .get(endpoint_id)
            .and_then(|e| e.api_version);
        Some(self.event_json(event, version))
    }

    /// Builds the job for a record's next attempt and marks it in flight; `None` if the record
    /// can no longer be delivered (its endpoint is gone or disabled: the record is canceled).
    fn start_attempt(
        &mut self,
        record_id: &str,
        now: i64,
        fault_override: Option<Fault>,
    ) -> Option<AttemptJob> {
        let record = self.deliveries.get(record_id)?.clone();
        let endpoint = self
            .webhook_endpoints
            .get(&record.endpoint_id)
            .filter(|e| !e.disabled)
            .cloned();
        let Some(endpoint) = endpoint else {
            if let Some(r) = self.deliveries.get_mut(record_id) {
                r.status = RecordStatus::Canceled;
                r.next_attempt_at = None;
            }
            self.refresh_pending_webhooks(&record.event_id);
            return None;
        };
        let body = self.event_body(&record.event_id, &endpoint.id)?;
        let fault = fault_override.or_else(|| {
            take_matching(&mut self.deliveries.faults, record.event_type, &endpoint.id)
        });
        if let Some(rule) = &fault {
            if rule.fault == FaultKind::Delay {
                if let Some(seconds) = rule.delay_seconds.filter(|s| *s > 0) {
                    // Delayed in simulator time: simply due later.
                    if let Some(r) = self.deliveries.get_mut(record_id) {
                        r.status = RecordStatus::Pending;
                        r.next_attempt_at = Some(now + seconds);
                    }
                    return None;
                }
            }
        }
        let r = self.deliveries.get_mut(record_id)?;
        r.status = RecordStatus::InFlight;
        r.next_attempt_at = None;
        Some(AttemptJob {
            record_id: Some(record_id.to_string()),
            url: endpoint.url.clone(),
            secrets: endpoint.signing_secrets(now),
            body,
            fault,
            manual: false,
        })
    }

    /// Every attempt due at `now`, each record marked in flight.
    pub fn take_due_attempts(&mut self, now: i64) -> Vec<AttemptJob> {
        self.deliveries.advance_settled_prefix();
        let due: Vec<String> = self
            .deliveries
            .unsettled()
            .map(|(_, r)| r)
            .filter(|r| {
                r.status == RecordStatus::Pending && r.next_attempt_at.is_some_and(|t| t <= now)
            })
            .map(|r| r.id.to_string())
            .collect();
        due.iter()
            .filter_map(|id| self.start_attempt(id, now, None))
            .collect()
    }

    /// Records the attempts of a job and decides what comes next: delivered, retried later, or
    /// given up after the last retry.
    pub fn finish_attempts(&mut self, record_id: &str, attempts: Vec<Attempt>, now: i64) {
        let policy = self.deliveries.policy.clone();
        let mut wake = false;
        let Some(record) = self.deliveries.get_mut(record_id) else {
            return;
        };
        let delivered = attempts.iter().any(Attempt::delivered);
        record.attempts.extend(attempts);
        if record.status != RecordStatus::InFlight {
            return;
        }
        if delivered {
            record.status = RecordStatus::Succeeded;
        } else {
            record.retries += 1;
            match policy.delay_before_retry(record.retries) {
                Some(delay) => {
                    record.status = RecordStatus::Pending;
                    record.next_attempt_at = Some(now + delay);
                    wake = delay == 0;
                }
                None => record.status = RecordStatus::Failed,
            }
        }
        let event_id = record.event_id.to_string();
        self.deliveries.wake |= wake;
        self.refresh_pending_webhooks(&event_id);
    }

    /// Records attempts that belong to no automatic schedule (a resend).
    pub fn log_manual_attempts(&mut self, record_id: &str, attempts: Vec<Attempt>) {
        if let Some(record) = self.deliveries.get_mut(record_id) {
            record.attempts.extend(attempts);
        }
    }

    /// `pending_webhooks` = endpoints the event has not reached yet.
    fn refresh_pending_webhooks(&mut self, event_id: &str) {
        let pending = self
            .deliveries
            .of_event(event_id)
            .filter(|r| r.status != RecordStatus::Succeeded && r.status != RecordStatus::Canceled)
            .count() as u32;
        if let Some(event) = self.events.get_mut(event_id) {
            event.pending_webhooks = pending;
        }
    }

    /// Marks held deliveries in flight in the requested order and returns their jobs, to be sent
    /// one after the other. `duplicate` sends each twice.
    pub fn release_held(
        &mut self,
        order: &ReleaseOrder,
        duplicate: Option<DuplicateMode>,
        now: i64,
    ) -> ApiResult<Vec<AttemptJob>> {
        let held: Vec<(String, EventId)> = self
            .deliveries
            .records
            .iter()
            .filter(|r| r.status == RecordStatus::Held)
            .map(|r| (r.id.to_string(), r.event_id.clone()))
            .collect();
        let ids: Vec<String> = match order {
            ReleaseOrder::AsIs => held.into_iter().map(|(id, _)| id).collect(),
            ReleaseOrder::Reverse => held.into_iter().rev().map(|(id, _)| id).collect(),
            ReleaseOrder::Shuffle(seed) => {
                let mut ids: Vec<String> = held.into_iter().map(|(id, _)| id).collect();
                let mut rng = IdGenerator::new(*seed);
                for i in (1..ids.len()).rev() {
                    let j = (rng.next_u64() % (i as u64 + 1)) as usize;
                    ids.swap(i, j);
                }
                ids
            }
            ReleaseOrder::Events(events) => {
                let mut ids = Vec::new();
                for event_id in events {
                    let matching: Vec<String> = held
                        .iter()
                        .filter(|(_, e)| e == event_id)
                        .map(|(id, _)| id.clone())
                        .collect();
                    if matching.is_empty() {
                        return Err(ApiError::invalid(
                            format!("No held delivery of event {event_id}."),
                            Some("order"),
                        ));
                    }
                    ids.extend(matching);
                }
                ids
            }
        };
        let fault = duplicate.map(|mode| Fault {
            duplicate_mode: Some(mode),
            ..Fault::new(FaultKind::Duplicate)
        });
        Ok(ids
            .iter()
            .filter_map(|id| {
                // Give every held record a pending state so start_attempt treats it uniformly.
                if let Some(r) = self.deliveries.get_mut(id) {
                    r.status = RecordStatus::Pending;
                }
                self.start_attempt(id, now, fault.clone())
            })
            .collect())
    }

    /// A manual resend of an event to one endpoint (or every endpoint with a record of it).
    pub fn resend_jobs(
        &mut self,
        event_id: &str,
        endpoint: Option<&str>,
        now: i64,
    ) -> ApiResult<Vec<AttemptJob>> {
        if self.events.get(event_id).is_none() {
            return Err(ApiError::no_such("event", event_id, "id"));
        }
        let endpoints: Vec<String> = match endpoint {
            Some(id) => {
                if self.webhook_endpoints.get(id).is_none() {
                    return Err(ApiError::no_such(
                        "webhook_endpoint",
                        id,
                        "webhook_endpoint",
                    ));
                }
                vec![id.to_string()]
            }
            None => self
                .webhook_endpoints
                .iter()
                .map(|e| e.id.clone())
                .collect(),
        };
        let mut jobs = Vec::new();
        for endpoint_id in endpoints {
            let Some(endpoint) = self.webhook_endpoints.get(&endpoint_id) else {
                continue;
            };
            let record_id = self
                .deliveries
                .of_event(event_id)
                .find(|r| r.endpoint_id == endpoint_id.as_str())
                .map(|r| r.id.to_string());
            let Some(body) = self.event_body(event_id, &endpoint_id) else {
                continue;
            };
            jobs.push(AttemptJob {
                record_id,
                url: endpoint.url.clone(),
                secrets: endpoint.signing_secrets(now),
                body,
                fault: None,
                manual: true,
            });
        }
        Ok(jobs)
    }

    /// The delivery log, filtered, as JSON.
    pub fn deliveries_json(
        &self,
        event: Option<&str>,
        endpoint: Option<&str>,
        outcome: Option<&str>,
    ) -> Value {
        let data: Vec<Value> = self
            .deliveries
            .records
            .iter()
            .filter(|r| event.is_none_or(|e| r.event_id == e))
            .filter(|r| endpoint.is_none_or(|e| r.endpoint_id == e))
            .filter(|r| outcome.is_none_or(|o| r.status.as_str() == o))
            .filter_map(|r| serde_json::to_value(r).ok())
            .collect();
        json!({ "object": "list", "data": data, "has_more": false, "url": "/_sim/deliveries" })
    }
}
