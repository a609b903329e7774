//! Every check made to fail and to pass.

use super::*;
use crate::doctor::facts::public_tls::Seen;
use crate::doctor::facts::{NewestBackup, ScannerFacts, Written};
use crate::files::self_test::Finding;

const NOW: i64 = 1_800_000_000_000;

/// Facts of an installation with nothing to find.
fn sound() -> Facts {
    Facts {
        now: NOW,
        certificate_expiry: None,
        public_tls: None,
        loose_paths: vec![],
        master_key_in_data_dir: false,
        master_key_from_environment: true,
        newest_backup: Some(Ok(written_backup())),
        scanner: Some(ScannerFacts { health: Health::Passed, engines: vec![("clamd".into(), "ok")] }),
        administrator_exists: true,
        two_factor_optional: vec![],
        audit_trails: vec![("security", Ok(12)), ("personal_data", Ok(3))],
        advisories: Some(Ok(vec![])),
    }
}

/// A backup an hour old, still the file the scheduled job wrote.
fn written_backup() -> NewestBackup {
    NewestBackup {
        at: NOW - HOUR,
        bytes: 4096,
        header: Ok(()),
        written: Written::Unchanged("ab".repeat(32)),
        decrypted: None,
    }
}

fn production() -> Config {
    let mut c = Config {
        public_url: "https://chat.example.com".into(),
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        ..Config::default()
    };
    c.log.audit = true;
    c.log.syslog = "udp://10.0.0.9:514".into();
    c.backup.dir = "/var/backups/ostrog".into();
    c
}

fn severity(checks: &[Check], id: &str) -> Severity {
    checks.iter().find(|c| c.id == id).unwrap_or_else(|| panic!("no check {id}")).severity
}

#[test]
fn a_sound_installation_has_only_notices() {
    let checks = all(&production(), &sound());
    let worst: Vec<_> = checks.iter().filter(|c| c.severity > Severity::Notice).collect();
    assert!(worst.is_empty(), "{worst:#?}");
}

#[test]
fn a_default_installation_is_told_tls_antivirus_and_backups() {
    let mut facts = sound();
    facts.newest_backup = None;
    facts.scanner = Some(ScannerFacts { health: Health::Unavailable, engines: vec![("clamd".into(), "unavailable")] });
    let checks = all(&Config::default(), &facts);
    for (id, expected) in [
        ("tls.transport", Severity::Critical),
        ("tls.public_url", Severity::Critical),
        ("antivirus.engines", Severity::Critical),
        ("backups.recent", Severity::Warning),
        ("logging.forwarding", Severity::Warning),
    ] {
        assert_eq!(severity(&checks, id), expected, "{id}");
    }
    assert!(checks.iter().all(|c| c.doc.starts_with("docs/") && c.doc.contains(".md#")), "each links its section");
    assert!(
        checks.iter().filter(|c| c.severity != Severity::Ok).all(|c| !c.fix.is_empty()),
        "each finding says what to do"
    );
}

#[test]
fn transport_and_hsts() {
    let mut c = production();
    assert_eq!((transport(&c).severity, hsts(&c, &sound()).severity), (Severity::Ok, Severity::Notice));
    c.listen = "0.0.0.0:8080".parse().unwrap();
    assert_eq!(transport(&c).severity, Severity::Critical, "reachable beside the proxy");
    c.tls.cert = Some("/etc/ostrog/cert.pem".into());
    c.tls.key = Some("/etc/ostrog/key.pem".into());
    assert_eq!((transport(&c).severity, hsts(&c, &sound()).severity), (Severity::Ok, Severity::Ok));
    let mut plain = production();
    plain.public_url = "http://chat.example.com".into();
    assert_eq!(public_url(&plain).severity, Severity::Critical);
    assert_eq!(public_url(&production()).severity, Severity::Ok);
}

#[test]
fn the_certificate_expiry() {
    let with =
        |e: Option<Result<i64, String>>| certificate(&Facts { certificate_expiry: e, ..sound() }).map(|c| c.severity);
    assert_eq!(with(None), None, "no TLS in Ostrog, no certificate to check");
    assert_eq!(with(Some(Ok(NOW + 90 * DAY))), Some(Severity::Ok));
    assert_eq!(with(Some(Ok(NOW + 10 * DAY))), Some(Severity::Warning));
    assert_eq!(with(Some(Ok(NOW - DAY))), Some(Severity::Critical));
    assert_eq!(with(Some(Err("unreadable".into()))), Some(Severity::Critical));
}

#[test]
fn hsts_behind_a_proxy_as_the_public_url_answers() {
    let c = production();
    let seen = |hsts: Option<&str>| Facts {
        public_tls: Some(Seen::Answered { not_after: NOW + 90 * DAY, hsts: hsts.map(String::from) }),
        ..sound()
    };
    let with = |facts: Facts| hsts(&c, &facts).severity;
    assert_eq!(with(seen(Some("max-age=31536000; includeSubDomains"))), Severity::Ok);
    assert_eq!(with(seen(Some("includeSubDomains; Max-Age=\"15552000\""))), Severity::Ok, "half a year, quoted");
    assert_eq!(with(seen(Some("max-age=300"))), Severity::Notice, "too short to protect");
    assert_eq!(with(seen(Some("max-age=forever"))), Severity::Notice);
    assert_eq!(with(seen(None)), Severity::Warning, "none at all");
    let unreached = Facts { public_tls: Some(Seen::Unreached("refused".into())), ..sound() };
    assert_eq!(with(unreached), Severity::Notice, "not seen, not judged");
}

#[test]
fn the_public_urls_certificate_behind_a_proxy() {
    let with = |seen: Seen| certificate(&Facts { public_tls: Some(seen), ..sound() }).map(|c| c.severity);
    let answered = |not_after| Seen::Answered { not_after, hsts: None };
    assert_eq!(with(answered(NOW + 90 * DAY)), Some(Severity::Ok));
    assert_eq!(with(answered(NOW + 10 * DAY)), Some(Severity::Warning));
    assert_eq!(with(Seen::Untrusted("invalid peer certificate: UnknownIssuer".into())), Some(Severity::Critical));
    assert_eq!(with(Seen::Unreached("connection refused".into())), Some(Severity::Notice));
}

#[test]
fn the_certificate_file_is_read() {
    let dir = std::env::temp_dir().join(format!("ostrog-doctor-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["chat.example.com".into()]).unwrap();
    params.not_after = rcgen::date_time_ymd(2030, 1, 2);
    let cert = params.self_signed(&rcgen::KeyPair::generate().unwrap()).unwrap();
    std::fs::write(dir.join("cert.pem"), cert.pem()).unwrap();
    let expiry = crate::doctor::facts::certificate_expiry(&dir.join("cert.pem")).unwrap();
    assert_eq!(expiry, 1_893_542_400_000, "2030-01-02T00:00:00Z");
    std::fs::write(dir.join("bad.pem"), "not a certificate").unwrap();
    assert!(crate::doctor::facts::certificate_expiry(&dir.join("bad.pem")).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn password_policy_and_sessions() {
    let mut c = production();
    assert_eq!((password_policy(&c).severity, sessions(&c).severity), (Severity::Ok, Severity::Ok));
    c.auth.password_min_length = 10;
    c.auth.session_lifetime_hours = 24;
    assert_eq!((password_policy(&c).severity, sessions(&c).severity), (Severity::Warning, Severity::Notice));
}

#[test]
fn second_factor_for_every_role() {
    assert_eq!(second_factor(&sound()).severity, Severity::Ok);
    let check = second_factor(&Facts { two_factor_optional: vec!["operator"], ..sound() });
    assert_eq!(check.severity, Severity::Critical);
    assert!(check.evidence.contains("operator"), "{check:?}");
}

#[test]
fn antivirus_states() {
    let with = |scanner| antivirus(&Facts { scanner, ..sound() });
    assert_eq!(with(sound().scanner).severity, Severity::Ok);
    assert_eq!(with(None).severity, Severity::Critical, "switched off");
    let down = ScannerFacts { health: Health::Unavailable, engines: vec![("clamd".into(), "unavailable")] };
    assert_eq!(with(Some(down)).severity, Severity::Critical);
    let finding = Finding { engine: "kav".into(), canary: "nested_archive", fix: "look inside archives".into() };
    let misconfigured = ScannerFacts { health: Health::Misconfigured(vec![finding]), engines: vec![] };
    let check = with(Some(misconfigured));
    assert_eq!(check.severity, Severity::Critical);
    assert!(check.evidence.contains("kav: nested_archive") && check.fix.contains("look inside archives"), "{check:?}");
}

#[test]
fn data_folder_and_master_key() {
    let mut f = sound();
    assert_eq!((data_folder(&f).severity, master_key(&f).severity), (Severity::Ok, Severity::Ok));
    f.loose_paths = vec!["/var/lib/ostrog/ostrog.db".into()];
    f.master_key_in_data_dir = true;
    assert_eq!((data_folder(&f).severity, master_key(&f).severity), (Severity::Critical, Severity::Critical));
    f.master_key_from_environment = false;
    assert_eq!(master_key(&f).severity, Severity::Notice, "the key file where the default puts it");
}

#[cfg(unix)]
#[test]
fn loose_paths_are_found() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("ostrog-doctor-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(dir.join("files")).unwrap();
    std::fs::write(dir.join("files/a"), b"x").unwrap();
    for (path, mode) in [(dir.clone(), 0o700), (dir.join("files"), 0o700), (dir.join("files/a"), 0o600)] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    assert!(crate::doctor::facts::loose_paths(&dir).is_empty());
    std::fs::set_permissions(dir.join("files/a"), std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(crate::doctor::facts::loose_paths(&dir), [dir.join("files/a")]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_database_connection() {
    let mut c = production();
    assert_eq!(database_transport(&c).severity, Severity::Ok, "SQLite");
    c.database_url = "postgres://ostrog:secret@127.0.0.1:5432/ostrog".into();
    assert_eq!(database_transport(&c).severity, Severity::Ok, "on this machine");
    c.database_url = "postgres://ostrog:secret@db.internal:5432/ostrog".into();
    let check = database_transport(&c);
    assert_eq!(check.severity, Severity::Warning);
    assert!(!check.evidence.contains("secret"), "no password in the evidence: {check:?}");
    c.database_url.push_str("?sslmode=verify-full");
    assert_eq!(database_transport(&c).severity, Severity::Ok);
    c.database_url = "postgres://localhost/ostrog".into();
    assert_eq!(database_transport(&c).severity, Severity::Ok, "no user, no port");
    c.database_url = "postgres:///ostrog?host=/run/postgresql".into();
    assert_eq!(database_transport(&c).severity, Severity::Ok, "a Unix socket");
    c.database_url = "postgresql://db.internal/ostrog".into();
    assert_eq!(database_transport(&c).severity, Severity::Warning);
}

#[test]
fn backups_configured_recent_and_not_empty() {
    let mut c = production();
    let with = |c: &Config, b| backups(c, &Facts { newest_backup: b, ..sound() }).severity;
    let made = |hours: i64, bytes| Some(Ok(NewestBackup { at: NOW - hours * HOUR, bytes, ..written_backup() }));
    assert_eq!(with(&c, made(1, 10)), Severity::Ok);
    assert_eq!(with(&c, made(30, 10)), Severity::Critical, "older than 26 hours");
    c.backup.max_age_hours = 48;
    assert_eq!(with(&c, made(30, 10)), Severity::Ok, "within the age set");
    assert_eq!(with(&c, made(49, 10)), Severity::Critical, "beyond it");
    assert_eq!(with(&c, made(1, 0)), Severity::Critical, "empty");
    assert_eq!(with(&c, Some(Err("no backup in /x".into()))), Severity::Critical);
    assert_eq!(with(&c, None), Severity::Warning, "none scheduled");
}

#[test]
fn backups_verified_as_far_as_they_can_be() {
    let c = production();
    let check = |b| backups(&c, &Facts { newest_backup: Some(Ok(b)), ..sound() });
    let unchanged = check(written_backup());
    assert_eq!(unchanged.severity, Severity::Ok);
    assert!(unchanged.evidence.contains(&format!("verified: unchanged since written (sha256 {})", "ab".repeat(32))));
    let decrypted = check(NewestBackup { decrypted: Some(Ok(3)), ..written_backup() });
    assert_eq!(decrypted.severity, Severity::Ok);
    assert!(
        decrypted.evidence.contains("unchanged since written")
            && decrypted.evidence.contains("decrypted with the identity given, its 3 parts match the manifest"),
        "both levels said: {decrypted:?}"
    );

    let unrecorded = check(NewestBackup { written: Written::Unrecorded, ..written_backup() });
    assert_eq!(unrecorded.severity, Severity::Notice, "no worse than a notice");
    assert!(unrecorded.evidence.contains("integrity unknown") && unrecorded.fix.contains("--backup-identity"));
    let by_hand_verified =
        check(NewestBackup { written: Written::Unrecorded, decrypted: Some(Ok(2)), ..written_backup() });
    assert_eq!(by_hand_verified.severity, Severity::Ok, "the identity proves what no record could");

    let altered = Written::Altered { recorded: "ab".repeat(32), found: "cd".repeat(32) };
    let altered = check(NewestBackup { written: altered, decrypted: Some(Ok(2)), ..written_backup() });
    assert_eq!(altered.severity, Severity::Critical, "decrypting is no excuse: another backup put in its place");
    assert!(altered.evidence.contains("altered or truncated since it was written"), "{altered:?}");
    let not_age = check(NewestBackup { header: Err("header is invalid".into()), ..written_backup() });
    assert_eq!(not_age.severity, Severity::Critical);
    assert!(not_age.evidence.contains("not an age file: header is invalid"), "{not_age:?}");
    let failed = check(NewestBackup { decrypted: Some(Err("wrong identity".into())), ..written_backup() });
    assert_eq!(failed.severity, Severity::Critical);
    assert!(failed.evidence.contains("does not verify with the identity given: wrong identity"), "{failed:?}");
}

#[test]
fn logging_forwarding_and_trails() {
    let mut c = production();
    assert_eq!(log_forwarding(&c).severity, Severity::Ok);
    c.log.syslog.clear();
    assert_eq!(log_forwarding(&c).severity, Severity::Warning);
    c.log.output = "/var/log/ostrog/ostrog.log".into();
    assert_eq!(log_forwarding(&c).severity, Severity::Ok, "a log file is collected");
    c.log.audit = false;
    assert_eq!(log_forwarding(&c).severity, Severity::Warning, "audit entries not among the lines");
    let mut f = sound();
    assert_eq!(audit_trails(&f).severity, Severity::Ok);
    f.audit_trails[1].1 = Err("entry 2's hash does not follow entry 1".into());
    assert_eq!(audit_trails(&f).severity, Severity::Critical);
}

#[test]
fn metrics_and_setup_exposure() {
    let mut c = production();
    assert_eq!(metrics_exposure(&c).severity, Severity::Ok);
    c.metrics.listen = Some("0.0.0.0:9100".parse().unwrap());
    assert_eq!(metrics_exposure(&c).severity, Severity::Warning);
    c.metrics.listen = Some("127.0.0.1:9100".parse().unwrap());
    assert_eq!(metrics_exposure(&c).severity, Severity::Ok);
    let mut f = sound();
    assert_eq!(setup(&f).severity, Severity::Ok);
    f.administrator_exists = false;
    assert_eq!(setup(&f).severity, Severity::Warning);
}

#[test]
fn dependencies_against_advisories() {
    use crate::doctor::advisories::Hit;
    let hit = |informational: Option<&str>| Hit {
        id: "RUSTSEC-2099-0001".into(),
        package: "zip".into(),
        version: "9.9.0".into(),
        title: "A flaw".into(),
        informational: informational.map(String::from),
        patched: vec![">= 9.9.1".into()],
    };
    let with = |a| dependencies(&Facts { advisories: a, ..sound() });
    assert_eq!(with(Some(Ok(vec![]))).severity, Severity::Ok);
    assert_eq!(with(None).severity, Severity::Notice, "not checked");
    assert_eq!(with(Some(Err("no crates/ folder".into()))).severity, Severity::Warning);
    assert_eq!(with(Some(Ok(vec![hit(Some("unmaintained"))]))).severity, Severity::Notice);
    let check = with(Some(Ok(vec![hit(None)])));
    assert_eq!(check.severity, Severity::Critical);
    assert!(check.evidence.contains("zip 9.9.0: RUSTSEC-2099-0001") && check.fix.contains("zip >= 9.9.1"), "{check:?}");
}
