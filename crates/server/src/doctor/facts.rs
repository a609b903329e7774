//! What the checks look at, gathered once from the running installation:
//! the certificate's dates, the data folder's modes, the backups' folder,
//! the antivirus engines' self-test run now, the audit trails' chains, and
//! whether anyone has set the installation up.

pub mod backups;
pub mod public_tls;

use super::advisories::Hit;
use crate::config::Config;
use crate::files::scanner::Scanner;
use crate::files::self_test::Health;
use crate::services::audit::AuditLog;
use crate::services::settings::Settings;
use ostrog_domain::clock::Clock;
use ostrog_store::Store;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use backups::{NewestBackup, Written};

#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Now, in milliseconds since the epoch.
    pub now: i64,
    /// The certificate at `tls.cert`: when it stops being valid (ms), or
    /// why it could not be read. `None` without TLS in Ostrog.
    pub certificate_expiry: Option<Result<i64, String>>,
    /// What the public sees at an `https://` public URL that a reverse
    /// proxy serves; `None` when Ostrog serves TLS itself or the URL is not https.
    pub public_tls: Option<public_tls::Seen>,
    /// What in the data folder other users of the machine could open.
    pub loose_paths: Vec<PathBuf>,
    /// A `master.key` file lies in the data folder.
    pub master_key_in_data_dir: bool,
    /// `OSTROG_MASTER_KEY` is set (the key is meant to live elsewhere).
    pub master_key_from_environment: bool,
    /// The newest backup in `backup.dir` and how far it verified; or why
    /// the folder or the file could not be read. `None` without a folder.
    pub newest_backup: Option<Result<NewestBackup, String>>,
    /// The antivirus after a self-test run now; `None` when switched off.
    pub scanner: Option<ScannerFacts>,
    pub administrator_exists: bool,
    /// The roles whose members may sign in without a second factor (the
    /// cabinet's security page can allow that).
    pub two_factor_optional: Vec<&'static str>,
    /// Each audit trail: the entries verified, or where the chain breaks.
    pub audit_trails: Vec<(&'static str, Result<i64, String>)>,
    /// The binary's crates against the advisory database given; `None`
    /// when none was.
    pub advisories: Option<Result<Vec<Hit>, String>>,
}

#[derive(Debug, Clone)]
pub struct ScannerFacts {
    pub health: Health,
    /// Each engine's name and state, in order.
    pub engines: Vec<(String, &'static str)>,
}

/// The parts of the running installation the facts are read from.
pub struct Sources {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub settings: Arc<Settings>,
    pub audit_log: Arc<AuditLog>,
    /// `None` when scanning is off.
    pub scanner: Option<Scanner>,
}

/// What the installation does not hold itself and is brought to it: a
/// copy of the RustSec advisory database (`[doctor] advisories` or
/// `--advisories`) and, by hand only, the identity that opens the backups.
#[derive(Default, Clone, Copy)]
pub struct Brought<'a> {
    pub advisories: Option<&'a Path>,
    pub backup_identity: Option<&'a Path>,
}

impl Facts {
    /// The facts of a running installation; `loose_paths` as found before
    /// it was opened (opening makes the data folder private). The newest
    /// backup is decrypted only with an identity given by hand: the server
    /// never holds one.
    pub async fn gather(
        from: &Sources,
        config: &Config,
        loose_paths: Vec<PathBuf>,
        brought: Brought<'_>,
    ) -> crate::error::AppResult<Facts> {
        let scanner = match &from.scanner {
            None => None,
            Some(s) => {
                let health = s.self_test().await;
                Some(ScannerFacts { health, engines: s.probe().await.1 })
            }
        };
        let newest_backup = match config.backup.dir.as_str() {
            "" => None,
            dir => Some(backups::newest(from.store.as_ref(), Path::new(dir), brought.backup_identity).await),
        };
        let mut audit_trails = vec![];
        for (name, trail) in
            [("security", ostrog_store::Trail::Security), ("personal_data", ostrog_store::Trail::PersonalDataAccess)]
        {
            let verified = from.audit_log.verify(trail).await?.map_err(|broken| broken.to_string());
            audit_trails.push((name, verified));
        }
        Ok(Facts {
            now: from.clock.now(),
            certificate_expiry: config.tls.cert.as_deref().map(certificate_expiry),
            public_tls: match config.public_url() {
                url if url.starts_with("https://") && !config.tls_enabled() => {
                    Some(public_tls::visit(&url, public_tls::system_roots()).await)
                }
                _ => None,
            },
            loose_paths,
            master_key_in_data_dir: config.data_dir.join("master.key").exists(),
            master_key_from_environment: std::env::var_os(crate::keys::master::ENV).is_some(),
            newest_backup,
            scanner,
            administrator_exists: from.store.administrator_exists().await?,
            two_factor_optional: from
                .settings
                .two_factor_policy()
                .await?
                .required
                .into_iter()
                .filter(|(_, required)| !required)
                .map(|(role, _)| role.name())
                .collect(),
            audit_trails,
            advisories: brought.advisories.map(|db| super::advisories::check(db, super::advisories::DEPENDENCIES)),
        })
    }
}

/// When the first certificate of a PEM chain stops being valid.
pub fn certificate_expiry(path: &Path) -> Result<i64, String> {
    use x509_cert::der::DecodePem;
    let pem = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let cert = x509_cert::Certificate::from_pem(&pem).map_err(|e| format!("{}: {e}", path.display()))?;
    let not_after = cert.tbs_certificate.validity.not_after.to_unix_duration();
    Ok(i64::try_from(not_after.as_millis()).unwrap_or(i64::MAX))
}

/// Files and folders below `dir` (and `dir` itself) that others may open.
#[cfg(unix)]
pub fn loose_paths(dir: &Path) -> Vec<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let mut loose = vec![];
    let mut pending = vec![dir.to_path_buf()];
    while let Some(path) = pending.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
        if (meta.is_dir() || meta.is_file()) && meta.permissions().mode() & 0o077 != 0 {
            loose.push(path.clone());
        }
        if meta.is_dir() {
            pending.extend(std::fs::read_dir(&path).into_iter().flatten().flatten().map(|e| e.path()));
        }
    }
    loose.sort();
    loose
}

#[cfg(not(unix))]
pub fn loose_paths(_: &Path) -> Vec<PathBuf> {
    vec![]
}
