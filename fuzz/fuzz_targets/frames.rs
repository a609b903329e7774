//! WebSocket frames of both sides (visitor and operator) as they arrive:
//! parsing never panics, a refusal always carries one of the protocol's
//! stable codes, and an oversized frame is refused before it is read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ostrog_protocol::ErrorCode;
use ostrog_protocol::frames::{MAX_FRAME_BYTES, OperatorFrame, VisitorFrame, parse};

const CODES: [ErrorCode; 4] =
    [ErrorCode::FrameTooLarge, ErrorCode::MalformedFrame, ErrorCode::UnknownType, ErrorCode::InvalidFrame];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for refused in [parse::<VisitorFrame>(text).err(), parse::<OperatorFrame>(text).err()].into_iter().flatten() {
        assert!(CODES.contains(&refused.code), "unknown code {}", refused.code);
        if text.len() > MAX_FRAME_BYTES {
            assert_eq!(refused.code, ErrorCode::FrameTooLarge);
        }
    }
});
