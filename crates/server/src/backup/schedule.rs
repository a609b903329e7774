//! Scheduled backups (run by `jobs::backups`): once a day, from the
//! configured hour (UTC), into the configured folder, encrypted to the
//! configured age public key (a running server holds no passphrase and
//! nothing that opens its own backups); then the older ones beyond
//! `keep_daily` days and `keep_weekly` weeks go.

use super::{Lock, backup};
use crate::config::{BackupConfig, Config};
use ostrog_domain::clock::{civil_date, days_from_civil};
use ostrog_domain::privacy::DAY;
use std::path::Path;

const HOUR: i64 = DAY / 24;

/// One scheduled backup as taken: what its audit entry records.
pub(crate) struct Taken {
    pub name: String,
    pub bytes: u64,
    /// Of the finished file, as written: in the hash-chained audit log it
    /// lets `ostrog doctor` tell, without the identity, that the file is
    /// still the one written.
    pub sha256: String,
    /// The older backups pruned.
    pub removed: Vec<String>,
}

/// Takes one backup and prunes.
pub(crate) async fn take(config: &Config, now: i64) -> Result<Taken, String> {
    let dir = Path::new(&config.backup.dir);
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let name = file_name(now);
    let lock = Lock::recipient(&config.backup.recipient).map_err(|e| e.to_string())?;
    backup(config, &dir.join(&name), lock, now).await.map_err(|e| e.to_string())?;
    let bytes = std::fs::metadata(dir.join(&name)).map(|m| m.len()).unwrap_or(0);
    let sha256 = super::file_sha256(&dir.join(&name)).await.map_err(|e| e.to_string())?;
    let mut removed = Vec::new();
    for old in to_delete(&taken(&config.backup.dir), config.backup.keep_daily, config.backup.keep_weekly) {
        let old_name = file_name(old);
        if std::fs::remove_file(dir.join(&old_name)).is_ok() {
            removed.push(old_name);
        }
    }
    Ok(Taken { name, bytes, sha256, removed })
}

/// Due when the configured hour has come today and no backup of today exists.
pub(crate) fn is_due(config: &BackupConfig, taken: &[i64], now: i64) -> bool {
    let today = now.div_euclid(DAY);
    now.rem_euclid(DAY) >= i64::from(config.hour) * HOUR && !taken.iter().any(|t| t.div_euclid(DAY) == today)
}

/// When each scheduled backup in `dir` was taken, read from its name.
pub(crate) fn taken(dir: &str) -> Vec<i64> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries.flatten().filter_map(|e| parse_name(&e.file_name().to_string_lossy())).collect()
}

/// The backups beyond the newest of each of the last `keep_daily` days and
/// of each of the last `keep_weekly` ISO weeks (Monday to Sunday).
pub fn to_delete(taken: &[i64], keep_daily: u32, keep_weekly: u32) -> Vec<i64> {
    let mut newest_first = taken.to_vec();
    newest_first.sort_unstable_by(|a, b| b.cmp(a));
    let (mut days, mut weeks) = (Vec::new(), Vec::new());
    let mut delete = Vec::new();
    for t in newest_first {
        let day = t.div_euclid(DAY);
        // 1970-01-01 was a Thursday: shifting by 3 days makes weeks start on Monday.
        let week = (day + 3).div_euclid(7);
        let mut keep = false;
        if !days.contains(&day) && days.len() < keep_daily as usize {
            days.push(day);
            keep = true;
        }
        if !weeks.contains(&week) && weeks.len() < keep_weekly as usize {
            weeks.push(week);
            keep = true;
        }
        if !keep {
            delete.push(t);
        }
    }
    delete
}

/// `ostrog-20261129T030000Z.age`: sorts by time, and says when at a glance.
pub fn file_name(at: i64) -> String {
    let (y, m, d) = civil_date(at.div_euclid(DAY));
    let secs = at.rem_euclid(DAY) / 1000;
    format!("ostrog-{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z.age", secs / 3600, secs / 60 % 60, secs % 60)
}

pub fn parse_name(name: &str) -> Option<i64> {
    let stamp = name.strip_prefix("ostrog-")?.strip_suffix("Z.age")?;
    let (date, time) = stamp.split_once('T')?;
    if date.len() != 8 || time.len() != 6 || !stamp.replace('T', "").bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |s: &str| s.parse::<i64>().ok();
    let day = days_from_civil(n(&date[..4])?, n(&date[4..6])?, n(&date[6..])?);
    let secs = n(&time[..2])? * 3600 + n(&time[2..4])? * 60 + n(&time[4..])?;
    let at = day * DAY + secs * 1000;
    (file_name(at) == name).then_some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MONDAY_2026_11_30: i64 = 20_787 * DAY;

    #[test]
    fn names_carry_the_utc_time_and_read_back() {
        assert_eq!(file_name(MONDAY_2026_11_30 + 3 * HOUR + 61_000), "ostrog-20261130T030101Z.age");
        assert_eq!(file_name(0), "ostrog-19700101T000000Z.age");
        for at in [0, MONDAY_2026_11_30 + 3 * HOUR + 61_000, 951_782_400_000 /* 2000-02-29 */] {
            assert_eq!(parse_name(&file_name(at)), Some(at));
        }
        for other in ["ostrog-20261130T030101Z.age.partial", "ostrog-20261340T030101Z.age", "notes.txt", "ostrog-x.age"]
        {
            assert_eq!(parse_name(other), None, "{other}");
        }
    }

    #[test]
    fn the_newest_of_each_recent_day_and_week_are_kept() {
        // Two a day for 30 days back from Monday 2026-11-30 03:00 (and 15:00).
        let mut taken = Vec::new();
        for day in 0..30 {
            let base = MONDAY_2026_11_30 - day * DAY;
            taken.extend([base + 3 * HOUR, base + 15 * HOUR]);
        }
        let delete = to_delete(&taken, 7, 4);
        let kept: Vec<i64> = taken.iter().copied().filter(|t| !delete.contains(t)).collect();
        let days: Vec<i64> = (0..7).map(|d| MONDAY_2026_11_30 - d * DAY + 15 * HOUR).collect();
        // Newest of the three weeks before this one: the Sundays 29, 22 and 15 November.
        let sundays: Vec<i64> = [7, 14].iter().map(|d| MONDAY_2026_11_30 - (d + 1) * DAY + 15 * HOUR).collect();
        let mut expected = days.clone();
        expected.extend(&sundays);
        expected.sort_unstable_by(|a, b| b.cmp(a));
        let mut kept_sorted = kept.clone();
        kept_sorted.sort_unstable_by(|a, b| b.cmp(a));
        assert_eq!(kept_sorted, expected, "7 days (the last week's Sunday among them) and 2 more Sundays");
        assert_eq!(delete.len(), taken.len() - expected.len());
        assert!(to_delete(&taken, 0, 0).len() == taken.len());
    }

    #[test]
    fn due_once_a_day_from_the_configured_hour() {
        let config = BackupConfig { hour: 3, ..BackupConfig::default() };
        let today = MONDAY_2026_11_30;
        assert!(!is_due(&config, &[], today + 2 * HOUR));
        assert!(is_due(&config, &[today - DAY + 3 * HOUR], today + 3 * HOUR));
        assert!(!is_due(&config, &[today + 3 * HOUR], today + 20 * HOUR));
    }
}
