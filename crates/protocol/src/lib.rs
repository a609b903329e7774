//! Ostrog's typed vocabulary towards clients: the WebSocket frames of both
//! sides (protocol v1, `docs/protocol.md`), the objects they and the REST
//! answers carry, and the stable error codes of every refusal. It knows
//! nothing of HTTP, sockets or storage engines: the server encodes and sends
//! these, the fuzz targets parse them, the web app's translations are
//! checked against the codes.

mod error_code;
pub mod frames;
pub mod objects;

pub use error_code::{ErrorCode, catalogue_json};
