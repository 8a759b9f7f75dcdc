//! One run: a simulator and a target wired together. Scenarios are played against it one after
//! the other, each starting from a simulator reset with its own seed.

use std::time::Duration;

use reference_target::defect::Defect;
use reference_target::variant::Design;
use stripe_sim::{ClockMode, EndpointId, EndpointSpec, Simulator};

use crate::runner::ScenarioResult;
use crate::target::{Target, TargetEnv, TargetError};
use crate::target_file::{Policy, TargetFile};

/// The key the simulator accepts unless the target file names one.
pub const DEFAULT_API_KEY: &str = "sk_test_harness";

/// Which app to test.
#[derive(Debug, Clone)]
pub enum TargetChoice {
    /// The embedded reference target: correct or with a defect, in one of its correct designs.
    Reference(Reference),
    /// A target file: a command to start, or a running app.
    File(Box<TargetFile>),
}

/// How the embedded reference target is built: a defect (or none) and a design.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reference {
    pub defect: Option<Defect>,
    pub design: Design,
}

impl Reference {
    /// ` --defect x --variant y`, for replay lines (empty for the correct default target).
    pub fn args(&self) -> String {
        let mut out = String::new();
        if let Some(defect) = self.defect {
            out.push_str(&format!(" --defect {}", defect.name()));
        }
        if !self.design.is_default() {
            out.push_str(&format!(" --variant {}", self.design));
        }
        out
    }

    /// `reference target (defect x, variant y)`.
    pub fn name(&self) -> String {
        let mut parts = Vec::new();
        if let Some(defect) = self.defect {
            parts.push(format!("defect {}", defect.name()));
        }
        if !self.design.is_default() {
            parts.push(format!("variant {}", self.design));
        }
        if parts.is_empty() {
            "reference target".to_string()
        } else {
            format!("reference target ({})", parts.join(", "))
        }
    }
}

impl TargetChoice {
    /// The correct reference target, in its default design.
    pub fn reference() -> TargetChoice {
        TargetChoice::Reference(Reference::default())
    }

    /// The reference target with `defect` switched on.
    pub fn defect(defect: Defect) -> TargetChoice {
        TargetChoice::Reference(Reference {
            defect: Some(defect),
            design: Design::default(),
        })
    }

    /// The correct reference target in `design`.
    pub fn design(design: Design) -> TargetChoice {
        TargetChoice::Reference(Reference {
            defect: None,
            design,
        })
    }

    /// How to name this target in a replay command.
    pub fn replay_args(&self, file: Option<&str>) -> String {
        match (self, file) {
            (TargetChoice::Reference(reference), _) => reference.args(),
            (TargetChoice::File(_), Some(path)) => format!(" --target {path}"),
            (TargetChoice::File(f), None) => {
                format!(" --target {}", f.name.clone().unwrap_or_default())
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("the simulator could not start: {0}")]
    Simulator(String),
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("{0}")]
    Config(String),
    /// The target could not be driven any more (its process exited, or it hangs): the run
    /// stopped, with what it had played so far.
    #[error("{0}")]
    Stopped(Box<Stopped>),
}

/// A run that stopped before its end because its target could not be driven any more.
#[derive(Debug)]
pub struct Stopped {
    /// Why: [`TargetError::Exited`] or [`TargetError::Hung`], with the target's last lines.
    pub reason: TargetError,
    /// What was playing when the target was found gone: `scenario refund_full`, `history 12`.
    pub during: String,
    /// The scenarios finished before, in scenario order (none for property runs). A scenario
    /// that failed because the target went away is not among them: it was not judged.
    pub results: Vec<ScenarioResult>,
    /// Scenarios (or property histories) finished before it.
    pub played: usize,
    /// Scenarios (or property histories) the run meant to play.
    pub planned: usize,
}

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the run stopped during {} ({} of {} played): {}",
            self.during, self.played, self.planned, self.reason
        )
    }
}

/// A simulator and a target, ready for scenarios.
pub struct Harness {
    pub sim: Simulator,
    pub target: Target,
    pub policy: Policy,
    pub http: reqwest::Client,
    pub seed: u64,
    /// Mixed into every simulator seed for targets that keep state between runs (0: none), so
    /// that ids are fresh on every run while the seed still replays the same histories.
    pub id_nonce: u64,
}

impl Harness {
    /// Starts the simulator (manual clock, deliveries one at a time in event order), then the
    /// target pointed at it.
    pub async fn start(choice: &TargetChoice, seed: u64) -> Result<Harness, HarnessError> {
        Harness::start_with(choice, seed, 1).await
    }

    /// [`Harness::start`] with `deliveries` webhook deliveries in flight at once: 1 keeps
    /// arrival order deterministic; more lets concurrent histories race inside the target.
    pub async fn start_with(
        choice: &TargetChoice,
        seed: u64,
        deliveries: usize,
    ) -> Result<Harness, HarnessError> {
        Harness::start_job(choice, seed, deliveries, 1).await
    }

    /// [`Harness::start_with`] as job `job` (1-based) of a run: a target file's app is started
    /// as its own instance (`{job}`, `{port}`, `{tmp}`), with its own simulator.
    pub async fn start_job(
        choice: &TargetChoice,
        seed: u64,
        deliveries: usize,
        job: usize,
    ) -> Result<Harness, HarnessError> {
        let (api_key, port, secret, policy) = match choice {
            TargetChoice::Reference(_) => (DEFAULT_API_KEY.to_string(), 0, None, Policy::default()),
            TargetChoice::File(f) => (
                f.api_key
                    .clone()
                    .unwrap_or_else(|| DEFAULT_API_KEY.to_string()),
                f.simulator_port.unwrap_or(0),
                f.webhook_secret.clone(),
                f.policy,
            ),
        };
        let sim = Simulator::builder()
            .clock(ClockMode::Manual)
            .seed(seed)
            .api_key(api_key.clone())
            .delivery_concurrency(deliveries)
            .webhook_timeout(Duration::from_secs(10))
            // Evidence shows the first 2 KiB of every webhook answer.
            .webhook_answer_excerpt(2048)
            .bind(std::net::SocketAddr::from(([127, 0, 0, 1], port)))
            .start()
            .await
            .map_err(|e| HarnessError::Simulator(e.to_string()))?;
        let env = TargetEnv {
            api_base: sim.base_url().to_string(),
            api_key,
            webhook_secret: secret.unwrap_or_else(|| format!("whsec_harness_{seed:016x}")),
        };
        let (target, id_nonce) = match choice {
            TargetChoice::Reference(reference) => (Target::embedded(*reference, &env).await?, 0),
            TargetChoice::File(file) => {
                let target = Target::from_file_as((**file).clone(), &env, job).await?;
                // Fresh ids on every run: an app that keeps its database must not take this
                // run's events for duplicates of an earlier run's (see `TargetFile::fresh_ids`).
                let nonce = if file.wants_fresh_ids() {
                    stripe_sim::fresh_seed()
                } else {
                    0
                };
                (target, nonce)
            }
        };
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        if matches!(choice, TargetChoice::File(_)) {
            if let Err(e) = crate::preflight::check(&sim, &target, &http).await {
                target.stop().await;
                return Err(e.into());
            }
            target.forget_timeouts();
        }
        Ok(Harness {
            sim,
            target,
            policy,
            http,
            seed,
            id_nonce,
        })
    }

    /// A clean simulator for the next scenario, with the target's webhook endpoint registered.
    pub fn reset(&self, scenario_seed: u64) -> Result<EndpointId, String> {
        let ids = if self.id_nonce == 0 {
            scenario_seed
        } else {
            crate::harness::scenario_seed(scenario_seed ^ self.id_nonce, "fresh ids")
        };
        self.sim.reset(Some(ids)).map_err(|e| e.message)?;
        let endpoint = self
            .sim
            .add_webhook_endpoint(EndpointSpec {
                url: self.target.webhook_url(),
                enabled_events: vec!["*".to_string()],
                secret: Some(self.target.webhook_secret.clone()),
                api_version: None,
            })
            .map_err(|e| e.message)?;
        Ok(endpoint.id)
    }

    pub async fn stop(self) {
        self.target.stop().await;
    }
}

/// The seed of one scenario in a run: stable for a (run seed, scenario name) pair, so a single
/// scenario replays with the same ids as in the full run. It fits in 63 bits, as TOML integers
/// (found scenarios carry their seed) are signed.
pub fn scenario_seed(run_seed: u64, name: &str) -> u64 {
    // FNV-1a over the name, mixed with the run seed.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325 ^ run_seed;
    for byte in name.bytes() {
        hash ^= byte as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash >> 1
}
