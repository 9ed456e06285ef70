//! Tally: an event-sourced ledger for loyalty cards, bonuses and the vendor dialects that speak to them.

pub mod bench;
pub mod commands;
pub mod domain;
pub mod http;
pub mod kafka;
pub mod queries;
pub mod scans;
pub mod server;
pub mod store;
pub mod subscriber;
