//! Qiao's integration tests: one binary, one module per capability.

mod harness;

mod api;
mod business_systems;
mod callbacks;
mod channels;
mod cli;
mod console;
mod domain_files;
mod e2e_callbacks;
mod foundation;
mod kill9;
mod ops;
mod replies;
mod tokens;
mod webhooks;
