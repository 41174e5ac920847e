//! The host shapes the state machine (`crate::machine`) runs on, one file
//! each, all behind the same seam ([`crate::machine::Connection`]), and the
//! runtime pieces the driver needs from the same place (a timeout).
//!
//! - `golem` (default): imports `golem:websocket/client@1.5.0` in its WASI
//!   0.2 shape and waits on its pollable through the wstd reactor.

mod golem;
#[allow(missing_docs, unreachable_pub)]
mod golem_bindings;

pub(crate) use golem::{HostConnection, timeout};
