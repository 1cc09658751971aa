//! API clients and token layer against the simulator (`wxsim`) and a canned HTTP double
//! for endpoints the simulator does not play yet.

#[path = "api/support.rs"]
mod support;

#[path = "api/canned.rs"]
mod canned;

#[path = "api/oa.rs"]
mod oa;

#[path = "api/work.rs"]
mod work;

#[path = "api/policy.rs"]
mod policy;

#[path = "api/redaction.rs"]
mod redaction;

#[path = "api/store.rs"]
mod store;

#[path = "api/families.rs"]
mod families;
