//! The test's randomness: which snippet is edited and how long to wait before the kill. A seeded xorshift64*, so
//! that a failing run can be repeated with `JAAS_FAULT_SEED` (each run prints its seed).

/// A small, seeded pseudo-random generator; statistical quality is beside the point here.
pub struct Dice(u64);

impl Dice {
    /// The generator for `seed` (0 is replaced: xorshift never leaves it).
    pub fn new(seed: u64) -> Self {
        Self(if seed == 0 { 0x9E37_79B9_7F4A_7C15 } else { seed })
    }

    /// The seed from `JAAS_FAULT_SEED`, else from the clock.
    pub fn seed_from_env() -> u64 {
        std::env::var("JAAS_FAULT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            now.as_secs() ^ u64::from(now.subsec_nanos()) << 20
        })
    }

    /// A number in `0..bound` (`bound` > 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % bound
    }
}
