//! Uploaded files: type sniffing from the content and the thumbnail of an
//! image, the one place Ostrog decodes what a stranger sent. Never a panic,
//! never more than the decoder's limits, and a thumbnail is always a JPEG.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ostrog_server::files::thumbnail;

fuzz_target!(|data: &[u8]| {
    let sniffed = infer::get(data).map(|t| t.mime_type());
    if sniffed.is_some_and(thumbnail::applies_to)
        && let Ok(jpeg) = thumbnail::make(data)
    {
        assert_eq!(infer::get(&jpeg).map(|t| t.mime_type()), Some("image/jpeg"));
    }
});
