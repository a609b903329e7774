//! Flood limits of the real-time edge: open visitor sockets per address,
//! and frames per second on one socket. Both answer the offender with a
//! clear refusal and leave everyone else's service as it was.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Open visitor sockets per client address. Visitors are anonymous, so
/// this is what stops one machine from opening sockets until memory or
/// file descriptors run out.
pub struct SocketsPerIp {
    limit: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One admitted socket; dropping it frees its place.
pub struct SocketSlot {
    owner: Arc<SocketsPerIp>,
    ip: IpAddr,
}

impl SocketsPerIp {
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self { limit, open: Mutex::new(HashMap::new()) })
    }

    /// A place for one more socket from `ip`, or None when it has `limit` open.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<SocketSlot> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(ip).or_insert(0);
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(SocketSlot { owner: self.clone(), ip })
    }
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut open = self.owner.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// Frames a client may send: `RATE` a second on average, `BURST` at once.
/// A person types far slower. Beyond it, frames are not dropped (a dropped
/// `send` would be a lost message) but read more slowly: the flooder is
/// held to the rate by TCP's own back-pressure, everyone else is unaffected.
pub struct FrameBudget {
    tokens: f64,
    at: Instant,
}

const RATE: f64 = 50.0;
const BURST: f64 = 100.0;

impl FrameBudget {
    pub fn new() -> Self {
        Self { tokens: BURST, at: Instant::now() }
    }

    /// Takes the budget of one frame: None when it may be handled now, else
    /// how long to wait first.
    pub fn take(&mut self) -> Option<Duration> {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.at).as_secs_f64() * RATE).min(BURST);
        self.at = now;
        self.tokens -= 1.0;
        (self.tokens < 0.0).then(|| Duration::from_secs_f64(-self.tokens / RATE))
    }
}

impl Default for FrameBudget {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_counted_per_address_and_freed() {
        let limits = SocketsPerIp::new(2);
        let (a, b): (IpAddr, IpAddr) = ([10, 0, 0, 1].into(), [10, 0, 0, 2].into());
        let first = limits.admit(a);
        let second = limits.admit(a);
        assert!(first.is_some() && second.is_some());
        assert!(limits.admit(a).is_none(), "a third from the same address");
        assert!(limits.admit(b).is_some(), "another address is not affected");
        drop(first);
        assert!(limits.admit(a).is_some(), "a closed socket frees its place");
    }

    #[test]
    fn a_burst_passes_and_a_flood_waits_its_turn() {
        let mut budget = FrameBudget::new();
        let at_once = (0..1000).take_while(|_| budget.take().is_none()).count();
        assert!((100..110).contains(&at_once), "{at_once}");
        let wait = budget.take().unwrap_or_default();
        assert!(wait >= Duration::from_millis(15) && wait <= Duration::from_millis(45), "{wait:?}");
    }
}
