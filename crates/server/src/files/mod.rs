//! Files: streamed uploads scanned by clamd while they arrive, encrypted
//! at rest, served only to who may see their conversation.

pub mod cipher;
pub mod scanner;
pub mod self_test;
pub mod thumbnail;
