//! The backup file: a tar of the parts and then the manifest, encrypted as
//! one age stream. age authenticates every 64 KiB chunk and the end of the
//! stream, so a changed byte or a cut-off file fails to decrypt; the
//! manifest's hashes then prove that the parts are the ones it lists.

use super::BackupError;
use super::manifest::{self, Hashing, Manifest, Part};
use age::secrecy::SecretString;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read};
use std::path::{Path, PathBuf};

/// What a backup is encrypted to.
pub enum Lock {
    Passphrase(SecretString),
    /// An age public key (`age1…`): the server never holds what opens it.
    Recipient(Box<age::x25519::Recipient>),
}

/// What opens a backup.
pub enum Key {
    Passphrase(SecretString),
    /// An age identity file (`AGE-SECRET-KEY-1…` lines), read when used.
    IdentityFile(PathBuf),
}

impl Lock {
    pub fn recipient(text: &str) -> Result<Lock, BackupError> {
        let r =
            text.trim().parse::<age::x25519::Recipient>().map_err(|e| BackupError::Key(format!("recipient: {e}")))?;
        Ok(Lock::Recipient(Box::new(r)))
    }

    fn encryptor(&self) -> Result<age::Encryptor, BackupError> {
        match self {
            Lock::Passphrase(p) => Ok(age::Encryptor::with_user_passphrase(p.clone())),
            Lock::Recipient(r) => age::Encryptor::with_recipients(std::iter::once(r.as_ref() as &dyn age::Recipient))
                .map_err(|e| BackupError::Key(e.to_string())),
        }
    }
}

fn identities(path: &Path) -> Result<Vec<Box<dyn age::Identity>>, BackupError> {
    let key_err = |e: &dyn std::fmt::Display| BackupError::Key(format!("{}: {e}", path.display()));
    let file = age::IdentityFile::from_file(path.display().to_string()).map_err(|e| key_err(&e))?;
    file.into_identities().map_err(|e| key_err(&e))
}

/// Writes `parts` (archive path, file) and then `manifest`, completed with
/// their hashes, to `out`. The file appears under its name only when whole.
/// A stored file that disappeared meanwhile (an erasure) is left out.
pub fn write(
    out: &Path,
    lock: &Lock,
    parts: &[(String, PathBuf)],
    mut manifest: Manifest,
) -> Result<Manifest, BackupError> {
    let partial = out.with_extension("partial");
    let file = create_private(&partial)?;
    let encrypted = lock.encryptor()?.wrap_output(BufWriter::new(file)).map_err(io)?;
    let mut tar = tar::Builder::new(encrypted);
    for (path, source) in parts {
        let source_file = match File::open(source) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && path.starts_with("files/") => continue,
            Err(e) => return Err(BackupError::Io(format!("{}: {e}", source.display()))),
        };
        let size = source_file.metadata().map_err(io)?.len();
        let mut reader = Hashing::new(source_file.take(size));
        tar.append_data(&mut header(size), path, &mut reader).map_err(io)?;
        manifest.parts.push(reader.finish(path.clone()));
    }
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| BackupError::Io(e.to_string()))?;
    tar.append_data(&mut header(json.len() as u64), manifest::NAME, json.as_slice()).map_err(io)?;
    let encrypted = tar.into_inner().map_err(io)?;
    let file = encrypted.finish().map_err(io)?.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&partial, out).map_err(io)?;
    Ok(manifest)
}

/// Decrypts and checks the backup at `path`, extracting its parts under
/// `extract_to` when given; returns its manifest once every part matches.
pub fn read(path: &Path, key: &Key, extract_to: Option<&Path>) -> Result<Manifest, BackupError> {
    let file = File::open(path).map_err(|e| BackupError::Io(format!("{}: {e}", path.display())))?;
    let decryptor = age::Decryptor::new_buffered(BufReader::new(file)).map_err(decrypt_err)?;
    let reader = match key {
        Key::Passphrase(p) => {
            let identity = age::scrypt::Identity::new(p.clone());
            decryptor.decrypt(std::iter::once(&identity as &dyn age::Identity))
        }
        Key::IdentityFile(path) => {
            let ids = identities(path)?;
            decryptor.decrypt(ids.iter().map(|i| i.as_ref()))
        }
    }
    .map_err(decrypt_err)?;
    let mut seen: HashMap<String, Part> = HashMap::new();
    let mut manifest: Option<Manifest> = None;
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries().map_err(damaged)? {
        let mut entry = entry.map_err(damaged)?;
        let name = entry.path().map_err(damaged)?.to_string_lossy().into_owned();
        if name == manifest::NAME {
            let mut json = Vec::new();
            entry.by_ref().take(1024 * 1024).read_to_end(&mut json).map_err(damaged)?;
            manifest = Some(serde_json::from_slice(&json).map_err(|e| BackupError::Damaged(format!("manifest: {e}")))?);
            continue;
        }
        if !manifest::is_part_path(&name) || seen.contains_key(&name) {
            return Err(BackupError::Damaged(format!("unexpected part {name:?}")));
        }
        let mut hashing = Hashing::new(&mut entry);
        match extract_to {
            Some(dir) => {
                let target = dir.join(&name);
                if let Some(parent) = target.parent() {
                    ostrog_store_sql::private::create_dir(parent).map_err(io)?;
                }
                let mut out = BufWriter::new(create_private(&target)?);
                std::io::copy(&mut hashing, &mut out).map_err(damaged)?;
                out.into_inner().map_err(|e| io(e.into_error()))?.sync_all().map_err(io)?;
            }
            None => {
                std::io::copy(&mut hashing, &mut std::io::sink()).map_err(damaged)?;
            }
        }
        seen.insert(name.clone(), hashing.finish(name));
    }
    // age checks the end of the stream only when it is read to the end.
    let mut rest = archive.into_inner();
    std::io::copy(&mut rest, &mut std::io::sink()).map_err(damaged)?;
    let manifest = manifest.ok_or_else(|| BackupError::Damaged("no manifest".into()))?;
    check(&manifest, &seen)?;
    Ok(manifest)
}

/// Whether `path` begins with an age header, which reads without a key:
/// a file that does not is no backup, whatever its name says.
pub fn read_header(path: &Path) -> Result<(), BackupError> {
    let file = File::open(path).map_err(|e| BackupError::Io(format!("{}: {e}", path.display())))?;
    age::Decryptor::new_buffered(BufReader::new(file)).map(drop).map_err(decrypt_err)
}

fn check(manifest: &Manifest, seen: &HashMap<String, Part>) -> Result<(), BackupError> {
    if manifest.format != manifest::FORMAT {
        return Err(BackupError::Refused(format!("backup format {} is unknown to this version", manifest.format)));
    }
    if manifest.parts.len() != seen.len() {
        return Err(BackupError::Damaged("the parts differ from the manifest".into()));
    }
    for part in &manifest.parts {
        if seen.get(&part.path) != Some(part) {
            return Err(BackupError::Damaged(format!("{} does not match the manifest", part.path)));
        }
    }
    Ok(())
}

fn header(size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_size(size);
    h.set_mode(0o600);
    h.set_entry_type(tar::EntryType::Regular);
    h
}

/// A new file only its owner can read: backups and their parts hold the
/// whole installation.
fn create_private(path: &Path) -> Result<File, BackupError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(|e| BackupError::Io(format!("{}: {e}", path.display())))
}

fn decrypt_err(e: age::DecryptError) -> BackupError {
    use age::DecryptError as D;
    match e {
        D::NoMatchingKeys | D::DecryptionFailed | D::KeyDecryptionFailed => BackupError::WrongKey,
        D::ExcessiveWork { .. } => BackupError::Refused("the passphrase's work factor is too high".into()),
        other => BackupError::Damaged(other.to_string()),
    }
}

fn damaged(e: std::io::Error) -> BackupError {
    BackupError::Damaged(e.to_string())
}

fn io(e: std::io::Error) -> BackupError {
    BackupError::Io(e.to_string())
}
