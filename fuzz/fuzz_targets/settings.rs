//! Request bodies of the settings an Administrator or Manager sends: the
//! widget's settings, consent and retention. Any JSON either deserializes
//! and validates or is refused; what validates stays valid after a round
//! trip through JSON (what is stored is what was checked).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ostrog_domain::privacy::{ConsentSettings, RetentionSettings};
use ostrog_domain::widget::WidgetSettings;

fuzz_target!(|data: &[u8]| {
    if let Ok(w) = serde_json::from_slice::<WidgetSettings>(data)
        && let Ok(w) = w.validated()
    {
        let again: Option<WidgetSettings> = serde_json::to_string(&w).ok().and_then(|j| serde_json::from_str(&j).ok());
        assert!(again.is_some_and(|a| a.validated().is_ok()));
    }
    if let Ok(c) = serde_json::from_slice::<ConsentSettings>(data)
        && c.validate().is_ok()
    {
        let again: Option<ConsentSettings> = serde_json::to_string(&c).ok().and_then(|j| serde_json::from_str(&j).ok());
        assert!(again.is_some_and(|a| a.validate().is_ok()));
    }
    if let Ok(r) = serde_json::from_slice::<RetentionSettings>(data) {
        let _ = r.validate();
    }
});
