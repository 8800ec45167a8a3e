//! capsim: a discrete-event Monte Carlo simulator of GPU capacity economics.
//!
//! The same demand is offered to a centralized cloud and to a distributed GPU network,
//! replication by replication, and the results are written as Parquet tables.
//!
//! Modules form layers; a module imports only from layers below it (checked by
//! `tests/it/layers.rs`):
//! 1. foundations: [`units`] (hours and the calendar), [`seeds`] (named random
//!    streams), [`dist`]ributions, [`arrivals`] profiles, the [`engine`], queueing
//!    [`theory`];
//! 2. [`scenario`]: the file read, checked and resolved;
//! 3. [`model`]: the systems and the demand offered to them;
//! 4. [`finance`] (statements and returns) and [`metrics`] (rows and summaries);
//! 5. [`results`], [`montecarlo`], [`sweep`], [`compare`], [`verify`]: replications and
//!    what is derived from them;
//! 6. [`output`] (Parquet) and [`report`] (HTML);
//! 7. [`cli`], the command line.
#![warn(missing_docs)]

// 1. Foundations.
pub mod arrivals;
pub mod dist;
pub mod engine;
pub mod seeds;
pub mod theory;
pub mod units;
// 2.
pub mod scenario;
// 3.
pub mod model;
// 4.
pub mod finance;
pub mod metrics;
// 5.
pub mod compare;
pub mod montecarlo;
pub mod results;
pub mod sweep;
pub mod verify;
// 6.
pub mod output;
pub mod report;
// 7.
pub mod cli;
