//! Ostrog's domain: the rules of the product, free of HTTP, SQL and async.
//!
//! Everything here is pure: time and randomness come in as arguments, so
//! lockouts, expiries and TOTP windows are tested by moving a clock, never by
//! sleeping. Nothing here may log, touch the network or read the disk.

pub mod access;
pub mod archive;
pub mod audit;
pub mod channel;
pub mod clock;
pub mod contact;
pub mod conversation;
pub mod csv;
pub mod employee;
pub mod erasure;
pub mod error;
pub mod file;
pub mod finance;
pub mod history;
pub mod ids;
pub mod label;
pub mod language;
pub mod lockout;
pub mod message;
pub mod password_policy;
pub mod permission;
pub mod personal_data;
pub mod privacy;
pub mod quick_reply;
pub mod role;
pub mod routing;
pub mod rule;
pub mod satisfaction;
pub mod session;
pub mod stats;
pub mod team;
pub mod thumbnail;
pub mod totp;
pub mod widget;

pub use error::DomainError;
