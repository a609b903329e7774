//! Zip archives (and the formats built on them: docx, xlsx, odt) as
//! uploads: how much they unpack to, read from their central directory.
//! clamd scans an archive entry only up to its `MaxFileSize` and trims the
//! rest without an alert (ClamAV 1.4: "trimming output size to
//! maxfilesize"), so a zip bomb — half a megabyte that unpacks to half a
//! gigabyte of zeros — passes it as clean. Ostrog refuses those itself.

/// The end of an upload kept for this check: the central directory of
/// any archive a person sends fits in it many times over.
pub const TAIL_BYTES: usize = 1024 * 1024;

/// Unpacked size past which an archive is refused, however it compresses.
pub const MAX_UNPACKED: u64 = 1024 * 1024 * 1024;
/// Past this size, an archive unpacking to more than `MAX_RATIO` times
/// its own size is refused: documents compress about 5–20 times, zeros
/// about a thousand.
pub const RATIO_FROM: u64 = 100 * 1024 * 1024;
pub const MAX_RATIO: u64 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contents {
    pub entries: u64,
    /// The sum of the entries' unpacked sizes, as the archive declares them.
    pub unpacked: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// Not a zip archive, or one without a readable end record (left to clamd).
    NotAnArchive,
    Archive(Contents),
    /// The central directory does not fit in the tail that was kept.
    TooManyEntries,
}

fn u16_at(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at + 2).map(|s| u64::from(u16::from_le_bytes([s[0], s[1]])))
}

fn u32_at(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at + 4).map(|s| u64::from(u32::from_le_bytes([s[0], s[1], s[2], s[3]])))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at + 8).and_then(|s| s.try_into().ok()).map(u64::from_le_bytes)
}

/// Reads the archive whose last bytes are `tail` and whose whole length is
/// `total` (`head` is its start: a zip starts with a local file header).
pub fn read(head: &[u8], tail: &[u8], total: u64) -> Reading {
    if !head.starts_with(b"PK\x03\x04") {
        return Reading::NotAnArchive;
    }
    // The end record is 22 bytes plus a comment of at most 65,535.
    let window = tail.len().saturating_sub(22 + 65_535);
    let Some(end) = (window..tail.len().saturating_sub(21)).rev().find(|&i| tail[i..].starts_with(b"PK\x05\x06"))
    else {
        return Reading::NotAnArchive;
    };
    let (Some(entries), Some(cd_offset)) = (u16_at(tail, end + 10), u32_at(tail, end + 16)) else {
        return Reading::NotAnArchive;
    };
    // Where the directory starts within `tail`. A ZIP64 archive's end
    // record holds 0xFFFFFFFF here; with uploads of a few megabytes that is
    // no archive a person makes, so it is treated like one too big to read.
    let tail_start = total.saturating_sub(tail.len() as u64);
    if cd_offset == 0xFFFF_FFFF || cd_offset < tail_start {
        return Reading::TooManyEntries;
    }
    let mut at = (cd_offset - tail_start) as usize;
    let mut contents = Contents { entries: 0, unpacked: 0 };
    while tail.get(at..at + 4) == Some(b"PK\x01\x02") {
        let (Some(size), Some(name), Some(extra), Some(comment)) =
            (u32_at(tail, at + 24), u16_at(tail, at + 28), u16_at(tail, at + 30), u16_at(tail, at + 32))
        else {
            break;
        };
        let extras = at + 46 + name as usize;
        let size = match size {
            0xFFFF_FFFF => zip64_size(tail.get(extras..extras + extra as usize)).unwrap_or(u64::MAX),
            size => size,
        };
        contents.entries += 1;
        contents.unpacked = contents.unpacked.saturating_add(size);
        at = extras + extra as usize + comment as usize;
    }
    if contents.entries == 0 && entries > 0 {
        return Reading::NotAnArchive;
    }
    Reading::Archive(contents)
}

/// The unpacked size in a ZIP64 extra field (id 1, the first value).
fn zip64_size(extra: Option<&[u8]>) -> Option<u64> {
    let extra = extra?;
    let mut at = 0;
    while at + 4 <= extra.len() {
        let (id, len) = (u16_at(extra, at)?, u16_at(extra, at + 2)? as usize);
        if id == 1 {
            return u64_at(extra, at + 4);
        }
        at += 4 + len;
    }
    None
}

/// Whether an archive of `packed` bytes unpacking to `unpacked` is refused.
pub fn is_bomb(packed: u64, unpacked: u64) -> bool {
    unpacked > MAX_UNPACKED || (unpacked > RATIO_FROM && unpacked / packed.max(1) > MAX_RATIO)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-entry archive declaring `size` unpacked bytes (the data itself
    /// need not be real for the directory to be read).
    fn zip(size: u32, data: &[u8]) -> Vec<u8> {
        let name = b"a.bin";
        let mut z = b"PK\x03\x04".to_vec();
        z.extend([20, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        z.extend((data.len() as u32).to_le_bytes());
        z.extend(size.to_le_bytes());
        z.extend((name.len() as u16).to_le_bytes());
        z.extend(0u16.to_le_bytes());
        z.extend(name);
        z.extend(data);
        let cd = z.len() as u32;
        z.extend(b"PK\x01\x02");
        z.extend([20, 0, 20, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        z.extend((data.len() as u32).to_le_bytes());
        z.extend(size.to_le_bytes());
        z.extend((name.len() as u16).to_le_bytes());
        z.extend([0u8; 12]);
        z.extend(0u32.to_le_bytes());
        z.extend(name);
        let cd_len = z.len() as u32 - cd;
        z.extend(b"PK\x05\x06");
        z.extend([0, 0, 0, 0, 1, 0, 1, 0]);
        z.extend(cd_len.to_le_bytes());
        z.extend(cd.to_le_bytes());
        z.extend(0u16.to_le_bytes());
        z
    }

    #[test]
    fn the_directory_says_what_an_archive_unpacks_to() {
        let z = zip(512 * 1024 * 1024, &[0; 500]);
        let total = z.len() as u64;
        assert_eq!(read(&z, &z, total), Reading::Archive(Contents { entries: 1, unpacked: 512 * 1024 * 1024 }));
        // Only the end of the upload is kept: offsets still line up.
        let tail = &z[z.len() - 200..];
        assert_eq!(read(&z, tail, total), Reading::Archive(Contents { entries: 1, unpacked: 512 * 1024 * 1024 }));
        assert_eq!(read(&z, &z[z.len() - 30..], total), Reading::TooManyEntries, "the directory is not in the tail");
    }

    #[test]
    fn other_files_and_broken_archives_are_left_to_the_scanner() {
        assert_eq!(read(b"%PDF-1.7", b"%%EOF", 100), Reading::NotAnArchive);
        assert_eq!(read(b"PK\x03\x04", b"no end record here", 100), Reading::NotAnArchive);
        let z = zip(10, b"0123456789");
        assert_eq!(read(&z, &z[..z.len() - 1], z.len() as u64), Reading::NotAnArchive, "a truncated end record");
    }

    #[test]
    fn bombs_are_told_from_documents_by_size_and_ratio() {
        assert!(is_bomb(500_000, 512 * 1024 * 1024), "a thousand to one");
        assert!(is_bomb(20 * 1024 * 1024, 2 * 1024 * 1024 * 1024), "past a gigabyte whatever the ratio");
        assert!(!is_bomb(5 * 1024 * 1024, 90 * 1024 * 1024), "a large spreadsheet");
        assert!(!is_bomb(1000, 50 * 1024 * 1024), "small, even at a high ratio");
        assert!(!is_bomb(0, 0));
    }
}
