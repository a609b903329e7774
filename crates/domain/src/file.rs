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

/// The extensions a type is known by, the usual one first.
fn extensions(content_type: &str) -> &'static [&'static str] {
    match content_type {
        "application/pdf" => &["pdf"],
        "image/png" => &["png"],
        "image/jpeg" => &["jpg", "jpeg", "jpe", "jfif"],
        "image/gif" => &["gif"],
        "image/webp" => &["webp"],
        "application/zip" => &["zip"],
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => &["docx"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => &["xlsx"],
        "application/vnd.openxmlformats-officedocument.presentationml.presentation" => &["pptx"],
        "application/msword" => &["doc"],
        "application/vnd.ms-excel" => &["xls"],
        "application/vnd.ms-powerpoint" => &["ppt"],
        "application/vnd.oasis.opendocument.text" => &["odt"],
        "application/vnd.oasis.opendocument.spreadsheet" => &["ods"],
        "text/plain" => &["txt"],
        "image/bmp" => &["bmp"],
        "image/tiff" => &["tif", "tiff"],
        _ => &[],
    }
}

/// A display name whose extension says what the content is (ASVS 5.2.2): a
/// PNG named `invoice.html` or `setup.exe` is offered as `invoice.png` or
/// `setup.png`, so that no one's computer opens it as something else. A
/// name whose extension fits is kept; a type without a known extension
/// keeps its name.
pub fn name_for_type(name: &str, content_type: &str) -> String {
    let Some(usual) = extensions(content_type).first() else {
        return name.to_string();
    };
    let (stem, ext) = match name.rsplit_once('.') {
        // A dot in the middle of a name ("v1.2 final") is no extension.
        Some((stem, ext))
            if !stem.is_empty() && (1..=5).contains(&ext.len()) && ext.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            (stem, Some(ext))
        }
        _ => (name, None),
    };
    match ext {
        Some(ext) if extensions(content_type).iter().any(|e| e.eq_ignore_ascii_case(ext)) => name.to_string(),
        _ => format!("{stem}.{usual}"),
    }
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

    #[test]
    fn the_extension_follows_the_content() {
        assert_eq!(name_for_type("invoice.html", "image/png"), "invoice.png");
        assert_eq!(name_for_type("setup.exe", "image/png"), "setup.png");
        assert_eq!(name_for_type("scan", "application/pdf"), "scan.pdf");
        assert_eq!(name_for_type("photo.JPEG", "image/jpeg"), "photo.JPEG", "a fitting extension is kept");
        assert_eq!(name_for_type("contract v1.2 final", "application/pdf"), "contract v1.2 final.pdf");
        assert_eq!(name_for_type("report.docx", "application/zip"), "report.zip");
        assert_eq!(name_for_type(".png", "application/pdf"), ".png.pdf");
        assert_eq!(name_for_type("data.bin", "application/x-unknown"), "data.bin");
    }
}
