//! Per-IP throttling: of failed sign-ins (15-minute windows), and of what
//! anyone may ask for without signing in — visitor connections and uploads,
//! CSP reports, refused hook calls (one-minute windows). A fixed window per
//! address, kept in memory (one node; bounded in size so a spray of
//! addresses cannot grow it without limit).

use ostrog_domain::clock::{MINUTE, Millis};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

const WINDOW: Millis = 15 * MINUTE;
const MAX_TRACKED: usize = 100_000;

pub struct IpThrottle {
    limit: u32,
    window: Millis,
    windows: Mutex<HashMap<IpAddr, (Millis, u32)>>,
}

impl IpThrottle {
    /// `limit` failures per address in 15 minutes.
    pub fn new(limit: u32) -> Self {
        Self { limit, window: WINDOW, windows: Mutex::new(HashMap::new()) }
    }

    /// `limit` requests per address a minute.
    pub fn per_minute(limit: u32) -> Self {
        Self { limit, window: MINUTE, windows: Mutex::new(HashMap::new()) }
    }

    /// When the address may try again, if it is throttled now.
    pub fn blocked_until(&self, ip: IpAddr, now: Millis) -> Option<Millis> {
        let windows = self.windows.lock().ok()?;
        let (start, count) = *windows.get(&ip)?;
        (now < start + self.window && count >= self.limit).then_some(start + self.window)
    }

    pub fn record_failure(&self, ip: IpAddr, now: Millis) {
        let Ok(mut windows) = self.windows.lock() else { return };
        if windows.len() >= MAX_TRACKED {
            windows.retain(|_, (start, _)| now < *start + self.window);
        }
        let entry = windows.entry(ip).or_insert((now, 0));
        if now >= entry.0 + self.window {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }

    /// Counts a request; `Some(until)` when the address is over its limit
    /// (and the request is to be refused).
    pub fn admit(&self, ip: IpAddr, now: Millis) -> Option<Millis> {
        let blocked = self.blocked_until(ip, now);
        if blocked.is_none() {
            self.record_failure(ip, now);
        }
        blocked
    }
}

/// What anyone may do without signing in, per address and minute
/// (`limits.public_requests_per_minute` each).
pub struct PublicLimits {
    pub visitor_connections: IpThrottle,
    pub visitor_uploads: IpThrottle,
    pub csp_reports: IpThrottle,
    /// Hook calls refused for a wrong secret: a messenger's own calls are
    /// never held back, forgeries are.
    pub refused_hooks: IpThrottle,
}

impl PublicLimits {
    pub fn new(per_minute: u32) -> Self {
        let each = || IpThrottle::per_minute(per_minute);
        Self { visitor_connections: each(), visitor_uploads: each(), csp_reports: each(), refused_hooks: each() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_throttled_after_its_limit_until_the_window_ends() {
        let t = IpThrottle::new(3);
        let ip: IpAddr = [10, 0, 0, 1].into();
        for _ in 0..3 {
            assert_eq!(t.blocked_until(ip, 0), None);
            t.record_failure(ip, 0);
        }
        assert_eq!(t.blocked_until(ip, 1), Some(WINDOW));
        assert_eq!(t.blocked_until([10, 0, 0, 2].into(), 1), None);
        assert_eq!(t.blocked_until(ip, WINDOW), None);
    }

    #[test]
    fn admitting_counts_until_the_limit_then_refuses_for_the_minute() {
        let t = IpThrottle::per_minute(2);
        let ip: IpAddr = [10, 0, 0, 1].into();
        assert_eq!((t.admit(ip, 0), t.admit(ip, 1)), (None, None));
        assert_eq!(t.admit(ip, 2), Some(MINUTE));
        assert_eq!(t.admit([10, 0, 0, 2].into(), 2), None, "others are not held back");
        assert_eq!(t.admit(ip, MINUTE), None, "a new minute");
    }
}
