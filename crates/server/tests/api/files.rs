//! Files against a real clamd: clean files cross byte for byte, malware
//! never gets in (plain, zipped, after a prefix) and is audited, limits and
//! types hold, the scanner's absence or slowness refuses uploads without
//! stopping chat, downloads follow conversation permissions, and nothing
//! is stored in plaintext.

use ostrog_domain::role::Role;
use ostrog_testkit::clamd::{Clamd, SIGNATURE, Settings, Signatures, eicar};
use ostrog_testkit::{Backend, TestServer};
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use std::time::Duration;

pub(crate) async fn server(
    backend: Backend,
    clamd: &Clamd,
    adjust: impl FnOnce(&mut ostrog_server::config::Config),
) -> TestServer {
    let socket = clamd.socket.clone();
    TestServer::start_with(backend, move |c| {
        c.scanner.socket = socket;
        c.scanner.scan_timeout_seconds = 5;
        adjust(c);
    })
    .await
}

/// A PDF and a PNG as their magic bytes start, with a known marker inside.
fn pdf() -> Vec<u8> {
    let mut f = b"%PDF-1.4\n% OSTROG-PLAINTEXT-MARKER\n".to_vec();
    f.extend((0..200_000u32).map(|i| (i % 253) as u8));
    f
}

pub(crate) fn png() -> Vec<u8> {
    let mut f = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R'];
    f.extend((0..90_000u32).map(|i| (i % 241) as u8));
    f
}

/// A picture that decodes: 800×600, so its thumbnail is 320×240.
fn photo() -> Vec<u8> {
    let picture = image::RgbImage::from_fn(800, 600, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 40]));
    let mut out = std::io::Cursor::new(Vec::new());
    picture.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A zip archive holding `data` uncompressed ("stored"), built here.
pub(crate) fn zip_of(name: &str, data: &[u8]) -> Vec<u8> {
    zip_entry(name, 0, crc32(data), data, data.len() as u32)
}

/// A one-entry archive whose entry is stored (`method` 0) or deflated (8).
fn zip_entry(name: &str, method: u16, crc: u32, stored: &[u8], size: u32) -> Vec<u8> {
    let (packed, name_len) = (stored.len() as u32, name.len() as u16);
    let mut z = Vec::new();
    z.extend(0x04034b50u32.to_le_bytes());
    z.extend([20, 0, 0, 0]);
    z.extend(method.to_le_bytes());
    z.extend([0, 0, 0, 0]);
    z.extend(crc.to_le_bytes());
    z.extend(packed.to_le_bytes());
    z.extend(size.to_le_bytes());
    z.extend(name_len.to_le_bytes());
    z.extend(0u16.to_le_bytes());
    z.extend(name.as_bytes());
    z.extend(stored);
    let central = z.len() as u32;
    z.extend(0x02014b50u32.to_le_bytes());
    z.extend([20, 0, 20, 0, 0, 0]);
    z.extend(method.to_le_bytes());
    z.extend([0, 0, 0, 0]);
    z.extend(crc.to_le_bytes());
    z.extend(packed.to_le_bytes());
    z.extend(size.to_le_bytes());
    z.extend(name_len.to_le_bytes());
    z.extend([0u8; 12]);
    z.extend(0u32.to_le_bytes());
    z.extend(name.as_bytes());
    let central_len = z.len() as u32 - central;
    z.extend(0x06054b50u32.to_le_bytes());
    z.extend([0, 0, 0, 0, 1, 0, 1, 0]);
    z.extend(central_len.to_le_bytes());
    z.extend(central.to_le_bytes());
    z.extend(0u16.to_le_bytes());
    z
}

/// A zip bomb: `mib` MiB of zeros, deflated to about a thousandth of that.
fn zip_bomb(mib: usize) -> Vec<u8> {
    use std::io::Write;
    let chunk = vec![0u8; 1024 * 1024];
    let (mut deflate, mut crc) =
        (flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best()), flate2::Crc::new());
    for _ in 0..mib {
        deflate.write_all(&chunk).unwrap();
        crc.update(&chunk);
    }
    let packed = deflate.finish().unwrap();
    zip_entry("zeros.bin", 8, crc.sum(), &packed, (mib * 1024 * 1024) as u32)
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for b in data {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

pub(crate) fn form(name: &str, bytes: Vec<u8>) -> Form {
    Form::new().part("file", Part::bytes(bytes).file_name(name.to_string()))
}

/// A conversation with an operator assigned: (admin, operator token, visitor token, widget, conversation).
pub(crate) async fn conversation(s: &TestServer) -> (String, String, String, String, String) {
    let admin = s.session(&s.administrator().await).await;
    let (widget, _) = s.widget(&admin).await;
    let op = s.employee(Role::Operator, &[]).await;
    let op_token = s.session(&op).await;
    let mut ws = s.operator_ws(&op_token).await;
    ws.send(json!({"type": "presence", "status": "online"})).await;
    let (mut visitor, welcome) = s.visitor(&widget, json!({"type": "hello", "v": 1})).await;
    let c = visitor.say("here is my document").await["conversation_id"].as_str().unwrap().to_string();
    ws.receive("here is my document").await;
    (admin, op_token, welcome["token"].as_str().unwrap().to_string(), widget, c)
}

pub(crate) async fn post(s: &TestServer, token: &str, path: &str, form: Form) -> (u16, Value) {
    let r = s.as_(token, Method::POST, path).multipart(form).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn fetch(s: &TestServer, token: &str, path: &str) -> (u16, Vec<u8>, reqwest::header::HeaderMap) {
    let r = s.as_(token, Method::GET, path).send().await.unwrap();
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    (status, r.bytes().await.unwrap().to_vec(), headers)
}

pub(crate) fn files_on_disk(s: &TestServer) -> Vec<Vec<u8>> {
    ["files", "quarantine"]
        .iter()
        .flat_map(|d| std::fs::read_dir(s.config.data_dir.join(d)).into_iter().flatten().flatten())
        .map(|e| std::fs::read(e.path()).unwrap())
        .collect()
}

async fn clean_files_cross_both_ways(backend: Backend) {
    let clamd = Clamd::start();
    let s = server(backend, &clamd, |_| {}).await;
    let (admin, op, visitor, widget, c) = conversation(&s).await;
    let (status, sent) = post(&s, &op, &format!("/api/v1/conversations/{c}/files"), form("договор.pdf", pdf())).await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["file"]["content_type"], "application/pdf");
    assert_eq!(sent["file"]["name"], "договор.pdf");
    let id = sent["file"]["file_id"].as_str().unwrap();
    let (status, bytes, headers) = fetch(&s, &visitor, &format!("/api/v1/widget/{widget}/files/{id}")).await;
    assert_eq!((status, bytes == pdf()), (200, true), "the visitor gets it byte for byte");
    assert!(headers["content-disposition"].to_str().unwrap().starts_with("attachment"));
    assert_eq!(headers["x-content-type-options"], "nosniff");

    let (status, up) = post(&s, &visitor, &format!("/api/v1/widget/{widget}/files"), form("scan.png", png())).await;
    assert_eq!(status, 200, "{up}");
    let id = up["file"]["file_id"].as_str().unwrap();
    let (status, bytes, _) = fetch(&s, &op, &format!("/api/v1/files/{id}")).await;
    assert_eq!((status, bytes == png()), (200, true), "the operator gets it byte for byte");
    let trail = s.get_json(&admin, "/api/v1/audit?trail=personal_data&action=file.read").await;
    assert_eq!(trail[0]["details"]["file_id"], id, "the download is on record: {trail}");

    assert_eq!(up["file"]["thumbnail"], false, "no thumbnail of a picture that does not decode");
    assert_eq!(fetch(&s, &op, &format!("/api/v1/files/{id}/thumbnail")).await.0, 404);

    let (status, up) = post(&s, &visitor, &format!("/api/v1/widget/{widget}/files"), form("photo.png", photo())).await;
    assert_eq!((status, &up["file"]["thumbnail"]), (200, &json!(true)), "{up}");
    let photo_id = up["file"]["file_id"].as_str().unwrap();
    for (token, path) in [
        (&op, format!("/api/v1/files/{photo_id}/thumbnail")),
        (&visitor, format!("/api/v1/widget/{widget}/files/{photo_id}/thumbnail")),
    ] {
        let (status, bytes, headers) = fetch(&s, token, &path).await;
        assert_eq!((status, headers["content-type"].to_str().unwrap()), (200, "image/jpeg"), "{path}");
        let thumb = image::load_from_memory(&bytes).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (320, 240));
        assert_eq!(headers["cache-control"], "private, no-store");
    }

    // Not readable on disk.
    let marker = b"OSTROG-PLAINTEXT-MARKER";
    assert!(files_on_disk(&s).iter().all(|f| !f.windows(marker.len()).any(|w| w == marker)));
    // Someone else's operator, and nobody at all.
    let stranger = s.session(&s.employee(Role::Operator, &[]).await).await;
    assert_eq!(fetch(&s, &stranger, &format!("/api/v1/files/{id}")).await.0, 403);
    assert_eq!(fetch(&s, &stranger, &format!("/api/v1/files/{photo_id}/thumbnail")).await.0, 403);
    assert_eq!(s.request(Method::GET, &format!("/api/v1/files/{id}")).send().await.unwrap().status(), 401);
    let other_visitor =
        s.visitor(&widget, json!({"type": "hello", "v": 1})).await.1["token"].as_str().unwrap().to_string();
    assert_eq!(
        fetch(&s, &other_visitor, &format!("/api/v1/widget/{widget}/files/{id}")).await.0,
        409,
        "no conversation of theirs"
    );

    // The subject's export holds their files; erasing them removes the files.
    ostrog_testkit::assert_not_in_dump(&s.dump().await, "договор");
    let subject = s.get_json(&admin, &format!("/api/v1/conversations/{c}")).await["visitor_id"].clone();
    let subject = subject.as_str().unwrap();
    let (status, tar, _) = fetch(&s, &admin, &format!("/api/v1/visitors/{subject}/export")).await;
    assert_eq!(status, 200);
    let mut archive = tar::Archive::new(tar.as_slice());
    let mut exported = std::collections::BTreeMap::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let mut bytes = vec![];
        std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
        exported.insert(entry.path().unwrap().display().to_string(), bytes);
    }
    assert_eq!(exported.get(&format!("files/{id}")), Some(&png()), "files as uploaded");
    let listing: Value = serde_json::from_slice(&exported["subject.json"]).unwrap();
    let mut names: Vec<&str> =
        listing["files"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, vec!["photo.png", "scan.png", "договор.pdf"]);
    assert!(!files_on_disk(&s).is_empty());
    let erase = json!({"basis": "subject_request"});
    let r =
        s.as_(&admin, Method::POST, &format!("/api/v1/visitors/{subject}/erase")).json(&erase).send().await.unwrap();
    let act: Value = r.json().await.unwrap();
    assert_eq!(act["details"]["categories"], json!(["correspondence", "files"]));
    assert!(files_on_disk(&s).is_empty(), "originals and thumbnails deleted");
    assert_eq!(fetch(&s, &op, &format!("/api/v1/files/{id}")).await.0, 404);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_files_cross_both_ways_sqlite() {
    clean_files_cross_both_ways(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_files_cross_both_ways_postgres() {
    clean_files_cross_both_ways(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malware_never_gets_in_and_is_audited() {
    let clamd = Clamd::start();
    let s = server(Backend::Sqlite, &clamd, |_| {}).await;
    let (admin, op, _, _, c) = conversation(&s).await;
    let mut security = s.operator_ws(&admin).await;
    let mut operator = s.operator_ws(&op).await;
    let mut prefixed = b"Invoice attached: ".to_vec();
    prefixed.extend(eicar());
    prefixed.push(b'\n');
    for (name, bytes) in
        [("eicar.com", eicar()), ("archive.zip", zip_of("inner.txt", &eicar())), ("note.txt", prefixed)]
    {
        let (status, body) = post(&s, &op, &format!("/api/v1/conversations/{c}/files"), form(name, bytes)).await;
        assert_eq!((status, body["error"]["code"].as_str()), (422, Some("file_infected")), "{name}: {body}");
        assert!(body["error"]["signature"].as_str().unwrap().starts_with(SIGNATURE), "{body}");
    }
    assert!(files_on_disk(&s).is_empty(), "nothing stored, nothing left in quarantine");
    for name in ["eicar.com", "archive.zip", "note.txt"] {
        let alert = security.expect("alert").await;
        assert_eq!((alert["kind"].as_str(), alert["details"]["name"].as_str()), (Some("file.infected"), Some(name)));
        assert!(alert["details"]["signature"].as_str().unwrap().starts_with(SIGNATURE), "{alert}");
        assert_eq!(alert["details"]["conversation"].as_str(), Some(c.as_str()));
    }
    assert!(
        operator.try_expect("alert", std::time::Duration::from_millis(300)).await.is_none(),
        "only holders of settings.manage are alerted"
    );
    let audit = s.get_json(&admin, "/api/v1/audit?action=file.infected").await;
    let entries = audit["items"].as_array().or(audit.as_array()).cloned().unwrap_or_default();
    assert_eq!(entries.len(), 3, "{audit}");
    assert!(entries.iter().all(|e| e["details"]["signature"].as_str().unwrap().starts_with(SIGNATURE)));
    assert!(entries.iter().all(|e| e["details"]["name"].is_null()), "a file's name may be personal data: {audit}");
    let history = s.get_json(&op, &format!("/api/v1/conversations/{c}/messages")).await;
    assert!(history["items"].as_array().unwrap().iter().all(|m| m["kind"] != "file"), "nothing was posted");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_and_types_are_enforced() {
    let clamd = Clamd::start();
    let s = server(Backend::Sqlite, &clamd, |c| c.files.max_bytes = 50_000).await;
    let (_, op, _, _, c) = conversation(&s).await;
    let path = format!("/api/v1/conversations/{c}/files");
    let (status, body) = post(&s, &op, &path, form("big.png", png())).await;
    assert_eq!((status, body["error"]["code"].as_str()), (413, Some("file_too_large")));
    let (status, body) = post(&s, &op, &path, form("fake.pdf", b"#!/bin/sh\nrm -rf /\n".to_vec())).await;
    assert_eq!((status, body["error"]["code"].as_str()), (415, Some("file_type_not_allowed")));
    let (status, body) = post(&s, &op, &path, form("ok.zip", zip_of("a.txt", b"hello"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(files_on_disk(&s).len(), 1, "only the accepted file is stored");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_scanner_uploads_wait_and_chat_goes_on() {
    let mut clamd = Clamd::start();
    let s = server(Backend::Sqlite, &clamd, |_| {}).await;
    let (_, op, _, _, c) = conversation(&s).await;
    let path = format!("/api/v1/conversations/{c}/files");
    assert_eq!(s.get_json(&op, "/readyz").await["scanner"], "ok");
    clamd.stop();
    let (status, body) = post(&s, &op, &path, form("a.pdf", pdf())).await;
    assert_eq!((status, body["error"]["code"].as_str()), (503, Some("scanning_unavailable")));
    assert_eq!(s.get_json(&op, "/readyz").await["scanner"], "unavailable");
    let text = json!({"client_id": uuid::Uuid::new_v4(), "text": "the file will follow"});
    let r = s.as_(&op, Method::POST, &format!("{path}/../messages")).json(&text).send().await.unwrap();
    assert_eq!(r.status(), 200, "chat goes on");
    clamd.resume();
    let (status, _) = post(&s, &op, &path, form("a.pdf", pdf())).await;
    assert_eq!(status, 200, "works again without a restart");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scanner_that_never_answers_is_a_refusal_not_a_hang() {
    // A socket that accepts and then says nothing, as a stuck clamd would.
    let dir = std::env::temp_dir().join(format!("ostrog-stuck-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let socket = dir.join("stuck.sock");
    let listener = tokio::net::UnixListener::bind(&socket).unwrap();
    let stuck = tokio::spawn(async move {
        let mut held = vec![];
        while let Ok((conn, _)) = listener.accept().await {
            held.push(conn);
        }
    });
    let s = TestServer::start_with(Backend::Sqlite, |c| {
        c.scanner.socket = socket.clone();
        c.scanner.scan_timeout_seconds = 2;
    })
    .await;
    let (_, op, _, _, c) = conversation(&s).await;
    let started = std::time::Instant::now();
    let (status, body) = post(&s, &op, &format!("/api/v1/conversations/{c}/files"), form("a.pdf", pdf())).await;
    assert_eq!((status, body["error"]["code"].as_str()), (503, Some("scanning_unavailable")));
    assert!(started.elapsed() < Duration::from_secs(10), "answered after the scan timeout");
    assert!(files_on_disk(&s).is_empty());
    stuck.abort();
    s.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_that_stalls_times_out_and_leaves_nothing() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let clamd = Clamd::start();
    let s = server(Backend::Sqlite, &clamd, |c| c.files.upload_timeout_seconds = 2).await;
    let (_, op, _, _, c) = conversation(&s).await;
    let authority = s.url.trim_start_matches("http://").to_string();
    let mut tcp = tokio::net::TcpStream::connect(&authority).await.unwrap();
    let head = format!(
        "POST /api/v1/conversations/{c}/files HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Bearer {op}\r\n\
         Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 1000000\r\n\r\n\
         --b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp.write_all(&pdf()[..100_000]).await.unwrap();
    // ...and nothing more, as a client that stalls would.
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut answer)).await.expect("answered").unwrap();
    assert!(
        String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&answer[..n])
    );
    assert!(files_on_disk(&s).is_empty(), "nothing left in quarantine");
    s.stop().await;
}

/// A zip bomb — half a megabyte unpacking to half a gigabyte — is refused
/// and audited. clamd alone would not: it trims the entry to `MaxFileSize`
/// and calls it clean (found by this test). The server reads the
/// archive's directory itself, stays up and takes the next clean file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zip_bomb_is_refused_and_the_server_goes_on() {
    let clamd = Clamd::start();
    let s = server(Backend::Sqlite, &clamd, |_| {}).await;
    let (admin, op, _, _, c) = conversation(&s).await;
    let bomb = zip_bomb(512);
    assert!(bomb.len() < 1024 * 1024, "half a GiB in {} bytes", bomb.len());
    let path = format!("/api/v1/conversations/{c}/files");
    let (status, body) = post(&s, &op, &path, form("bomb.zip", bomb)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("archive_too_large")), "{body}");
    let audit = s.get_json(&admin, "/api/v1/audit?action=file.refused").await;
    assert_eq!(audit[0]["details"]["reason"], "archive_too_large", "{audit}");
    let history = s.get_json(&op, &format!("/api/v1/conversations/{c}/messages")).await;
    assert!(!history.to_string().contains("bomb.zip"), "nothing was posted: {history}");
    let (status, _) = post(&s, &op, &path, form("ok.zip", zip_of("a.txt", b"hello"))).await;
    assert_eq!(status, 200, "the next clean file is accepted");
    s.stop().await;
}

/// An archive nested deeper than `files.archive_max_depth` is refused by
/// Ostrog before clamd sees it; one within that depth but past clamd's own
/// `MaxRecursion` is refused by clamd's limit, and told as a file that could
/// not be checked (`scan_limits`, audited `file.refused`), not as malware.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archives_nested_past_a_limit_are_refused_for_the_limit() {
    let clamd = Clamd::start_overriding(Settings::Shipped, Signatures::Body, &["MaxRecursion 2"]);
    let s = server(Backend::Sqlite, &clamd, |_| {}).await;
    let (admin, op, _, _, c) = conversation(&s).await;
    let nest = |levels: usize| {
        let mut nested = b"just a note".to_vec();
        for level in 0..levels {
            nested = zip_of(&format!("level{level}.zip"), &nested);
        }
        nested
    };
    let path = format!("/api/v1/conversations/{c}/files");
    let (status, body) = post(&s, &op, &path, form("deep.zip", nest(25))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("archive_too_deep")), "{body}");
    let (status, body) = post(&s, &op, &path, form("deep.zip", nest(4))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("scan_limits")), "{body}");
    assert!(body["error"]["signature"].is_null(), "not named as malware: {body}");
    let audit = s.get_json(&admin, "/api/v1/audit?action=file.refused").await;
    let reasons: Vec<_> = audit.as_array().unwrap().iter().map(|e| e["details"]["reason"].clone()).collect();
    assert_eq!(reasons, [json!("archive_too_deep"), json!("scan_limits")], "{audit}");
    let infected = s.get_json(&admin, "/api/v1/audit?action=file.infected").await;
    assert_eq!(infected.as_array().map(Vec::len), Some(0), "no malware on record: {infected}");
    let (status, _) = post(&s, &op, &path, form("ok.zip", zip_of("a.txt", b"hello"))).await;
    assert_eq!(status, 200, "the next clean file is accepted");
    s.stop().await;
}
