//! Job streams: Poisson arrivals with sampled size, duration and patience.
//!
//! Every attribute of every job is drawn at arrival from its own stream, whatever
//! happens to the job afterwards. So the k-th job of a replication is the same job in
//! every system (common random numbers), and a system's state can never shift the
//! demand it sees.

use rand::RngExt;

use crate::arrivals::RateProfile;
use crate::dist::{Dist, GpuCountDist};
use crate::engine::Hours;
use crate::model::outcome::{ON_DEMAND, RESERVED, SPOT};
use crate::scenario::Segment;
use crate::seeds::{self, Seeding, SimRng, Stream};
use crate::units::HOURS_PER_YEAR;

/// One job's demand, as drawn at its arrival.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JobSpec {
    /// GPUs held for the whole run.
    pub gpus: u32,
    /// Run time once started, hours.
    pub duration_hours: Hours,
    /// Time the job waits before giving up; `None` = forever, `Some(0)` = never waits.
    pub patience_hours: Option<Hours>,
    /// Its tier ([`RESERVED`], [`ON_DEMAND`] or [`SPOT`]).
    pub tier: u8,
    /// Most it pays per reference-class GPU-hour (infinite when the segment sets none).
    pub max_price_usd_per_gpu_hour: f64,
    /// Data moved out at the end, GB.
    pub data_gb: f64,
    /// Whether the job is locked in to its segment's incumbent provider.
    pub locked_in: bool,
    /// Memory each of its GPUs needs, GB (0: any class holds it).
    pub memory_gb_per_gpu: f64,
}

impl JobSpec {
    /// Its tier as an index of the per-tier arrays.
    #[inline]
    pub fn tier(&self) -> usize {
        usize::from(self.tier)
    }
}

/// The seeded generator of one segment's jobs in one replication.
pub struct JobSource {
    rate: RateProfile,
    /// For a constant rate, 1 / rate: gaps are drawn as Exp(1) × this.
    mean_gap_hours: Hours,
    /// Whether candidates are thinned (the rate varies).
    thinned: bool,
    /// The hour whose envelope is cached, and that envelope (recomputed once per hour).
    envelope_hour: Hours,
    hour_envelope_per_hour: f64,
    /// A lower bound of the rate on that hour: candidates under it need no rate.
    hour_squeeze_per_hour: f64,
    gpus: GpuCountDist,
    duration: Dist,
    patience: Option<Dist>,
    reserved_share: f64,
    /// Share of jobs that buy spot (above `reserved_share` on the same draw).
    spot_share: f64,
    max_price: Option<Dist>,
    /// Yearly growth rate of the maximum prices, ln(1 + change); 0: as drawn.
    max_price_log_growth: f64,
    data_gb: Option<Dist>,
    /// Share of jobs locked in to an incumbent (0: none, and no draws).
    lock_in_share: f64,
    memory_gb_per_gpu: Option<Dist>,
    arrivals_rng: SimRng,
    size_rng: SimRng,
    duration_rng: SimRng,
    patience_rng: SimRng,
    thinning_rng: SimRng,
    tier_rng: SimRng,
    max_price_rng: SimRng,
    data_rng: SimRng,
    lock_in_rng: SimRng,
    memory_rng: SimRng,
}

impl JobSource {
    /// The source for segment `segment_idx` of replication `replication`.
    pub fn new(segment: &Segment, segment_idx: u32, seeding: Seeding, replication: u64) -> Self {
        let stream = |make: fn(u32) -> Stream| seeds::rng(seeding, replication, make(segment_idx));
        JobSource {
            rate: segment.arrivals.clone(),
            mean_gap_hours: 1.0 / segment.arrivals.base_per_hour,
            thinned: !segment.arrivals.is_constant(),
            envelope_hour: f64::NAN,
            hour_envelope_per_hour: 0.0,
            hour_squeeze_per_hour: 0.0,
            gpus: segment.gpus_per_job.clone(),
            duration: segment.duration_hours.clone(),
            patience: segment.patience_hours.clone(),
            reserved_share: segment.reserved_share,
            spot_share: segment.spot_share,
            max_price: segment.max_price_usd_per_gpu_hour.clone(),
            max_price_log_growth: segment.max_price_annual_change.ln_1p(),
            data_gb: segment.data_gb.clone(),
            lock_in_share: segment.lock_in.as_ref().map_or(0.0, |lock| lock.share),
            memory_gb_per_gpu: segment.memory_gb_per_gpu.clone(),
            arrivals_rng: stream(|segment| Stream::Arrivals { segment }),
            size_rng: stream(|segment| Stream::JobSize { segment }),
            duration_rng: stream(|segment| Stream::Duration { segment }),
            patience_rng: stream(|segment| Stream::Patience { segment }),
            thinning_rng: stream(|segment| Stream::Thinning { segment }),
            tier_rng: stream(|segment| Stream::Tier { segment }),
            max_price_rng: stream(|segment| Stream::MaxPrice { segment }),
            data_rng: stream(|segment| Stream::Data { segment }),
            lock_in_rng: stream(|segment| Stream::LockIn { segment }),
            memory_rng: stream(|segment| Stream::Memory { segment }),
        }
    }

    /// The first arrival after `now`, or `None` if there is none before `horizon`.
    ///
    /// A constant rate gives exponential gaps directly. A varying rate is thinned hour by
    /// hour: within each hour, candidates come at that hour's bound and each is kept with
    /// probability λ(t)/bound; a candidate past the hour's end is discarded and drawing
    /// restarts at the boundary (exact, because exponential gaps are memoryless). This
    /// yields a Poisson process with rate λ(t) exactly, and a tight envelope wastes few
    /// draws (a single global bound wasted ~2 of 3 on daily cycles with growth).
    #[inline]
    pub fn next_arrival(&mut self, now: Hours, horizon: Hours) -> Option<Hours> {
        if !self.thinned {
            let unit = self.arrivals_rng.exp1();
            let time = now + unit * self.mean_gap_hours;
            return (time < horizon).then_some(time);
        }
        let mut time = now;
        while time < horizon {
            let hour = time.floor();
            let piece_end = (hour + 1.0).min(horizon);
            let bound = self.envelope_on(hour);
            if bound > 0.0 {
                let unit = self.arrivals_rng.exp1();
                let candidate = time + unit / bound;
                if candidate < piece_end {
                    time = candidate;
                    let level = self.thinning_rng.random::<f64>() * bound;
                    // The squeeze decides most candidates as the rate would, without it.
                    if level < self.hour_squeeze_per_hour || level < self.rate.rate_at(time) {
                        return Some(time);
                    }
                    continue;
                }
            }
            time = piece_end;
        }
        None
    }

    /// The thinning bound for the hour starting at `hour`, cached across calls.
    #[inline]
    fn envelope_on(&mut self, hour: Hours) -> f64 {
        if self.envelope_hour != hour {
            self.envelope_hour = hour;
            self.hour_envelope_per_hour = self.rate.bound_on_hour(hour);
            self.hour_squeeze_per_hour = self.rate.squeeze_on_hour(hour);
        }
        self.hour_envelope_per_hour
    }

    /// A job's tier from one uniform of its own stream, drawn only where a segment has a
    /// reserved or spot share: reserved below `reserved_share`, spot in the next
    /// `spot_share`, on-demand above (so adding spot keeps every job's reserved tier).
    #[inline]
    fn tier(&mut self) -> u8 {
        if self.reserved_share == 0.0 && self.spot_share == 0.0 {
            return ON_DEMAND as u8;
        }
        let u = self.tier_rng.random::<f64>();
        if u < self.reserved_share {
            RESERVED as u8
        } else if u < self.reserved_share + self.spot_share {
            SPOT as u8
        } else {
            ON_DEMAND as u8
        }
    }

    /// The attributes of the job arriving at `now`.
    ///
    /// Optional attributes draw from their own streams only when the segment sets them,
    /// so switching one on leaves every other attribute of every job unchanged; a maximum
    /// price's yearly change scales the draw, so it changes no other draw either.
    #[inline]
    pub fn next_job(&mut self, now: Hours) -> JobSpec {
        JobSpec {
            gpus: self.gpus.sample(&mut self.size_rng),
            duration_hours: self.duration.sample(&mut self.duration_rng),
            patience_hours: self
                .patience
                .as_ref()
                .map(|p| p.sample(&mut self.patience_rng)),
            tier: self.tier(),
            max_price_usd_per_gpu_hour: self.max_price.as_ref().map_or(f64::INFINITY, |p| {
                let drawn = p.sample(&mut self.max_price_rng);
                if self.max_price_log_growth == 0.0 {
                    drawn
                } else {
                    drawn * (self.max_price_log_growth * now / HOURS_PER_YEAR).exp()
                }
            }),
            data_gb: self
                .data_gb
                .as_ref()
                .map_or(0.0, |d| d.sample(&mut self.data_rng)),
            locked_in: self.lock_in_share > 0.0
                && self.lock_in_rng.random::<f64>() < self.lock_in_share,
            memory_gb_per_gpu: self
                .memory_gb_per_gpu
                .as_ref()
                .map_or(0.0, |m| m.sample(&mut self.memory_rng)),
        }
    }
}
