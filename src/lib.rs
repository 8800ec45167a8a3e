//! capsim: a discrete-event Monte Carlo simulator of GPU capacity economics.
//!
//! The same demand is offered to a centralized cloud and to a distributed GPU network,
//! replication by replication, and the results are written as Parquet tables. Modules
//! in reading order: a [`scenario`] is loaded and checked; the [`engine`] runs a
//! [`model`] of each system on job streams drawn from [`dist`]ributions at the rates of
//! [`arrivals`] profiles; [`montecarlo`]
//! repeats that over seeded replications in parallel; [`metrics`] summarises;
//! [`finance`] holds the investment arithmetic (NPV, IRR, payback, book value);
//! [`results`] holds them as plain records per replication (what shards merge);
//! [`output`] writes the tables; [`theory`] and [`verify`] hold the closed forms the
//! engine is checked against; [`robustness`] holds the properties every input must
//! keep (fuzzed); [`cli`] is the command line.
#![warn(missing_docs)]

pub mod arrivals;
pub mod cli;
pub mod compare;
pub mod dist;
pub mod engine;
pub mod finance;
pub mod metrics;
pub mod model;
pub mod montecarlo;
pub mod output;
pub mod report;
pub mod results;
pub mod robustness;
pub mod scenario;
pub mod sweep;
pub mod theory;
pub mod verify;
