//! The scanner's self-test. Ostrog's promise that nothing unscanned is
//! served rests on each engine's configuration, which lives outside Ostrog
//! and which a package upgrade may rewrite: clamd trims an archive entry at
//! its `MaxFileSize` without an alert and passes encrypted archives as
//! clean; an ICAP service may skip file types or objects over a size. So
//! Ostrog does not trust them: at start and every `self_test_minutes` it
//! sends each engine harmless test files built around the EICAR test file,
//! and an engine that passes any of them as clean is *misconfigured*:
//! uploads are refused (fail closed), `/readyz` and `/metrics` say so, and
//! the log names the setting to change.
//!
//! ClamAV detects EICAR only as a whole file of its own (the EICAR
//! specification; a body signature would also match it inside other data),
//! so every test file holds an intact EICAR file where only a correctly
//! configured clamd reaches it.

use crate::files::scanner::{Engine, ScanError, Scanner, Verdict};
use axum::body::Bytes;
use std::collections::HashMap;
use std::io::{Cursor, Write};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use zip::write::SimpleFileOptions;

/// One test file and what to change when it passes as clean: in
/// clamd.conf, or in an ICAP service's settings.
pub struct Canary {
    pub name: &'static str,
    pub bytes: Bytes,
    pub fix: String,
    pub icap_fix: String,
}

/// A test file an engine passed as clean.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub engine: String,
    pub canary: &'static str,
    pub fix: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// No self-test has finished yet.
    Untested,
    Passed,
    /// The engine did not answer (or not in time).
    Unavailable,
    Misconfigured(Vec<Finding>),
}

impl Health {
    /// As `/readyz` and `/metrics` name it.
    pub fn name(&self) -> &'static str {
        match self {
            Health::Untested => "untested",
            Health::Passed => "ok",
            Health::Unavailable => "unavailable",
            Health::Misconfigured(_) => "misconfigured",
        }
    }
}

/// The 68-byte EICAR test file, assembled at run time so that the binary
/// itself never carries it.
pub fn eicar() -> Vec<u8> {
    ["X5O!P%@AP[4\\PZX54(P^)7CC)7}$", "EICAR-STANDARD-ANTIVIRUS-", "TEST-FILE!$H+H*"].concat().into_bytes()
}

/// The test files for an engine that must read `max_scan_bytes` of one file;
/// the encrypted one only where encrypted archives are refused.
pub fn canaries(max_scan_bytes: u64, encrypted_refused: bool) -> Vec<Canary> {
    let eicar = eicar();
    let mut list = vec![
        Canary {
            name: "eicar",
            bytes: eicar.clone().into(),
            fix: "clamd does not detect the EICAR test file: its signatures are missing \
                  (DatabaseDirectory; is clamav-freshclam running?)"
                .into(),
            icap_fix: "the ICAP service does not detect the EICAR test file: are its signatures loaded, \
                       and does it scan every type of file (not only web pages)?"
                .into(),
        },
        Canary {
            name: "nested_archive",
            bytes: zip_of("outer.txt.zip", &zip_of("eicar.txt", &eicar, false), false).into(),
            fix: "clamd does not look inside archives: set ScanArchive yes (and MaxRecursion of at least 3)".into(),
            icap_fix: "the ICAP service does not look inside archives: switch archive scanning on, \
                       at least 3 levels deep"
                .into(),
        },
        Canary {
            name: "padded_entry",
            bytes: padded(max_scan_bytes, &eicar).into(),
            fix: format!(
                "clamd stops reading archive entries too early: set MaxFileSize and MaxScanSize to at least \
                 {max_scan_bytes} bytes (scanner.max_scan_bytes) and AlertExceedsMax yes"
            ),
            icap_fix: format!(
                "the ICAP service stops reading archive entries too early: let it read at least \
                 {max_scan_bytes} bytes of a file and of an archive (scanner.max_scan_bytes), and block what is larger"
            ),
        },
    ];
    if encrypted_refused {
        list.push(Canary {
            name: "encrypted_archive",
            bytes: encrypted_zip_of("eicar.txt", &eicar).into(),
            fix: "clamd passes encrypted archives it cannot open: set AlertEncryptedArchive yes \
                  (or allow them in Ostrog with files.allow_encrypted_archives, documented as unscannable)"
                .into(),
            icap_fix: "the ICAP service passes encrypted archives it cannot open: make it block them \
                       (or allow them in Ostrog with files.allow_encrypted_archives, documented as unscannable)"
                .into(),
        });
    }
    list
}

/// The test files, built once per process and kept: the padded one takes
/// a second of CPU to compress.
pub async fn cached(max_scan_bytes: u64, encrypted_refused: bool) -> Arc<Vec<Canary>> {
    type Cache = Mutex<HashMap<(u64, bool), Arc<Vec<Canary>>>>;
    static CACHE: LazyLock<Cache> = LazyLock::new(Default::default);
    let key = (max_scan_bytes, encrypted_refused);
    if let Some(found) = CACHE.lock().unwrap_or_else(PoisonError::into_inner).get(&key) {
        return found.clone();
    }
    let built = tokio::task::spawn_blocking(move || canaries(max_scan_bytes, encrypted_refused)).await;
    // Never an empty list (that would pass every time): a failed task builds again here.
    let built = Arc::new(built.unwrap_or_else(|_| canaries(max_scan_bytes, encrypted_refused)));
    CACHE.lock().unwrap_or_else(PoisonError::into_inner).insert(key, built.clone());
    built
}

/// Scans every canary with one engine; what its health now is.
pub async fn run(scanner: &Scanner, engine: &Engine, canaries: &[Canary]) -> Health {
    let mut findings = Vec::new();
    for canary in canaries {
        match scanner.scan_bytes_with(engine, canary.bytes.clone()).await {
            Ok(Verdict::Clean) => findings.push(Finding {
                engine: engine.name().to_string(),
                canary: canary.name,
                fix: if engine.is_icap() { canary.icap_fix.clone() } else { canary.fix.clone() },
            }),
            // Any detection (EICAR, a limit, an encrypted archive) or a
            // refusal keeps such a file out: what the test asks.
            Ok(Verdict::Infected(_)) | Err(ScanError::Refused(_)) => {}
            Err(e) => {
                tracing::debug!(engine = engine.name(), error = %e, canary = canary.name, "self-test: no answer");
                return Health::Unavailable;
            }
        }
    }
    if findings.is_empty() { Health::Passed } else { Health::Misconfigured(findings) }
}

/// A zip holding one entry, deflated (the canaries must stay small on the
/// wire however much they unpack to).
fn zip_of(name: &str, content: &[u8], stored: bool) -> Vec<u8> {
    let method = if stored { zip::CompressionMethod::Stored } else { zip::CompressionMethod::Deflated };
    let options = SimpleFileOptions::default().compression_method(method).large_file(content.len() > u32::MAX as usize);
    write_zip(|w| {
        w.start_file(name, options)?;
        w.write_all(content)?;
        Ok(())
    })
}

fn encrypted_zip_of(name: &str, content: &[u8]) -> Vec<u8> {
    use zip::unstable::write::FileOptionsExt;
    write_zip(|w| {
        let options = SimpleFileOptions::default().with_deprecated_encryption(b"ostrog-self-test")?;
        w.start_file(name, options)?;
        w.write_all(content)?;
        Ok(())
    })
}

/// One entry of zeros with a small archive holding EICAR at its very end,
/// as long as the largest entry Ostrog lets through: clamd finds the
/// embedded archive only if it reads the entry to its end.
fn padded(max_scan_bytes: u64, eicar: &[u8]) -> Vec<u8> {
    let tail = zip_of("eicar.txt", eicar, true);
    // Room for the tail, and for what clamd counts besides the entry.
    let padding = usize::try_from(max_scan_bytes).unwrap_or(usize::MAX).saturating_sub(tail.len() + 64 * 1024);
    let mut entry = vec![0u8; padding];
    entry.extend_from_slice(&tail);
    zip_of("padded.bin", &entry, false)
}

fn write_zip(fill: impl FnOnce(&mut zip::ZipWriter<Cursor<Vec<u8>>>) -> zip::result::ZipResult<()>) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    // Writing into memory fails only on a bug; an empty canary then passes
    // as clean and is reported, never silently skipped.
    match fill(&mut w).and_then(|()| w.finish()) {
        Ok(cursor) => cursor.into_inner(),
        Err(e) => {
            tracing::error!(error = %e, "self-test: could not build a test file");
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ostrog_domain::archive::{self, Limits, Refusal};

    #[test]
    fn each_canary_is_one_ostrog_itself_reads_as_the_scanner_should() {
        let max = 2 * 1024 * 1024;
        let limits = Limits { entry_bytes: max, total_bytes: max, ..Limits::default() };
        let list = canaries(max, true);
        let names: Vec<_> = list.iter().map(|c| c.name).collect();
        assert_eq!(names, ["eicar", "nested_archive", "padded_entry", "encrypted_archive"]);
        // The padded entry is as long as Ostrog lets through, and no longer:
        // clamd must read that far.
        let padded = archive::inspect(&list[2].bytes, &limits).unwrap().unwrap();
        assert!(padded.unpacked > max - 128 * 1024 && padded.unpacked <= max, "{padded:?}");
        assert!(list[2].bytes.len() < 64 * 1024, "small on the wire: {}", list[2].bytes.len());
        assert_eq!(archive::inspect(&list[1].bytes, &limits).unwrap().unwrap().depth, 1);
        assert_eq!(archive::inspect(&list[3].bytes, &limits), Err(Refusal::Encrypted));
        assert!(!list[0].bytes.is_empty() && list[0].bytes.len() == 68);
        assert_eq!(canaries(max, false).len(), 3, "no encrypted canary where encrypted archives are allowed");
    }
}
