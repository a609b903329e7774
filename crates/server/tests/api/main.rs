//! Integration tests: the real server on a random port, on SQLite and on
//! PostgreSQL, driven over HTTP as clients drive it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod abuse;
mod archives;
mod authorization_matrix;
mod bad_input;
mod brute_force;
mod bulk;
mod channels;
mod contact_history;
mod contacts;
mod conversations;
mod dynamic_scan;
mod employees;
mod encryption;
mod files;
mod icap;
mod labels;
mod log_capture;
mod metrics;
mod personal_data;
mod quick_replies;
mod refusals;
mod reports;
mod response_schemas;
mod routing;
mod scheduled_backup;
mod security_checks;
mod sign_in;
mod subjects;
mod teams;
mod tls;
mod web;
