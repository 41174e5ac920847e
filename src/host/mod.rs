//! The host shapes the state machine (`crate::machine`) runs on, one file
//! each, all behind the same seam ([`crate::machine::Connection`]), and the
//! runtime pieces the driver needs from the same place (a timeout, and a
//! sleep for the reconnecting client's delays).
//!
//! - `golem` (feature `p2`, the default): imports `golem:websocket/client@1.5.0`
//!   in its WASI 0.2 shape and waits on its pollable through the wstd reactor.
//! - `golem_p3` (feature `p3`): imports the WASI 0.3 shape of the same
//!   interface and waits on its async `receive` through wit-bindgen's runtime.
//! - `engine` (feature `engine`, which `sockets` turns on): the protocol
//!   engine inside the app, over `wasi:sockets`, on the wstd reactor.
//!
//! [`AnyConnection`] is the one a `WebSocket` holds: either kind (under
//! `sockets`, only the engine's: the component then imports no
//! `golem:websocket`).

#[cfg(all(feature = "p2", feature = "p3"))]
compile_error!(
    "features `p2` and `p3` pick the host shape: enable one (for `p3`, with `default-features = false`)"
);
#[cfg(not(any(feature = "p2", feature = "p3")))]
compile_error!("enable feature `p2` (the default) or `p3`");

/// What both golem shapes do alike over their own generated types: `send`,
/// `close`, and the host's errors as the state machine sees them (a close
/// frame with 1005, "no status code", is a close without a code, as on the
/// wire). `$host` names the generated `client` module; the arms after it are
/// the errors only that shape has.
#[cfg(not(feature = "sockets"))]
macro_rules! golem_calls {
    ($host:ident $(, $pattern:pat => $failure:expr)* $(,)?) => {
        fn send_message(
            conn: &$host::WebsocketConnection,
            message: crate::Message,
        ) -> Result<(), crate::machine::Failure> {
            let message = match message {
                crate::Message::Text(text) => $host::Message::Text(text),
                crate::Message::Binary(data) => $host::Message::Binary(data),
                crate::Message::Close(_) => {
                    unreachable!("the state machine sends close frames with close")
                }
                crate::Message::Ping(_) | crate::Message::Pong(_) => {
                    return Err(crate::machine::Failure::Error(crate::Error::Unsupported(
                        "golem:websocket carries no pings or pongs (the host answers the \
                         peer's pings itself)"
                            .into(),
                    )));
                }
            };
            conn.send(&message).map_err(failure)
        }

        fn send_close(
            conn: &$host::WebsocketConnection,
            frame: Option<&crate::CloseFrame>,
        ) -> Result<(), crate::machine::Failure> {
            let (code, reason) = match frame {
                Some(frame) => (Some(u16::from(frame.code)), Some(frame.reason.as_str())),
                None => (None, None),
            };
            conn.close(code, reason).map_err(failure)
        }

        fn failure(err: $host::Error) -> crate::machine::Failure {
            use crate::Error;
            use crate::machine::Failure;
            match err {
                $host::Error::Closed(None) => Failure::Ended,
                $host::Error::Closed(Some(info)) => Failure::Closed(
                    (info.code != u16::from(crate::CloseCode::Status))
                        .then(|| crate::CloseFrame::new(info.code, info.reason)),
                ),
                $host::Error::ConnectionFailure(m) => Failure::Error(Error::Connect(m)),
                $host::Error::SendFailure(m) => Failure::Error(Error::Send(m)),
                $host::Error::ReceiveFailure(m) => Failure::Error(Error::Receive(m)),
                $host::Error::ProtocolError(m) => Failure::Error(Error::Protocol(m)),
                $host::Error::Other(m) => Failure::Error(Error::Other(m)),
                $($pattern => $failure,)*
            }
        }
    };
}

// Under `sockets` the client connects through the engine: the component
// then does not import golem:websocket.
#[cfg(all(feature = "p2", not(feature = "sockets")))]
mod gate;
#[cfg(all(feature = "p2", not(feature = "sockets")))]
mod golem;
#[cfg(all(feature = "p2", not(feature = "sockets")))]
#[allow(missing_docs, unreachable_pub)]
mod golem_bindings;
#[cfg(feature = "p3")]
mod golem_p3;
#[cfg(feature = "p3")]
#[allow(missing_docs, unreachable_pub)]
mod golem_p3_bindings;
#[cfg(feature = "p2")]
mod reactor;
#[cfg(feature = "p2")]
mod watch;

#[cfg(all(feature = "p2", not(feature = "sockets")))]
pub(crate) use golem::HostConnection;
#[cfg(feature = "p3")]
pub(crate) use golem_p3::{HostConnection, sleep, timeout};
#[cfg(feature = "server")]
pub(crate) use reactor::yield_to_host;
#[cfg(feature = "p2")]
pub(crate) use reactor::{sleep, timeout};

#[cfg(feature = "engine")]
pub(crate) mod engine;

/// The connection a `WebSocket` runs on: the host's `golem:websocket`
/// connection, or one the engine runs in the app (feature `engine`).
pub(crate) enum AnyConnection {
    /// Not under `sockets`, whose clients connect through the engine.
    #[cfg(not(feature = "sockets"))]
    Golem(HostConnection),
    #[cfg(feature = "engine")]
    Engine(Box<engine::EngineConnection>),
}

/// Calls `$call` on whichever connection `$self` holds.
macro_rules! each {
    ($self:ident, $conn:ident => $call:expr) => {
        match $self {
            #[cfg(not(feature = "sockets"))]
            AnyConnection::Golem($conn) => $call,
            #[cfg(feature = "engine")]
            AnyConnection::Engine($conn) => $call,
        }
    };
}

impl crate::machine::Connection for AnyConnection {
    fn send(&mut self, message: crate::Message) -> Result<(), crate::machine::Failure> {
        each!(self, conn => conn.send(message))
    }

    fn close(&mut self, frame: Option<&crate::CloseFrame>) -> Result<(), crate::machine::Failure> {
        each!(self, conn => conn.close(frame))
    }

    fn poll_receive(
        &mut self,
        deadline: Option<std::time::Instant>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<crate::Message, crate::machine::Failure>> {
        each!(self, conn => conn.poll_receive(deadline, cx))
    }

    fn poll_deadline(
        &mut self,
        deadline: std::time::Instant,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        each!(self, conn => conn.poll_deadline(deadline, cx))
    }

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), crate::machine::Failure>> {
        each!(self, conn => conn.poll_ready(cx))
    }

    fn try_ready(&mut self) -> Result<bool, crate::machine::Failure> {
        each!(self, conn => conn.try_ready())
    }
}
