//! Every log line this test process writes, from the moment a test asks
//! for it: a test with a secret of its own can then show that the secret
//! is in none of them.

use std::sync::{Mutex, Once};

static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Sink;

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Starts capturing at `debug` level, for every module (HTTP clients included).
pub fn start() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = tracing_subscriber::fmt().with_env_filter("debug").with_ansi(false).with_writer(|| Sink).try_init();
    });
}

pub fn text() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
}
