//! The send time carried inside a message's text.
//!
//! Visitors and operators run in one process, so one monotonic clock serves
//! both ends: the visitor writes the nanoseconds since the bench's start into
//! the text, and the operator subtracts it from its own reading of the same
//! clock when the `message` frame arrives. No wall clock, no skew.

use std::time::Instant;

/// What every bench message's text starts with; other texts are not ours.
pub const PREFIX: &str = "b:";

#[derive(Debug, Clone, Copy)]
pub struct Epoch(Instant);

impl Epoch {
    pub fn now() -> Self {
        Self(Instant::now())
    }

    /// Nanoseconds since the epoch; `u64` lasts 584 years.
    pub fn nanos(&self) -> u64 {
        u64::try_from(self.0.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// `b:<nanos in hex>` padded with `x` up to `len` bytes, so payload size is
/// a knob while the stamp stays first. Hex, because a long run of decimal
/// digits looks like a phone or card number to the personal-data masking,
/// which would hide the stamp from the operator's side.
pub fn text(nanos: u64, len: usize) -> String {
    let mut text = format!("{PREFIX}{nanos:x}");
    if text.len() < len {
        text.push(' ');
        while text.len() < len {
            text.push('x');
        }
    }
    text
}

/// The send time in a text written by [`text`], or `None` for any other text.
pub fn parse(text: &str) -> Option<u64> {
    let rest = text.strip_prefix(PREFIX)?;
    let digits = rest.split(' ').next()?;
    u64::from_str_radix(digits, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamp_round_trips_with_and_without_padding() {
        assert_eq!(parse(&text(123_456, 0)), Some(123_456));
        let padded = text(42, 64);
        assert_eq!(padded.len(), 64);
        assert_eq!(parse(&padded), Some(42));
    }

    #[test]
    fn other_texts_are_not_stamps() {
        assert_eq!(parse("hello"), None);
        assert_eq!(parse("b:"), None);
        assert_eq!(parse("b:12x"), None);
    }
}
