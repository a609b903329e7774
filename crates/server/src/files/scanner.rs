//! The virus scanner: the engines configured (clamd, ICAP services), each
//! self-tested on its own, and the policy that turns their verdicts on one
//! file into one. A detection by any engine refuses the file. Under `all`
//! every engine must call it clean; under `any`, one. An engine that is
//! down refuses uploads (fail closed) unless it is named optional; an
//! optional engine that fails is left out of scans until its next
//! self-test passes. One engine scans the upload's chunks directly; several
//! each get a copy as it arrives, so their scans overlap.

use crate::config::{ScanPolicy, ScannerConfig};
use crate::files::clamd::Clamd;
use crate::files::icap::Icap;
use crate::files::self_test::{self, Health};
use axum::body::Bytes;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Clean,
    Infected(Detection),
}

/// Which engine found what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    pub engine: String,
    /// The threat's name as the engine reports it, e.g. `Win.Test.EICAR_HDB-1`.
    pub signature: String,
}

impl Detection {
    pub fn new(engine: &str, signature: &str) -> Self {
        Self { engine: engine.to_string(), signature: signature.to_string() }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum ScanError {
    #[error("the virus scanner cannot be reached: {0}")]
    Unavailable(String),
    #[error("the virus scanner did not finish in time")]
    Timeout,
    /// The engine answered, but not with a verdict (an error, a size limit).
    #[error("the virus scanner refused the file: {0}")]
    Refused(String),
}

enum Kind {
    Clamd(Clamd),
    Icap(Box<Icap>),
}

/// One engine and what its last self-test found.
pub struct Engine {
    kind: Kind,
    pub optional: bool,
    health: RwLock<Health>,
}

impl Engine {
    pub fn name(&self) -> &str {
        match &self.kind {
            Kind::Clamd(_) => crate::files::clamd::NAME,
            Kind::Icap(icap) => icap.name(),
        }
    }

    /// Where the engine is expected, for messages to the administrator.
    pub fn address(&self) -> String {
        match &self.kind {
            Kind::Clamd(clamd) => clamd.address(),
            Kind::Icap(icap) => icap.address().to_string(),
        }
    }

    pub fn is_icap(&self) -> bool {
        matches!(self.kind, Kind::Icap(_))
    }

    pub fn health(&self) -> Health {
        self.health.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Records a new health; the old one.
    fn set_health(&self, health: Health) -> Health {
        std::mem::replace(&mut *self.health.write().unwrap_or_else(PoisonError::into_inner), health)
    }

    /// Whether it answers now (clamd's PING, ICAP's OPTIONS).
    pub async fn ping(&self) -> bool {
        match &self.kind {
            Kind::Clamd(clamd) => clamd.ping().await,
            Kind::Icap(icap) => icap.ping().await,
        }
    }

    async fn scan(&self, chunks: mpsc::Receiver<Bytes>) -> Result<Verdict, ScanError> {
        match &self.kind {
            Kind::Clamd(clamd) => clamd.scan(chunks).await,
            Kind::Icap(icap) => icap.scan(chunks).await,
        }
    }
}

#[derive(Clone)]
pub struct Scanner {
    inner: Arc<Inner>,
}

struct Inner {
    engines: Vec<Engine>,
    policy: ScanPolicy,
    scan_timeout: Duration,
    /// One self-test at a time; uploads waiting for the first one wait here.
    running: tokio::sync::Mutex<()>,
    max_scan_bytes: u64,
    encrypted_refused: bool,
}

impl std::fmt::Debug for Scanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let engines: Vec<_> = self.inner.engines.iter().map(Engine::name).collect();
        f.debug_struct("Scanner").field("engines", &engines).field("health", &self.health()).finish()
    }
}

impl Scanner {
    pub fn new(config: &ScannerConfig, files: &crate::config::FilesConfig) -> Self {
        let connect = Duration::from_secs(config.connect_timeout_seconds);
        let engines = config
            .engines
            .iter()
            .map(|name| Engine {
                kind: match config.icap.get(name) {
                    Some(icap) => Kind::Icap(Box::new(Icap::new(name, icap, connect, config.max_scan_bytes))),
                    None => Kind::Clamd(Clamd::new(config)),
                },
                optional: config.optional.contains(name),
                health: RwLock::new(Health::Untested),
            })
            .collect();
        let inner = Inner {
            engines,
            policy: config.policy,
            scan_timeout: Duration::from_secs(config.scan_timeout_seconds),
            running: tokio::sync::Mutex::new(()),
            max_scan_bytes: config.max_scan_bytes,
            encrypted_refused: !files.allow_encrypted_archives,
        };
        Self { inner: Arc::new(inner) }
    }

    pub fn engines(&self) -> &[Engine] {
        &self.inner.engines
    }

    /// What the engines' last self-tests allow: misconfigured when any
    /// engine is; otherwise the first required engine not passed; passed
    /// when every required engine (and at least one) passed.
    pub fn health(&self) -> Health {
        let healths: Vec<(bool, Health)> = self.inner.engines.iter().map(|e| (e.optional, e.health())).collect();
        combine_health(&healths)
    }

    /// Runs the self-test now on every engine (waiting for one already
    /// running) and logs what changed; the health it found.
    pub async fn self_test(&self) -> Health {
        let _one = self.inner.running.lock().await;
        let canaries = self_test::cached(self.inner.max_scan_bytes, self.inner.encrypted_refused).await;
        for engine in &self.inner.engines {
            let health = self_test::run(self, engine, &canaries).await;
            if engine.set_health(health.clone()) != health {
                report(engine, &health);
            }
        }
        self.health()
    }

    /// Whether an upload may be scanned now: the self-test passed (it is run
    /// first when it has not, or when an engine was unavailable last time).
    pub async fn ready_for_uploads(&self) -> Health {
        match self.health() {
            Health::Untested | Health::Unavailable => self.self_test().await,
            known => known,
        }
    }

    /// Scans bytes already in memory (archives read whole) with every engine.
    pub async fn scan_bytes(&self, bytes: Bytes) -> Result<Verdict, ScanError> {
        let (tx, rx) = mpsc::channel(4);
        let (verdict, ()) = tokio::join!(self.scan(rx), feed(bytes, vec![tx]));
        verdict
    }

    /// One engine's verdict on bytes in memory (the self-test's files).
    pub(crate) async fn scan_bytes_with(&self, engine: &Engine, bytes: Bytes) -> Result<Verdict, ScanError> {
        let (tx, rx) = mpsc::channel(4);
        let (verdict, ()) = tokio::join!(self.scan_with(engine, rx, false), feed(bytes, vec![tx]));
        verdict
    }

    /// Scans what arrives on `chunks` until the sender is dropped, with the
    /// engines that may take part; each must finish within the scan timeout.
    pub async fn scan(&self, mut chunks: mpsc::Receiver<Bytes>) -> Result<Verdict, ScanError> {
        let taking_part: Vec<&Engine> =
            self.inner.engines.iter().filter(|e| !e.optional || e.health() == Health::Passed).collect();
        if let [engine] = taking_part[..] {
            let verdict = self.scan_with(engine, chunks, true).await;
            return combine(self.inner.policy, &[(engine.optional, verdict)]);
        }
        let (senders, receivers): (Vec<_>, Vec<_>) = taking_part.iter().map(|_| mpsc::channel(16)).unzip();
        let copies = async move {
            while let Some(chunk) = chunks.recv().await {
                for tx in &senders {
                    // An engine that stopped early has its verdict already.
                    let _ = tx.send(chunk.clone()).await;
                }
            }
        };
        let scans = taking_part.iter().zip(receivers).map(|(e, rx)| self.scan_with(e, rx, true));
        let (verdicts, ()) = tokio::join!(futures_util::future::join_all(scans), copies);
        let results: Vec<_> = taking_part.iter().map(|e| e.optional).zip(verdicts).collect();
        combine(self.inner.policy, &results)
    }

    /// One engine's scan, timed, and counted when `counted` (uploads, not
    /// the self-test's files); an optional engine that fails is left out
    /// until its next self-test.
    async fn scan_with(
        &self,
        engine: &Engine,
        chunks: mpsc::Receiver<Bytes>,
        counted: bool,
    ) -> Result<Verdict, ScanError> {
        let started = Instant::now();
        let verdict = match tokio::time::timeout(self.inner.scan_timeout, engine.scan(chunks)).await {
            Err(_) => Err(ScanError::Timeout),
            Ok(v) => v,
        };
        let label = match &verdict {
            Ok(Verdict::Clean) => "clean",
            Ok(Verdict::Infected(_)) => "infected",
            Err(_) => "error",
        };
        if counted {
            crate::metrics::scanned(engine.name(), label, started.elapsed());
        }
        if let Err(e) = &verdict
            && engine.optional
            && !matches!(e, ScanError::Refused(_))
            && engine.set_health(Health::Unavailable) == Health::Passed
        {
            tracing::warn!(engine = engine.name(), error = %e, "an optional virus scanner failed: left out until it passes its self-test");
        }
        verdict
    }

    /// Each engine's state now (a misconfigured one stays so whatever it
    /// answers), and the scanner's as a whole: for `/readyz`.
    pub async fn probe(&self) -> (&'static str, Vec<(String, &'static str)>) {
        let mut states = vec![];
        let mut healths = vec![];
        for e in &self.inner.engines {
            let health = match e.health() {
                Health::Misconfigured(f) => Health::Misconfigured(f),
                _ if e.ping().await => Health::Passed,
                _ => Health::Unavailable,
            };
            states.push((e.name().to_string(), health.name()));
            healths.push((e.optional, health));
        }
        (combine_health(&healths).name(), states)
    }
}

/// Sends `bytes` in 64 KiB chunks to each of `to`.
async fn feed(bytes: Bytes, to: Vec<mpsc::Sender<Bytes>>) {
    for chunk in bytes.chunks(64 * 1024) {
        for tx in &to {
            let _ = tx.send(bytes.slice_ref(chunk)).await;
        }
    }
}

/// The scanner's health from its engines' (each with whether it is optional).
fn combine_health(engines: &[(bool, Health)]) -> Health {
    let findings: Vec<_> = engines
        .iter()
        .filter_map(|(_, h)| match h {
            Health::Misconfigured(f) => Some(f.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    if !findings.is_empty() {
        return Health::Misconfigured(findings);
    }
    if let Some((_, h)) = engines.iter().find(|(optional, h)| !optional && *h != Health::Passed) {
        return h.clone();
    }
    if engines.iter().any(|(_, h)| *h == Health::Passed) {
        Health::Passed
    } else if engines.iter().all(|(_, h)| *h == Health::Untested) {
        Health::Untested
    } else {
        Health::Unavailable
    }
}

/// One verdict from the engines' (each with whether it is optional).
fn combine(policy: ScanPolicy, results: &[(bool, Result<Verdict, ScanError>)]) -> Result<Verdict, ScanError> {
    if let Some(detected) = results.iter().find_map(|(_, r)| match r {
        Ok(Verdict::Infected(d)) => Some(d.clone()),
        _ => None,
    }) {
        return Ok(Verdict::Infected(detected));
    }
    let required_failure = results.iter().find_map(|(optional, r)| match r {
        Err(e) if !optional => Some(e.clone()),
        _ => None,
    });
    if policy == ScanPolicy::All
        && let Some(e) = required_failure
    {
        return Err(e);
    }
    if results.iter().any(|(_, r)| *r == Ok(Verdict::Clean)) {
        return Ok(Verdict::Clean);
    }
    Err(results
        .iter()
        .find_map(|(_, r)| r.clone().err())
        .unwrap_or_else(|| ScanError::Unavailable("no engine scanned the file".into())))
}

fn report(engine: &Engine, health: &Health) {
    let (name, address) = (engine.name(), engine.address());
    match health {
        Health::Passed => tracing::info!(engine = name, address = %address, "virus scanner self-test passed"),
        Health::Untested => {}
        Health::Unavailable if engine.is_icap() => tracing::warn!(engine = name, address = %address,
            "an ICAP virus scanner does not answer: file uploads are refused until it does, unless it is optional \
             (docs/operations.md, \"Antivirus through ICAP\")"),
        Health::Unavailable => tracing::warn!(engine = name, address = %address,
            "no virus scanner answers: file uploads are refused until clamd runs \
             (Debian: apt-get install clamav-daemon; README, \"Files and the antivirus\")"),
        Health::Misconfigured(findings) => {
            for f in findings {
                tracing::error!(engine = name, address = %address, test_file = f.canary, fix = %f.fix,
                    "virus scanner misconfigured: it passed a test file as clean, so file uploads are refused");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::self_test::Finding;

    fn infected(engine: &str) -> Result<Verdict, ScanError> {
        Ok(Verdict::Infected(Detection::new(engine, "Test.EICAR")))
    }
    const CLEAN: Result<Verdict, ScanError> = Ok(Verdict::Clean);
    fn down() -> Result<Verdict, ScanError> {
        Err(ScanError::Unavailable("refused".into()))
    }

    #[test]
    fn a_detection_by_any_engine_refuses_under_either_policy() {
        for policy in [ScanPolicy::All, ScanPolicy::Any] {
            for results in [
                vec![(false, CLEAN), (false, infected("kav"))],
                vec![(false, CLEAN), (true, infected("kav"))],
                vec![(false, down()), (true, infected("kav"))],
            ] {
                assert_eq!(combine(policy, &results), infected("kav"), "{policy:?} {results:?}");
            }
        }
    }

    #[test]
    fn all_needs_every_required_engine_any_needs_one() {
        let one_down = [(false, CLEAN), (false, down())];
        assert_eq!(combine(ScanPolicy::All, &one_down), down());
        assert_eq!(combine(ScanPolicy::Any, &one_down), CLEAN);
        let optional_down = [(false, CLEAN), (true, Err(ScanError::Timeout))];
        assert_eq!(combine(ScanPolicy::All, &optional_down), CLEAN);
        // Nobody said clean: never accepted.
        for policy in [ScanPolicy::All, ScanPolicy::Any] {
            assert_eq!(combine(policy, &[(true, down()), (true, Err(ScanError::Timeout))]), down());
            assert!(combine(policy, &[]).is_err());
        }
    }

    #[test]
    fn health_of_the_whole() {
        let finding = Finding { engine: "kav".into(), canary: "eicar", fix: "x".into() };
        let misconfigured = Health::Misconfigured(vec![finding]);
        let h = |v: &[(bool, Health)]| combine_health(v);
        assert_eq!(h(&[(false, Health::Passed), (true, misconfigured.clone())]), misconfigured);
        assert_eq!(h(&[(false, Health::Passed), (false, Health::Unavailable)]), Health::Unavailable);
        assert_eq!(h(&[(false, Health::Passed), (true, Health::Unavailable)]), Health::Passed);
        assert_eq!(h(&[(true, Health::Unavailable), (true, Health::Unavailable)]), Health::Unavailable);
        assert_eq!(h(&[(false, Health::Untested), (true, Health::Untested)]), Health::Untested);
        assert_eq!(h(&[(true, Health::Untested), (true, Health::Passed)]), Health::Passed);
    }
}
