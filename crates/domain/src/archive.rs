//! Zip archives (and the formats built on them: docx, xlsx, odt) as
//! uploads, inspected whole before the virus scanner sees them.
//!
//! clamd scans an archive entry only up to its `MaxFileSize` and trims the
//! rest without an alert (ClamAV 1.4: "trimming output size to
//! maxfilesize"), passes encrypted entries it cannot open as clean, and
//! spends up to its timeout on an archive of 60,000 empty entries. So
//! Ostrog reads every archive itself, into nested archives too, and refuses
//! what the scanner could not read whole: an entry or a tree that unpacks
//! past the limits the scanner is configured for, nesting past a depth,
//! too many entries, encrypted entries, compression it cannot unpack, and
//! (unless allowed) executables. Sizes are counted as the entries actually
//! unpack, never as the archive declares them, and unpacking stops at the
//! first limit passed, so a bomb costs no more than the limit.
//!
//! Pure: bytes in, a verdict out; no I/O.

use std::io::{Cursor, Read};

/// What an inspection may cost, and what it lets through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most one entry may unpack to (at most clamd's `MaxFileSize`).
    pub entry_bytes: u64,
    /// The most the whole tree may unpack to (at most clamd's `MaxScanSize`).
    pub total_bytes: u64,
    /// Archives inside the upload: a zip in a zip is depth 1.
    pub depth: u32,
    /// Entries in the whole tree, folders included.
    pub entries: u64,
    /// Encrypted entries cannot be scanned; allowed only if a setting says so.
    pub allow_encrypted: bool,
    pub allow_executables: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            entry_bytes: 100 * 1024 * 1024,
            total_bytes: 100 * 1024 * 1024,
            depth: 4,
            entries: 10_000,
            allow_encrypted: false,
            allow_executables: false,
        }
    }
}

/// Why an archive is refused. `code` names it in the audit log and the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The tree unpacks past `total_bytes`, or one entry past `entry_bytes`:
    /// the scanner would not read it whole.
    TooLarge,
    TooManyEntries,
    TooDeep,
    Encrypted,
    /// An executable or script, by its name or by its first bytes.
    Executable,
    /// Broken, or compressed in a way this server cannot unpack.
    Unreadable,
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::TooLarge => "archive_too_large",
            Refusal::TooManyEntries => "archive_too_many_entries",
            Refusal::TooDeep => "archive_too_deep",
            Refusal::Encrypted => "archive_encrypted",
            Refusal::Executable => "archive_executable",
            Refusal::Unreadable => "archive_unreadable",
        }
    }
}

/// What an accepted archive holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Contents {
    pub entries: u64,
    /// Bytes the whole tree unpacked to.
    pub unpacked: u64,
    /// The deepest archive inside it (0: none).
    pub depth: u32,
}

/// Whether the bytes are a zip archive (a zip starts with a local file header).
pub fn is_archive(head: &[u8]) -> bool {
    head.starts_with(b"PK\x03\x04")
}

/// Inspects an upload; `Ok(None)` when it is not an archive.
pub fn inspect(bytes: &[u8], limits: &Limits) -> Result<Option<Contents>, Refusal> {
    if !is_archive(bytes) {
        return Ok(None);
    }
    let mut walk = Walk { limits, contents: Contents::default() };
    walk.archive(bytes, 0)?;
    Ok(Some(walk.contents))
}

struct Walk<'a> {
    limits: &'a Limits,
    contents: Contents,
}

impl Walk<'_> {
    fn archive(&mut self, bytes: &[u8], depth: u32) -> Result<(), Refusal> {
        if depth > self.limits.depth {
            return Err(Refusal::TooDeep);
        }
        self.contents.depth = self.contents.depth.max(depth);
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| Refusal::Unreadable)?;
        for i in 0..zip.len() {
            self.contents.entries += 1;
            if self.contents.entries > self.limits.entries {
                return Err(Refusal::TooManyEntries);
            }
            let (name, encrypted, is_dir) = {
                let raw = zip.by_index_raw(i).map_err(|_| Refusal::Unreadable)?;
                (raw.name().map(|n| n.into_owned()).unwrap_or_default(), raw.encrypted(), raw.is_dir())
            };
            if encrypted {
                if self.limits.allow_encrypted {
                    continue; // cannot be opened, so neither counted nor looked into
                }
                return Err(Refusal::Encrypted);
            }
            if !self.limits.allow_executables && is_executable_name(&name) {
                return Err(Refusal::Executable);
            }
            let entry = zip.by_index(i).map_err(|_| Refusal::Unreadable)?;
            if is_dir {
                continue;
            }
            self.entry(entry, depth)?;
        }
        Ok(())
    }

    /// Unpacks one entry, counting what it really unpacks to; keeps its
    /// bytes only when it is an archive itself, to look inside.
    fn entry(&mut self, mut entry: impl Read, depth: u32) -> Result<(), Refusal> {
        let room = self.limits.entry_bytes.min(self.limits.total_bytes.saturating_sub(self.contents.unpacked));
        let mut head = [0u8; 4];
        let got = read_up_to(&mut entry, &mut head)?;
        let head = &head[..got];
        if !self.limits.allow_executables && is_executable_content(head) {
            return Err(Refusal::Executable);
        }
        let mut kept = is_archive(head).then(|| head.to_vec());
        let mut size = got as u64;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = read_up_to(&mut entry, &mut buf)?;
            if n == 0 {
                break;
            }
            size += n as u64;
            if size > room {
                return Err(Refusal::TooLarge);
            }
            if let Some(kept) = kept.as_mut() {
                kept.extend_from_slice(&buf[..n]);
            }
        }
        if size > room {
            return Err(Refusal::TooLarge);
        }
        self.contents.unpacked += size;
        match kept {
            Some(inner) => self.archive(&inner, depth + 1),
            None => Ok(()),
        }
    }
}

/// Fills as much of `buf` as the reader gives before its end; an error
/// (a bad checksum, broken deflate data) makes the archive unreadable.
fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> Result<usize, Refusal> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return Err(Refusal::Unreadable),
        }
    }
    Ok(filled)
}

/// Extensions Windows, macOS, Linux or Android run or install when opened
/// (not `.bin`: office documents keep embedded objects and macros in such entries).
const EXECUTABLE_EXTENSIONS: &[&str] = &[
    "exe", "dll", "scr", "com", "pif", "cpl", "msi", "msp", "bat", "cmd", "ps1", "psm1", "vbs", "vbe", "js", "jse",
    "wsf", "wsh", "hta", "lnk", "reg", "jar", "apk", "sh", "bash", "run", "elf", "deb", "rpm", "dmg", "pkg", "command",
    "appimage", "msix", "appx", "iso", "img",
];

fn is_executable_name(name: &str) -> bool {
    let file = name.rsplit(['/', '\\']).next().unwrap_or(name);
    match file.rsplit_once('.') {
        Some((_, ext)) => EXECUTABLE_EXTENSIONS.iter().any(|e| e.eq_ignore_ascii_case(ext.trim())),
        None => false,
    }
}

/// Windows (MZ), ELF, Mach-O and script (`#!`) files, by their first bytes.
fn is_executable_content(head: &[u8]) -> bool {
    const MAGIC: &[&[u8]] = &[
        b"MZ",
        b"\x7fELF",
        b"#!",
        b"\xfe\xed\xfa\xce",
        b"\xfe\xed\xfa\xcf",
        b"\xce\xfa\xed\xfe",
        b"\xcf\xfa\xed\xfe",
        b"\xca\xfe\xba\xbe",
    ];
    MAGIC.iter().any(|m| head.starts_with(m))
}

#[cfg(test)]
mod tests;
