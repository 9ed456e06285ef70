//! Tally: an event-sourced ledger for loyalty cards, bonuses, coupons and the vendor dialects that speak to them.
//!
//! The core (`app`, `auth`, `billing`, `commands`, `domain`, `jobs`, `queries`, `scans`, `store`) has no HTTP; the
//! `http` adapters and the `server` sit on top of it, and `kafka` publishes and consumes the ledger.

pub mod app;
pub mod auth;
pub mod bench;
pub mod billing;
pub mod commands;
mod demo;
pub mod domain;
pub mod http;
pub mod jobs;
pub mod kafka;
pub mod queries;
pub mod scans;
pub mod server;
pub mod store;
pub mod subscriber;
