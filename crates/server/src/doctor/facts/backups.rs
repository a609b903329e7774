//! What the doctor learns of the newest backup in `backup.dir`, at three
//! levels: its age header reads (no key needed); its SHA-256 is the one the
//! scheduled job audited when it wrote the file (the audit log is
//! hash-chained, so that record is harder to alter than the file); and,
//! only when the operator gives the identity, it decrypts and every part
//! matches its manifest. The server never holds the identity, so its own
//! runs stop at the second level.

use crate::backup::{self, Key, archive};
use ostrog_domain::audit::Action;
use ostrog_store::{AuditFilter, Store, StoreResult};
use std::path::Path;

#[derive(Debug, Clone)]
pub struct NewestBackup {
    /// When it was made (ms, read from its name).
    pub at: i64,
    pub bytes: u64,
    /// Whether it begins with an age header, or why not.
    pub header: Result<(), String>,
    pub written: Written,
    /// With an identity given: decrypted, every part matching the manifest
    /// (how many parts), or why not.
    pub decrypted: Option<Result<usize, String>>,
}

/// The file against the SHA-256 audited when the server wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// The same hash (hex).
    Unchanged(String),
    Altered {
        recorded: String,
        found: String,
    },
    /// No scheduled backup's audit entry names it: made by `ostrog backup`,
    /// copied in by hand, or written before hashes were audited.
    Unrecorded,
}

/// The newest `ostrog-….age` in `dir`, checked as far as `identity` allows.
pub async fn newest(store: &dyn Store, dir: &Path, identity: Option<&Path>) -> Result<NewestBackup, String> {
    let (at, name, bytes) = newest_file(dir)?;
    let file = dir.join(&name);
    let decrypted = match identity {
        None => None,
        Some(id) => Some(backup::verify(&file, Key::IdentityFile(id.into())).await.map(|m| m.parts.len())),
    };
    Ok(NewestBackup {
        at,
        bytes,
        header: archive::read_header(&file).map_err(|e| e.to_string()),
        written: written(store, &file, &name, at).await?,
        decrypted: decrypted.map(|r| r.map_err(|e| e.to_string())),
    })
}

/// The newest scheduled backup's time, name and size.
fn newest_file(dir: &Path) -> Result<(i64, String, u64), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let newest = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let at = backup::schedule::parse_name(&name)?;
            Some((at, name, e.metadata().ok()?.len()))
        })
        .max();
    newest.ok_or_else(|| format!("no backup in {}", dir.display()))
}

async fn written(store: &dyn Store, file: &Path, name: &str, at: i64) -> Result<Written, String> {
    let Some(recorded) = recorded_sha256(store, name, at).await.map_err(|e| e.to_string())? else {
        return Ok(Written::Unrecorded);
    };
    let found = backup::file_sha256(file).await.map_err(|e| e.to_string())?;
    Ok(if found == recorded { Written::Unchanged(found) } else { Written::Altered { recorded, found } })
}

/// The SHA-256 the scheduled job audited for `name`. Its entry is written
/// after the file, which is named after the time it began, so the search
/// starts there and only the days since are read.
async fn recorded_sha256(store: &dyn Store, name: &str, at: i64) -> StoreResult<Option<String>> {
    let filter =
        AuditFilter { action: Some(Action::BackupScheduled.name().into()), since: Some(at), ..Default::default() };
    let mut after = 0;
    loop {
        let page = store.audit_entries(&filter, after, 100).await?;
        let Some(last) = page.last() else { return Ok(None) };
        after = last.seq;
        let found = page.iter().map(|e| &e.event.details).find(|d| d["file"] == name && d["sha256"].is_string());
        if let Some(details) = found {
            return Ok(details["sha256"].as_str().map(String::from));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::manifest::{FORMAT, Manifest, SchemaVersions};
    use crate::backup::{Lock, schedule::file_name};
    use crate::doctor::{Facts, Severity};
    use age::secrecy::ExposeSecret;
    use ostrog_domain::audit::{AuditEvent, Outcome};
    use std::path::PathBuf;

    const AT: i64 = 1_800_000_000_000;
    const HOUR: i64 = 3_600_000;

    /// A real backup of one small part, encrypted to `identity` and named
    /// as the scheduled job names them.
    fn write_backup(dir: &Path, identity: &age::x25519::Identity, at: i64) -> PathBuf {
        let part = dir.join("part");
        std::fs::write(&part, b"a database, say").unwrap();
        let schema = SchemaVersions { main: 1, keys: 1 };
        let manifest = Manifest {
            format: FORMAT,
            ostrog_version: "test".into(),
            created_at: at,
            backend: "sqlite".into(),
            schema,
            parts: vec![],
        };
        let file = dir.join(file_name(at));
        let lock = Lock::Recipient(Box::new(identity.to_public()));
        archive::write(&file, &lock, &[("database.sqlite".into(), part)], manifest).unwrap();
        file
    }

    /// What the scheduled job audits once it has written `file`.
    async fn audit_written(store: &dyn Store, file: &Path, at: i64) {
        let details = serde_json::json!({
            "file": file.file_name().unwrap().to_str().unwrap(), "bytes": std::fs::metadata(file).unwrap().len(),
            "sha256": backup::file_sha256(file).await.unwrap(), "removed": [],
        });
        let event = AuditEvent {
            at: at + 1000,
            actor: None,
            ip: None,
            action: Action::BackupScheduled.name().into(),
            target: None,
            outcome: Outcome::Success,
            details,
        };
        store.append_audit(&event).await.unwrap();
    }

    fn identity_file(path: &Path) -> age::x25519::Identity {
        let identity = age::x25519::Identity::generate();
        std::fs::write(path, identity.to_string().expose_secret()).unwrap();
        identity
    }

    fn severity(b: NewestBackup) -> Severity {
        let mut config = crate::config::Config::default();
        config.backup.dir = "/var/backups/ostrog".into();
        let facts = Facts { now: AT + HOUR, newest_backup: Some(Ok(b)), ..Facts::default() };
        let report = crate::doctor::report(&config, &facts);
        report.checks.iter().find(|c| c.id == "backups.recent").unwrap().severity
    }

    #[tokio::test]
    async fn the_newest_backup_against_its_audited_hash_and_its_identity() {
        let store = ostrog_store_sql::connect("sqlite::memory:").await.unwrap();
        let dir = std::env::temp_dir().join(format!("ostrog-doctor-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let (key, wrong) = (dir.join("identity.txt"), dir.join("wrong.txt"));
        let identity = identity_file(&key);
        identity_file(&wrong);
        write_backup(&dir, &identity, AT - 24 * HOUR);
        let file = write_backup(&dir, &identity, AT);

        let b = newest(store.as_ref(), &dir, None).await.unwrap();
        assert_eq!((b.at, &b.header, &b.written, &b.decrypted), (AT, &Ok(()), &Written::Unrecorded, &None));
        assert_eq!(severity(b), Severity::Notice, "made, as far as anyone can tell, by hand");
        audit_written(store.as_ref(), &file, AT).await;
        let b = newest(store.as_ref(), &dir, None).await.unwrap();
        assert_eq!(b.written, Written::Unchanged(backup::file_sha256(&file).await.unwrap()));
        assert_eq!(severity(b), Severity::Ok);

        let b = newest(store.as_ref(), &dir, Some(&key)).await.unwrap();
        assert_eq!(b.decrypted, Some(Ok(1)), "decrypted, its one part matching the manifest");
        let b = newest(store.as_ref(), &dir, Some(&wrong)).await.unwrap();
        assert!(matches!(b.decrypted, Some(Err(_))), "{b:?}");
        assert_eq!(severity(b), Severity::Critical, "another identity does not open it");

        let mut bytes = std::fs::read(&file).unwrap();
        let near_the_end = bytes.len() - 10;
        bytes[near_the_end] ^= 1;
        std::fs::write(&file, bytes).unwrap();
        let b = newest(store.as_ref(), &dir, Some(&key)).await.unwrap();
        assert!(matches!(b.written, Written::Altered { .. }) && matches!(b.decrypted, Some(Err(_))), "{b:?}");
        let b = newest(store.as_ref(), &dir, None).await.unwrap();
        assert_eq!((&b.header, severity(b.clone())), (&Ok(()), Severity::Critical), "found without the identity");

        std::fs::write(dir.join(file_name(AT + 1000)), b"not a backup").unwrap();
        let b = newest(store.as_ref(), &dir, None).await.unwrap();
        assert!(b.header.is_err(), "{b:?}");
        assert_eq!(severity(b), Severity::Critical, "no age file, whatever its name");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
