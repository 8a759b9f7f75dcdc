//! A tally of the hazards a run exercised: what a report shows an auditor about how hard the
//! histories pushed on the target (forgeries by kind, duplicates, reorderings, holds, refunds,
//! delayed methods, declines, outages, resends, clock advances).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use stripe_sim::{FaultKind, ReleaseOrderWord};

use crate::scenario::{PaymentOutcome, Step};

/// How often each hazard was exercised.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hazards {
    /// Forged requests by kind (`forge` steps and forgery faults).
    pub forgeries: BTreeMap<String, u64>,
    /// The same delivery twice (faults, duplicated releases) or a second Event object for one
    /// change.
    pub duplicates: u64,
    /// Held deliveries released out of order (reversed, shuffled, chosen events first).
    pub reorderings: u64,
    /// Held deliveries released all at once (`release = { parallel = true }`), as after an
    /// outage: different events of one order racing inside the target.
    #[serde(default)]
    pub parallel_releases: u64,
    pub holds: u64,
    pub refunds_full: u64,
    pub refunds_partial: u64,
    /// Refunds the API had to refuse (too large, already refunded).
    pub refunds_refused: u64,
    /// SEPA and ACH payments (completed unpaid, settled later).
    pub delayed_methods: u64,
    pub declines: u64,
    pub dropped_deliveries: u64,
    pub delayed_deliveries: u64,
    pub endpoint_outages: u64,
    pub resends: u64,
    pub clock_advances: u64,
    pub secret_rolls: u64,
    pub return_route_calls: u64,
    pub expiries: u64,
}

impl Hazards {
    /// The hazards of these steps.
    pub fn of(steps: &[Step]) -> Hazards {
        let mut hazards = Hazards::default();
        hazards.add(steps);
        hazards
    }

    pub fn add(&mut self, steps: &[Step]) {
        for step in steps {
            match step {
                Step::Forge(f) => *self.forgeries.entry(f.kind.to_string()).or_default() += 1,
                Step::Fault(f) => match f.kind {
                    FaultKind::Forge(forgery) => {
                        *self.forgeries.entry(forgery.to_string()).or_default() += 1
                    }
                    FaultKind::Duplicate => self.duplicates += 1,
                    FaultKind::Drop => self.dropped_deliveries += 1,
                    FaultKind::Delay => self.delayed_deliveries += 1,
                },
                Step::Release(r) => {
                    if r.duplicate.is_some() {
                        self.duplicates += 1;
                    }
                    if r.events.is_some() || r.order.is_some_and(|o| o != ReleaseOrderWord::AsIs) {
                        self.reorderings += 1;
                    }
                    if r.parallel {
                        self.parallel_releases += 1;
                    }
                }
                Step::Hold {} => self.holds += 1,
                Step::Refund(r) => match (&r.expect_error, r.amount) {
                    (Some(_), _) => self.refunds_refused += 1,
                    (None, Some(_)) => self.refunds_partial += 1,
                    (None, None) => self.refunds_full += 1,
                },
                Step::Pay(p) => match p.expect {
                    Some(PaymentOutcome::Declined) => self.declines += 1,
                    _ if p.sepa_debit.is_some() || p.us_bank_account.is_some() => {
                        self.delayed_methods += 1
                    }
                    _ => {}
                },
                Step::EndpointDown {} => self.endpoint_outages += 1,
                Step::Resend { new_event, .. } => {
                    if *new_event {
                        self.duplicates += 1;
                    } else {
                        self.resends += 1;
                    }
                }
                Step::Advance { .. } => self.clock_advances += 1,
                Step::RollSecret { .. } => self.secret_rolls += 1,
                Step::Capture(_) => self.return_route_calls += 1,
                Step::Expire { .. } => self.expiries += 1,
                _ => {}
            }
        }
    }

    pub fn merge(&mut self, other: &Hazards) {
        for (kind, n) in &other.forgeries {
            *self.forgeries.entry(kind.clone()).or_default() += n;
        }
        self.duplicates += other.duplicates;
        self.reorderings += other.reorderings;
        self.parallel_releases += other.parallel_releases;
        self.holds += other.holds;
        self.refunds_full += other.refunds_full;
        self.refunds_partial += other.refunds_partial;
        self.refunds_refused += other.refunds_refused;
        self.delayed_methods += other.delayed_methods;
        self.declines += other.declines;
        self.dropped_deliveries += other.dropped_deliveries;
        self.delayed_deliveries += other.delayed_deliveries;
        self.endpoint_outages += other.endpoint_outages;
        self.resends += other.resends;
        self.clock_advances += other.clock_advances;
        self.secret_rolls += other.secret_rolls;
        self.return_route_calls += other.return_route_calls;
        self.expiries += other.expiries;
    }

    /// Every count with its name, for tables.
    pub fn rows(&self) -> Vec<(String, u64)> {
        let mut rows: Vec<(String, u64)> = self
            .forgeries
            .iter()
            .map(|(kind, n)| (format!("forgeries: {kind}"), *n))
            .collect();
        rows.extend([
            ("duplicates".to_string(), self.duplicates),
            ("reorderings".to_string(), self.reorderings),
            ("parallel releases".to_string(), self.parallel_releases),
            ("holds".to_string(), self.holds),
            ("full refunds".to_string(), self.refunds_full),
            ("partial refunds".to_string(), self.refunds_partial),
            ("refused refunds".to_string(), self.refunds_refused),
            (
                "delayed methods (SEPA, ACH)".to_string(),
                self.delayed_methods,
            ),
            ("declines".to_string(), self.declines),
            ("dropped deliveries".to_string(), self.dropped_deliveries),
            ("delayed deliveries".to_string(), self.delayed_deliveries),
            ("endpoint outages".to_string(), self.endpoint_outages),
            ("resends".to_string(), self.resends),
            ("clock advances".to_string(), self.clock_advances),
            ("secret rolls".to_string(), self.secret_rolls),
            ("return-route calls".to_string(), self.return_route_calls),
            ("expiries".to_string(), self.expiries),
        ]);
        rows
    }
}
