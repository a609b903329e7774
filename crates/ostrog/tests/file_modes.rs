//! The data folder is private whatever the umask: started with umask 000,
//! the server makes the folder 0700 and every file in it 0600 (the SQLite
//! database with its WAL and shared-memory files, the key store, the master
//! key, the single-node lock); a file some earlier run left readable by
//! others is made private at start and named in the log.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{free_port, wait_listening};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
}

/// Every folder and file below `dir` (itself included) with its mode.
fn modes(dir: &Path) -> Vec<(String, u32)> {
    let mut out = vec![(dir.display().to_string(), mode(dir))];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(modes(&path));
        } else {
            out.push((path.display().to_string(), mode(&path)));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_folder_is_private_whatever_the_umask() {
    let dir = std::env::temp_dir().join(format!("ostrog-modes-{}", uuid::Uuid::new_v4().simple()));
    let port = free_port();
    let start = |log: &Path| {
        let command =
            format!("umask 000; exec {} --data-dir {} serve", env!("CARGO_BIN_EXE_ostrog"), dir.join("data").display());
        Command::new("sh")
            .args(["-c", &command])
            .env("OSTROG_LISTEN", format!("127.0.0.1:{port}"))
            .env("OSTROG_LOG__LEVEL", "warn")
            .env("OSTROG_SCANNER__ENABLED", "false")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap()
    };
    std::fs::create_dir_all(&dir).unwrap();
    let mut server = start(&dir.join("first.log"));
    wait_listening(port).await;
    let data = dir.join("data");
    let held = modes(&data);
    let names: Vec<String> = held.iter().map(|(p, _)| p.rsplit('/').next().unwrap().to_string()).collect();
    for expected in ["ostrog.db", "ostrog.db-wal", "ostrog.db-shm", "keys.db", "master.key", "ostrog.db.serving"] {
        assert!(names.iter().any(|n| n == expected), "{expected} is there: {names:?}");
    }
    for (path, mode) in &held {
        let private = if Path::new(path).is_dir() { 0o700 } else { 0o600 };
        assert_eq!(*mode, private, "{path} is {mode:o}");
    }
    server.kill().unwrap();
    server.wait().unwrap();

    // An earlier run (or a restore by hand) left a file and a folder open to others.
    std::fs::create_dir_all(data.join("files")).unwrap();
    std::fs::write(data.join("files/left-behind"), b"x").unwrap();
    std::fs::set_permissions(data.join("files/left-behind"), std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(data.join("files"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(data.join("ostrog.db"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut server = start(&dir.join("second.log"));
    wait_listening(port).await;
    assert!(modes(&data).iter().all(|(p, m)| *m == if Path::new(p).is_dir() { 0o700 } else { 0o600 }));
    let log = std::fs::read_to_string(dir.join("second.log")).unwrap();
    for fixed in ["files/left-behind", "ostrog.db", "data/files"] {
        assert!(log.contains(fixed) && log.contains("made private"), "{fixed} is named in the log:\n{log}");
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
