//! Antivirus through ICAP, against a real c-icap (Debian's, with its
//! virus_scan module) backed by a test clamd: clean files cross, EICAR in
//! its variants is refused and audited with the service's threat name, by
//! RESPMOD and by REQMOD; a service that is down, slow or misconfigured
//! refuses uploads unless it is optional; clamd and ICAP together under
//! one policy, each reported in /readyz and /metrics.

use crate::files::{conversation, files_on_disk, form, post, zip_of};
use ostrog_server::config::{Config, IcapConfig, IcapMethod};
use ostrog_testkit::clamd::{Clamd, eicar};
use ostrog_testkit::icap::{CIcap, SlowRelay};
use ostrog_testkit::{Backend, TestServer};
use serde_json::Value;

/// What c-icap's clamd reports for the test signature.
const THREAT: &str = "Ostrog.Test.EICAR.UNOFFICIAL";
const TOKEN: &str = "metrics-token-metrics-token-metrics";

/// A server whose engines are `engines`: `"clamd"`, and any other name an
/// ICAP service at `url`. Each test names its ICAP engine differently: the
/// metrics it reads belong to the whole test process.
async fn server(
    backend: Backend,
    clamd: &Clamd,
    url: &str,
    engines: &[&str],
    adjust: impl FnOnce(&mut Config),
) -> TestServer {
    let (socket, url) = (clamd.socket.clone(), url.to_string());
    let engines: Vec<String> = engines.iter().map(|e| e.to_string()).collect();
    TestServer::start_with(backend, move |c| {
        c.scanner.socket = socket;
        c.scanner.scan_timeout_seconds = 5;
        for name in engines.iter().filter(|e| *e != "clamd") {
            c.scanner.icap.insert(name.clone(), IcapConfig { url: url.clone(), ..IcapConfig::default() });
        }
        c.scanner.engines = engines;
        c.metrics.token = TOKEN.into();
        adjust(c);
    })
    .await
}

async fn readyz(s: &TestServer) -> Value {
    s.request(reqwest::Method::GET, "/readyz").send().await.unwrap().json().await.unwrap()
}

async fn metrics(s: &TestServer) -> String {
    let r = s.request(reqwest::Method::GET, "/metrics").bearer_auth(TOKEN).send().await.unwrap();
    r.text().await.unwrap()
}

/// `ostrog_scans_total` for one engine and verdict. The counters belong to
/// the test process, shared by every server in it: compare before and after.
fn scans(metrics: &str, engine: &str, verdict: &str) -> u64 {
    let line = format!("ostrog_scans_total{{engine=\"{engine}\",verdict=\"{verdict}\"}} ");
    metrics.lines().find_map(|l| l.strip_prefix(line.as_str())).map_or(0, |n| n.parse().unwrap())
}

/// A PDF-typed file of `len` bytes (past c-icap's preview of 1,024).
fn pdf(len: usize) -> Vec<u8> {
    let mut f = b"%PDF-1.4\n".to_vec();
    f.extend((0..len as u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    f
}

/// EICAR in its variants: alone, zipped, and after a PDF's first megabyte.
fn variants() -> Vec<(&'static str, Vec<u8>)> {
    let mut late = pdf(1024 * 1024);
    late.extend(eicar());
    vec![("eicar.com", eicar()), ("archive.zip", zip_of("inner.txt", &eicar())), ("late.pdf", late)]
}

async fn icap_alone(backend: Backend, method: IcapMethod, name: &str) {
    let clamd = Clamd::start();
    let cicap = CIcap::start(&clamd);
    let s = server(backend, &clamd, &cicap.url(), &[name], |c| {
        c.scanner.icap.get_mut(name).unwrap().method = method;
    })
    .await;
    let (admin, op, _, _, c) = conversation(&s).await;
    let path = format!("/api/v1/conversations/{c}/files");
    let before = metrics(&s).await;
    for (name, size) in [("small.pdf", 200), ("large.pdf", 3 * 1024 * 1024)] {
        let (status, body) = post(&s, &op, &path, form(name, pdf(size))).await;
        assert_eq!(status, 200, "{name}: {body}");
        let id = body["file"]["file_id"].as_str().unwrap();
        let r = s.as_(&op, reqwest::Method::GET, &format!("/api/v1/files/{id}")).send().await.unwrap();
        assert_eq!(r.bytes().await.unwrap().to_vec(), pdf(size), "{name} crosses byte for byte");
    }
    for (name, bytes) in variants() {
        let (status, body) = post(&s, &op, &path, form(name, bytes)).await;
        assert_eq!((status, body["error"]["code"].as_str()), (422, Some("file_infected")), "{name}: {body}");
        assert_eq!(body["error"]["signature"], THREAT, "{body}");
    }
    let audit = s.get_json(&admin, "/api/v1/audit?action=file.infected").await;
    let entries = audit["items"].as_array().or(audit.as_array()).cloned().unwrap_or_default();
    assert_eq!(entries.len(), 3, "{audit}");
    assert!(entries.iter().all(|e| e["details"]["signature"] == THREAT && e["details"]["engine"] == name));
    assert_eq!(files_on_disk(&s).len(), 2, "only the clean files are stored");
    let ready = readyz(&s).await;
    assert_eq!((ready["scanner"].as_str(), ready["engines"][0]["name"].as_str()), (Some("ok"), Some(name)));
    assert_eq!(ready["engines"][0]["state"], "ok", "{ready}");
    let m = metrics(&s).await;
    assert!(m.contains(&format!("ostrog_scanner_engine_state{{engine=\"{name}\",state=\"ok\"}} 1")), "{m}");
    // The self-test's files are not counted: only the uploads.
    assert_eq!(scans(&m, name, "clean"), scans(&before, name, "clean") + 2, "{m}");
    assert_eq!(scans(&m, name, "infected"), scans(&before, name, "infected") + 3, "{m}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_icap_service_alone_scans_every_upload() {
    icap_alone(Backend::Sqlite, IcapMethod::Respmod, "alone").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_icap_service_alone_scans_every_upload_postgres() {
    icap_alone(Backend::Postgres, IcapMethod::Respmod, "alone_pg").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_icap_service_scans_by_reqmod_too() {
    icap_alone(Backend::Sqlite, IcapMethod::Reqmod, "alone_reqmod").await;
}

/// clamd and c-icap together: both scan each file; when c-icap goes down
/// uploads are refused (chat goes on) until it returns, and an optional
/// c-icap that is down is left out while clamd still refuses malware.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clamd_and_icap_together_and_an_engine_down() {
    let clamd = Clamd::start();
    let mut cicap = CIcap::start(&clamd);
    let s = server(Backend::Sqlite, &clamd, &cicap.url(), &["clamd", "together"], |_| {}).await;
    let (_, op, _, _, c) = conversation(&s).await;
    let path = format!("/api/v1/conversations/{c}/files");
    let before = metrics(&s).await;
    assert_eq!(post(&s, &op, &path, form("a.pdf", pdf(5000))).await.0, 200);
    // (clamd's counter is shared with every other test's clamd.)
    assert_eq!(
        scans(&metrics(&s).await, "together", "clean"),
        scans(&before, "together", "clean") + 1,
        "c-icap scanned it"
    );
    let (status, body) = post(&s, &op, &path, form("eicar.com", eicar())).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("file_infected")), "{body}");

    cicap.stop();
    let (status, body) = post(&s, &op, &path, form("a.pdf", pdf(5000))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (503, Some("scanning_unavailable")), "{body}");
    let ready = readyz(&s).await;
    assert_eq!(ready["scanner"], "unavailable", "{ready}");
    assert_eq!(
        ready["engines"],
        serde_json::json!([{"name": "clamd", "state": "ok"}, {"name": "together", "state": "unavailable"}])
    );
    s.stop().await;

    // The same, with c-icap optional: clamd alone decides while it is down.
    let s = server(Backend::Sqlite, &clamd, &cicap.url(), &["clamd", "together"], |c| {
        c.scanner.optional = vec!["together".into()]
    })
    .await;
    let (_, op, _, _, c) = conversation(&s).await;
    let path = format!("/api/v1/conversations/{c}/files");
    assert_eq!(post(&s, &op, &path, form("a.pdf", pdf(5000))).await.0, 200);
    let (status, body) = post(&s, &op, &path, form("eicar.com", eicar())).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("file_infected")), "{body}");
    assert_eq!(readyz(&s).await["scanner"], "ok");
    s.stop().await;
}

/// An ICAP service that answers, but slower than the scan timeout: a
/// refusal in time, not a hang; left out when it is optional.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_icap_service_is_a_refusal_not_a_hang() {
    let clamd = Clamd::start();
    let cicap = CIcap::start(&clamd);
    let slow = SlowRelay::start(cicap.port, std::time::Duration::from_millis(1500));
    for optional in [false, true] {
        let s = server(Backend::Sqlite, &clamd, &slow.url(), &["clamd", "slow"], |c| {
            c.scanner.scan_timeout_seconds = 2;
            if optional {
                c.scanner.optional = vec!["slow".into()];
            }
        })
        .await;
        let (_, op, _, _, c) = conversation(&s).await;
        let started = std::time::Instant::now();
        let (status, body) = post(&s, &op, &format!("/api/v1/conversations/{c}/files"), form("a.pdf", pdf(5000))).await;
        if optional {
            assert_eq!(status, 200, "clamd alone decides: {body}");
        } else {
            assert_eq!((status, body["error"]["code"].as_str()), (503, Some("scanning_unavailable")), "{body}");
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "answered in time");
        assert!(files_on_disk(&s).len() <= 1);
        s.stop().await;
    }
}

/// A c-icap that scans only text lets archives and PDFs through as
/// "unmodified": the self-test's canaries catch it and uploads are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_self_test_catches_an_icap_service_that_skips_file_types() {
    let clamd = Clamd::start();
    let cicap = CIcap::start_overriding(&clamd, &["virus_scan.ScanFileTypes TEXT"]);
    let s = server(Backend::Sqlite, &clamd, &cicap.url(), &["clamd", "text_only"], |_| {}).await;
    let (_, op, _, _, c) = conversation(&s).await;
    let (status, body) = post(&s, &op, &format!("/api/v1/conversations/{c}/files"), form("a.pdf", pdf(5000))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (503, Some("scanner_misconfigured")), "{body}");
    let ready = readyz(&s).await;
    assert_eq!(ready["scanner"], "misconfigured", "{ready}");
    assert_eq!(ready["engines"][1]["state"], "misconfigured", "{ready}");
    assert_eq!(ready["engines"][0]["state"], "ok", "{ready}");
    assert!(metrics(&s).await.contains(r#"ostrog_scanner_engine_state{engine="text_only",state="misconfigured"} 1"#));
    s.stop().await;
}

/// Services that echo the file instead of answering 204 (c-icap without
/// 204s, or with Debian's early sending, which starts echoing a large file
/// before its scan ends): a clean file is recognised by its very bytes
/// coming back; an infected one is never let through, named or not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echoed_files_count_as_clean_only_when_unchanged() {
    let clamd = Clamd::start();
    for overrides in [
        &["virus_scan.Allow204Responces off"][..],
        &["virus_scan.SendPercentData 5", "virus_scan.StartSendPercentDataAfter 2M"],
    ] {
        let cicap = CIcap::start_overriding(&clamd, overrides);
        let s = server(Backend::Sqlite, &clamd, &cicap.url(), &["echoing"], |_| {}).await;
        let (_, op, _, _, c) = conversation(&s).await;
        let path = format!("/api/v1/conversations/{c}/files");
        for size in [200, 3 * 1024 * 1024] {
            let (status, body) = post(&s, &op, &path, form("a.pdf", pdf(size))).await;
            assert_eq!(status, 200, "{overrides:?}, {size} bytes: {body}");
        }
        let mut late = pdf(3 * 1024 * 1024);
        late.extend(eicar());
        for (name, bytes) in [("eicar.com", eicar()), ("late.pdf", late)] {
            let (status, body) = post(&s, &op, &path, form(name, bytes)).await;
            assert_eq!(
                (status, body["error"]["code"].as_str()),
                (422, Some("file_infected")),
                "{overrides:?} {name}: {body}"
            );
        }
        assert_eq!(files_on_disk(&s).len(), 2, "{overrides:?}");
        s.stop().await;
    }
}
