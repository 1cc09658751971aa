//! Integration tests of wxsim: real HTTP against a simulator on a random port.

mod callbacks;
mod directory;
mod faults;
mod helpers;
mod identity;
mod list_id;
mod messages;
mod more_apis;
mod oa;
mod pitfalls;
mod receiver;
mod routing;
mod sdk;
mod suite_identity;
mod suites;
mod tokens;
