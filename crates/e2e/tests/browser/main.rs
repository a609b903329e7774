//! The web app in a real, headless Chromium against the real server, one
//! module per journey; what the journeys share (signing in, the company's
//! site with the widget) is in `ostrog_e2e`. Every test ends with no CSP
//! violation reported. One test binary: `cargo test -p ostrog-e2e --test browser`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod administrator;
mod cabinet;
mod contact_panel;
mod contacts;
mod operator;
mod refusals;
mod routing;
mod sign_in;
mod visitor;
mod widget;
