//! The open-files limit, checked before opening thousands of sockets.
//!
//! Raising it would need `setrlimit` and so `libc` (or `unsafe`); the bench
//! keeps to its few dependencies and asks for `ulimit -n` instead, but says
//! so before the run rather than after thousands of failed connects.

/// The soft "Max open files" limit of a process; `None` means unlimited.
pub fn open_files(pid: u32) -> anyhow::Result<Option<u64>> {
    let path = format!("/proc/{pid}/limits");
    let text = std::fs::read_to_string(&path).map_err(|error| anyhow::anyhow!("reading {path}: {error}"))?;
    parse(&text).ok_or_else(|| anyhow::anyhow!("no open-files limit in {path}"))
}

fn parse(limits: &str) -> Option<Option<u64>> {
    let line = limits.lines().find(|line| line.starts_with("Max open files"))?;
    let soft = line.strip_prefix("Max open files")?.split_whitespace().next()?;
    match soft {
        "unlimited" => Some(None),
        number => number.parse().ok().map(Some),
    }
}

/// Warns when `who` (pid) may not hold `needed` descriptors.
pub fn warn_if_low(who: &str, pid: u32, needed: usize) {
    match open_files(pid) {
        Ok(Some(limit)) if limit < needed as u64 => eprintln!(
            "warning: the {who} may open only {limit} files but needs about {needed}: \
             start it from a shell after `ulimit -n 65536`"
        ),
        Ok(_) => {}
        Err(error) => eprintln!("warning: could not read the {who}'s open-files limit: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_soft_limit() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
            Max processes             96365                96365                processes \n\
            Max open files            1024                 524288               files     \n";
        assert_eq!(parse(limits), Some(Some(1024)));
        assert_eq!(parse("Max open files            unlimited            unlimited            files\n"), Some(None));
        assert_eq!(parse("Max processes 1 1 processes\n"), None);
    }

    #[test]
    fn own_limit_is_readable() {
        assert!(open_files(std::process::id()).is_ok());
    }
}
