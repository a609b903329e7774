//! Files in conversations: what a message says about its file, and the
//! rules for names and types. The content decides the type (magic bytes),
//! never the name or what the uploader declared.

use crate::ids::FileId;
use serde::{Deserialize, Serialize};

/// What a `file` message carries; the bytes are fetched separately.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    pub file_id: FileId,
    /// Display text only: sanitised, never used as a path.
    pub name: String,
    pub size: u64,
    pub content_type: String,
    /// Whether the server made a thumbnail (images, after the scan).
    #[serde(default)]
    pub thumbnail: bool,
}

/// Longest display name kept, in characters.
pub const MAX_NAME_CHARS: usize = 120;

/// The uploader's file name as harmless display text: no path, no control
/// or bidirectional-override characters, not empty, not too long.
pub fn sanitize_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| {
            !c.is_control() && !matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
        })
        .take(MAX_NAME_CHARS)
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim();
    if trimmed.is_empty() { "file".to_string() } else { trimmed.to_string() }
}

/// Types accepted by default: documents and pictures clients send.
pub const DEFAULT_ALLOWED_TYPES: &[&str] = &[
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/zip",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/msword",
    "application/vnd.ms-excel",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_display_text_only() {
        assert_eq!(sanitize_name("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_name("C:\\Users\\me\\договор.pdf"), "договор.pdf");
        assert_eq!(sanitize_name("invoice\u{202E}fdp.exe"), "invoicefdp.exe");
        assert_eq!(sanitize_name("a\nb\u{0}c.png"), "abc.png");
        assert_eq!(sanitize_name("  .hidden "), "hidden");
        assert_eq!(sanitize_name("///"), "file");
        assert_eq!(sanitize_name(&"я".repeat(500)).chars().count(), MAX_NAME_CHARS);
    }
}
