//! The configuration file: any text either loads into a configuration that
//! passed validation or is refused with an error; it never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ostrog_config::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(config) = Config::from_toml(text) {
        // What loads is usable: these derive from it without failing.
        let _ = config.database_url();
        let _ = config.public_url();
    }
});
