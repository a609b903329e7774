//! CPU time used, from `/proc/<pid>/stat` and `/proc/<pid>/task/<tid>/stat`.
//!
//! The client shares the machine with what it measures, so a result means
//! little without knowing how much CPU each side burned while it was taken.

use anyhow::Context;

/// The kernel reports times in `USER_HZ` ticks, which the /proc ABI fixes at
/// 100 on every mainstream architecture (it is not the kernel's `HZ`).
const TICKS_PER_SECOND: f64 = 100.0;

/// User plus system CPU seconds of the whole process.
pub fn process_seconds(pid: u32) -> anyhow::Result<f64> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let (_, ticks) = parse_stat(&text).with_context(|| format!("parsing {path}"))?;
    Ok(ticks as f64 / TICKS_PER_SECOND)
}

/// User plus system CPU seconds of the threads whose name starts with
/// `prefix`: the in-process echo server and the client each name their
/// runtime's threads, so one process can be split into its two sides.
/// Threads that ended are no longer counted.
pub fn threads_seconds(pid: u32, prefix: &str) -> anyhow::Result<f64> {
    let dir = format!("/proc/{pid}/task");
    let mut ticks = 0;
    for entry in std::fs::read_dir(&dir).with_context(|| format!("listing {dir}"))? {
        // A thread can end between the listing and the read; skip it.
        let Ok(text) = std::fs::read_to_string(entry?.path().join("stat")) else { continue };
        match parse_stat(&text) {
            Some((name, used)) if name.starts_with(prefix) => ticks += used,
            _ => {}
        }
    }
    Ok(ticks as f64 / TICKS_PER_SECOND)
}

/// The command name and `utime + stime` from a `stat` line. The name sits in
/// parentheses and may itself hold spaces or parentheses, so the numbers are
/// counted from the last `)`: utime and stime are fields 14 and 15 of the
/// line, the 12th and 13th after the name.
pub fn parse_stat(stat: &str) -> Option<(&str, u64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?;
    let mut fields = stat.get(close + 1..)?.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some((name, user + system))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_name_and_times_even_with_odd_names() {
        let stat = "4242 (echo) (x) y) S 1 4242 4242 0 -1 4194560 300 0 0 0 250 37 0 0 20 0 3 0 1000 0 0";
        assert_eq!(parse_stat(stat), Some(("echo) (x) y", 287)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn own_process_and_threads_are_readable() -> anyhow::Result<()> {
        let pid = std::process::id();
        let total = process_seconds(pid)?;
        assert!(total >= threads_seconds(pid, "")? - 0.05);
        assert!(threads_seconds(pid, "no-such-thread-name")? == 0.0);
        Ok(())
    }
}
