//! What `GET /metrics` reports, in the OpenMetrics text format Prometheus
//! scrapes. Counters and histograms are bumped where things happen; gauges
//! of current state (connections, queues) are read when scraped. One set per
//! process: labels carry kinds and outcomes only, never an id or a datum.
//! `docs/operations.md` lists each metric with the alert to set on it.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::LazyLock;
use std::time::Duration;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Kind {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Direction {
    direction: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ScanVerdict {
    engine: String,
    verdict: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EngineState {
    engine: String,
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ScannerState {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DoctorCheck {
    check: String,
    severity: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobResult {
    job: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryResult {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Build {
    version: &'static str,
}

struct Metrics {
    registry: Registry,
    connections: Family<Kind, Gauge>,
    messages: Family<Direction, Counter>,
    delivery: Histogram,
    waiting: Gauge,
    write_queue: Gauge,
    database_write: Histogram,
    scans: Family<ScanVerdict, Counter>,
    scan_time: Histogram,
    scanner: Family<ScannerState, Gauge>,
    engines: Family<EngineState, Gauge>,
    doctor: Family<DoctorCheck, Gauge>,
    sign_in_failures: Counter,
    jobs: Family<JobResult, Counter>,
    channel_deliveries: Family<DeliveryResult, Counter>,
}

/// 1 ms to about 16 s: a message's way through the server, a batch commit.
fn fast() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::default();
    let m = Metrics {
        connections: Family::default(),
        messages: Family::default(),
        delivery: fast(),
        waiting: Gauge::default(),
        write_queue: Gauge::default(),
        database_write: fast(),
        scans: Family::default(),
        // 10 ms to about 80 s: clamd takes long on large archives.
        scan_time: Histogram::new(exponential_buckets(0.01, 2.0, 14)),
        scanner: Family::default(),
        engines: Family::default(),
        doctor: Family::default(),
        sign_in_failures: Counter::default(),
        jobs: Family::default(),
        channel_deliveries: Family::default(),
        registry: Registry::default(),
    };
    let build: Family<Build, Gauge> = Family::default();
    build.get_or_create(&Build { version: env!("CARGO_PKG_VERSION") }).set(1);
    registry.register("ostrog_build_info", "The running version (always 1)", build);
    registry.register("ostrog_connections", "Open WebSocket connections by kind", m.connections.clone());
    registry.register("ostrog_messages", "Messages stored: in from visitors, out from employees", m.messages.clone());
    registry.register(
        "ostrog_delivery_seconds",
        "From a message's arrival to its being stored and queued to every recipient",
        m.delivery.clone(),
    );
    registry.register("ostrog_waiting_conversations", "Conversations queued for an operator", m.waiting.clone());
    registry.register("ostrog_write_queue_messages", "Messages waiting for the database writer", m.write_queue.clone());
    registry.register("ostrog_database_write_seconds", "Time to store one batch of messages", m.database_write.clone());
    registry.register("ostrog_scans", "Antivirus scans by engine and verdict", m.scans.clone());
    registry.register(
        "ostrog_scan_seconds",
        "Time from an upload's first byte to clamd's verdict",
        m.scan_time.clone(),
    );
    registry.register(
        "ostrog_scanner_state",
        "The virus scanner by its last self-test: 1 for its state (ok, unavailable, misconfigured, untested, disabled)",
        m.scanner.clone(),
    );
    registry.register(
        "ostrog_doctor_check",
        "Each check of the scheduled `ostrog doctor` by severity (ok, notice, warning, critical): 1 for its current one",
        m.doctor.clone(),
    );
    registry.register(
        "ostrog_scanner_engine_state",
        "Each antivirus engine (clamd, ICAP services) by its last self-test: 1 for its state",
        m.engines.clone(),
    );
    registry.register(
        "ostrog_sign_in_failures",
        "Failed sign-ins (password or second factor)",
        m.sign_in_failures.clone(),
    );
    registry.register("ostrog_jobs", "Background job runs by job and result", m.jobs.clone());
    registry.register(
        "ostrog_channel_deliveries",
        "Attempts to deliver replies to messengers: sent, retry (failed for now) or failed (given up)",
        m.channel_deliveries.clone(),
    );
    Metrics { registry, ..m }
});

/// Messages stored by the writer: `visitors` from visitors, `employees` from employees.
pub fn messages_stored(visitors: u64, employees: u64) {
    METRICS.messages.get_or_create(&Direction { direction: "in" }).inc_by(visitors);
    METRICS.messages.get_or_create(&Direction { direction: "out" }).inc_by(employees);
}

pub fn delivered(took: Duration) {
    METRICS.delivery.observe(took.as_secs_f64());
}

pub fn batch_written(took: Duration) {
    METRICS.database_write.observe(took.as_secs_f64());
}

/// One engine's scan (its name as configured): `clean`, `infected` or `error`.
pub fn scanned(engine: &str, verdict: &'static str, took: Duration) {
    METRICS.scans.get_or_create(&ScanVerdict { engine: engine.to_string(), verdict }).inc();
    METRICS.scan_time.observe(took.as_secs_f64());
}

/// A doctor check's severity now, by name (and 0 for the others).
pub fn doctor_check(check: &str, now: &'static str) {
    for severity in ["ok", "notice", "warning", "critical"] {
        let labels = DoctorCheck { check: check.to_string(), severity };
        METRICS.doctor.get_or_create(&labels).set(i64::from(severity == now));
    }
}

pub fn sign_in_failed() {
    METRICS.sign_in_failures.inc();
}

/// One run of a background job (`retention`, `backup`, `sessions`).
pub fn channel_delivery(result: &'static str) {
    METRICS.channel_deliveries.get_or_create(&DeliveryResult { result }).inc();
}

pub fn job(job: &'static str, ok: bool) {
    METRICS.jobs.get_or_create(&JobResult { job, result: if ok { "ok" } else { "failed" } }).inc();
}

/// The current state, read when scraped.
pub struct Gauges {
    pub operators: usize,
    pub visitors: usize,
    pub write_queue: usize,
    /// The scanner's health by name, `disabled` without one.
    pub scanner: &'static str,
    /// Each engine's health by name (its last self-test).
    pub engines: Vec<(String, &'static str)>,
    /// Conversations waiting; `None` when it could not be counted.
    pub waiting: Option<u64>,
}

/// The current state read into the gauges, then everything encoded.
pub fn render(now: Gauges) -> String {
    METRICS.connections.get_or_create(&Kind { kind: "operator" }).set(now.operators as i64);
    METRICS.connections.get_or_create(&Kind { kind: "visitor" }).set(now.visitors as i64);
    METRICS.write_queue.set(now.write_queue as i64);
    for state in ["ok", "unavailable", "misconfigured", "untested", "disabled"] {
        METRICS.scanner.get_or_create(&ScannerState { state }).set(i64::from(state == now.scanner));
    }
    for (engine, health) in &now.engines {
        for state in ["ok", "unavailable", "misconfigured", "untested"] {
            let key = EngineState { engine: engine.clone(), state };
            METRICS.engines.get_or_create(&key).set(i64::from(state == *health));
        }
    }
    if let Some(waiting) = now.waiting {
        METRICS.waiting.set(waiting as i64);
    }
    let mut out = String::new();
    if prometheus_client::encoding::text::encode(&mut out, &METRICS.registry).is_err() {
        tracing::error!("metrics: could not encode");
    }
    out
}
