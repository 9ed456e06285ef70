//! Tally: an event-sourced ledger for loyalty cards, bonuses, coupons and the vendor dialects that speak to them.
//!
//! The core (`app`, `auth`, `billing`, `commands`, `domain`, `jobs`, `queries`, `scans`, `store`, `vending`) has no
//! HTTP server in it; the `http` adapters and the `server` sit on top of it, `kafka` publishes and consumes the
//! ledger, `outbound` calls the systems outside Tally (the vending platform, the payment gateway), and `simulator`
//! stands in for the vending platform in the demo, the tests and the benchmark.

pub mod admin;
pub mod app;
pub mod auth;
pub mod bench;
pub mod billing;
pub mod catalogue;
pub mod commands;
pub mod contacts;
mod demo;
pub mod domain;
pub mod erasure;
pub mod http;
pub mod jobs;
pub mod kafka;
pub mod leads;
pub mod loyalty;
pub mod notifications;
pub mod outbound;
pub mod queries;
pub mod scans;
pub mod server;
pub mod simulator;
pub mod store;
pub mod subscriber;
pub mod vault;
pub mod vending;
