//! What a backup holds, written last into it: every part with its size and
//! SHA-256, the schema versions, and the version of Ostrog that made it.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Read;

pub const FORMAT: u32 = 1;
pub const NAME: &str = "manifest.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub ostrog_version: String,
    /// Milliseconds since the Unix epoch, when the snapshot began.
    pub created_at: i64,
    /// `sqlite` or `postgres`: a backup restores onto the same backend.
    pub backend: String,
    pub schema: SchemaVersions,
    pub parts: Vec<Part>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaVersions {
    pub main: i64,
    pub keys: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

/// Whether `path` may name a part: the two databases, or a stored file.
/// Anything else in an archive (`..`, absolute paths, other folders) is
/// refused before a byte of it is written.
pub fn is_part_path(path: &str) -> bool {
    const DATABASES: [&str; 4] = ["database.sqlite", "database.pgdump", "keys.sqlite", "keys.pgdump"];
    DATABASES.contains(&path)
        || path.strip_prefix("files/").is_some_and(|name| {
            !name.is_empty()
                && name.len() <= 128
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
                && !name.starts_with('.')
        })
}

/// A reader that hashes what passes through it.
pub struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
}

impl<R: Read> Hashing<R> {
    pub fn new(inner: R) -> Self {
        Self { inner, hasher: Sha256::new(), bytes: 0 }
    }

    pub fn finish(self, path: String) -> Part {
        Part { path, bytes: self.bytes, sha256: hex::encode(self.hasher.finalize()) }
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::is_part_path;

    #[test]
    fn only_the_databases_and_stored_files_are_parts() {
        for ok in ["database.sqlite", "keys.pgdump", "files/0f3c-9a.bin", "files/abc"] {
            assert!(is_part_path(ok), "{ok}");
        }
        for bad in ["../etc/passwd", "/etc/passwd", "files/../x", "files/", "files/a/b", "master.key", "files/.x"] {
            assert!(!is_part_path(bad), "{bad}");
        }
    }
}
