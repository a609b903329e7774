//! A real ICAP antivirus service of the tests' own: Debian's `c-icap` with
//! its virus_scan module, backed by a test clamd, on a free port of
//! 127.0.0.1, every file in a temporary folder. Settings that would let a
//! file through unscanned are set explicitly (every file type, no early
//! answer before the scan ends); the self-test tests can switch them back.

use crate::clamd::Clamd;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The service's path: `icap://127.0.0.1:<port>/virus_scan`.
pub const SERVICE: &str = "virus_scan";

pub struct CIcap {
    pub dir: PathBuf,
    pub port: u16,
    child: Option<Child>,
}

/// c-icap's configuration: placement, then virus_scan backed by clamd.
fn config(dir: &std::path::Path, port: u16, clamd: &Clamd, overrides: &[&str]) -> String {
    let d = dir.display();
    let mut settings = vec![
        "virus_scan.PreviewSize 1024".to_string(),
        "virus_scan.MaxConnections 20".into(),
        "virus_scan.Allow204Responces on".into(),
        "virus_scan.ScanFileTypes TEXT DATA EXECUTABLE ARCHIVE GRAPHICS STREAM DOCUMENT".into(),
        "virus_scan.MaxObjectSize 50M".into(),
        // Without these virus_scan answers before its scan ends (an echo).
        "virus_scan.SendPercentData 0".into(),
        "virus_scan.StartSendPercentDataAfter 100M".into(),
        "virus_scan.PassOnError off".into(),
        "virus_scan.DefaultEngine clamd".into(),
    ];
    for o in overrides {
        let key = o.split_whitespace().next().unwrap_or_default();
        settings.retain(|s| s.split_whitespace().next() != Some(key));
        settings.push(o.to_string());
    }
    format!(
        "PidFile {d}/c-icap.pid\nCommandsSocket {d}/c-icap.ctl\nServerLog {d}/server.log\nAccessLog {d}/access.log\n\
         TmpDir {d}/tmp\nPort 127.0.0.1:{port}\nInterProcessSharedMemScheme mmap\nTimeout 60\nStartServers 1\n\
         MaxServers 2\nThreadsPerChild 10\nMaxRequestsPerChild 0\nServerName ostrog-test\nDebugLevel 1\n\
         ModulesDir /usr/lib/x86_64-linux-gnu/c_icap\nServicesDir /usr/lib/x86_64-linux-gnu/c_icap\n\
         TemplateDir /usr/share/c_icap/templates/\nTemplateDefaultLanguage en\nLoadMagicFile /etc/c-icap/c-icap.magic\n\
         Module common clamd_mod.so\nclamd_mod.ClamdSocket {}\nService {SERVICE} virus_scan.so\n{}\n",
        clamd.socket.display(),
        settings.join("\n")
    )
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl CIcap {
    /// Starts c-icap before `clamd` (which must answer already: c-icap
    /// registers its engine only at start); waits until it scans.
    pub fn start(clamd: &Clamd) -> CIcap {
        Self::start_overriding(clamd, &[])
    }

    /// As `start`, with virus_scan settings replaced (`"virus_scan.ScanFileTypes TEXT"`).
    pub fn start_overriding(clamd: &Clamd, overrides: &[&str]) -> CIcap {
        let dir = std::env::temp_dir().join(format!("ostrog-icap-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(dir.join("tmp")).unwrap();
        for _ in 0..5 {
            let port = free_port();
            std::fs::write(dir.join("c-icap.conf"), config(&dir, port, clamd, overrides)).unwrap();
            let mut icap = CIcap { dir: dir.clone(), port, child: None };
            if icap.spawn() {
                return icap;
            }
        }
        panic!("c-icap did not start; see {}", dir.join("server.log").display());
    }

    /// `icap://127.0.0.1:<port>/virus_scan`.
    pub fn url(&self) -> String {
        format!("icap://127.0.0.1:{}/{SERVICE}", self.port)
    }

    /// Starts c-icap; whether it answers OPTIONS (it exits at once when
    /// the port was taken meanwhile).
    fn spawn(&mut self) -> bool {
        let mut child = Command::new(binary())
            .args(["-N", "-f", self.dir.join("c-icap.conf").to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("c-icap must be installed (Debian: c-icap libc-icap-mod-virus-scan); scripts/test installs it");
        for _ in 0..600 {
            if matches!(child.try_wait(), Ok(Some(_))) {
                return false;
            }
            if self.options().is_some_and(|o| o.starts_with("ICAP/1.0 200")) {
                self.child = Some(child);
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        false
    }

    /// The raw answer to OPTIONS, if it answers.
    pub fn options(&self) -> Option<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        let host = format!("127.0.0.1:{}", self.port);
        write!(s, "OPTIONS icap://{host}/{SERVICE} ICAP/1.0\r\nHost: {host}\r\nEncapsulated: null-body=0\r\n\r\n")
            .ok()?;
        let mut answer = vec![0u8; 4096];
        let n = s.read(&mut answer).ok()?;
        Some(String::from_utf8_lossy(&answer[..n]).into_owned())
    }

    /// Stops c-icap (SIGTERM, so that it removes its lock files).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            for _ in 0..100 {
                if matches!(child.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn binary() -> &'static str {
    if std::path::Path::new("/usr/bin/c-icap").exists() { "/usr/bin/c-icap" } else { "c-icap" }
}

impl Drop for CIcap {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A TCP relay to `target` that holds every answer back by `delay`: an
/// engine that is slow (or stuck) without being down.
pub struct SlowRelay {
    pub port: u16,
}

impl SlowRelay {
    pub fn start(target: u16, delay: Duration) -> SlowRelay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else { continue };
                let (mut c_read, mut s_write) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || std::io::copy(&mut c_read, &mut s_write));
                let (mut s_read, mut c_write) = (server, client);
                std::thread::spawn(move || {
                    let mut buf = [0u8; 64 * 1024];
                    while let Ok(n) = s_read.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        std::thread::sleep(delay);
                        if c_write.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                });
            }
        });
        SlowRelay { port }
    }

    /// The service's URL through the relay.
    pub fn url(&self) -> String {
        format!("icap://127.0.0.1:{}/{SERVICE}", self.port)
    }
}
