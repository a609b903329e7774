//! Backups of a live installation and restores from them.
//!
//! A backup is one age-encrypted file holding a consistent snapshot of the
//! database, of the key store beside it, the stored files, and a manifest
//! with the SHA-256 of each. Order matters for consistency while chat goes
//! on: the database first, then the key store (every visitor in the first
//! snapshot has a key in the second; a key destroyed in between leaves rows
//! nobody can read, which is what an erasure wants), then the files (those
//! uploaded afterwards are simply extra). The master key is never inside: a
//! backup is unreadable without it, and the docs say where to keep it.

pub mod archive;
pub mod manifest;
pub mod schedule;

use crate::config::Config;
pub use archive::{Key, Lock};
use manifest::{Manifest, SchemaVersions};
use ostrog_store::StoreError;
use ostrog_store_sql::snapshot::{self, Schema};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0}")]
    Io(String),
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("the backup is damaged or was altered: {0}")]
    Damaged(String),
    #[error("the passphrase or identity does not open this backup (or its header was altered)")]
    WrongKey,
    #[error("{0}")]
    Refused(String),
    #[error("backup key: {0}")]
    Key(String),
}

/// Records a backup taken, or restored, from the command line in the
/// security trail of the database it concerns. The server need not run
/// (a restore wants it stopped), so the entry goes straight to the store;
/// who ran the command is the operating system's to say, the entry says
/// it was the command line.
pub async fn record(config: &Config, action: &str, m: &Manifest, file: &Path, now: i64) -> Result<(), BackupError> {
    let store = ostrog_store_sql::connect(&config.database_url()).await?;
    let details = serde_json::json!({
        "by": "command line", "file": file.file_name().map(|n| n.to_string_lossy()),
        "backup_created_at": m.created_at, "ostrog_version": m.ostrog_version, "parts": m.parts.len(),
    });
    let event = ostrog_domain::audit::AuditEvent {
        at: now,
        actor: None,
        ip: None,
        action: action.into(),
        target: None,
        outcome: ostrog_domain::audit::Outcome::Success,
        details,
    };
    store.append_to(ostrog_store::Trail::Security, &event).await?;
    Ok(())
}

/// Takes a backup of the installation `config` describes into `out`.
pub async fn backup(config: &Config, out: &Path, lock: Lock, now: i64) -> Result<Manifest, BackupError> {
    let (main_url, keys_url) = (config.database_url(), crate::keys::store_url(config)?);
    if out.exists() {
        return Err(BackupError::Refused(format!("{} exists already: choose another name", out.display())));
    }
    let staging = staging_dir(out.parent().unwrap_or(Path::new(".")), "backup")?;
    let result = async {
        // The key store may live on another backend than the data (`keys_database_url`).
        let (main_part, keys_part) =
            (format!("database.{}", extension(&main_url)), format!("keys.{}", extension(&keys_url)));
        let (main, keys) = (staging.join(&main_part), staging.join(&keys_part));
        let schema = SchemaVersions {
            main: snapshot::snapshot(&main_url, &main).await?,
            keys: snapshot::snapshot(&keys_url, &keys).await?,
        };
        let mut parts = vec![(main_part, main), (keys_part, keys)];
        parts.extend(stored_files(&config.data_dir)?);
        let manifest = Manifest {
            format: manifest::FORMAT,
            ostrog_version: env!("CARGO_PKG_VERSION").into(),
            created_at: now,
            backend: backend_of(&main_url).into(),
            schema,
            parts: Vec::new(),
        };
        let out = out.to_path_buf();
        tokio::task::spawn_blocking(move || archive::write(&out, &lock, &parts, manifest))
            .await
            .map_err(|e| BackupError::Io(e.to_string()))?
    }
    .await;
    let _ = std::fs::remove_dir_all(&staging);
    result
}

/// Checks the backup at `file` without restoring it.
pub async fn verify(file: &Path, key: Key) -> Result<Manifest, BackupError> {
    let file = file.to_path_buf();
    tokio::task::spawn_blocking(move || archive::read(&file, &key, None))
        .await
        .map_err(|e| BackupError::Io(e.to_string()))?
}

/// The SHA-256 (hex) of the file at `path` as it lies on disk: read in
/// pieces and off the async runtime, since a backup is as large as the
/// installation. Needs no key, so the server can prove later that a backup
/// it wrote is still the file it wrote.
pub async fn file_sha256(path: &Path) -> Result<String, BackupError> {
    use sha2::Digest;
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let io = |e: std::io::Error| BackupError::Io(format!("{}: {e}", path.display()));
        let mut hasher = sha2::Sha256::new();
        std::io::copy(&mut std::fs::File::open(&path).map_err(io)?, &mut hasher).map_err(io)?;
        Ok(hex::encode(hasher.finalize()))
    })
    .await
    .map_err(|e| BackupError::Io(e.to_string()))?
}

/// Restores the backup at `file` into the installation `config` describes,
/// which must be empty unless `force`. Everything is checked before
/// anything is replaced.
pub async fn restore(config: &Config, file: &Path, key: Key, force: bool) -> Result<Manifest, BackupError> {
    let (main_url, keys_url) = (config.database_url(), crate::keys::store_url(config)?);
    let files_dir = config.data_dir.join("files");
    if !force {
        let files_present = std::fs::read_dir(&files_dir).is_ok_and(|mut d| d.next().is_some());
        if files_present || !snapshot::is_empty(&main_url).await? || !snapshot::is_empty(&keys_url).await? {
            return Err(BackupError::Refused(
                "the installation already holds data: restore into an empty data folder and database, \
                 or add --force to replace it"
                    .into(),
            ));
        }
    }
    ostrog_store_sql::private::create_dir(&config.data_dir)
        .map_err(|e| BackupError::Io(format!("{}: {e}", config.data_dir.display())))?;
    let staging = staging_dir(&config.data_dir, "restore")?;
    let result = async {
        let (from, into) = (file.to_path_buf(), staging.clone());
        let manifest = tokio::task::spawn_blocking(move || archive::read(&from, &key, Some(&into)))
            .await
            .map_err(|e| BackupError::Io(e.to_string()))??;
        fits(&manifest, &main_url, &keys_url)?;
        snapshot::load(&main_url, &staging.join(format!("database.{}", extension(&main_url))), force).await?;
        snapshot::load(&keys_url, &staging.join(format!("keys.{}", extension(&keys_url))), force).await?;
        if files_dir.exists() {
            std::fs::remove_dir_all(&files_dir)
                .map_err(|e| BackupError::Io(format!("{}: {e}", files_dir.display())))?;
        }
        let restored_files = staging.join("files");
        if restored_files.exists() {
            std::fs::rename(&restored_files, &files_dir).map_err(|e| BackupError::Io(e.to_string()))?;
        }
        Ok(manifest)
    }
    .await;
    let _ = std::fs::remove_dir_all(&staging);
    result
}

/// Whether this binary can restore `manifest` onto these databases.
fn fits(manifest: &Manifest, main_url: &str, keys_url: &str) -> Result<(), BackupError> {
    if manifest.backend != backend_of(main_url) {
        return Err(BackupError::Refused(format!(
            "this is a backup of a {} installation; set database_url to a {} database to restore it",
            manifest.backend, manifest.backend
        )));
    }
    for part in [format!("database.{}", extension(main_url)), format!("keys.{}", extension(keys_url))] {
        if !manifest.parts.iter().any(|p| p.path == part) {
            return Err(BackupError::Refused(format!(
                "the backup holds no {part}: its databases are on other backends than database_url and keys_database_url name"
            )));
        }
    }
    let known = (
        snapshot::known_schema_version(main_url, Schema::Main),
        snapshot::known_schema_version(keys_url, Schema::Keys),
    );
    if manifest.schema.main > known.0 || manifest.schema.keys > known.1 {
        return Err(BackupError::Refused(format!(
            "the backup was made by Ostrog {} with a newer schema than this binary knows: restore it with that version or newer",
            manifest.ostrog_version
        )));
    }
    Ok(())
}

fn backend_of(url: &str) -> &'static str {
    if url.starts_with("sqlite:") { "sqlite" } else { "postgres" }
}

fn extension(url: &str) -> &'static str {
    if url.starts_with("sqlite:") { "sqlite" } else { "pgdump" }
}

/// Every stored file (originals and thumbnails), as archive path and file.
fn stored_files(data_dir: &Path) -> Result<Vec<(String, PathBuf)>, BackupError> {
    let dir = data_dir.join("files");
    let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(Vec::new()) };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| BackupError::Io(format!("{}: {e}", dir.display())))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = format!("files/{name}");
        if entry.file_type().is_ok_and(|t| t.is_file()) && manifest::is_part_path(&path) {
            files.push((path, entry.path()));
        }
    }
    files.sort();
    Ok(files)
}

/// A private working folder beside the data, removed afterwards: parts can
/// be as large as the database, so not in a small /tmp.
fn staging_dir(beside: &Path, what: &str) -> Result<PathBuf, BackupError> {
    let dir = beside.join(format!(".ostrog-{what}-{}", uuid::Uuid::new_v4().simple()));
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.recursive(true).create(&dir).map_err(|e| BackupError::Io(format!("{}: {e}", dir.display())))?;
    Ok(dir)
}
