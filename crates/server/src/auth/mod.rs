//! Credentials: password hashing, opaque tokens, per-IP throttling.

pub mod password;
pub mod refusals;
pub mod throttle;
pub mod tokens;
