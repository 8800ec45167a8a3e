//! The store behind [`super::EventQueue`]: a binary heap while few events are pending,
//! a calendar of time buckets once many are.
//!
//! Why: a binary heap's pop sifts through log₂ n levels, each a hard-to-predict branch;
//! with the tens of thousands of pending completions of a large network (the seed-scale
//! probe) that was a quarter of the run time. A calendar queue (R. Brown, CACM 1988)
//! files each event under the bucket of its time and only ever orders the few events of
//! the bucket being served, so scheduling and popping cost about the same whatever the
//! number pending.
//!
//! How it stays exact: bucket numbers are `⌊time ÷ width⌋`, which never decreases as the
//! time grows, so every event in an earlier bucket is earlier; the bucket being served is
//! sorted on the full `(time, seq)` key when its turn comes (an event scheduled into it
//! meanwhile is inserted in order). Events past the ring of buckets
//! wait in a second heap and join the ring as it moves forward. The width and the
//! number of buckets only change how fast this is, never the order: they are retuned
//! from the event rate seen (simulated hours only, so deterministic) every
//! [`RETUNE_EVERY`] events, and a queue that holds few events goes back to being one
//! heap.

use std::collections::BinaryHeap;

use super::Entry;

/// Events popped between looks at whether the bucket layout still suits the load.
const RETUNE_EVERY: u64 = 1 << 14;
/// Below this many pending events one binary heap is as fast as buckets. Measured (best
/// of three, whole process): from 32 on, buckets win even on M/M/64 with ~65 pending
/// (−10 to −15% against from 2,048) and on seed-baseline with ~1,000 (−20%); 8 gained less.
const CALENDAR_FROM: usize = 32;
/// Target events per bucket. Measured on the seed-scale probe (500 h, best of three):
/// 2 per bucket was slower than the heap (a cache miss per event, on a ring of 32k
/// buckets), 8 and 16 faster (16 best: −10% run time against the heap, then −12% more
/// once the served bucket became a sorted list; 4, 8 and 32 with rings of other sizes
/// were no better). Sorting 16 events once beats sifting each through a heap.
const EVENTS_PER_BUCKET: f64 = 16.0;
/// Pending events per bucket of the ring: the ring spans about four times the pending
/// events' mean time to fire, so most events are filed straight into their bucket.
const PENDING_PER_BUCKET: usize = 4;
/// Bounds on the ring's size (a power of two).
const MIN_BUCKETS: usize = 1 << 8;
const MAX_BUCKETS: usize = 1 << 16;

/// The bucket number of a (non-negative) time in bucket widths: the cast floors and
/// saturates (∞ gives the last bucket), so the bucket never decreases as the time grows.
/// Through `i64`, whose conversion x86-64 has an instruction for (to `u64` it takes
/// several): the product is never negative, so only the saturation point moves (2⁶³
/// instead of 2⁶⁴ widths), and buckets only decide speed, never order.
#[inline]
fn bucket_of(widths: f64) -> u64 {
    widths as i64 as u64
}

/// Pending events in (time, seq) order; see the module's documentation.
pub(super) struct Calendar<E> {
    /// In heap mode, every event; empty in calendar mode.
    heap: BinaryHeap<Entry<E>>,
    /// In calendar mode, the bucket being served, sorted latest first (so the earliest
    /// pops off the end); empty in heap mode.
    served: Vec<Entry<E>>,
    /// The ring: bucket `b` is stored at `b & mask`; unused in heap mode.
    buckets: Vec<Vec<Entry<E>>>,
    mask: u64,
    /// Buckets per hour; 0 in heap mode, where every event's bucket is 0.
    buckets_per_hour: f64,
    /// The bucket being served; the ring holds buckets
    /// `current + 1 .. current + buckets.len()`.
    current: u64,
    in_buckets: usize,
    /// Events past the ring.
    far: BinaryHeap<Entry<E>>,
    popped_since_retune: u64,
    hours_at_retune: f64,
    last_popped_hours: f64,
}

impl<E> Calendar<E> {
    pub(super) fn new() -> Self {
        Calendar {
            heap: BinaryHeap::new(),
            served: Vec::new(),
            buckets: Vec::new(),
            mask: 0,
            buckets_per_hour: 0.0,
            current: 0,
            in_buckets: 0,
            far: BinaryHeap::new(),
            popped_since_retune: 0,
            hours_at_retune: 0.0,
            last_popped_hours: 0.0,
        }
    }

    /// Whether events are filed in buckets (else all wait in one heap).
    #[cfg(test)]
    pub(super) fn in_calendar_mode(&self) -> bool {
        !self.heap_mode()
    }

    pub(super) fn len(&self) -> usize {
        self.heap.len() + self.served.len() + self.in_buckets + self.far.len()
    }

    #[inline]
    fn heap_mode(&self) -> bool {
        self.buckets_per_hour == 0.0
    }

    /// Adds an event of the bucket being served (every event, in heap mode).
    #[inline]
    fn push_near(&mut self, entry: Entry<E>) {
        if self.heap_mode() {
            self.heap.push(entry);
        } else {
            let at = self.served.partition_point(|other| other.key > entry.key);
            self.served.insert(at, entry);
        }
    }

    #[inline]
    fn near_top(&self) -> Option<&Entry<E>> {
        if self.heap_mode() {
            self.heap.peek()
        } else {
            self.served.last()
        }
    }

    #[inline]
    fn pop_near(&mut self) -> Option<Entry<E>> {
        if self.heap_mode() {
            self.heap.pop()
        } else {
            self.served.pop()
        }
    }

    /// The bucket of an event at `time` (≥ 0).
    #[inline]
    fn bucket(&self, entry: &Entry<E>) -> u64 {
        bucket_of(entry.time() * self.buckets_per_hour)
    }

    #[inline]
    pub(super) fn push(&mut self, entry: Entry<E>) {
        let bucket = self.bucket(&entry);
        // An event for a bucket already passed (a lane event fired while the calendar had
        // moved on to its next non-empty bucket) is earlier than everything in the ring.
        if bucket <= self.current {
            self.push_near(entry);
        } else if bucket - self.current <= self.mask {
            self.buckets[(bucket & self.mask) as usize].push(entry);
            self.in_buckets += 1;
        } else {
            self.far.push(entry);
        }
    }

    /// The earliest event, left in place.
    #[inline]
    pub(super) fn peek(&mut self) -> Option<&Entry<E>> {
        if self.heap.is_empty() && self.served.is_empty() {
            self.refill();
        }
        self.near_top()
    }

    /// Removes the earliest event (after [`Self::peek`] found it).
    #[inline]
    pub(super) fn pop_top(&mut self) {
        if let Some(entry) = self.pop_near() {
            self.popped(entry.time());
        }
    }

    /// Replaces the earliest event (after [`Self::peek`] found it) by `entry`: in heap
    /// mode one sift instead of a pop and a push.
    #[inline]
    pub(super) fn replace_top(&mut self, entry: Entry<E>) {
        let popped_hours = self.near_top().map(Entry::time);
        if self.heap_mode()
            && let Some(mut top) = self.heap.peek_mut()
        {
            *top = entry;
        } else {
            self.pop_near();
            self.push(entry);
        }
        if let Some(hours) = popped_hours {
            self.popped(hours);
        }
    }

    #[inline]
    fn popped(&mut self, hours: f64) {
        self.popped_since_retune += 1;
        self.last_popped_hours = hours;
    }

    /// Serves the next non-empty bucket, bringing events from past the ring as it moves.
    fn refill(&mut self) {
        if self.heap_mode() {
            return;
        }
        while self.served.is_empty() {
            if self.in_buckets == 0 {
                // Nothing in the ring: jump straight to the earliest far event's bucket.
                let Some(top) = self.far.peek() else { return };
                self.current = self.bucket(top);
            } else {
                self.current += 1;
            }
            self.pull_far();
            let bucket = &mut self.buckets[(self.current & self.mask) as usize];
            self.in_buckets -= bucket.len();
            // The bucket's storage becomes the served list, and the empty served list's
            // storage the bucket's: no copy (unless far events just joined the list).
            if self.served.is_empty() {
                std::mem::swap(&mut self.served, bucket);
            } else {
                self.served.append(bucket);
            }
            self.served
                .sort_unstable_by_key(|entry| std::cmp::Reverse(entry.key));
        }
    }

    /// Files the far events that the ring now reaches.
    fn pull_far(&mut self) {
        let end = self.current.saturating_add(self.mask);
        while let Some(top) = self.far.peek() {
            let bucket = self.bucket(top);
            if bucket > end {
                break;
            }
            let entry = self.far.pop().expect("peeked");
            if bucket <= self.current {
                self.push_near(entry);
            } else {
                self.buckets[(bucket & self.mask) as usize].push(entry);
                self.in_buckets += 1;
            }
        }
    }

    /// Whether enough events went by to look at the layout again.
    #[inline]
    pub(super) fn due_for_retune(&self) -> bool {
        self.popped_since_retune >= RETUNE_EVERY
    }

    /// Chooses the layout for the load seen since the last look: one heap for few
    /// pending events; else buckets about [`EVENTS_PER_BUCKET`] events wide at the rate
    /// events were popped, in a ring of a quarter as many buckets as events pending. Rebuilds only
    /// when the layout is off by more than a factor of two (a rebuild costs one pass).
    /// Call when no popped event is still held at the top.
    pub(super) fn retune(&mut self) {
        let hours = self.last_popped_hours - self.hours_at_retune;
        let events = self.popped_since_retune as f64;
        self.popped_since_retune = 0;
        self.hours_at_retune = self.last_popped_hours;
        let pending = self.len();
        if pending < CALENDAR_FROM {
            if self.buckets_per_hour > 0.0 && pending < CALENDAR_FROM / 2 {
                self.rebuild(0.0, 0);
            }
            return;
        }
        // No time passed, or an event at t = ∞ was popped: the rate says nothing.
        if !(hours > 0.0 && hours.is_finite()) {
            return;
        }
        let buckets_per_hour = events / hours / EVENTS_PER_BUCKET;
        if !(buckets_per_hour > 0.0 && buckets_per_hour.is_finite()) {
            return;
        }
        let ring = (pending / PENDING_PER_BUCKET)
            .next_power_of_two()
            .clamp(MIN_BUCKETS, MAX_BUCKETS);
        let width_off = buckets_per_hour > 2.0 * self.buckets_per_hour
            || 2.0 * buckets_per_hour < self.buckets_per_hour;
        let ring_off = ring > self.buckets.len() || 4 * ring < self.buckets.len();
        if width_off || ring_off {
            self.rebuild(buckets_per_hour, ring);
        }
    }

    fn rebuild(&mut self, buckets_per_hour: f64, ring: usize) {
        let mut entries: Vec<Entry<E>> = Vec::with_capacity(self.len());
        entries.extend(self.heap.drain());
        entries.append(&mut self.served);
        entries.extend(self.far.drain());
        for bucket in &mut self.buckets {
            entries.append(bucket);
        }
        self.in_buckets = 0;
        self.buckets_per_hour = buckets_per_hour;
        self.buckets = (0..ring).map(|_| Vec::new()).collect();
        self.mask = ring.saturating_sub(1) as u64;
        // Every pending event is at or after the last one popped.
        self.current = bucket_of(self.last_popped_hours * buckets_per_hour);
        for entry in entries {
            self.push(entry);
        }
    }
}
