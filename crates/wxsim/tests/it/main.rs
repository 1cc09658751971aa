//! Integration tests of wxsim: real HTTP against a simulator on a random port.

mod directory;
mod faults;
mod helpers;
mod messages;
mod oa;
mod routing;
mod tokens;
