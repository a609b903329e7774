//! `ostrog-bench`: measures Ostrog over real WebSockets.
//!
//! `load` drives visitors and operators against a running Ostrog, `ceiling`
//! drives the same client against a bare in-process echo server (what this
//! machine can do at all), `idle` holds many quiet connections open to
//! see what each costs the server in memory, `upload` compares accepting a
//! file with clamd's own time, and `search` times search and history over a
//! large stored history.

mod ceiling;
mod client;
mod cpu;
mod fixture;
mod http;
mod idle;
mod ids;
mod limits;
mod load;
mod memory;
mod report;
mod search;
mod stamp;
mod upload;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use fixture::{Backend, Fixture, ServerProcess};
use load::{CpuProbe, CpuSample, Outcome, Plan};
use report::LoadReport;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(name = "ostrog-bench", about = "Load generator that measures Ostrog over real WebSockets")]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Visitors send messages to a running Ostrog; operators receive them.
    Load {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        traffic: Traffic,
        /// Operator connections (one employee each) when the bench prepares the
        /// server [default: 50]; with an external server, one per --operator-token.
        #[arg(long)]
        operators: Option<usize>,
        /// First run `ceiling` with the same traffic in this invocation, then
        /// the load, and print the load's share of the ceiling.
        #[arg(long)]
        with_ceiling: bool,
        #[command(flatten)]
        output: Output,
    },
    /// The same client against a bare in-process WebSocket echo server: the
    /// most this machine can do, to compare Ostrog's figures with.
    Ceiling {
        #[command(flatten)]
        traffic: Traffic,
        /// "Operator" sockets the echo server forwards messages to.
        #[arg(long, default_value_t = 50)]
        operators: usize,
        /// Worker threads of the echo server's own runtime.
        #[arg(long, default_value_t = 1)]
        server_threads: usize,
        #[command(flatten)]
        output: Output,
    },
    /// Search and history over a stored history the bench writes first:
    /// each kind of query timed as an operator (their own conversations)
    /// and as a manager (every conversation).
    Search {
        #[command(flatten)]
        target: Target,
        /// Messages stored before the queries.
        #[arg(long, default_value_t = 1_000_000)]
        messages: usize,
        /// Conversations they are spread over.
        #[arg(long, default_value_t = 40_000)]
        conversations: usize,
        /// Messages of one conversation whose latest page is timed.
        #[arg(long, default_value_t = 10_000)]
        long_history: usize,
        /// Queries of each kind per caller.
        #[arg(long, default_value_t = 100)]
        queries: usize,
        /// Leave the data folder (printed with the session tokens) instead of
        /// removing it, to serve it again by hand.
        #[arg(long)]
        keep: bool,
        #[command(flatten)]
        output: Output,
    },
    /// Visitors that only say hello and stay connected; reports the server's
    /// memory per connection (run `ulimit -n 65536` first).
    Idle {
        #[command(flatten)]
        target: Target,
        #[arg(long, default_value_t = 10_000)]
        connections: usize,
        /// Connection attempts in flight at once.
        #[arg(long, default_value_t = 200)]
        connect_concurrency: usize,
        /// Seconds between the last connection and reading the server's memory.
        #[arg(long, default_value_t = 2)]
        settle: u64,
        #[command(flatten)]
        output: Output,
    },
    /// The time to accept a file through Ostrog against clamd's own time for
    /// the same bytes. A prepared server inherits the environment: run with
    /// OSTROG_SCANNER__SOCKET set to the same clamd as `--clamd-socket`.
    Upload {
        #[command(flatten)]
        target: Target,
        #[arg(long)]
        clamd_socket: PathBuf,
        #[arg(long, default_value_t = 10)]
        size_mib: usize,
        #[arg(long, default_value_t = 5)]
        repeat: usize,
        #[command(flatten)]
        output: Output,
    },
}

/// The server to measure: an external one (`--url` and the rest), or, without
/// `--url`, one the bench prepares itself.
#[derive(Args)]
struct Target {
    /// Base URL of a running Ostrog, e.g. http://127.0.0.1:8080.
    #[arg(long, requires_all = ["widget", "origin"])]
    url: Option<String>,
    /// Widget id for the visitor endpoint.
    #[arg(long)]
    widget: Option<String>,
    /// An Origin the widget allows.
    #[arg(long)]
    origin: Option<String>,
    /// Bearer session token of an operator; repeat for each operator connection.
    #[arg(long = "operator-token")]
    operator_tokens: Vec<String>,
    /// Pid of the server, to read its memory and CPU from /proc.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Database of a prepared server.
    #[arg(long, value_enum, default_value_t = Backend::Sqlite)]
    database: Backend,
    /// `ostrog` binary a prepared server runs (`ostrog serve`).
    #[arg(long, default_value = "target/release/ostrog")]
    server_bin: PathBuf,
    /// Chats each prepared operator may hold [default: enough for every visitor].
    #[arg(long)]
    chat_limit: Option<u32>,
    /// Prepared `ostrog serve` processes on one database (more than one needs
    /// --database postgres). Visitors connect to the first node and operators
    /// to the others, so that every message crosses from node to node.
    #[arg(long, default_value_t = 1)]
    nodes: usize,
    /// The bus between prepared nodes: postgres (LISTEN/NOTIFY) or nats.
    #[arg(long, default_value = "postgres")]
    bus: String,
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    nats_url: String,
    /// Another node of an external cluster for operators; repeat for each.
    #[arg(long = "operator-url")]
    operator_urls: Vec<String>,
}

impl Target {
    fn nodes(&self) -> fixture::Nodes {
        fixture::Nodes { count: self.nodes, bus: self.bus.clone(), nats_url: self.nats_url.clone() }
    }

    async fn resolve(&self, operators: usize, chat_limit: u32) -> anyhow::Result<(Fixture, ServerProcess)> {
        let (Some(url), Some(widget), Some(origin)) = (&self.url, &self.widget, &self.origin) else {
            let nodes = self.nodes();
            let (mut fixture, process) =
                fixture::prepare(self.database, operators, chat_limit, &self.server_bin, &nodes).await?;
            fixture.server_pid = self.server_pid.or(fixture.server_pid).or(process.pid());
            return Ok((fixture, process));
        };
        let fixture = Fixture {
            url: url.clone(),
            widget_id: widget.clone(),
            origin: origin.clone(),
            operator_tokens: self.operator_tokens.clone(),
            operator_urls: self.operator_urls.clone(),
            server_pid: self.server_pid,
        };
        Ok((fixture, ServerProcess::external()))
    }
}

/// What the visitors do.
#[derive(Args)]
struct Traffic {
    /// Visitor connections; each one's first message opens its conversation.
    #[arg(long, default_value_t = 1000)]
    visitors: usize,
    /// Messages per second over all visitors, evenly spread; 0 = as fast as
    /// acknowledgements allow (see --window).
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// Unacknowledged messages in flight per visitor when --rate is 0.
    #[arg(long, default_value_t = 8)]
    window: usize,
    /// Seconds measured, after the warm-up.
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// Seconds of traffic before measuring (conversations get created and
    /// routed, caches fill); nothing from it is counted.
    #[arg(long, default_value_t = 3)]
    warmup: u64,
    /// Bytes of each message's text.
    #[arg(long, default_value_t = 64)]
    text_bytes: usize,
    /// Connection attempts in flight at once.
    #[arg(long, default_value_t = 200)]
    connect_concurrency: usize,
}

impl Traffic {
    fn plan(&self) -> Plan {
        Plan {
            visitors: self.visitors,
            rate: self.rate,
            window: self.window,
            warmup: Duration::from_secs(self.warmup),
            duration: Duration::from_secs(self.duration),
            text_bytes: self.text_bytes,
            connect_concurrency: self.connect_concurrency,
            drain: Duration::from_secs(5),
        }
    }
}

#[derive(Args)]
struct Output {
    /// Worker threads of the client's runtime. The client shares the machine
    /// with the server it measures, so it takes one core by default and
    /// leaves the rest to the server; raise it only if the client (see its CPU
    /// in the report) is what limits the figures.
    #[arg(long, default_value_t = 1)]
    client_threads: usize,
    /// Print one JSON object instead of the summary.
    #[arg(long)]
    json: bool,
}

impl Output {
    fn runtime(&self) -> anyhow::Result<tokio::runtime::Runtime> {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(self.client_threads.max(1))
            .thread_name(CLIENT_THREAD_NAME)
            .enable_all()
            .build()
            .context("starting the client runtime")
    }

    fn print<T: serde::Serialize>(&self, report: &T, human: impl FnOnce() -> String) -> anyhow::Result<()> {
        if self.json {
            println!("{}", serde_json::to_string(report)?);
        } else {
            print!("{}", human());
        }
        Ok(())
    }
}

/// Names the client runtime's threads, to tell their CPU time from the echo
/// server's in `ceiling` mode.
const CLIENT_THREAD_NAME: &str = "bench-client";

fn main() -> anyhow::Result<()> {
    match Cli::parse().mode {
        Mode::Load { target, traffic, operators, with_ceiling, output } => {
            load(&target, &traffic, operators, with_ceiling, &output)
        }
        Mode::Ceiling { traffic, operators, server_threads, output } => {
            ceiling(&traffic, operators, server_threads, &output)
        }
        Mode::Upload { target, clamd_socket, size_mib, repeat, output } => {
            let report = output.runtime()?.block_on(async {
                let (fixture, _server) = target.resolve(1, 1).await?;
                upload::run(&fixture, &clamd_socket, size_mib * 1024 * 1024, repeat.max(1)).await
            })?;
            output.print(&report, || report.human())
        }
        Mode::Search { target, messages, conversations, long_history, queries, keep, output } => {
            anyhow::ensure!(target.url.is_none(), "search prepares its own server: leave out --url");
            let plan = search::SearchPlan { messages, conversations, long_history, queries: queries.max(1), keep };
            let report = output.runtime()?.block_on(async {
                let nodes = target.nodes();
                let prepared = fixture::prepare_database(target.database, 50, 100, &nodes).await?;
                search::run(prepared, &plan, &target.server_bin, &nodes).await
            })?;
            output.print(&report, || report.human())
        }
        Mode::Idle { target, connections, connect_concurrency, settle, output } => {
            let plan = idle::IdlePlan { connections, connect_concurrency, settle: Duration::from_secs(settle) };
            limits::warn_if_low("bench", std::process::id(), connections + 64);
            let report = output.runtime()?.block_on(async {
                let (fixture, _server) = target.resolve(0, 1).await?;
                match fixture.server_pid {
                    Some(pid) => limits::warn_if_low("server", pid, connections + 64),
                    None => eprintln!("warning: no --server-pid, so the server's memory is unknown"),
                }
                idle::run(&fixture, &plan, output.client_threads).await
            })?;
            output.print(&report, || report.human())
        }
    }
}

fn load(
    target: &Target,
    traffic: &Traffic,
    operators: Option<usize>,
    with_ceiling: bool,
    output: &Output,
) -> anyhow::Result<()> {
    let plan = traffic.plan();
    if target.url.is_some() {
        anyhow::ensure!(
            operators.is_none_or(|n| n == target.operator_tokens.len()),
            "with --url there is one operator connection per --operator-token ({} given): \
             several connections of one employee would each receive the same messages",
            target.operator_tokens.len()
        );
    }
    let operators = operators.unwrap_or(50);
    let chat_limit = target.chat_limit.unwrap_or_else(|| {
        let per_operator = plan.visitors.div_ceil(operators.max(1));
        u32::try_from(per_operator).unwrap_or(u32::MAX)
    });
    limits::warn_if_low("bench", std::process::id(), plan.visitors + operators + 64);
    // Before the prepared server starts, so that the echo server has the machine to itself.
    let ceiling = if with_ceiling { Some(run_ceiling(&plan, operators, 1, output.client_threads)?) } else { None };
    let runtime = output.runtime()?;
    let (outcome, peak) = runtime.block_on(async {
        // `_server` lives until the run is over: dropping it stops a prepared server.
        let (fixture, _server) = target.resolve(operators, chat_limit).await?;
        let pid = fixture.server_pid;
        if let Some(pid) = pid {
            limits::warn_if_low("server", pid, plan.visitors + operators + 64);
        }
        let probe = move || CpuSample {
            client: cpu::process_seconds(std::process::id()).ok(),
            server: pid.and_then(|pid| cpu::process_seconds(pid).ok()),
        };
        let outcome = load::run(&fixture, &plan, &probe).await?;
        let peak = pid.and_then(|pid| memory::read(pid).ok()).and_then(|m| m.peak_rss);
        anyhow::Ok((outcome, peak))
    })?;
    let report = to_report("load", &plan, outcome, peak, output.client_threads, None);
    match ceiling {
        Some(ceiling) => {
            let compared = report::Compared::new(ceiling, report);
            output.print(&compared, || compared.human())
        }
        None => output.print(&report, || report.human()),
    }
}

fn ceiling(traffic: &Traffic, operators: usize, server_threads: usize, output: &Output) -> anyhow::Result<()> {
    let plan = traffic.plan();
    let report = run_ceiling(&plan, operators, server_threads, output.client_threads)?;
    output.print(&report, || report.human())
}

/// The ceiling run, apart from printing, so tests can drive it.
fn run_ceiling(
    plan: &Plan,
    operators: usize,
    server_threads: usize,
    client_threads: usize,
) -> anyhow::Result<LoadReport> {
    let server = ceiling::EchoServer::start(server_threads)?;
    let fixture = server.fixture(operators);
    let runtime = Output { client_threads, json: false }.runtime()?;
    let probe: &CpuProbe = &|| {
        let pid = std::process::id();
        CpuSample {
            client: cpu::threads_seconds(pid, CLIENT_THREAD_NAME).ok(),
            server: cpu::threads_seconds(pid, ceiling::THREAD_NAME).ok(),
        }
    };
    let outcome = runtime.block_on(load::run(&fixture, plan, probe))?;
    drop(server);
    Ok(to_report("ceiling", plan, outcome, None, client_threads, Some(server_threads)))
}

fn to_report(
    mode: &'static str,
    plan: &Plan,
    outcome: Outcome,
    server_peak_rss_bytes: Option<u64>,
    client_threads: usize,
    server_threads: Option<usize>,
) -> LoadReport {
    let seconds = outcome.measured.as_secs_f64();
    LoadReport {
        mode,
        visitors: outcome.visitors,
        operators: outcome.operators,
        rate: plan.rate,
        window: plan.window,
        duration_s: seconds,
        warmup_s: plan.warmup.as_secs_f64(),
        sent: outcome.sent,
        acked: outcome.acked,
        acked_per_s: if seconds > 0.0 { outcome.acked as f64 / seconds } else { 0.0 },
        acked_per_second: outcome.acked_per_second,
        errors: outcome.error_frames + outcome.connect_failures + outcome.disconnects,
        error_codes: outcome.error_codes,
        connect_failures: outcome.connect_failures,
        disconnects: outcome.disconnects,
        latency_us: outcome.delivery_latency,
        conversations_reached: outcome.conversations_reached,
        ack_latency_us: outcome.ack_latency,
        server_peak_rss_bytes,
        client_cpu_s: outcome.client_cpu_s,
        server_cpu_s: outcome.server_cpu_s,
        server_cpu_us_per_ack: outcome
            .server_cpu_s
            .filter(|_| outcome.acked > 0)
            .map(|s| s * 1e6 / outcome.acked as f64),
        client_threads,
        server_threads,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    fn short_plan(visitors: usize, rate: f64) -> Plan {
        Plan {
            visitors,
            rate,
            window: 4,
            warmup: Duration::from_millis(200),
            duration: Duration::from_secs(1),
            text_bytes: 64,
            connect_concurrency: 16,
            drain: Duration::from_secs(2),
        }
    }

    /// The whole engine over real sockets: echo server, operators, visitors.
    #[test]
    fn ceiling_as_fast_as_acks_allow() -> anyhow::Result<()> {
        let report = run_ceiling(&short_plan(8, 0.0), 2, 1, 1)?;
        assert_eq!(report.visitors, 8);
        assert_eq!(report.operators, 2);
        assert!(report.acked > 0, "{report:?}");
        assert!(report.sent >= report.acked.saturating_sub(8 * 4), "{report:?}");
        assert!(report.latency_us.samples > 0, "{report:?}");
        assert!(report.ack_latency_us.samples > 0, "{report:?}");
        assert_eq!(report.errors, 0, "{report:?}");
        assert_eq!(report.conversations_reached, 8, "{report:?}");
        assert_eq!(report.acked_per_second.len(), 1);
        assert!(report.client_cpu_s.is_some() && report.server_cpu_s.is_some());
        assert!(report.server_cpu_us_per_ack.is_some_and(|us| us > 0.0), "{report:?}");
        let mut half = report.clone();
        half.acked_per_s = report.acked_per_s / 2.0;
        let compared = report::Compared::new(report.clone(), half);
        assert!((compared.percent_of_ceiling - 50.0).abs() < 1e-9, "{compared:?}");
        assert!(compared.human().contains("share of the ceiling: 50.0 %"), "{}", compared.human());
        let json = serde_json::to_value(&report)?;
        for key in ["mode", "acked_per_s", "errors", "server_peak_rss_bytes", "client_threads"] {
            assert!(json.get(key).is_some(), "{key} missing from {json}");
        }
        assert!(json["latency_us"]["p999"].is_u64());
        Ok(())
    }

    #[test]
    fn ceiling_at_a_fixed_rate() -> anyhow::Result<()> {
        let report = run_ceiling(&short_plan(10, 200.0), 2, 1, 1)?;
        // 200/s for one second; allow for the edges of the window.
        assert!((150..=250).contains(&report.sent), "{report:?}");
        assert!(report.acked > 100, "{report:?}");
        assert!(report.latency_us.samples > 100, "{report:?}");
        assert_eq!(report.errors, 0, "{report:?}");
        Ok(())
    }

    #[test]
    fn idle_connections_against_the_echo_server() -> anyhow::Result<()> {
        let server = ceiling::EchoServer::start(1)?;
        let mut fixture = server.fixture(0);
        // The echo server is this process; good enough to see the figures filled in.
        fixture.server_pid = Some(std::process::id());
        let plan = idle::IdlePlan { connections: 20, connect_concurrency: 8, settle: Duration::from_millis(100) };
        let report = Output { client_threads: 1, json: false }.runtime()?.block_on(idle::run(&fixture, &plan, 1))?;
        assert_eq!(report.opened, 20);
        assert_eq!(report.connect_failures, 0);
        assert!(report.server_rss_after_bytes.is_some() && report.bytes_per_connection.is_some());
        Ok(())
    }

    #[test]
    fn refused_connections_are_counted_not_fatal() -> anyhow::Result<()> {
        // A port nothing listens on: bind, note it, close.
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let fixture = Fixture {
            url: format!("http://127.0.0.1:{port}"),
            widget_id: "w".into(),
            origin: "http://o.test".into(),
            operator_tokens: vec![],
            operator_urls: vec![],
            server_pid: None,
        };
        let runtime = Output { client_threads: 1, json: false }.runtime()?;
        let endpoint = std::sync::Arc::new(fixture.endpoint()?);
        let (connected, failures) = runtime.block_on(load::connect_visitors(&fixture, &endpoint, 3, 2, false))?;
        assert!(connected.is_empty());
        assert_eq!(failures, 3);
        Ok(())
    }
}
