//! Archives and the scanner's self-test, against a real clamd: Ostrog reads
//! every archive whole before clamd sees it and refuses what clamd could
//! not read whole (padding past its per-entry limit, nested bombs), what no
//! scanner can open (encrypted entries) and what should never travel in a
//! chat (programs); and it refuses uploads while clamd is configured so
//! that it would pass malware, as Debian's stock clamd.conf is.

use super::files::{conversation, files_on_disk, form, png, post, server};
use super::log_capture;
use ostrog_testkit::clamd::{Clamd, HDB_SIGNATURE, Settings, Signatures, eicar};
use ostrog_testkit::{Backend, TestServer};
use serde_json::{Value, json};
use std::io::{Cursor, Write};
use std::time::{Duration, Instant};
use zip::write::SimpleFileOptions;

const MIB: usize = 1024 * 1024;

/// A zip of deflated entries, built with the zip crate.
fn zip_entries(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, content) in entries {
        let options = SimpleFileOptions::default().compression_level(Some(1));
        w.start_file(*name, options).unwrap();
        w.write_all(content).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// `mib` MiB of zeros and then EICAR, as one file.
fn padded_eicar(mib: usize) -> Vec<u8> {
    let mut entry = vec![0u8; mib * MIB];
    entry.extend(eicar());
    entry
}

fn encrypted(name: &str, content: &[u8]) -> Vec<u8> {
    use zip::unstable::write::FileOptionsExt;
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    w.start_file(name, SimpleFileOptions::default().with_deprecated_encryption(b"1234").unwrap()).unwrap();
    w.write_all(content).unwrap();
    w.finish().unwrap().into_inner()
}

async fn refused_reasons(s: &TestServer, admin: &str) -> Vec<Value> {
    let audit = s.get_json(admin, "/api/v1/audit?action=file.refused").await;
    audit.as_array().unwrap().iter().map(|e| e["details"]["reason"].clone()).collect()
}

async fn what_the_testers_sent_is_refused(backend: Backend) {
    let clamd = Clamd::start();
    let s = server(backend, &clamd, |_| {}).await;
    let (admin, op, _, _, c) = conversation(&s).await;
    let path = format!("/api/v1/conversations/{c}/files");
    let inner_bomb = zip_entries(&[("zeros.bin", &vec![0u8; 150 * MIB])]);
    let many: Vec<(String, Vec<u8>)> = (0..10_001).map(|i| (format!("e{i}"), vec![])).collect();
    let many: Vec<(&str, &[u8])> = many.iter().map(|(n, c)| (n.as_str(), c.as_slice())).collect();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        // 40 MiB of zeros and EICAR in one entry: Debian's stock clamd trims it and calls it clean.
        ("padded.zip", zip_entries(&[("report.txt", &padded_eicar(101))]), "archive_too_large"),
        ("padded.docx", zip_entries(&[("word/document.xml", &padded_eicar(101))]), "archive_too_large"),
        ("nested-bomb.zip", zip_entries(&[("inner.zip", &inner_bomb)]), "archive_too_large"),
        ("zipcrypto.zip", encrypted("eicar.txt", &eicar()), "archive_encrypted"),
        ("in-a-zip.zip", zip_entries(&[("x.zip", &encrypted("a.pdf", b"%PDF"))]), "archive_encrypted"),
        ("tools.zip", zip_entries(&[("setup.exe", b"MZ\x90\x00")]), "archive_executable"),
        ("scripts.zip", zip_entries(&[("install.sh", b"echo hi")]), "archive_executable"),
        ("renamed.zip", zip_entries(&[("photo.jpg", b"\x7fELF\x02\x01\x01")]), "archive_executable"),
        ("entries.zip", zip_entries(&many), "archive_too_many_entries"),
    ];
    for (name, bytes, code) in &cases {
        assert!(bytes.len() < 2 * MIB, "{name} is small on the wire: {}", bytes.len());
        let started = Instant::now();
        let (status, body) = post(&s, &op, &path, form(name, bytes.clone())).await;
        assert_eq!((status, body["error"]["code"].as_str()), (422, Some(*code)), "{name}: {body}");
        assert!(started.elapsed() < Duration::from_secs(20), "{name} answered at once: {:?}", started.elapsed());
    }
    let expected: Vec<Value> = cases.iter().map(|(_, _, code)| json!(code)).collect();
    assert_eq!(refused_reasons(&s, &admin).await, expected, "each audited as file.refused with its reason");
    assert!(files_on_disk(&s).is_empty(), "nothing stored, nothing left in quarantine");
    let history = s.get_json(&op, &format!("/api/v1/conversations/{c}/messages")).await;
    assert!(history["items"].as_array().unwrap().iter().all(|m| m["kind"] != "file"), "nothing was posted");

    // Within the limits, the same shapes pass; malware within them is found.
    let (status, body) = post(&s, &op, &path, form("ok.docx", zip_entries(&[("a.xml", &vec![b'x'; 5 * MIB])]))).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(&s, &op, &path, form("p.zip", zip_entries(&[("r.txt", &padded_eicar(60))]))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("file_infected")), "{body}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_testers_sent_is_refused_sqlite() {
    what_the_testers_sent_is_refused(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_testers_sent_is_refused_postgres() {
    what_the_testers_sent_is_refused(Backend::Postgres).await;
}

/// Encrypted archives and programs may be allowed by a setting; encrypted
/// ones are then also unscannable to clamd, which must be told to let them
/// pass (the self-test no longer asks it to refuse them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_may_allow_encrypted_archives_and_programs() {
    let clamd = Clamd::start_overriding(Settings::Shipped, Signatures::Body, &["AlertEncryptedArchive no"]);
    let s = server(Backend::Sqlite, &clamd, |c| {
        c.files.allow_encrypted_archives = true;
        c.files.allow_executables_in_archives = true;
    })
    .await;
    let (_, op, _, _, c) = conversation(&s).await;
    let path = format!("/api/v1/conversations/{c}/files");
    for (name, bytes) in
        [("secret.zip", encrypted("a.pdf", b"%PDF-1.4")), ("tools.zip", zip_entries(&[("setup.exe", b"MZ\x90\x00")]))]
    {
        let (status, body) = post(&s, &op, &path, form(name, bytes)).await;
        assert_eq!(status, 200, "{name}: {body}");
    }
    s.stop().await;
}

/// Debian's stock clamd.conf trims entries at 25 MiB and passes encrypted
/// archives: the self-test catches it, whether the signatures match EICAR
/// anywhere or only as a whole file (as ClamAV's official ones do). Uploads
/// are refused, /readyz and /metrics say "misconfigured", and the log names
/// the settings to change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_self_test_catches_debians_stock_clamd_conf() {
    log_capture::start();
    for signatures in [Signatures::WholeFile, Signatures::Body] {
        let clamd = Clamd::start_with(Settings::DebianStock, signatures);
        let s = server(Backend::Sqlite, &clamd, |c| c.metrics.token = "metrics-token".into()).await;
        let (_, op, _, _, c) = conversation(&s).await;
        let (status, body) = post(&s, &op, &format!("/api/v1/conversations/{c}/files"), form("a.png", png())).await;
        assert_eq!((status, body["error"]["code"].as_str()), (503, Some("scanner_misconfigured")), "{body}");
        let ready: Value = s.request(reqwest::Method::GET, "/readyz").send().await.unwrap().json().await.unwrap();
        assert_eq!(ready["scanner"], "misconfigured", "{ready}");
        let r = s.request(reqwest::Method::GET, "/metrics").bearer_auth("metrics-token").send().await.unwrap();
        let metrics = r.text().await.unwrap();
        assert!(metrics.contains("ostrog_scanner_state{state=\"misconfigured\"} 1"), "{metrics}");
        s.stop().await;
    }
    let logs = log_capture::text();
    for setting in ["MaxFileSize", "AlertEncryptedArchive yes"] {
        assert!(logs.contains(setting), "the log names {setting}");
    }
    assert!(logs.contains("padded_entry") && logs.contains("encrypted_archive"), "and the test files clamd passed");
}

/// The shipped clamd settings pass the self-test with whole-file signatures
/// too (no false alarm on a correct installation), and malware padded to
/// just under Ostrog's limit is found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_clamd_conf_passes_the_self_test_and_finds_padded_malware() {
    let clamd = Clamd::start_with(Settings::Shipped, Signatures::WholeFile);
    let s = server(Backend::Sqlite, &clamd, |_| {}).await;
    let (_, op, _, _, c) = conversation(&s).await;
    let path = format!("/api/v1/conversations/{c}/files");
    let (status, body) = post(&s, &op, &path, form("a.png", png())).await;
    assert_eq!(status, 200, "{body}");
    let ready: Value = s.request(reqwest::Method::GET, "/readyz").send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["scanner"], "ok", "{ready}");
    // An EICAR file at the end of 90 MiB of padding, inside an archive.
    let mut padded = vec![0u8; 90 * MIB];
    padded.extend(zip_entries(&[("eicar.txt", &eicar())]));
    let (status, body) = post(&s, &op, &path, form("p.zip", zip_entries(&[("r.bin", &padded)]))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("file_infected")), "{body}");
    assert!(body["error"]["signature"].as_str().unwrap().starts_with(HDB_SIGNATURE), "{body}");
    s.stop().await;
}

/// A file's name says what its content is: a PNG named `invoice.html` or
/// `setup.exe` is offered as a PNG (ASVS 5.2.2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_files_name_follows_its_content() {
    let clamd = Clamd::start();
    let s = server(Backend::Sqlite, &clamd, |_| {}).await;
    let (_, op, _, _, c) = conversation(&s).await;
    let path = format!("/api/v1/conversations/{c}/files");
    for (sent, kept) in [("invoice.html", "invoice.png"), ("setup.exe", "setup.png"), ("scan.png", "scan.png")] {
        let (status, body) = post(&s, &op, &path, form(sent, png())).await;
        assert_eq!((status, body["file"]["name"].as_str()), (200, Some(kept)), "{body}");
    }
    let history = s.get_json(&op, &format!("/api/v1/conversations/{c}/messages")).await;
    assert!(!history.to_string().contains("invoice.html"), "{history}");
    s.stop().await;
}
