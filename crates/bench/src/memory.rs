//! A process's memory as the kernel reports it in `/proc/<pid>/status`.

use anyhow::Context;

/// Resident memory now (`VmRSS`) and at its peak (`VmHWM`, the high-water
/// mark), in bytes. Either may be missing, e.g. for a zombie process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Memory {
    pub rss: Option<u64>,
    pub peak_rss: Option<u64>,
}

pub fn read(pid: u32) -> anyhow::Result<Memory> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    Ok(parse(&text))
}

/// Parses the `status` text; the kernel writes sizes as `<n> kB` (KiB).
pub fn parse(status: &str) -> Memory {
    let mut memory = Memory::default();
    for line in status.lines() {
        let Some((key, value)) = line.split_once(':') else { continue };
        let slot = match key {
            "VmRSS" => &mut memory.rss,
            "VmHWM" => &mut memory.peak_rss,
            _ => continue,
        };
        *slot = kib(value);
    }
    memory
}

fn kib(value: &str) -> Option<u64> {
    let mut parts = value.split_whitespace();
    let number: u64 = parts.next()?.parse().ok()?;
    match parts.next() {
        Some("kB") => number.checked_mul(1024),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "Name:\tostrog\nUmask:\t0022\nState:\tS (sleeping)\nVmPeak:\t 1234567 kB\n\
        VmSize:\t 1200000 kB\nVmHWM:\t   81920 kB\nVmRSS:\t   40960 kB\nRssAnon:\t   30000 kB\nThreads:\t3\n";

    #[test]
    fn reads_rss_and_high_water_mark_in_bytes() {
        let memory = parse(STATUS);
        assert_eq!(memory.rss, Some(40960 * 1024));
        assert_eq!(memory.peak_rss, Some(81920 * 1024));
    }

    #[test]
    fn missing_or_odd_lines_give_none() {
        assert_eq!(parse("Name:\tzombie\nState:\tZ (zombie)\n"), Memory::default());
        assert_eq!(parse("VmRSS:\tlots\n").rss, None);
        assert_eq!(parse("VmRSS:\t12 MB\n").rss, None);
    }

    #[test]
    fn own_process_has_memory() -> anyhow::Result<()> {
        let memory = read(std::process::id())?;
        assert!(memory.rss.unwrap_or(0) > 0);
        assert!(memory.peak_rss >= memory.rss);
        Ok(())
    }
}
