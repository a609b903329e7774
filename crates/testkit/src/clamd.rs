//! A clamd of the tests' own: Debian's `clamd` on a temporary Unix socket,
//! with a signature database the tests write themselves (one body
//! signature for the EICAR test string, built here, never committed).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The 68-byte EICAR test string, assembled at run time.
pub fn eicar() -> Vec<u8> {
    let parts = ["X5O!P%@AP[4\\PZX54(P^)7CC)7}$", "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"];
    parts.concat().into_bytes()
}

/// The name clamd reports for it (local signatures get `.UNOFFICIAL`).
pub const SIGNATURE: &str = "Ostrog.Test.EICAR";

pub struct Clamd {
    pub dir: PathBuf,
    pub socket: PathBuf,
    child: Option<Child>,
}

impl Clamd {
    /// Starts clamd with archive scanning and `AlertExceedsMax yes`;
    /// waits until it answers.
    pub fn start() -> Clamd {
        let dir = std::env::temp_dir().join(format!("ostrog-clamd-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(dir.join("db")).unwrap();
        let hex: String = eicar().iter().map(|b| format!("{b:02x}")).collect();
        std::fs::write(dir.join("db/ostrog-test.ndb"), format!("{SIGNATURE}:0:*:{hex}\n")).unwrap();
        let socket = dir.join("clamd.sock");
        let config = format!(
            "LocalSocket {}\nDatabaseDirectory {}\nForeground yes\nLogFile {}\nStreamMaxLength 30M\n\
             MaxFileSize 30M\nMaxScanSize 100M\nAlertExceedsMax yes\nScanArchive yes\n",
            socket.display(),
            dir.join("db").display(),
            dir.join("clamd.log").display()
        );
        std::fs::write(dir.join("clamd.conf"), config).unwrap();
        let mut clamd = Clamd { dir, socket, child: None };
        clamd.resume();
        clamd
    }

    /// Starts (again) the stopped clamd on the same socket.
    pub fn resume(&mut self) {
        let child = Command::new(clamd_binary())
            .args(["-c", self.dir.join("clamd.conf").to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("clamd must be installed (Debian: clamav-daemon); scripts/test installs it");
        self.child = Some(child);
        for _ in 0..200 {
            if std::os::unix::net::UnixStream::connect(&self.socket).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("clamd did not start; see {}", self.dir.join("clamd.log").display());
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(&self.socket);
    }
}

fn clamd_binary() -> &'static str {
    if Path::new("/usr/sbin/clamd").exists() { "/usr/sbin/clamd" } else { "clamd" }
}

impl Drop for Clamd {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
