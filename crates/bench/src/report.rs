//! Latency histograms and the results a run reports, for people and as JSON.

use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, PoisonError};

/// Latencies above this (two minutes, in µs) are recorded as this: a
/// histogram's size grows with its range, and anything that slow is a
/// failure whatever its exact value.
const HIGHEST_US: u64 = 120_000_000;

/// An HDR histogram of latencies in microseconds, 3 significant digits.
///
/// One shared histogram behind a mutex rather than one per connection: at 3
/// digits over this range a histogram is ~150 KB, so a thousand visitors
/// would each carry one for nothing, and the lock is held for one counter
/// increment (uncontended with the default single client thread).
pub struct Recorder {
    histogram: Mutex<Histogram<u64>>,
}

impl Recorder {
    pub fn new() -> anyhow::Result<Self> {
        Ok(Self { histogram: Mutex::new(Histogram::new_with_bounds(1, HIGHEST_US, 3)?) })
    }

    pub fn record_nanos(&self, nanos: u64) {
        // A poisoned lock only means another thread panicked mid-record; the
        // counts are still usable.
        self.histogram.lock().unwrap_or_else(PoisonError::into_inner).saturating_record(nanos / 1000);
    }

    pub fn summary(&self) -> Latency {
        Latency::of(&self.histogram.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// Percentiles in microseconds; `None` when there was no sample.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Latency {
    pub samples: u64,
    pub p50: Option<u64>,
    pub p99: Option<u64>,
    pub p999: Option<u64>,
    pub max: Option<u64>,
    pub mean: Option<f64>,
}

impl Latency {
    pub fn of(histogram: &Histogram<u64>) -> Self {
        let samples = histogram.len();
        if samples == 0 {
            return Self::default();
        }
        // HDR reports the highest value equivalent to the bucket it falls in;
        // with 3 digits that is within 0.1 % of the true value.
        let at = |q: f64| Some(histogram.value_at_quantile(q));
        Self {
            samples,
            p50: at(0.5),
            p99: at(0.99),
            p999: at(0.999),
            max: Some(histogram.max()),
            mean: Some(histogram.mean()),
        }
    }

    fn line(&self) -> String {
        if self.samples == 0 {
            return "no samples".into();
        }
        let show = |v: Option<u64>| v.map_or_else(|| "-".into(), human_us);
        format!(
            "p50 {}  p99 {}  p99.9 {}  max {}  ({} samples)",
            show(self.p50),
            show(self.p99),
            show(self.p999),
            show(self.max),
            self.samples
        )
    }
}

fn human_us(us: u64) -> String {
    match us {
        0..1_000 => format!("{us} µs"),
        1_000..1_000_000 => format!("{:.2} ms", us as f64 / 1e3),
        _ => format!("{:.2} s", us as f64 / 1e6),
    }
}

fn human_bytes(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// The result of `load` and `ceiling`.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    pub mode: &'static str,
    /// Visitor connections that took part (requested minus failed).
    pub visitors: usize,
    pub operators: usize,
    /// Target messages per second over all visitors; 0 = window-paced.
    pub rate: f64,
    /// Unacknowledged messages per visitor when `rate` is 0.
    pub window: usize,
    /// Length of the measured period, after warm-up.
    pub duration_s: f64,
    pub warmup_s: f64,
    /// Messages sent during the measured period.
    pub sent: u64,
    /// Acks received during the measured period.
    pub acked: u64,
    pub acked_per_s: f64,
    /// Acks in each whole second of the measured period.
    pub acked_per_second: Vec<u64>,
    /// Error frames + failed connections + connections lost mid-run.
    pub errors: u64,
    pub error_codes: BTreeMap<String, u64>,
    pub connect_failures: u64,
    pub disconnects: u64,
    /// Visitor send → operator receives the `message` frame. Its `samples`
    /// against `sent` is the share of messages an operator received at all.
    pub latency_us: Latency,
    /// Conversations in which an operator received at least one bench
    /// message; short of `visitors` means routing left some unassigned.
    pub conversations_reached: u64,
    /// Visitor send → visitor receives the `ack` (the message is durable).
    pub ack_latency_us: Latency,
    /// `VmHWM` of the server process, when its pid is known.
    pub server_peak_rss_bytes: Option<u64>,
    /// CPU seconds used during the measured period.
    pub client_cpu_s: Option<f64>,
    pub server_cpu_s: Option<f64>,
    /// Server CPU per acknowledged message, in microseconds: the cost of one
    /// message, comparable between rates.
    pub server_cpu_us_per_ack: Option<f64>,
    pub client_threads: usize,
    /// Only for `ceiling`: worker threads of the in-process echo server.
    pub server_threads: Option<usize>,
}

impl LoadReport {
    pub fn human(&self) -> String {
        let mut out = String::new();
        let pacing = if self.rate > 0.0 {
            format!("rate {} msg/s", self.rate)
        } else {
            format!("window {} per visitor", self.window)
        };
        let threads = match self.server_threads {
            Some(server) => format!("client threads {}, server threads {server}", self.client_threads),
            None => format!("client threads {}", self.client_threads),
        };
        let _ = writeln!(
            out,
            "{}: {} visitors, {} operators, {pacing}, {:.1} s measured after {:.0} s warm-up, {threads}",
            self.mode, self.visitors, self.operators, self.duration_s, self.warmup_s
        );
        let (low, high) = (self.acked_per_second.iter().min(), self.acked_per_second.iter().max());
        let spread = match (low, high) {
            (Some(low), Some(high)) => format!(", per second {low}..{high}"),
            _ => String::new(),
        };
        let _ = writeln!(out, "  acked      {} ({:.0}/s{spread}), sent {}", self.acked, self.acked_per_s, self.sent);
        let _ = writeln!(
            out,
            "  errors     {} (error frames {:?}, connect failures {}, disconnects {})",
            self.errors, self.error_codes, self.connect_failures, self.disconnects
        );
        let _ = writeln!(out, "  delivery   {}", self.latency_us.line());
        let share = |part: u64, whole: u64| if whole > 0 { part as f64 * 100.0 / whole as f64 } else { 0.0 };
        let _ = writeln!(
            out,
            "  reached    operators got {:.1} % of the messages sent, in {} of {} conversations",
            share(self.latency_us.samples, self.sent),
            self.conversations_reached,
            self.visitors
        );
        let _ = writeln!(out, "  ack        {}", self.ack_latency_us.line());
        let cores = |cpu: Option<f64>| match cpu {
            Some(cpu) if self.duration_s > 0.0 => format!("{:.2} cores", cpu / self.duration_s),
            _ => "-".into(),
        };
        let per_ack = match self.server_cpu_us_per_ack {
            Some(us) => format!(", {us:.1} µs of server CPU per acked message"),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "  cpu        client {}, server {}{per_ack}",
            cores(self.client_cpu_s),
            cores(self.server_cpu_s)
        );
        if let Some(peak) = self.server_peak_rss_bytes {
            let _ = writeln!(out, "  server     peak RSS {}", human_bytes(peak));
        }
        out
    }
}

/// `load --with-ceiling`: the echo server and Ostrog under the same traffic,
/// one after the other in one invocation.
#[derive(Debug, Clone, Serialize)]
pub struct Compared {
    pub ceiling: LoadReport,
    pub load: LoadReport,
    /// Ostrog's acknowledged messages per second as a share of the ceiling's.
    pub percent_of_ceiling: f64,
}

impl Compared {
    pub fn new(ceiling: LoadReport, load: LoadReport) -> Self {
        let percent_of_ceiling =
            if ceiling.acked_per_s > 0.0 { load.acked_per_s * 100.0 / ceiling.acked_per_s } else { 0.0 };
        Compared { ceiling, load, percent_of_ceiling }
    }

    pub fn human(&self) -> String {
        format!(
            "{}{}share of the ceiling: {:.1} % ({:.0} of {:.0} acked msg/s)\n",
            self.ceiling.human(),
            self.load.human(),
            self.percent_of_ceiling,
            self.load.acked_per_s,
            self.ceiling.acked_per_s
        )
    }
}

/// The result of `idle`.
#[derive(Debug, Clone, Serialize)]
pub struct IdleReport {
    pub mode: &'static str,
    pub connections: usize,
    pub opened: usize,
    pub connect_failures: u64,
    /// Connections the server closed while they sat idle.
    pub disconnects: u64,
    pub server_rss_before_bytes: Option<u64>,
    pub server_rss_after_bytes: Option<u64>,
    pub bytes_per_connection: Option<u64>,
    pub server_peak_rss_bytes: Option<u64>,
    pub client_threads: usize,
}

impl IdleReport {
    pub fn human(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "idle: {} of {} visitor connections open ({} failed, {} dropped while idle)",
            self.opened, self.connections, self.connect_failures, self.disconnects
        );
        let show = |v: Option<u64>| v.map_or_else(|| "-".into(), human_bytes);
        let _ = writeln!(
            out,
            "  server RSS {} before, {} after, peak {}",
            show(self.server_rss_before_bytes),
            show(self.server_rss_after_bytes),
            show(self.server_peak_rss_bytes)
        );
        match self.bytes_per_connection {
            Some(bytes) => {
                let _ = writeln!(out, "  {bytes} bytes ({:.1} KiB) per connection", bytes as f64 / 1024.0);
            }
            None => out.push_str("  bytes per connection unknown\n"),
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_known_distribution() -> anyhow::Result<()> {
        let recorder = Recorder::new()?;
        // 1..=1000 µs, once each.
        for us in 1..=1000 {
            recorder.record_nanos(us * 1000 + 999);
        }
        let latency = recorder.summary();
        assert_eq!(latency.samples, 1000);
        assert_eq!(latency.p50, Some(500));
        assert_eq!(latency.p99, Some(990));
        assert_eq!(latency.p999, Some(999));
        assert_eq!(latency.max, Some(1000));
        assert!((latency.mean.unwrap_or(0.0) - 500.5).abs() < 0.5);
        Ok(())
    }

    #[test]
    fn three_significant_digits_and_a_ceiling() -> anyhow::Result<()> {
        let recorder = Recorder::new()?;
        recorder.record_nanos(123_456_000); // 123,456 µs
        recorder.record_nanos(u64::MAX);
        let latency = recorder.summary();
        let p50 = latency.p50.unwrap_or(0);
        assert!((123_400..=123_600).contains(&p50), "{p50}");
        let max = latency.max.unwrap_or(0);
        assert!((HIGHEST_US..=HIGHEST_US + HIGHEST_US / 1000).contains(&max), "{max}");
        Ok(())
    }

    #[test]
    fn no_samples_is_null_not_zero() -> anyhow::Result<()> {
        let latency = Recorder::new()?.summary();
        assert_eq!(latency, Latency::default());
        let json = serde_json::to_value(latency)?;
        assert!(json["p99"].is_null());
        assert_eq!(latency.line(), "no samples");
        Ok(())
    }

    #[test]
    fn human_units() {
        assert_eq!(human_us(999), "999 µs");
        assert_eq!(human_us(1_500), "1.50 ms");
        assert_eq!(human_us(2_000_000), "2.00 s");
    }
}
