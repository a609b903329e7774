//! The checks, each a function of the configuration and the facts.

use super::facts::public_tls::Seen;
use super::facts::{NewestBackup, Written};
use super::{Check, Facts, Severity};
use crate::config::Config;
use crate::files::self_test::Health;

const TLS_DOC: &str = "docs/operations.md#5-tls-and-reverse-proxies";
const AUTH_DOC: &str = "docs/security.md#61-identity-and-sessions";
const AV_DOC: &str = "docs/operations.md#6-clamav";
const STORAGE_DOC: &str = "docs/operations.md#11-key-storage";
const BACKUP_DOC: &str = "docs/operations.md#9-backup";
const LOG_DOC: &str = "docs/operations.md#7-logging";
const METRICS_DOC: &str = "docs/operations.md#8-monitoring";
const FIRST_START_DOC: &str = "docs/operations.md#2-first-start";
const DOCTOR_DOC: &str = "docs/operations.md#18-security-checks-ostrog-doctor";

const HOUR: i64 = 3600 * 1000;
const DAY: i64 = 24 * HOUR;
/// A certificate this close to its end is a warning.
const CERTIFICATE_MARGIN_DAYS: i64 = 21;

pub fn all(config: &Config, facts: &Facts) -> Vec<Check> {
    let mut checks = vec![
        transport(config),
        public_url(config),
        hsts(config, facts),
        password_policy(config),
        sessions(config),
        second_factor(facts),
        antivirus(facts),
        data_folder(facts),
        master_key(facts),
        database_transport(config),
        backups(config, facts),
        log_forwarding(config),
        audit_trails(facts),
        metrics_exposure(config),
        setup(facts),
        dependencies(facts),
    ];
    checks.extend(certificate(facts));
    checks
}

fn loopback(config: &Config) -> bool {
    config.listen.ip().is_loopback()
}

fn transport(config: &Config) -> Check {
    const ID: &str = "tls.transport";
    if config.tls_enabled() {
        return Check::ok(ID, TLS_DOC, "Ostrog serves HTTPS itself ([tls] cert and key)");
    }
    if !config.trusted_proxies.is_empty() && loopback(config) {
        return Check::ok(ID, TLS_DOC, "plain HTTP on the loopback address, behind a trusted reverse proxy");
    }
    let evidence = if config.trusted_proxies.is_empty() {
        format!("Ostrog serves plain HTTP on {} and trusts no reverse proxy", config.listen)
    } else {
        format!("Ostrog serves plain HTTP on {}, reachable beside its reverse proxy", config.listen)
    };
    Check::finding(
        ID,
        Severity::Critical,
        TLS_DOC,
        evidence,
        "set [tls] cert and key, or put a reverse proxy with TLS in front, list it in trusted_proxies and listen on 127.0.0.1",
    )
}

fn public_url(config: &Config) -> Check {
    const ID: &str = "tls.public_url";
    if config.public_url.starts_with("https://") {
        return Check::ok(ID, TLS_DOC, format!("public_url is {}", config.public_url));
    }
    let shown = if config.public_url.is_empty() {
        format!("(empty: http://{})", config.listen)
    } else {
        config.public_url.clone()
    };
    Check::finding(
        ID,
        Severity::Critical,
        TLS_DOC,
        format!("public_url is {shown}: sign-in, invitation links and cookies travel unencrypted"),
        "set public_url to the https:// address employees open",
    )
}

fn hsts(config: &Config, facts: &Facts) -> Check {
    const ID: &str = "tls.hsts";
    const HALF_A_YEAR: u64 = 180 * 24 * 3600;
    let fix = "make the proxy send Strict-Transport-Security: max-age=31536000; includeSubDomains";
    if config.tls_enabled() {
        return Check::ok(ID, TLS_DOC, "Ostrog sends Strict-Transport-Security (a year, subdomains included)");
    }
    match &facts.public_tls {
        Some(Seen::Answered { hsts: Some(value), .. }) if max_age(value).is_some_and(|s| s >= HALF_A_YEAR) => {
            Check::ok(ID, TLS_DOC, format!("the public URL sends Strict-Transport-Security: {value}"))
        }
        Some(Seen::Answered { hsts: Some(value), .. }) => Check::finding(
            ID,
            Severity::Notice,
            TLS_DOC,
            format!("the public URL's Strict-Transport-Security lasts less than half a year: {value}"),
            fix,
        ),
        Some(Seen::Answered { hsts: None, .. }) => Check::finding(
            ID,
            Severity::Warning,
            TLS_DOC,
            "the public URL answers without Strict-Transport-Security: a browser can be led to plain HTTP",
            fix,
        ),
        _ => Check::finding(
            ID,
            Severity::Notice,
            TLS_DOC,
            "Ostrog does not serve TLS itself, so Strict-Transport-Security is the reverse proxy's to send",
            fix,
        ),
    }
}

/// The seconds of an HSTS header's `max-age`.
fn max_age(hsts: &str) -> Option<u64> {
    hsts.split(';').find_map(|part| {
        let (key, value) = part.split_once('=')?;
        key.trim().eq_ignore_ascii_case("max-age").then(|| value.trim().trim_matches('"').parse().ok())?
    })
}

fn certificate(facts: &Facts) -> Option<Check> {
    const ID: &str = "tls.certificate";
    if let Some(expiry) = &facts.certificate_expiry {
        return Some(match expiry {
            Err(e) => Check::finding(
                ID,
                Severity::Critical,
                TLS_DOC,
                format!("the certificate cannot be read: {e}"),
                "fix [tls] cert",
            ),
            Ok(until) => lasting(ID, facts.now, *until, "the certificate", "renew the certificate and restart Ostrog"),
        });
    }
    Some(match facts.public_tls.as_ref()? {
        Seen::Answered { not_after, .. } => {
            lasting(ID, facts.now, *not_after, "the public URL's certificate", "renew the reverse proxy's certificate")
        }
        Seen::Untrusted(e) => Check::finding(
            ID,
            Severity::Critical,
            TLS_DOC,
            format!("browsers refuse the public URL's certificate: {e}"),
            "give the reverse proxy a certificate for the public URL's host name from a trusted CA, with its chain",
        ),
        Seen::Unreached(e) => Check::finding(
            ID,
            Severity::Notice,
            TLS_DOC,
            format!("the public URL could not be reached from this server to see its certificate: {e}"),
            "look at the certificate from outside (a browser shows it), or let the server reach its public address",
        ),
    })
}

/// A certificate valid until `until`: expired, ending soon, or fine.
fn lasting(id: &'static str, now: i64, until: i64, what: &str, renew: &str) -> Check {
    if until <= now {
        let evidence = format!("{what} expired {} days ago", (now - until) / DAY);
        return Check::finding(id, Severity::Critical, TLS_DOC, evidence, renew);
    }
    let days = (until - now) / DAY;
    if until - now < CERTIFICATE_MARGIN_DAYS * DAY {
        return Check::finding(id, Severity::Warning, TLS_DOC, format!("{what} expires in {days} days"), renew);
    }
    Check::ok(id, TLS_DOC, format!("{what} is valid for {days} more days"))
}

fn password_policy(config: &Config) -> Check {
    const ID: &str = "auth.password_policy";
    let default = crate::config::AuthConfig::default().password_min_length;
    let length = config.auth.password_min_length;
    if length >= default {
        return Check::ok(
            ID,
            AUTH_DOC,
            format!("passwords of at least {length} characters, none of the 10,000 most common"),
        );
    }
    Check::finding(
        ID,
        Severity::Warning,
        AUTH_DOC,
        format!("auth.password_min_length is {length}, below the default of {default}"),
        format!("set auth.password_min_length to {default} or more"),
    )
}

fn sessions(config: &Config) -> Check {
    const ID: &str = "auth.sessions";
    let (defaults, a) = (crate::config::AuthConfig::default(), &config.auth);
    if a.session_idle_minutes <= defaults.session_idle_minutes
        && a.session_lifetime_hours <= defaults.session_lifetime_hours
    {
        return Check::ok(
            ID,
            AUTH_DOC,
            format!(
                "sessions end after {} idle minutes and {} hours at most",
                a.session_idle_minutes, a.session_lifetime_hours
            ),
        );
    }
    Check::finding(
        ID,
        Severity::Notice,
        AUTH_DOC,
        format!(
            "sessions last up to {} idle minutes and {} hours (defaults {} and {})",
            a.session_idle_minutes,
            a.session_lifetime_hours,
            defaults.session_idle_minutes,
            defaults.session_lifetime_hours
        ),
        "shorten auth.session_idle_minutes and auth.session_lifetime_hours, unless your policy chose these",
    )
}

fn second_factor(facts: &Facts) -> Check {
    const ID: &str = "auth.second_factor";
    if facts.two_factor_optional.is_empty() {
        return Check::ok(ID, AUTH_DOC, "a second factor (TOTP) is required of every role");
    }
    Check::finding(
        ID,
        Severity::Critical,
        AUTH_DOC,
        format!("members of these roles sign in with a password alone: {}", facts.two_factor_optional.join(", ")),
        "require two-factor sign-in for every role (cabinet: Security)",
    )
}

fn antivirus(facts: &Facts) -> Check {
    const ID: &str = "antivirus.engines";
    let Some(scanner) = &facts.scanner else {
        return Check::finding(
            ID,
            Severity::Critical,
            AV_DOC,
            "scanning is switched off ([scanner] enabled = false): every upload is refused",
            "install clamd (apt-get install clamav-daemon) and set [scanner] enabled = true",
        );
    };
    let engines = scanner.engines.iter().map(|(name, state)| format!("{name} {state}")).collect::<Vec<_>>().join(", ");
    match &scanner.health {
        Health::Passed => Check::ok(ID, AV_DOC, format!("every engine answers and refuses the test files ({engines})")),
        Health::Misconfigured(findings) => Check::finding(
            ID,
            Severity::Critical,
            AV_DOC,
            format!(
                "an engine passed test malware as clean ({}); uploads are refused",
                findings.iter().map(|f| format!("{}: {}", f.engine, f.canary)).collect::<Vec<_>>().join(", ")
            ),
            findings.iter().map(|f| f.fix.as_str()).collect::<Vec<_>>().join("; "),
        ),
        Health::Unavailable | Health::Untested => Check::finding(
            ID,
            Severity::Critical,
            AV_DOC,
            format!("no verdict from a required engine ({engines}): file uploads are refused"),
            "install and start clamd (apt-get install clamav-daemon) with the settings of packaging/clamd-ostrog.conf, \
             or the ICAP service named in [scanner]",
        ),
    }
}

fn data_folder(facts: &Facts) -> Check {
    const ID: &str = "storage.data_folder";
    if facts.loose_paths.is_empty() {
        return Check::ok(ID, STORAGE_DOC, "the data folder and everything in it are private to Ostrog's user");
    }
    let shown: Vec<_> = facts.loose_paths.iter().take(5).map(|p| p.display().to_string()).collect();
    Check::finding(
        ID,
        Severity::Critical,
        STORAGE_DOC,
        format!("{} paths other users may open: {}", facts.loose_paths.len(), shown.join(", ")),
        "restart Ostrog (it makes the folder private at start), or chmod 700 folders and 600 files",
    )
}

fn master_key(facts: &Facts) -> Check {
    const ID: &str = "storage.master_key";
    match (facts.master_key_from_environment, facts.master_key_in_data_dir) {
        (true, true) => Check::finding(
            ID,
            Severity::Critical,
            STORAGE_DOC,
            "OSTROG_MASTER_KEY is set, yet a master.key file is still in the data folder, beside the data it protects",
            "move master.key out of the data folder (keep it with the backups' key, apart from the backups)",
        ),
        (true, false) => {
            Check::ok(ID, STORAGE_DOC, "the master key comes from OSTROG_MASTER_KEY, not from the data folder")
        }
        (false, _) => Check::finding(
            ID,
            Severity::Notice,
            STORAGE_DOC,
            "the master key is the file master.key in the data folder: a copy of the folder carries it",
            "keep a copy of master.key apart from the backups; for a stricter setup give it through OSTROG_MASTER_KEY",
        ),
    }
}

fn database_transport(config: &Config) -> Check {
    const ID: &str = "storage.database_tls";
    let url = &config.database_url;
    if !url.starts_with("postgres") {
        return Check::ok(ID, STORAGE_DOC, "SQLite in the data folder: no network between Ostrog and its data");
    }
    // postgres://[user[:password]@]host[:port]/name[?options]; the password never leaves here.
    let after_scheme = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
    let authority = after_scheme.split(['/', '?']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = host_port.rsplit_once(':').map_or(host_port, |(h, _)| h);
    let local =
        host.is_empty() || host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    let enforced = ["sslmode=require", "sslmode=verify-ca", "sslmode=verify-full"].iter().any(|m| url.contains(m));
    if local || enforced {
        return Check::ok(
            ID,
            STORAGE_DOC,
            if local { "PostgreSQL on this machine" } else { "PostgreSQL over TLS, required" },
        );
    }
    Check::finding(
        ID,
        Severity::Warning,
        STORAGE_DOC,
        format!("PostgreSQL at {host} is reached without requiring TLS"),
        "add sslmode=verify-full (or require) to database_url, with TLS on the PostgreSQL server",
    )
}

const BACKUPS: &str = "backups.recent";

fn backups(config: &Config, facts: &Facts) -> Check {
    let Some(newest) = &facts.newest_backup else {
        return Check::finding(
            BACKUPS,
            Severity::Warning,
            BACKUP_DOC,
            "no scheduled backups ([backup] dir is empty)",
            "set [backup] dir (outside the data folder) and recipient, or back up with `ostrog backup` from cron",
        );
    };
    let b = match newest {
        Err(e) => {
            let fix = "check that the backups run (the log says why not)";
            return Check::finding(BACKUPS, Severity::Critical, BACKUP_DOC, e.clone(), fix);
        }
        Ok(b) => b,
    };
    let (hours, limit) = ((facts.now - b.at) / HOUR, config.backup.max_age_hours);
    if facts.now - b.at > i64::from(limit) * HOUR {
        return Check::finding(
            BACKUPS,
            Severity::Critical,
            BACKUP_DOC,
            format!(
                "the newest backup in {} is {hours} hours old (backup.max_age_hours is {limit})",
                config.backup.dir
            ),
            "check that the backups run (the log and the audit log's backup.scheduled say when they last did); \
             if they are not meant to be daily, raise [backup] max_age_hours",
        );
    }
    if b.bytes == 0 {
        let fix = "check the backup folder's disk";
        return Check::finding(BACKUPS, Severity::Critical, BACKUP_DOC, "the newest backup is empty", fix);
    }
    let recent = format!("the newest backup is {hours} hours old ({} bytes)", b.bytes);
    backup_damage(b).unwrap_or_else(|| backup_verified(b, recent))
}

/// What proves the newest backup unusable or tampered with, if anything.
fn backup_damage(b: &NewestBackup) -> Option<Check> {
    let (evidence, fix) = if let Err(e) = &b.header {
        (format!("the newest backup is not an age file: {e}"), "find out what wrote it there, and take a new backup")
    } else if let Written::Altered { recorded, found } = &b.written {
        (
            format!(
                "the newest backup was altered or truncated since it was written (sha256 {found}, audited {recorded})"
            ),
            "treat it as an incident: compare with the copy off this machine, and take a new backup",
        )
    } else if let Some(Err(e)) = &b.decrypted {
        (
            format!("the newest backup does not verify with the identity given: {e}"),
            "give the identity whose public key is [backup] recipient; if it is, take a new backup and verify it",
        )
    } else {
        return None;
    };
    Some(Check::finding(BACKUPS, Severity::Critical, BACKUP_DOC, evidence, fix))
}

/// The newest backup, sound as far as it was checked: how far that was.
fn backup_verified(b: &NewestBackup, recent: String) -> Check {
    let mut levels = vec![];
    if let Written::Unchanged(sha256) = &b.written {
        levels.push(format!("unchanged since written (sha256 {sha256})"));
    }
    if let Some(Ok(parts)) = &b.decrypted {
        levels.push(format!("decrypted with the identity given, its {parts} parts match the manifest"));
    }
    if levels.is_empty() {
        return Check::finding(
            BACKUPS,
            Severity::Notice,
            BACKUP_DOC,
            format!(
                "{recent}; integrity unknown: its age header reads, but no scheduled backup's audit entry \
                 records its SHA-256 (made by `ostrog backup`, or copied in)"
            ),
            "let the server take the backups ([backup] dir and recipient), \
             or run `ostrog doctor --backup-identity FILE` where the identity is",
        );
    }
    Check::ok(BACKUPS, BACKUP_DOC, format!("{recent}; verified: {}", levels.join(" and ")))
}

fn log_forwarding(config: &Config) -> Check {
    const ID: &str = "logging.forwarding";
    if config.log.audit && (!config.log.syslog.is_empty() || !matches!(config.log.output.as_str(), "stderr" | "stdout"))
    {
        return Check::ok(ID, LOG_DOC, "audit entries are forwarded to syslog or a log file as they are written");
    }
    Check::finding(
        ID,
        Severity::Warning,
        LOG_DOC,
        "audit entries stay in Ostrog's database only: nobody outside it would see them altered or lost",
        "set [log] audit = true and syslog = \"udp://…\" (or a log file) towards the company's collector",
    )
}

fn audit_trails(facts: &Facts) -> Check {
    const ID: &str = "logging.audit_trails";
    let broken: Vec<_> =
        facts.audit_trails.iter().filter_map(|(n, r)| r.as_ref().err().map(|e| format!("{n}: {e}"))).collect();
    if broken.is_empty() {
        let counts: Vec<_> =
            facts.audit_trails.iter().filter_map(|(n, r)| r.as_ref().ok().map(|c| format!("{n} {c}"))).collect();
        return Check::ok(ID, LOG_DOC, format!("the audit trails' hash chains are intact ({})", counts.join(", ")));
    }
    Check::finding(
        ID,
        Severity::Critical,
        LOG_DOC,
        format!("an audit trail's chain is broken: {}", broken.join("; ")),
        "treat it as an incident: compare with the forwarded copy and the backups",
    )
}

fn metrics_exposure(config: &Config) -> Check {
    const ID: &str = "exposure.metrics";
    match config.metrics.listen {
        Some(address) if !address.ip().is_loopback() => Check::finding(
            ID,
            Severity::Warning,
            METRICS_DOC,
            format!("metrics.listen is {address}: metrics without authentication beyond this machine"),
            "bind metrics.listen to 127.0.0.1 (or a firewalled private address), or use metrics.token on the main port",
        ),
        _ => Check::ok(ID, METRICS_DOC, "metrics are off, behind a token, or on the loopback address"),
    }
}

fn setup(facts: &Facts) -> Check {
    const ID: &str = "exposure.setup";
    if facts.administrator_exists {
        return Check::ok(ID, FIRST_START_DOC, "an Administrator exists: no set-up link is valid");
    }
    Check::finding(
        ID,
        Severity::Warning,
        FIRST_START_DOC,
        "no Administrator exists yet: whoever opens the set-up link first becomes one",
        "open the set-up link `ostrog serve` printed (or run `ostrog admin create`) now",
    )
}

fn dependencies(facts: &Facts) -> Check {
    const ID: &str = "dependencies.advisories";
    let crates = crate::doctor::advisories::DEPENDENCIES.lines().count();
    let hits = match &facts.advisories {
        None => {
            return Check::finding(
                ID,
                Severity::Notice,
                DOCTOR_DOC,
                format!("the binary's {crates} crates were not checked against security advisories"),
                "set [doctor] advisories (or run `ostrog doctor --advisories DIR`) to a copy of github.com/rustsec/advisory-db",
            );
        }
        Some(Err(e)) => {
            return Check::finding(
                ID,
                Severity::Warning,
                DOCTOR_DOC,
                e.clone(),
                "give the folder of a RustSec advisory-db copy",
            );
        }
        Some(Ok(hits)) => hits,
    };
    if hits.is_empty() {
        return Check::ok(ID, DOCTOR_DOC, format!("none of the binary's {crates} crates has an advisory"));
    }
    let severity = if hits.iter().any(|h| h.informational.is_none()) { Severity::Critical } else { Severity::Notice };
    let listed: Vec<_> = hits
        .iter()
        .map(|h| {
            let kind = h.informational.as_deref().map(|i| format!(", {i}")).unwrap_or_default();
            format!("{} {}: {} ({}{kind})", h.package, h.version, h.id, h.title)
        })
        .collect();
    let fixes: Vec<_> = hits
        .iter()
        .filter(|h| !h.patched.is_empty())
        .map(|h| format!("{} {}", h.package, h.patched.join(" or ")))
        .collect();
    let fix = if fixes.is_empty() {
        "no fixed version yet: read each advisory and weigh the risk; upgrade Ostrog when a release replaces the crate"
            .into()
    } else {
        format!("upgrade Ostrog to a release built with {}", fixes.join(", "))
    };
    Check::finding(ID, severity, DOCTOR_DOC, format!("{} advisories: {}", hits.len(), listed.join("; ")), fix)
}

#[cfg(test)]
mod tests;
