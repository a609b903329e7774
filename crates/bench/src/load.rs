//! Driving a run: connect operators and visitors, let them talk for the
//! warm-up and the measured period, drain, and collect the figures.

use crate::client::{self, Pace, Side, TooManyOpenFiles, Ws};
use crate::fixture::Fixture;
use crate::report::{Latency, Recorder};
use crate::stamp::Epoch;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicI64, AtomicU64};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};

/// Where a run is; every connection task watches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Connections are being opened; nobody sends yet.
    Connecting,
    /// Visitors send (warm-up and measured period alike).
    Running,
    /// No new messages; visitors wait for their outstanding acks.
    Draining,
    /// Everyone closes.
    Done,
}

#[derive(Default)]
pub struct Counters {
    pub sent: AtomicU64,
    pub acked: AtomicU64,
    /// Sent and not yet acknowledged (or failed), over all visitors.
    pub unacked: AtomicI64,
    /// Bench messages operators received, in or out of the window.
    pub delivered: AtomicU64,
    /// Distinct conversations operators received bench messages in.
    pub conversations_reached: AtomicU64,
    pub error_frames: AtomicU64,
    pub disconnects: AtomicU64,
}

/// What every connection task of a run shares.
pub struct Shared {
    pub epoch: Epoch,
    pub phase: watch::Receiver<Phase>,
    pub counters: Counters,
    pub delivery_latency: Recorder,
    pub ack_latency: Recorder,
    /// The measured period in `epoch` nanoseconds, `[from, until)`. Until the
    /// warm-up ends `from` is `u64::MAX`, so nothing is in it.
    window_from: AtomicU64,
    window_until: AtomicU64,
    error_codes: Mutex<BTreeMap<String, u64>>,
}

impl Shared {
    pub fn new(phase: watch::Receiver<Phase>) -> anyhow::Result<Self> {
        Ok(Self {
            epoch: Epoch::now(),
            phase,
            counters: Counters::default(),
            delivery_latency: Recorder::new()?,
            ack_latency: Recorder::new()?,
            window_from: AtomicU64::new(u64::MAX),
            window_until: AtomicU64::new(u64::MAX),
            error_codes: Mutex::default(),
        })
    }

    /// Whether an instant (epoch nanoseconds) falls in the measured period.
    /// Latencies are kept by their *send* time, so messages sent near the end
    /// still count however late they arrive, and slow ones are not dropped.
    pub fn in_window(&self, nanos: u64) -> bool {
        nanos >= self.window_from.load(Relaxed) && nanos < self.window_until.load(Relaxed)
    }

    /// Starts the measured period now (the warm-up is over).
    pub fn start_window(&self) {
        self.window_from.store(self.epoch.nanos(), Relaxed);
    }

    /// Ends the measured period now.
    pub fn end_window(&self) {
        self.window_until.store(self.epoch.nanos(), Relaxed);
    }

    pub fn count_error(&self, code: &str) {
        self.counters.error_frames.fetch_add(1, Relaxed);
        let mut codes = self.error_codes.lock().unwrap_or_else(PoisonError::into_inner);
        *codes.entry(code.to_owned()).or_default() += 1;
    }

    pub fn error_codes(&self) -> BTreeMap<String, u64> {
        self.error_codes.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub visitors: usize,
    /// Messages per second over all visitors; 0 = paced by `window`.
    pub rate: f64,
    pub window: usize,
    pub warmup: Duration,
    pub duration: Duration,
    /// Bytes of each message's text (the stamp, padded).
    pub text_bytes: usize,
    /// Connection attempts in flight at once, so the server's accept queue
    /// is not flooded.
    pub connect_concurrency: usize,
    /// How long to wait for outstanding acks and deliveries after the run.
    pub drain: Duration,
}

/// CPU seconds used so far by the client and, when known, the server.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuSample {
    pub client: Option<f64>,
    pub server: Option<f64>,
}

/// Reads CPU use at the start and end of the measured period.
pub type CpuProbe = dyn Fn() -> CpuSample + Send + Sync;

/// The raw figures of a run; `main` turns them into a report.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub visitors: usize,
    pub operators: usize,
    pub measured: Duration,
    pub sent: u64,
    pub acked: u64,
    pub acked_per_second: Vec<u64>,
    pub error_frames: u64,
    pub error_codes: BTreeMap<String, u64>,
    pub connect_failures: u64,
    pub disconnects: u64,
    pub conversations_reached: u64,
    pub delivery_latency: Latency,
    pub ack_latency: Latency,
    pub client_cpu_s: Option<f64>,
    pub server_cpu_s: Option<f64>,
}

pub async fn run(fixture: &Fixture, plan: &Plan, cpu: &CpuProbe) -> anyhow::Result<Outcome> {
    anyhow::ensure!(plan.visitors > 0, "no visitors to run");
    anyhow::ensure!(plan.rate > 0.0 || plan.window > 0, "a window of 0 with no rate would never send");
    let endpoint = Arc::new(fixture.endpoint()?);
    let (phase_tx, phase_rx) = watch::channel(Phase::Connecting);
    let shared = Arc::new(Shared::new(phase_rx)?);
    let mut tasks = JoinSet::new();

    eprintln!("connecting {} operators", fixture.operator_tokens.len());
    let tokens = Arc::new(fixture.operator_tokens.clone());
    let endpoints =
        Arc::new((0..tokens.len()).map(|i| fixture.operator_endpoint(i)).collect::<anyhow::Result<Vec<_>>>()?);
    let (operators, operator_failures) = connect_all(tokens.len(), plan.connect_concurrency, |i| {
        let (endpoint, tokens) = (endpoints[i].clone(), tokens.clone());
        async move {
            let token = tokens.get(i).map_or("", String::as_str);
            let mut ws = client::open(&endpoint.authority, &endpoint.operator_url(), Side::Operator { token }).await?;
            client::operator_online(&mut ws).await?;
            Ok(ws)
        }
    })
    .await?;
    if operators.is_empty() {
        eprintln!("warning: no operator is online, so there will be no delivery latency");
    }
    let operator_count = operators.len();
    for ws in operators {
        tasks.spawn(client::operator(ws, shared.clone()));
    }

    eprintln!("connecting {} visitors", plan.visitors);
    let (visitors, visitor_failures) =
        connect_visitors(fixture, &endpoint, plan.visitors, plan.connect_concurrency, true).await?;
    anyhow::ensure!(!visitors.is_empty(), "no visitor could connect");
    let visitor_count = visitors.len();
    if operator_count > 0 {
        wait_for_routing(&shared, visitor_count as u64).await;
    }
    let mut credits = Vec::new();
    for ws in visitors {
        let pace = if plan.rate > 0.0 {
            let credit = Arc::new(Semaphore::new(0));
            credits.push(credit.clone());
            Pace::Credits(credit)
        } else {
            Pace::Window(plan.window)
        };
        tasks.spawn(client::visitor(ws, shared.clone(), pace, plan.text_bytes));
    }

    eprintln!("running: {:?} warm-up, then {:?} measured", plan.warmup, plan.duration);
    phase_tx.send_replace(Phase::Running);
    if !credits.is_empty() {
        tasks.spawn(pace(credits, plan.rate, shared.phase.clone()));
    }
    tokio::time::sleep(plan.warmup).await;

    let cpu_before = cpu();
    let started = Instant::now();
    shared.start_window();
    let acked_per_second = per_second(&shared.counters.acked, started, plan.duration).await;
    shared.end_window();
    let measured = started.elapsed();
    let cpu_after = cpu();

    phase_tx.send_replace(Phase::Draining);
    drain(&shared.counters, plan.drain).await;
    phase_tx.send_replace(Phase::Done);
    // Tasks close their sockets politely, each within a second.
    let _ = tokio::time::timeout(Duration::from_secs(5), async { while tasks.join_next().await.is_some() {} }).await;
    tasks.abort_all();

    let spent = |before: Option<f64>, after: Option<f64>| Some(after? - before?);
    let counters = &shared.counters;
    Ok(Outcome {
        visitors: visitor_count,
        operators: operator_count,
        measured,
        sent: counters.sent.load(Relaxed),
        acked: counters.acked.load(Relaxed),
        acked_per_second,
        error_frames: counters.error_frames.load(Relaxed),
        error_codes: shared.error_codes(),
        connect_failures: operator_failures + visitor_failures,
        disconnects: counters.disconnects.load(Relaxed),
        conversations_reached: counters.conversations_reached.load(Relaxed),
        delivery_latency: shared.delivery_latency.summary(),
        ack_latency: shared.ack_latency.summary(),
        client_cpu_s: spent(cpu_before.client, cpu_after.client),
        server_cpu_s: spent(cpu_before.server, cpu_after.server),
    })
}

/// Opens `count` visitor connections, each having said hello.
/// Waits (up to two minutes) until operators have heard of every visitor's
/// conversation, i.e. routing has assigned them all.
async fn wait_for_routing(shared: &Shared, conversations: u64) {
    eprintln!("waiting for routing to assign {conversations} conversations");
    let deadline = Instant::now() + Duration::from_secs(120);
    while shared.counters.conversations_reached.load(Relaxed) < conversations && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let reached = shared.counters.conversations_reached.load(Relaxed);
    eprintln!("routing assigned {reached} of {conversations} conversations");
}

pub async fn connect_visitors(
    fixture: &Fixture,
    endpoint: &Arc<crate::fixture::Endpoint>,
    count: usize,
    concurrency: usize,
    open_conversation: bool,
) -> anyhow::Result<(Vec<Ws>, u64)> {
    let widget = Arc::new((fixture.widget_id.clone(), fixture.origin.clone()));
    connect_all(count, concurrency, |_| {
        let (endpoint, widget) = (endpoint.clone(), widget.clone());
        async move {
            let (widget_id, origin) = widget.as_ref();
            let mut ws =
                client::open(&endpoint.authority, &endpoint.visitor_url(widget_id), Side::Visitor { origin }).await?;
            client::visitor_hello(&mut ws).await?;
            if open_conversation {
                client::visitor_open(&mut ws).await?;
            }
            Ok(ws)
        }
    })
    .await
}

/// Runs `connect(i)` for `0..count`, at most `concurrency` at once, on the
/// runtime's workers. Returns the connections made and how many failed; the
/// first failure is printed, and running out of file descriptors stops the
/// whole run with an explanation instead of failing thousands of times.
pub async fn connect_all<F, Fut>(count: usize, concurrency: usize, connect: F) -> anyhow::Result<(Vec<Ws>, u64)>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = anyhow::Result<Ws>> + Send + 'static,
{
    let gate = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut attempts = JoinSet::new();
    for i in 0..count {
        let (gate, attempt) = (gate.clone(), connect(i));
        attempts.spawn(async move {
            let _permit = gate.acquire_owned().await?;
            attempt.await
        });
    }
    let mut connected = Vec::with_capacity(count);
    let mut failures = 0;
    while let Some(joined) = attempts.join_next().await {
        match joined {
            Ok(Ok(ws)) => connected.push(ws),
            Ok(Err(error)) if error.downcast_ref::<TooManyOpenFiles>().is_some() => {
                attempts.abort_all();
                return Err(error);
            }
            Ok(Err(error)) => {
                if failures == 0 {
                    eprintln!("connection failed: {error:#}");
                }
                failures += 1;
            }
            Err(error) => {
                if failures == 0 {
                    eprintln!("connection task failed: {error}");
                }
                failures += 1;
            }
        }
    }
    if failures > 1 {
        eprintln!("{failures} connections failed");
    }
    Ok((connected, failures))
}

/// Hands out send permits at `rate` per second, round-robin over visitors.
///
/// One ticker for all visitors instead of a timer each: a thousand timers at
/// a few hertz cost more wake-ups than one at a millisecond, and the number
/// due is computed from the time elapsed since the start, so late or skipped
/// ticks do not lose messages and the long-run rate is exact.
async fn pace(credits: Vec<Arc<Semaphore>>, rate: f64, mut phase: watch::Receiver<Phase>) {
    let period = Duration::from_secs_f64((1.0 / rate).clamp(0.001, 0.05));
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let start = Instant::now();
    let mut issued: u64 = 0;
    let mut next = 0;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            changed = phase.changed() => {
                if changed.is_err() || *phase.borrow_and_update() != Phase::Running {
                    return;
                }
            }
        }
        let due = (start.elapsed().as_secs_f64() * rate) as u64;
        while issued < due {
            if let Some(credit) = credits.get(next) {
                credit.add_permits(1);
            }
            next = (next + 1) % credits.len();
            issued += 1;
        }
    }
}

/// Waits out `duration`, noting how much `counter` grew in each whole second.
async fn per_second(counter: &AtomicU64, started: Instant, duration: Duration) -> Vec<u64> {
    let end = started + duration;
    let mut seconds = Vec::new();
    let mut last = counter.load(Relaxed);
    let mut tick = started + Duration::from_secs(1);
    while tick <= end {
        tokio::time::sleep_until(tick).await;
        let now = counter.load(Relaxed);
        seconds.push(now - last);
        last = now;
        tick += Duration::from_secs(1);
    }
    tokio::time::sleep_until(end).await;
    seconds
}

/// Waits until every sent message is acknowledged and deliveries have
/// stopped arriving for a moment (routing may deliver after the ack), or
/// until `limit`.
async fn drain(counters: &Counters, limit: Duration) {
    let deadline = Instant::now() + limit;
    let quiet = Duration::from_millis(250);
    let mut delivered = counters.delivered.load(Relaxed);
    let mut last_change = Instant::now();
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = counters.delivered.load(Relaxed);
        if now != delivered {
            delivered = now;
            last_change = Instant::now();
        }
        if counters.unacked.load(Relaxed) <= 0 && last_change.elapsed() >= quiet {
            return;
        }
    }
}
