//! Qiao's integration tests: one binary, one module per capability.

mod harness;

mod api;
mod channels;
mod cli;
mod console;
mod foundation;
mod ops;
mod replies;
