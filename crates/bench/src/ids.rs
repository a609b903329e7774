//! Message ids made without a system call each.

use uuid::Uuid;

/// Makes version-4 UUIDs from a SplitMix64 stream seeded once from the OS.
///
/// `Uuid::new_v4` asks the OS for randomness on every call; at tens of
/// thousands of messages a second that system call is CPU taken from the
/// server sharing the machine. A `client_id` needs uniqueness, not secrecy,
/// and 122 random bits from a well-mixed 64-bit stream seeded per generator
/// give that.
pub struct IdGen {
    state: u64,
}

impl IdGen {
    pub fn new() -> Self {
        let seed = Uuid::new_v4().as_u128();
        Self { state: (seed as u64) ^ ((seed >> 64) as u64) }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn next_id(&mut self) -> Uuid {
        let bits = (u128::from(self.next_u64()) << 64) | u128::from(self.next_u64());
        uuid::Builder::from_random_bytes(bits.to_be_bytes()).into_uuid()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_version_4_and_distinct() {
        let mut ids = IdGen::new();
        let a = ids.next_id();
        let b = ids.next_id();
        assert_eq!(a.get_version_num(), 4);
        assert_eq!(a.get_variant(), uuid::Variant::RFC4122);
        assert_ne!(a, b);
    }
}
