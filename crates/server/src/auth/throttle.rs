//! Per-IP throttling of failed sign-ins: a fixed window per address, kept in
//! memory (one node; bounded in size so a spray of addresses cannot grow it
//! without limit).

use ostrog_domain::clock::{MINUTE, Millis};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

const WINDOW: Millis = 15 * MINUTE;
const MAX_TRACKED: usize = 100_000;

pub struct IpThrottle {
    limit: u32,
    windows: Mutex<HashMap<IpAddr, (Millis, u32)>>,
}

impl IpThrottle {
    pub fn new(limit: u32) -> Self {
        Self { limit, windows: Mutex::new(HashMap::new()) }
    }

    /// When the address may try again, if it is throttled now.
    pub fn blocked_until(&self, ip: IpAddr, now: Millis) -> Option<Millis> {
        let windows = self.windows.lock().ok()?;
        let (start, count) = *windows.get(&ip)?;
        (now < start + WINDOW && count >= self.limit).then_some(start + WINDOW)
    }

    pub fn record_failure(&self, ip: IpAddr, now: Millis) {
        let Ok(mut windows) = self.windows.lock() else { return };
        if windows.len() >= MAX_TRACKED {
            windows.retain(|_, (start, _)| now < *start + WINDOW);
        }
        let entry = windows.entry(ip).or_insert((now, 0));
        if now >= entry.0 + WINDOW {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
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
}
