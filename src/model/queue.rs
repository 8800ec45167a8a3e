//! The waiting line: three priority tiers, first-fit within each, in arrival order.
//!
//! Entries are kept in one FIFO per (tier, GPUs per job), each stamped with a sequence
//! number (arrival order; jobs put back at the front after a failure get numbers below
//! every other). "The earliest waiting job that fits in `free` GPUs" is then the entry
//! with the lowest number among the heads of the FIFOs for sizes ≤ `free`: a few
//! comparisons instead of a walk past every large job starving at the front, which
//! made first-fit quadratic in overload.
//!
//! Entries are removed lazily: a job that starts or gives up leaves a stale entry that
//! the caller recognises (its epoch moved on) and that is dropped when met or compacted.

use std::collections::VecDeque;

/// A queue entry: a job slot and the epoch at which it joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// Arrival order (lower first).
    pub seq: i64,
    /// Job slot.
    pub slot: u32,
    /// The slot's epoch when the job joined the queue.
    pub epoch: u32,
}

/// Waiting jobs by tier (0 = reserved, served first; 1 = on-demand; 2 = spot, served
/// last) and size.
///
/// Each tier's FIFOs sit in a vector sorted by job size: jobs come in a handful of
/// sizes, so a short scan beats a tree (a `BTreeMap` here cost ~40 instructions per
/// completion on M/M/64 with nothing waiting).
#[derive(Debug, Default)]
pub struct WaitQueue {
    tiers: [Vec<(u32, VecDeque<Entry>)>; 3],
    next_back: i64,
    next_front: i64,
    entries: usize,
    stale: usize,
}

impl WaitQueue {
    /// Adds a job at the back of its tier, or at the front (a job put back after a failure).
    pub fn push(&mut self, tier: usize, gpus: u32, slot: u32, epoch: u32, front: bool) {
        let seq = if front {
            self.next_front -= 1;
            self.next_front
        } else {
            self.next_back += 1;
            self.next_back
        };
        // A front entry's number is below every other, so each FIFO stays sorted by seq.
        let sizes = &mut self.tiers[tier];
        let at = match sizes.binary_search_by_key(&gpus, |(size, _)| *size) {
            Ok(at) => at,
            Err(at) => {
                sizes.insert(at, (gpus, VecDeque::new()));
                at
            }
        };
        let fifo = &mut sizes[at].1;
        if front {
            fifo.push_front(Entry { seq, slot, epoch });
        } else {
            fifo.push_back(Entry { seq, slot, epoch });
        }
        self.entries += 1;
    }

    /// Notes that one entry went stale (its job started or gave up).
    pub fn went_stale(&mut self) {
        self.stale += 1;
    }

    /// The earliest live entry, in tier order, for a job of at most `free` GPUs that
    /// `accept` takes. Stale entries met at the head of a FIFO are dropped.
    #[inline]
    pub fn first_fit(
        &mut self,
        free: u32,
        live: impl Fn(Entry) -> bool,
        accept: impl Fn(Entry) -> bool,
    ) -> Option<Entry> {
        // Checked where it is called: most completions find nothing waiting.
        if self.entries == 0 {
            return None;
        }
        self.first_fit_waiting(free, live, accept)
    }

    #[inline(never)]
    fn first_fit_waiting(
        &mut self,
        free: u32,
        live: impl Fn(Entry) -> bool,
        accept: impl Fn(Entry) -> bool,
    ) -> Option<Entry> {
        for tier in 0..self.tiers.len() {
            let mut best: Option<Entry> = None;
            let fitting = self.tiers[tier]
                .iter_mut()
                .take_while(|(size, _)| *size <= free);
            for fifo in fitting.map(|(_, fifo)| fifo) {
                while let Some(&head) = fifo.front() {
                    if live(head) {
                        break;
                    }
                    fifo.pop_front();
                    self.entries -= 1;
                    self.stale = self.stale.saturating_sub(1);
                }
                for &entry in fifo.iter() {
                    if best.is_some_and(|b| b.seq < entry.seq) {
                        break;
                    }
                    if live(entry) && accept(entry) {
                        best = Some(entry);
                        break;
                    }
                }
            }
            if best.is_some() {
                return best;
            }
        }
        None
    }

    /// Every live entry in service order: tier, then arrival.
    pub fn in_order(&self, live: impl Fn(Entry) -> bool) -> Vec<Entry> {
        let mut ordered = Vec::new();
        for tier in &self.tiers {
            let mut entries: Vec<Entry> = tier
                .iter()
                .flat_map(|(_, fifo)| fifo)
                .copied()
                .filter(|&e| live(e))
                .collect();
            entries.sort_by_key(|e| e.seq);
            ordered.extend(entries);
        }
        ordered
    }

    /// Drops stale entries once they are the majority, so scans stay short.
    #[inline]
    pub fn compact(&mut self, live: impl Fn(Entry) -> bool) {
        if self.stale > 64 && self.stale * 2 > self.entries {
            self.compact_now(live);
        }
    }

    #[inline(never)]
    fn compact_now(&mut self, live: impl Fn(Entry) -> bool) {
        for tier in &mut self.tiers {
            for (_, fifo) in tier.iter_mut() {
                fifo.retain(|&entry| live(entry));
            }
            tier.retain(|(_, fifo)| !fifo.is_empty());
        }
        self.entries = self
            .tiers
            .iter()
            .flat_map(|tier| tier.iter())
            .map(|(_, fifo)| fifo.len())
            .sum();
        self.stale = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// First-fit in arrival order: the earliest job that fits, whatever its size; a job
    /// put back at the front goes first; the reserved tier goes before on-demand.
    #[test]
    fn serves_the_earliest_job_that_fits() {
        let mut queue = WaitQueue::default();
        queue.push(1, 8, 0, 0, false);
        queue.push(1, 2, 1, 0, false);
        queue.push(1, 1, 2, 0, false);
        let all = |_: Entry| true;
        assert_eq!(queue.first_fit(4, all, all).map(|e| e.slot), Some(1));
        assert_eq!(queue.first_fit(8, all, all).map(|e| e.slot), Some(0));
        assert_eq!(queue.first_fit(1, all, all).map(|e| e.slot), Some(2));
        queue.push(1, 2, 3, 0, true);
        assert_eq!(queue.first_fit(4, all, all).map(|e| e.slot), Some(3));
        queue.push(0, 4, 4, 0, false);
        assert_eq!(queue.first_fit(4, all, all).map(|e| e.slot), Some(4));
        // Slot 1 is stale and slot 3 not accepted: the next in order is slot 2.
        let live = |e: Entry| e.slot != 1;
        assert_eq!(
            queue.first_fit(2, live, |e| e.slot != 3).map(|e| e.slot),
            Some(2)
        );
        assert_eq!(
            queue
                .in_order(live)
                .iter()
                .map(|e| e.slot)
                .collect::<Vec<_>>(),
            vec![4, 3, 0, 2]
        );
    }
}
