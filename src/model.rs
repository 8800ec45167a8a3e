//! The systems being compared and the demand offered to them.
//!
//! Both the centralized cloud and the distributed network are a [`system::SystemModel`]:
//! sites with GPUs, a queue, prices, and supply events. What differs is the scenario's
//! description of each (data centers with procurement and lead times; operators with
//! failures, entry, exit and reinvestment, and a protocol take rate). The same job
//! stream ([`demand::JobSource`]) is offered to every system, which is what pairs them.
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro)]

pub mod decisions;
pub mod demand;
pub mod outcome;
pub mod placement;
pub mod queue;
pub mod site;
pub mod system;

pub use crate::scenario::{SystemKind, SystemName};
