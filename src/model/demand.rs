//! Job streams: Poisson arrivals with sampled size, duration and patience.
//!
//! Every attribute of every job is drawn at arrival from its own stream, whatever
//! happens to the job afterwards. So the k-th job of a replication is the same job in
//! every system (common random numbers), and a system's state can never shift the
//! demand it sees.

use rand_distr::{Distribution, Exp1};

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
    mean_gap_hours: Hours,
    gpus: GpuCountDist,
    duration: Dist,
    patience: Option<Dist>,
    arrivals_rng: SimRng,
    size_rng: SimRng,
    duration_rng: SimRng,
    patience_rng: SimRng,
}

impl JobSource {
    /// The source for segment `segment_idx` of replication `replication`.
    pub fn new(segment: &Segment, segment_idx: u32, master_seed: u64, replication: u64) -> Self {
        let stream = |make: fn(u32) -> Stream| seeds::rng(master_seed, replication, make(segment_idx));
        JobSource {
            mean_gap_hours: 1.0 / segment.arrivals_per_hour,
            gpus: segment.gpus_per_job.clone(),
            duration: segment.duration_hours.clone(),
            patience: segment.patience_hours.clone(),
            arrivals_rng: stream(|segment| Stream::Arrivals { segment }),
            size_rng: stream(|segment| Stream::JobSize { segment }),
            duration_rng: stream(|segment| Stream::Duration { segment }),
            patience_rng: stream(|segment| Stream::Patience { segment }),
        }
    }

    /// Time to the next arrival: exponential, so arrivals are Poisson.
    #[inline]
    pub fn next_gap(&mut self) -> Hours {
        let unit: f64 = Exp1.sample(&mut self.arrivals_rng);
        unit * self.mean_gap_hours
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
