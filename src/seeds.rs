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

//!
//! Antithetic runs pair replications 2k and 2k + 1: both draw from the streams of index
//! k, the second with every output bit complemented, so each uniform u becomes
//! 1 − 2⁻⁵³ − u (exactly 1 − u for the open-interval uniforms of [`SimRng::open01`]).
//! Both use inverse-transform samplers, monotone in the uniform, so a long job in one
//! is a short job in the other and their errors partly cancel.

use std::convert::Infallible;

use rand::rngs::Xoshiro256PlusPlus;
use rand::{SeedableRng, TryRng};
use rand_distr::{Distribution, Exp1, StandardNormal};

/// How a run seeds its replications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seeding {
    /// Master seed.
    pub seed: u64,
    /// Replications come in mirrored pairs (see the module docs).
    pub antithetic: bool,
}

/// How a generator turns bits into variates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Draws {
    /// Ziggurat exponentials and normals: fastest.
    Standard,
    /// Inverse transforms throughout, the bits complemented when `mirrored`.
    Inverse {
        /// The second replication of an antithetic pair.
        mirrored: bool,
    },
}

/// The generator every random quantity is drawn from: Xoshiro256++, mirrored in the
/// second replication of an antithetic pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimRng {
    inner: Xoshiro256PlusPlus,
    draws: Draws,
    /// XORed into every output: all ones when mirrored, else 0 (no branch per draw).
    mask: u64,
}

impl TryRng for SimRng {
    type Error = Infallible;

    #[inline]
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let bits = self.inner.try_next_u32()?;
        Ok(bits ^ self.mask as u32)
    }

    #[inline]
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let bits = self.inner.try_next_u64()?;
        Ok(bits ^ self.mask)
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        self.inner.try_fill_bytes(dst)?;
        if self.mask != 0 {
            dst.iter_mut().for_each(|byte| *byte = !*byte);
        }
        Ok(())
    }
}

impl SimRng {
    /// A uniform on the open interval (0, 1): (k + ½)·2⁻⁵³ for 53 random bits k, so a
    /// mirrored generator gives exactly 1 − u.
    #[inline]
    pub fn open01(&mut self) -> f64 {
        let bits = rand::Rng::next_u64(self) >> 11;
        (bits as f64 + 0.5) * (1.0 / (1_u64 << 53) as f64)
    }

    /// An exponential with mean 1.
    #[inline]
    pub fn exp1(&mut self) -> f64 {
        match self.draws {
            Draws::Standard => Exp1.sample(&mut self.inner),
            Draws::Inverse { .. } => -(-self.open01()).ln_1p(),
        }
    }

    /// A standard normal.
    #[inline]
    pub fn standard_normal(&mut self) -> f64 {
        match self.draws {
            Draws::Standard => StandardNormal.sample(&mut self.inner),
            Draws::Inverse { .. } => normal_quantile(self.open01()),
        }
    }
}

/// Φ⁻¹(p) for p in (0, 1), through the inverse complementary error function; odd about
/// ½ to within rounding, so mirrored draws give (almost exactly) opposite normals.
fn normal_quantile(p: f64) -> f64 {
    if p < 0.5 {
        -std::f64::consts::SQRT_2 * statrs::function::erf::erfc_inv(2.0 * p)
    } else {
        std::f64::consts::SQRT_2 * statrs::function::erf::erfc_inv(2.0 * (1.0 - p))
    }
}

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
    /// Whether each job of a segment is locked in to its incumbent provider.
    LockIn {
        /// Segment index in the scenario.
        segment: u32,
    },
    /// The memory per GPU each job of a segment needs.
    Memory {
        /// Segment index in the scenario.
        segment: u32,
    },
    /// The start weeks and renewals of one `demand.contracts` entry's customers: demand,
    /// so the same in every architecture (drawn whether its provider is there or not).
    Contracts {
        /// Entry index in `demand.contracts`.
        contract: u32,
    },
    /// Outage candidates (failures) of one site.
    SiteFailures {
        /// Which system.
        system: SystemIndex,
        /// Site index in order of creation.
        site: u32,
    },
    /// Repair times of one site.
    SiteRepairs {
        /// Which system.
        system: SystemIndex,
        /// Site index in order of creation.
        site: u32,
    },
    /// Times an owner takes one site's GPUs back (part-time availability cycles).
    SiteOwnerTakesBack {
        /// Which system.
        system: SystemIndex,
        /// Site index in order of creation.
        site: u32,
    },
    /// How long an owner keeps one site's GPUs before offering them again.
    SiteOwnerReturns {
        /// Which system.
        system: SystemIndex,
        /// Site index in order of creation.
        site: u32,
    },
    /// The verified share of one site's listed GPUs (`verified_share`).
    SiteVerification {
        /// Which system.
        system: SystemIndex,
        /// Site index in order of creation.
        site: u32,
    },
    /// Procurement lead times of a system.
    LeadTimes {
        /// Which system.
        system: SystemIndex,
    },
    /// Onboarding delays of a system's joining operators.
    Onboarding {
        /// Which system.
        system: SystemIndex,
    },
    /// A provider's choices among its sites with room (`placement: random`).
    Placement {
        /// Which system (provider).
        system: SystemIndex,
    },
    /// The potential operators of one type of a provider's entry pool: each one's size
    /// and reservation yield, drawn per replication (the provider's own, so the same
    /// in every architecture that has it).
    PoolOperators {
        /// Which system.
        system: SystemIndex,
        /// The type's index in `entry.pool`.
        pool_type: u32,
    },
    /// Operator sizes of a scenario's operator groups, drawn once per scenario file
    /// (with a fixed seed, the group as index), not per replication.
    OperatorSizes,
    /// A sweep's Latin-hypercube design (the axis as index).
    LatinHypercube,
    /// A sensitivity analysis's Saltelli design for Sobol indices.
    SaltelliDesign,
}

/// A system in a stream's number, below the scenario layer that names systems.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemIndex {
    /// The centralized cloud of the shorthand.
    Centralized,
    /// The distributed network of the shorthand.
    Distributed,
    /// The k-th named provider (`providers:`): its supply draws are its own, whatever
    /// architecture it is simulated in.
    Provider(u32),
}

impl SystemIndex {
    /// The number in stream ids: 0 and 1 for the shorthand's systems (as they always
    /// were), 2 for draws of no system, 3 + k for the k-th named provider.
    fn number(self) -> u64 {
        match self {
            SystemIndex::Centralized => 0,
            SystemIndex::Distributed => 1,
            SystemIndex::Provider(k) => 3 + u64::from(k),
        }
    }
}

/// What a supply-side stream draws, as numbered in its id (the low 4 bits).
mod draw {
    pub const FAILURES: u64 = 0;
    pub const REPAIRS: u64 = 1;
    pub const LEAD_TIMES: u64 = 2;
    pub const ONBOARDING: u64 = 3;
    pub const OPERATOR_SIZES: u64 = 4;
    pub const OWNER_TAKES_BACK: u64 = 5;
    pub const OWNER_RETURNS: u64 = 6;
    /// Contracts' start weeks and renewals, under "system" 2 with the entry as "site".
    pub const CONTRACTS: u64 = 7;
    /// An entry pool's potential operators, with the pool type as "site".
    pub const POOL_OPERATORS: u64 = 8;
    pub const VERIFICATION: u64 = 9;
    pub const PLACEMENT: u64 = 10;
    /// The designs of a sweep and a sensitivity analysis, under "system" 2 (no system):
    /// the low bits they had when the streams were numbered by hand.
    pub const LATIN_HYPERCUBE: u64 = 5;
    pub const SALTELLI_DESIGN: u64 = 6;
}

/// The "system" of draws that belong to no system (designs), and the "site" of
/// system-wide draws.
const NO_SYSTEM: u64 = 2;
const NO_SITE: u32 = u32::MAX;

impl Stream {
    /// The stream number: the only place numbers are given out. Per-segment streams
    /// interleave so that adding a kind of draw later takes a new slot without
    /// renumbering the existing ones; supply streams lie above every segment stream
    /// (segments < 2^32 → ids < 2^36). Every id is pinned by a value-stability test.
    fn id(self) -> u64 {
        const KINDS: u64 = 16;
        let supply = |system: u64, site: u32, draw: u64| {
            (1 << 62) | (system << 40) | (u64::from(site) << 4) | draw
        };
        match self {
            Stream::Arrivals { segment } => u64::from(segment) * KINDS,
            Stream::JobSize { segment } => u64::from(segment) * KINDS + 1,
            Stream::Duration { segment } => u64::from(segment) * KINDS + 2,
            Stream::Patience { segment } => u64::from(segment) * KINDS + 3,
            Stream::Thinning { segment } => u64::from(segment) * KINDS + 4,
            Stream::Tier { segment } => u64::from(segment) * KINDS + 5,
            Stream::MaxPrice { segment } => u64::from(segment) * KINDS + 6,
            Stream::Data { segment } => u64::from(segment) * KINDS + 7,
            Stream::LockIn { segment } => u64::from(segment) * KINDS + 8,
            Stream::Memory { segment } => u64::from(segment) * KINDS + 9,
            Stream::SiteFailures { system, site } => supply(system.number(), site, draw::FAILURES),
            Stream::SiteRepairs { system, site } => supply(system.number(), site, draw::REPAIRS),
            Stream::SiteOwnerTakesBack { system, site } => {
                supply(system.number(), site, draw::OWNER_TAKES_BACK)
            }
            Stream::SiteOwnerReturns { system, site } => {
                supply(system.number(), site, draw::OWNER_RETURNS)
            }
            Stream::SiteVerification { system, site } => {
                supply(system.number(), site, draw::VERIFICATION)
            }
            Stream::LeadTimes { system } => supply(system.number(), NO_SITE, draw::LEAD_TIMES),
            Stream::Onboarding { system } => supply(system.number(), NO_SITE, draw::ONBOARDING),
            Stream::Placement { system } => supply(system.number(), NO_SITE, draw::PLACEMENT),
            Stream::PoolOperators { system, pool_type } => {
                supply(system.number(), pool_type, draw::POOL_OPERATORS)
            }
            Stream::OperatorSizes => supply(
                SystemIndex::Distributed.number(),
                NO_SITE,
                draw::OPERATOR_SIZES,
            ),
            Stream::Contracts { contract } => supply(NO_SYSTEM, contract, draw::CONTRACTS),
            Stream::LatinHypercube => supply(NO_SYSTEM, NO_SITE, draw::LATIN_HYPERCUBE),
            Stream::SaltelliDesign => supply(NO_SYSTEM, NO_SITE, draw::SALTELLI_DESIGN),
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
pub fn rng(seeding: Seeding, replication: u64, stream: Stream) -> SimRng {
    if seeding.antithetic {
        let mirrored = replication % 2 == 1;
        SimRng {
            inner: xoshiro(seeding.seed, replication / 2, stream),
            draws: Draws::Inverse { mirrored },
            mask: if mirrored { u64::MAX } else { 0 },
        }
    } else {
        SimRng {
            inner: xoshiro(seeding.seed, replication, stream),
            draws: Draws::Standard,
            mask: 0,
        }
    }
}

/// A generator seeded by one (master seed, index, stream) outside any run (the fixed
/// draws of a scenario file, tests).
pub fn standard(master_seed: u64, index: u64, stream: Stream) -> SimRng {
    SimRng {
        inner: xoshiro(master_seed, index, stream),
        draws: Draws::Standard,
        mask: 0,
    }
}

fn xoshiro(master_seed: u64, replication: u64, stream: Stream) -> Xoshiro256PlusPlus {
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
    Xoshiro256PlusPlus::from_seed(key)
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
        let mut generator = standard(42, 0, Stream::Arrivals { segment: 0 });
        let first: Vec<u64> = (0..3).map(|_| generator.next_u64()).collect();
        assert_eq!(first, PINNED_FIRST_OUTPUTS);
    }

    const PINNED_FIRST_OUTPUTS: [u64; 3] = [
        16_952_325_622_244_263_635,
        13_403_855_731_906_573_151,
        8_355_527_981_390_463_759,
    ];

    /// Every stream's number, pinned: a new random quantity gets a new variant and a
    /// new number here, and reusing one fails this test instead of silently breaking
    /// common random numbers.
    #[test]
    fn every_stream_number_is_pinned_and_distinct() {
        use SystemIndex::{Centralized, Distributed};
        let pinned: [(Stream, u64); 27] = [
            (Stream::Arrivals { segment: 0 }, 0),
            (
                Stream::Placement {
                    system: Distributed,
                },
                (1 << 62) | (1 << 40) | (u64::from(NO_SITE) << 4) | 10,
            ),
            (Stream::JobSize { segment: 0 }, 1),
            (Stream::Duration { segment: 0 }, 2),
            (Stream::Patience { segment: 0 }, 3),
            (Stream::Thinning { segment: 0 }, 4),
            (Stream::Tier { segment: 0 }, 5),
            (Stream::MaxPrice { segment: 0 }, 6),
            (Stream::Data { segment: 0 }, 7),
            (Stream::Data { segment: 2 }, 39),
            (Stream::LockIn { segment: 0 }, 8),
            (Stream::LockIn { segment: 2 }, 40),
            (Stream::Memory { segment: 0 }, 9),
            (Stream::Memory { segment: 2 }, 41),
            (
                Stream::Contracts { contract: 3 },
                (1 << 62) | (2 << 40) | (3 << 4) | 7,
            ),
            (
                Stream::SiteFailures {
                    system: Centralized,
                    site: 3,
                },
                (1 << 62) | (3 << 4),
            ),
            (
                Stream::SiteRepairs {
                    system: Centralized,
                    site: 3,
                },
                (1 << 62) | (3 << 4) | 1,
            ),
            (
                Stream::SiteOwnerTakesBack {
                    system: Distributed,
                    site: 0,
                },
                (1 << 62) | (1 << 40) | 5,
            ),
            (
                Stream::SiteOwnerReturns {
                    system: Distributed,
                    site: 0,
                },
                (1 << 62) | (1 << 40) | 6,
            ),
            (
                Stream::LeadTimes {
                    system: Centralized,
                },
                (1 << 62) | (0xFFFF_FFFF << 4) | 2,
            ),
            (
                Stream::Onboarding {
                    system: Distributed,
                },
                (1 << 62) | (1 << 40) | (0xFFFF_FFFF << 4) | 3,
            ),
            (
                Stream::OperatorSizes,
                (1 << 62) | (1 << 40) | (0xFFFF_FFFF << 4) | 4,
            ),
            (
                Stream::PoolOperators {
                    system: Distributed,
                    pool_type: 2,
                },
                (1 << 62) | (1 << 40) | (2 << 4) | 8,
            ),
            (
                Stream::SiteVerification {
                    system: Distributed,
                    site: 3,
                },
                (1 << 62) | (1 << 40) | (3 << 4) | 9,
            ),
            (
                Stream::LatinHypercube,
                (1 << 62) | (2 << 40) | (0xFFFF_FFFF << 4) | 5,
            ),
            (
                Stream::SaltelliDesign,
                (1 << 62) | (2 << 40) | (0xFFFF_FFFF << 4) | 6,
            ),
            (
                Stream::SiteFailures {
                    system: Distributed,
                    site: 1,
                },
                (1 << 62) | (1 << 40) | 16,
            ),
        ];
        for (stream, id) in pinned {
            assert_eq!(stream.id(), id, "{stream:?}");
        }
        let mut ids: Vec<u64> = pinned.iter().map(|(stream, _)| stream.id()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), pinned.len(), "two streams share a number");
    }

    #[test]
    fn streams_and_replications_differ() {
        let draw = |replication, stream| standard(7, replication, stream).next_u64();
        let base = draw(0, Stream::Arrivals { segment: 0 });
        assert_ne!(base, draw(1, Stream::Arrivals { segment: 0 }));
        assert_ne!(base, draw(0, Stream::Duration { segment: 0 }));
        assert_ne!(base, draw(0, Stream::Arrivals { segment: 1 }));
        assert_ne!(
            draw(0, Stream::Arrivals { segment: 0 }),
            standard(8, 0, Stream::Arrivals { segment: 0 }).next_u64()
        );
        assert_eq!(base, draw(0, Stream::Arrivals { segment: 0 }));
        let plain = Seeding {
            seed: 7,
            antithetic: false,
        };
        assert_eq!(
            base,
            rng(plain, 0, Stream::Arrivals { segment: 0 }).next_u64(),
            "runs draw the standard streams"
        );
    }

    /// The second replication of an antithetic pair draws exactly 1 − u where the first
    /// draws u, and mirrored variates move the opposite way; pairs differ from each other.
    #[test]
    fn antithetic_pairs_mirror_their_uniforms() {
        let seeding = Seeding {
            seed: 11,
            antithetic: true,
        };
        let stream = Stream::Duration { segment: 2 };
        let (mut first, mut second) = (rng(seeding, 4, stream), rng(seeding, 5, stream));
        for _ in 0..1000 {
            let (u, v) = (first.open01(), second.open01());
            assert!(u > 0.0 && u < 1.0);
            assert_eq!(u + v, 1.0, "{u} + {v}");
        }
        for _ in 0..1000 {
            let (x, y) = (first.exp1(), second.exp1());
            // Inverse transforms of u and 1 − u: one below the median ln 2, one above.
            assert!(
                (x - std::f64::consts::LN_2) * (y - std::f64::consts::LN_2) <= 0.0,
                "{x} {y}"
            );
            let (z, w) = (first.standard_normal(), second.standard_normal());
            assert!((z + w).abs() < 1e-9 * (1.0 + z.abs()), "{z} {w}");
        }
        assert_ne!(
            rng(seeding, 4, stream).open01(),
            rng(seeding, 6, stream).open01()
        );
        assert_ne!(
            rng(seeding, 4, stream).open01(),
            rng(
                Seeding {
                    seed: 11,
                    antithetic: false
                },
                4,
                stream
            )
            .open01()
        );
    }

    /// Inverse-transform variates have the right distribution: exponential mean and
    /// variance, and normal quantiles against known values.
    #[test]
    fn inverse_transforms_have_the_right_distribution() {
        assert!((normal_quantile(0.975) - 1.959_963_984_540_054).abs() < 1e-12);
        assert!((normal_quantile(0.025) + 1.959_963_984_540_054).abs() < 1e-12);
        assert!(normal_quantile(0.5).abs() < 1e-15);
        let mut generator = rng(
            Seeding {
                seed: 3,
                antithetic: true,
            },
            1,
            Stream::Arrivals { segment: 0 },
        );
        let n = 200_000;
        let draws: Vec<f64> = (0..n).map(|_| generator.exp1()).collect();
        let mean = draws.iter().sum::<f64>() / n as f64;
        let variance = draws.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        // Standard error of the mean is 1/√n ≈ 0.0022; 5 of them.
        assert!((mean - 1.0).abs() < 0.011, "mean {mean}");
        assert!((variance - 1.0).abs() < 0.05, "variance {variance}");
    }
}
