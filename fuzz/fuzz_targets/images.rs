//! Uploaded files: type sniffing from the content, the thumbnail of an
//! image (the one place Ostrog decodes what a stranger sent), and an
//! archive read whole before scanning (nested ones too). Never a panic,
//! never more than the limits, and a thumbnail is always a JPEG.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ostrog_domain::archive::{self, Limits};
use ostrog_domain::thumbnail;

fuzz_target!(|data: &[u8]| {
    let sniffed = infer::get(data).map(|t| t.mime_type());
    if sniffed.is_some_and(thumbnail::applies_to)
        && let Ok(jpeg) = thumbnail::make(data)
    {
        assert_eq!(infer::get(&jpeg).map(|t| t.mime_type()), Some("image/jpeg"));
    }
    // Small limits: what is inside never costs more than they allow.
    let limits = Limits { entry_bytes: 16 << 20, total_bytes: 16 << 20, ..Limits::default() };
    if let Ok(Some(c)) = archive::inspect(data, &limits) {
        assert!(c.unpacked <= limits.total_bytes && c.depth <= limits.depth && c.entries <= limits.entries);
    }
});
