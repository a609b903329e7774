//! Uploaded files: type sniffing from the content, the thumbnail of an
//! image (the one place Ostrog decodes what a stranger sent), and the
//! directory of an archive (read for zip bombs). Never a panic, never more
//! than the decoder's limits, and a thumbnail is always a JPEG.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ostrog_domain::archive::{self, Reading};
use ostrog_server::files::thumbnail;

fuzz_target!(|data: &[u8]| {
    let sniffed = infer::get(data).map(|t| t.mime_type());
    if sniffed.is_some_and(thumbnail::applies_to)
        && let Ok(jpeg) = thumbnail::make(data)
    {
        assert_eq!(infer::get(&jpeg).map(|t| t.mime_type()), Some("image/jpeg"));
    }
    // The whole upload, and only its end (as the server keeps it).
    for tail in [data, &data[data.len() / 2..]] {
        if let Reading::Archive(c) = archive::read(data, tail, data.len() as u64) {
            assert!(c.entries > 0 || c.unpacked == 0);
        }
    }
});
