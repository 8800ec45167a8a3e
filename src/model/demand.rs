//! Job streams: Poisson arrivals with sampled size, duration and patience.
//!
//! Every attribute of every job is drawn at arrival from its own stream, whatever
//! happens to the job afterwards. So the k-th job of a replication is the same job in
//! every system (common random numbers), and a system's state can never shift the
//! demand it sees.

use rand::RngExt;
use rand_distr::{Distribution, Exp1};

use crate::arrivals::RateProfile;
use crate::dist::{Dist, GpuCountDist};
use crate::engine::Hours;
use crate::montecarlo::seeds::{self, SimRng, Stream};
use crate::scenario::Segment;

/// One job's demand, as drawn at its arrival.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JobSpec {
    /// GPUs held for the whole run.
    pub gpus: u32,
    /// Run time once started, hours.
    pub duration_hours: Hours,
    /// Time the job waits before giving up; `None` = forever, `Some(0)` = never waits.
    pub patience_hours: Option<Hours>,
}

/// The seeded generator of one segment's jobs in one replication.
pub struct JobSource {
    rate: RateProfile,
    /// Thinning envelope λ_max over the run (the constant rate when there is no thinning).
    envelope_per_hour: f64,
    /// 1 / envelope: gaps are drawn as Exp(1) × this, exactly as before thinning existed.
    mean_gap_hours: Hours,
    /// Whether candidates are thinned (the rate varies).
    thinned: bool,
    gpus: GpuCountDist,
    duration: Dist,
    patience: Option<Dist>,
    arrivals_rng: SimRng,
    size_rng: SimRng,
    duration_rng: SimRng,
    patience_rng: SimRng,
    thinning_rng: SimRng,
}

impl JobSource {
    /// The source for segment `segment_idx` of replication `replication`, for a run
    /// that ends at `horizon`.
    pub fn new(segment: &Segment, segment_idx: u32, master_seed: u64, replication: u64, horizon: Hours) -> Self {
        let stream = |make: fn(u32) -> Stream| seeds::rng(master_seed, replication, make(segment_idx));
        let envelope_per_hour =
            if segment.arrivals.is_constant() { segment.arrivals.base_per_hour } else { segment.arrivals.max_rate(horizon) };
        JobSource {
            rate: segment.arrivals.clone(),
            envelope_per_hour,
            mean_gap_hours: 1.0 / envelope_per_hour,
            thinned: !segment.arrivals.is_constant(),
            gpus: segment.gpus_per_job.clone(),
            duration: segment.duration_hours.clone(),
            patience: segment.patience_hours.clone(),
            arrivals_rng: stream(|segment| Stream::Arrivals { segment }),
            size_rng: stream(|segment| Stream::JobSize { segment }),
            duration_rng: stream(|segment| Stream::Duration { segment }),
            patience_rng: stream(|segment| Stream::Patience { segment }),
            thinning_rng: stream(|segment| Stream::Thinning { segment }),
        }
    }

    /// The first arrival after `now`, or `None` if there is none before `horizon`.
    ///
    /// A constant rate gives exponential gaps directly. A varying rate is thinned:
    /// candidates come at the envelope rate and each is kept with probability
    /// λ(t)/λ_max, which yields a Poisson process with rate λ(t) exactly.
    #[inline]
    pub fn next_arrival(&mut self, now: Hours, horizon: Hours) -> Option<Hours> {
        if self.envelope_per_hour <= 0.0 {
            return None;
        }
        let mut time = now;
        loop {
            let unit: f64 = Exp1.sample(&mut self.arrivals_rng);
            time += unit * self.mean_gap_hours;
            if time >= horizon {
                return None;
            }
            if !self.thinned || self.thinning_rng.random::<f64>() * self.envelope_per_hour < self.rate.rate_at(time) {
                return Some(time);
            }
        }
    }

    /// The attributes of the job arriving now.
    #[inline]
    pub fn next_job(&mut self) -> JobSpec {
        JobSpec {
            gpus: self.gpus.sample(&mut self.size_rng),
            duration_hours: self.duration.sample(&mut self.duration_rng),
            patience_hours: self.patience.as_ref().map(|p| p.sample(&mut self.patience_rng)),
        }
    }
}
