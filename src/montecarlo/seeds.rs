//! Seed derivation: one independent generator per (replication, stream).
//!
//! A replication's generators depend only on the master seed and the replication index,
//! never on the thread that runs it or on how replications are split into shards. Within
//! a replication each random quantity has its own stream, so an extra draw in one (say,
//! a failure) leaves every other one unchanged: that is what makes the two systems see
//! exactly the same jobs (common random numbers).
//!
//! The generator is Xoshiro256++ (Blackman & Vigna 2018: portable, specified
//! bit-for-bit, passes BigCrush, ~1 ns per draw). Its 256-bit state is filled by
//! SplitMix64 from a hash of (master seed, replication, stream), the seeding its
//! authors recommend; with a period of 2^256 − 1, the streams of different (replication,
//! stream) pairs do not overlap in any run this tool could make. ChaCha8 was measured
//! too: it made sampling the engine's second-largest cost (`capsim bench`).

use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

/// The generator every random quantity is drawn from.
pub type SimRng = Xoshiro256PlusPlus;

/// The random quantities of one replication, each on its own stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Inter-arrival times of a demand segment.
    Arrivals {
        /// Segment index in the scenario.
        segment: u32,
    },
    /// GPUs per job of a segment.
    JobSize {
        /// Segment index in the scenario.
        segment: u32,
    },
    /// Job durations of a segment.
    Duration {
        /// Segment index in the scenario.
        segment: u32,
    },
    /// Job patience of a segment.
    Patience {
        /// Segment index in the scenario.
        segment: u32,
    },
    /// Acceptance draws when a segment's rate varies (thinning).
    Thinning {
        /// Segment index in the scenario.
        segment: u32,
    },
    /// Reserved-tier membership of a segment's jobs.
    Tier {
        /// Segment index in the scenario.
        segment: u32,
    },
    /// The maximum price each job of a segment will pay.
    MaxPrice {
        /// Segment index in the scenario.
        segment: u32,
    },
    /// Data moved per job of a segment.
    Data {
        /// Segment index in the scenario.
        segment: u32,
    },
    /// Supply-side draws of one system: failures and repairs of one site, or (with
    /// `site` = `u32::MAX`) the system's procurement lead times and onboarding delays.
    Supply {
        /// 0 = centralized, 1 = distributed.
        system: u32,
        /// Site index in order of creation, or `u32::MAX` for system-wide draws.
        site: u32,
        /// 0 = failure candidates, 1 = repair times, 2 = lead times, 3 = onboarding,
        /// 4 = operator sizes (drawn once per scenario file, with a fixed seed).
        kind: u32,
    },
}

impl Stream {
    /// The stream number. Per-segment streams interleave so that adding a kind of draw
    /// later takes a new slot without renumbering the existing ones.
    fn id(self) -> u64 {
        const KINDS: u64 = 16;
        match self {
            Stream::Arrivals { segment } => u64::from(segment) * KINDS,
            Stream::JobSize { segment } => u64::from(segment) * KINDS + 1,
            Stream::Duration { segment } => u64::from(segment) * KINDS + 2,
            Stream::Patience { segment } => u64::from(segment) * KINDS + 3,
            Stream::Thinning { segment } => u64::from(segment) * KINDS + 4,
            Stream::Tier { segment } => u64::from(segment) * KINDS + 5,
            Stream::MaxPrice { segment } => u64::from(segment) * KINDS + 6,
            Stream::Data { segment } => u64::from(segment) * KINDS + 7,
            // Above every segment stream (segments < 2^32 → ids < 2^36).
            Stream::Supply { system, site, kind } => (1 << 62) | (u64::from(system) << 40) | (u64::from(site) << 4) | u64::from(kind),
        }
    }
}

/// SplitMix64 step (Steele, Lea & Flood 2014): a bijective mixer whose outputs are
/// well spread even for consecutive inputs such as replication indices.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The generator for one stream of one replication.
pub fn rng(master_seed: u64, replication: u64, stream: Stream) -> SimRng {
    // Three rounds of mixing make every input bit affect every state word.
    let mut state = master_seed;
    let mut mixed = splitmix64(&mut state);
    state = mixed ^ replication;
    mixed = splitmix64(&mut state);
    state = mixed ^ stream.id();
    let mut key = [0u8; 32];
    for chunk in key.chunks_exact_mut(8) {
        chunk.copy_from_slice(&splitmix64(&mut state).to_le_bytes());
    }
    SimRng::from_seed(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    /// Value stability: these are the first outputs for (42, 0, Arrivals{0}). If a
    /// dependency bump or a change here moves them, every published result would move
    /// too, so the change must be deliberate (and noted in the CHANGELOG).
    #[test]
    fn streams_are_value_stable() {
        let mut generator = rng(42, 0, Stream::Arrivals { segment: 0 });
        let first: Vec<u64> = (0..3).map(|_| generator.next_u64()).collect();
        assert_eq!(first, PINNED_FIRST_OUTPUTS);
    }

    const PINNED_FIRST_OUTPUTS: [u64; 3] = [16_952_325_622_244_263_635, 13_403_855_731_906_573_151, 8_355_527_981_390_463_759];

    #[test]
    fn streams_and_replications_differ() {
        let draw = |replication, stream| rng(7, replication, stream).next_u64();
        let base = draw(0, Stream::Arrivals { segment: 0 });
        assert_ne!(base, draw(1, Stream::Arrivals { segment: 0 }));
        assert_ne!(base, draw(0, Stream::Duration { segment: 0 }));
        assert_ne!(base, draw(0, Stream::Arrivals { segment: 1 }));
        assert_ne!(draw(0, Stream::Arrivals { segment: 0 }), rng(8, 0, Stream::Arrivals { segment: 0 }).next_u64());
        assert_eq!(base, draw(0, Stream::Arrivals { segment: 0 }));
    }
}
