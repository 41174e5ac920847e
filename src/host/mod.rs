//! The host shapes the state machine (`crate::machine`) runs on, one file
//! each, all behind the same seam ([`crate::machine::Connection`]), and the
//! runtime pieces the driver needs from the same place (a timeout, and a
//! sleep for the reconnecting client's delays).
//!
//! - `golem` (feature `p2`, the default): imports `golem:websocket/client@1.5.0`
//!   in its WASI 0.2 shape and waits on its pollable through the wstd reactor.
//! - `golem_p3` (feature `p3`): imports the WASI 0.3 shape of the same
//!   interface and waits on its async `receive` through wit-bindgen's runtime.

#[cfg(all(feature = "p2", feature = "p3"))]
compile_error!(
    "features `p2` and `p3` pick the host shape: enable one (for `p3`, with `default-features = false`)"
);
#[cfg(not(any(feature = "p2", feature = "p3")))]
compile_error!("enable feature `p2` (the default) or `p3`");

#[cfg(feature = "p2")]
mod gate;
#[cfg(feature = "p2")]
mod golem;
#[cfg(feature = "p2")]
#[allow(missing_docs, unreachable_pub)]
mod golem_bindings;
#[cfg(feature = "p3")]
mod golem_p3;
#[cfg(feature = "p3")]
#[allow(missing_docs, unreachable_pub)]
mod golem_p3_bindings;

#[cfg(feature = "p2")]
pub(crate) use golem::{HostConnection, sleep, timeout};
#[cfg(feature = "p3")]
pub(crate) use golem_p3::{HostConnection, sleep, timeout};
