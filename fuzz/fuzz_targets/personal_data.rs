//! The personal-data detector on any text: it never panics, every finding
//! lies on character boundaries inside the text, findings do not overlap,
//! and masking keeps the text outside the findings as it was.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ostrog_domain::personal_data::{Category, find, mask};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let found = find(text, &Category::ALL);
    let mut end = 0;
    for f in &found {
        assert!(f.range.start >= end && f.range.start < f.range.end && f.range.end <= text.len());
        assert!(text.is_char_boundary(f.range.start) && text.is_char_boundary(f.range.end));
        end = f.range.end;
    }
    let (masked, again) = mask(text, &Category::ALL);
    assert_eq!(again, found);
    let first = found.first().map_or(text.len(), |f| f.range.start);
    assert!(masked.starts_with(&text[..first]));
});
