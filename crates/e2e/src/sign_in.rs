//! An employee in the pages: signing in with the password and a second
//! factor, enrolling it at the first sign-in. Test support: a failure here is
//! a failed test, so it unwraps.
#![allow(clippy::unwrap_used)]

use crate::Browser;
use ostrog_domain::clock::{Clock, SECOND};
use ostrog_testkit::{TestEmployee, TestServer};

/// Signs `who` in through the pages: password, then a fresh TOTP code.
pub async fn sign_in(s: &TestServer, b: &Browser, who: &TestEmployee) {
    sign_in_at(s, &s.url, b, who).await;
}

/// The same, at `url` (the server's own, or a relay in front of it).
pub async fn sign_in_at(s: &TestServer, url: &str, b: &Browser, who: &TestEmployee) {
    b.goto(&format!("{url}/sign-in")).await;
    b.fill("#f-email", &who.employee.email).await;
    b.fill("#f-password", &who.password).await;
    b.click("button[type=submit]").await;
    b.fill("#f-code", &s.next_code(who)).await;
    b.click("button[type=submit]").await;
    b.find("#sign-out").await;
}

/// The base32 secret the enrolment page shows, as bytes.
pub fn secret_bytes(base32: &str) -> Vec<u8> {
    totp_rs::Secret::Encoded(base32.trim().to_string()).to_bytes().unwrap()
}

/// The code of the next 30-second step: the test's clock moves on first, as
/// a code may be used only once.
pub fn code(s: &TestServer, secret: &[u8]) -> String {
    s.clock.advance(30 * SECOND);
    ostrog_domain::totp::code_at(secret, (s.clock.now() / SECOND) as u64)
}

/// Reads the enrolment secret from the page, confirms with a code and
/// finishes at the workplace, as a person does at their first sign-in.
pub async fn enrol(s: &TestServer, b: &Browser) {
    let secret = secret_bytes(&b.find("#totp-secret").await.text().await.unwrap());
    b.fill("#f-code", &code(s, &secret)).await;
    b.click("button[type=submit]").await;
    b.click("#codes-saved").await;
    b.find("#sign-out").await;
}
