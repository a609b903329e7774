//! The web app in a real, headless Chromium against the real server, one
//! module per journey; what the journeys share (signing in, the company's
//! site with the widget) is in `ostrog_e2e`. Every test ends with no CSP
//! violation reported. One test binary: `cargo test -p ostrog-e2e --test browser`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod administrator;
mod bulk;
mod cabinet;
mod contact_panel;
mod contacts;
mod labels;
mod operator;
mod quick_replies;
mod refusals;
mod routing;
mod satisfaction;
mod security_checks;
mod sign_in;
mod teams;
mod visitor;
mod widget;

/// What the browser's console said at level error (`SEVERE`) since the
/// last call, from chromedriver's log: uncaught exceptions, CSP violations
/// and failed requests. Journeys end by asserting there were none.
pub async fn console_errors(driver: &ostrog_e2e::Driver, b: &ostrog_e2e::Browser) -> Vec<String> {
    let session = b.client.session_id().await.unwrap().unwrap();
    let url = format!("{}/session/{session}/se/log", driver.url());
    let r = reqwest::Client::new().post(url).json(&serde_json::json!({"type": "browser"})).send().await.unwrap();
    let log: serde_json::Value = r.json().await.unwrap();
    let entries = log["value"].as_array().cloned().unwrap_or_else(|| panic!("chromedriver gave no log: {log}"));
    entries.iter().filter(|e| e["level"] == "SEVERE").map(|e| e["message"].as_str().unwrap_or("").to_string()).collect()
}

/// Asserts that none of these windows logged an error to the console.
pub async fn no_console_errors(driver: &ostrog_e2e::Driver, windows: &[&ostrog_e2e::Browser]) {
    for w in windows {
        let errors = console_errors(driver, w).await;
        assert!(errors.is_empty(), "console errors: {errors:?}");
    }
}

/// As `no_console_errors`, for a journey that cuts the network on purpose:
/// Chromium itself logs each WebSocket that fails to connect meanwhile (the
/// app's reconnection attempts, however the timing falls), and only that
/// line is expected.
pub async fn no_console_errors_but_failed_sockets(driver: &ostrog_e2e::Driver, b: &ostrog_e2e::Browser) {
    let errors = console_errors(driver, b).await;
    let unexpected: Vec<&String> =
        errors.iter().filter(|e| !(e.contains("WebSocket connection to") && e.contains("failed"))).collect();
    assert!(unexpected.is_empty(), "console errors: {unexpected:?}");
}
