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

/// Whose clamd.conf limits the test clamd runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settings {
    /// `packaging/clamd-ostrog.conf`, as shipped.
    Shipped,
    /// Debian's stock `/etc/clamav/clamd.conf` (installed with clamav-daemon).
    DebianStock,
}

/// How the test signature recognises EICAR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signatures {
    /// A body signature: EICAR anywhere in a file (`SIGNATURE`).
    Body,
    /// Only the whole 68-byte file, by its hash, as ClamAV's official
    /// signatures do (`Win.Test.EICAR_HDB-1`); reported as `HDB_SIGNATURE`.
    WholeFile,
}

/// The name of the whole-file signature.
pub const HDB_SIGNATURE: &str = "Ostrog.Test.EICAR_HDB";

/// Lines of a clamd.conf that place the daemon (socket, user, logs,
/// signatures): the test's own replace them.
const PLACEMENT: &[&str] = &[
    "LocalSocket",
    "LocalSocketGroup",
    "LocalSocketMode",
    "FixStaleSocket",
    "TCPSocket",
    "TCPAddr",
    "User",
    "LogFile",
    "LogSyslog",
    "LogRotate",
    "LogFacility",
    "LogTime",
    "LogFileUnlock",
    "LogFileMaxSize",
    "LogClean",
    "LogVerbose",
    "Foreground",
    "DatabaseDirectory",
    "PidFile",
    "TemporaryDirectory",
    "Debug",
    "SelfCheck",
];

/// The limits and scanning settings of a clamd.conf, without its placement.
fn settings_of(conf: &str) -> String {
    conf.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter(|l| !PLACEMENT.contains(&l.split_whitespace().next().unwrap_or_default()))
        .map(|l| format!("{l}\n"))
        .collect()
}

impl Clamd {
    /// Starts clamd with the shipped settings and a body signature for
    /// EICAR; waits until it answers.
    pub fn start() -> Clamd {
        Self::start_with(Settings::Shipped, Signatures::Body)
    }

    pub fn start_with(settings: Settings, signatures: Signatures) -> Clamd {
        Self::start_overriding(settings, signatures, &[])
    }

    /// As `start_with`, with some settings replaced (`"MaxRecursion 2"`).
    pub fn start_overriding(settings: Settings, signatures: Signatures, overrides: &[&str]) -> Clamd {
        let dir = std::env::temp_dir().join(format!("ostrog-clamd-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(dir.join("db")).unwrap();
        match signatures {
            Signatures::Body => {
                let hex: String = eicar().iter().map(|b| format!("{b:02x}")).collect();
                std::fs::write(dir.join("db/ostrog-test.ndb"), format!("{SIGNATURE}:0:*:{hex}\n")).unwrap();
            }
            Signatures::WholeFile => {
                use sha2::Digest;
                let hash = hex_of(&sha2::Sha256::digest(eicar()));
                let line = format!("{hash}:{}:{HDB_SIGNATURE}\n", eicar().len());
                std::fs::write(dir.join("db/ostrog-test.hsb"), line).unwrap();
            }
        }
        let limits = match settings {
            Settings::Shipped => settings_of(include_str!("../../../packaging/clamd-ostrog.conf")),
            Settings::DebianStock => settings_of(
                &std::fs::read_to_string("/etc/clamav/clamd.conf")
                    .expect("Debian's /etc/clamav/clamd.conf (clamav-daemon; scripts/test installs it)"),
            ),
        };
        let overridden = |line: &&str| {
            let key = line.split_whitespace().next().unwrap_or_default();
            !overrides.iter().any(|o| o.split_whitespace().next() == Some(key))
        };
        let mut limits: String = limits.lines().filter(overridden).map(|l| format!("{l}\n")).collect();
        limits.extend(overrides.iter().map(|o| format!("{o}\n")));
        let socket = dir.join("clamd.sock");
        let config = format!(
            "LocalSocket {}\nDatabaseDirectory {}\nForeground yes\nLogFile {}\n{limits}",
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

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
