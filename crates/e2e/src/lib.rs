//! Driving Debian's Chromium (headless) through chromedriver, for the browser
//! tests in `tests/`. Each `Browser` is a separate Chromium with its own
//! profile, so an operator and a visitor never share cookies or storage.
//! Screenshots go to `OSTROG_TEST_SCREENSHOTS` (default `target/screenshots`).
//! The steps the journeys share: `sign_in` (an employee in the pages) and
//! `company` (a company's site with the widget, and the visitor in it).
//! Test support: a failure here is a failed test, so it panics with the reason.
#![allow(clippy::panic)]

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub use fantoccini;

pub mod company;
pub mod sign_in;

/// How long a page may take to show what a test waits for.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A chromedriver of the tests' own, on a free port.
pub struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    pub async fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port());
        let port = port.unwrap_or_else(|e| panic!("no free port: {e}"));
        let binary = std::env::var("OSTROG_TEST_CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let child = Command::new(&binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary} (Debian package chromium-driver): {e}"));
        let driver = Driver { child, url: format!("http://127.0.0.1:{port}") };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return driver;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        drop(driver);
        panic!("chromedriver did not start listening");
    }

    /// Where chromedriver listens (for its commands fantoccini has no method for).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A new headless Chromium with its own profile, `width`×`height` pixels.
    pub async fn browser(&self, width: u32, height: u32) -> Browser {
        let binary = std::env::var("OSTROG_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-dev-shm-usage",
            "--lang=en-US",
        ];
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), "chrome".into());
        caps.insert("goog:chromeOptions".into(), serde_json::json!({"binary": binary, "args": args}));
        // The console's messages, for tests that assert a page logged no error (`console_errors`).
        caps.insert("goog:loggingPrefs".into(), serde_json::json!({"browser": "ALL"}));
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("chromedriver refused a session: {e}"));
        client.set_window_size(width, height).await.unwrap_or_else(|e| panic!("window size: {e}"));
        Browser { client }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser window, with the few things tests do in it.
pub struct Browser {
    pub client: Client,
}

impl Browser {
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|e| panic!("goto {url}: {e}"));
    }

    /// The element, once it is on the page.
    /// The element, once it is on the page; if it never comes, the page as
    /// it was is saved as `failure.png` beside the screenshots.
    pub async fn find(&self, css: &str) -> Element {
        match self.client.wait().at_most(PATIENCE).for_element(Locator::Css(css)).await {
            Ok(e) => e,
            Err(e) => {
                let shown = self.client.find(Locator::Css("body")).await;
                let text = match shown {
                    Ok(body) => body.text().await.unwrap_or_default(),
                    Err(_) => String::new(),
                };
                self.screenshot("failure").await;
                panic!("no element {css}: {e}; the page shows: {text}")
            }
        }
    }

    /// Waits until the element's text contains `text`; returns the text.
    pub async fn text_in(&self, css: &str, text: &str) -> String {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let seen = match self.client.find(Locator::Css(css)).await {
                Ok(e) => e.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if seen.contains(text) {
                return seen;
            }
            assert!(tokio::time::Instant::now() < deadline, "{css} never showed {text:?}; it shows {seen:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Whether an element matching `css` is on the page now.
    pub async fn has(&self, css: &str) -> bool {
        self.client.find(Locator::Css(css)).await.is_ok()
    }

    /// Types `value` into the field, finding it again if the page redrew it meanwhile.
    pub async fn fill(&self, css: &str, value: &str) {
        self.retry(css, |e| async move {
            e.clear().await?;
            e.send_keys(value).await
        })
        .await;
    }

    pub async fn click(&self, css: &str) {
        self.retry(css, |e| async move { e.click().await }).await;
    }

    /// Opens a section of the top bar as a person would: on a phone the
    /// sections are behind the menu button, so it opens the menu first.
    pub async fn section(&self, name: &str) {
        self.find("header.top nav").await;
        let folded = self.run("const m = document.getElementById('menu-toggle'); return !!m && m.offsetParent !== null && m.getAttribute('aria-expanded') !== 'true';").await;
        if folded == serde_json::Value::Bool(true) {
            self.click("#menu-toggle").await;
        }
        self.click(&format!("a[data-section={name}]")).await;
    }

    async fn retry<F, Fut>(&self, css: &str, act: F)
    where
        F: Fn(Element) -> Fut,
        Fut: std::future::Future<Output = Result<(), fantoccini::error::CmdError>>,
    {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            match act(self.find(css).await).await {
                Ok(()) => return,
                Err(e) if tokio::time::Instant::now() >= deadline => panic!("{css}: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Saves what the window shows as `<name>.png` in the screenshots folder.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap_or_else(|e| panic!("screenshot: {e}"));
        let dir = screenshots();
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
    }

    /// Runs `script` in the page; what it returns.
    pub async fn run(&self, script: &str) -> serde_json::Value {
        self.client.execute(script, vec![]).await.unwrap_or_else(|e| panic!("script failed: {e}"))
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

fn screenshots() -> PathBuf {
    std::env::var_os("OSTROG_TEST_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots"))
}

/// A TCP relay in front of the server whose connections the test can cut,
/// as a network drop would, and then let through again.
pub struct Relay {
    pub url: String,
    open: std::sync::Arc<std::sync::atomic::AtomicBool>,
    conns: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
    target: std::sync::Arc<std::sync::OnceLock<String>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Relay {
    /// Listens now (so its address can be the server's public URL); relays
    /// once `forward_to` names the server.
    pub async fn bind() -> Relay {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("relay: {e}"));
        let url = format!("http://{}", listener.local_addr().unwrap_or_else(|e| panic!("relay: {e}")));
        let open = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let conns = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let target = std::sync::Arc::new(std::sync::OnceLock::<String>::new());
        let (o, c, t) = (open.clone(), conns.clone(), target.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let Some(to) = t.get().cloned() else { continue };
                if !o.load(Ordering::SeqCst) {
                    continue; // dropped: the network is down
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&to).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                c.lock().unwrap_or_else(|p| p.into_inner()).push(task.abort_handle());
            }
        });
        Relay { url, open, conns, target, accept }
    }

    /// `server` as `http://host:port`.
    pub fn forward_to(&self, server: &str) {
        let _ = self.target.set(server.trim_start_matches("http://").to_string());
    }

    /// Drops every relayed connection and refuses new ones.
    pub fn cut(&self) {
        self.open.store(false, std::sync::atomic::Ordering::SeqCst);
        for c in self.conns.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
            c.abort();
        }
    }

    pub fn restore(&self) {
        self.open.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

/// Waits until `check` holds, asking every 50 ms; fails with `what` after `within`.
pub async fn eventually<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Fails the test if the browser reported a CSP violation to the server.
pub fn no_csp_violations(s: &ostrog_testkit::TestServer) {
    let reported = s.app.csp_violations.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(reported, 0, "the browser reported CSP violations (see the log)");
}
