//! The host shapes the state machine (`crate::machine`) runs on, one file
//! each, all behind the same seam ([`crate::machine::Connection`]), and the
//! runtime pieces the driver needs from the same place (a timeout, and a
//! sleep for the reconnecting client's delays).
//!
//! - `golem` (feature `p2`, the default): imports `golem:websocket/client@1.5.0`
//!   in its WASI 0.2 shape and waits on its pollable through the wstd reactor.
//! - `golem_p3` (feature `p3`): imports the WASI 0.3 shape of the same
//!   interface and waits on its async `receive` through wit-bindgen's runtime.
//! - `engine` (features `sockets` and `server`, which add it to `p2`): the
//!   protocol engine inside the app, over `wasi:sockets`, on the wstd reactor.
//!
//! Each connect picks its host (`WebSocket::connect_with` the golem one,
//! `WebSocket::connect_direct` the engine), and a `WebSocket` holds an
//! [`AnyConnection`]: a boxed trait object, so that the code of a host is
//! linked only into a component that calls its connect, and a component
//! whose connections are all direct does not import `golem:websocket`
//! (`wasm-component-ld` leaves out the imports its core module does not
//! call). A `match` over the kinds would call every host's methods from every
//! `WebSocket`, and so import them all.

#[cfg(all(feature = "p2", feature = "p3"))]
compile_error!(
    "features `p2` and `p3` pick the host shape: enable one (for `p3`, with `default-features = false`)"
);
#[cfg(not(any(feature = "p2", feature = "p3")))]
compile_error!("enable feature `p2` (the default) or `p3`");

/// The text of tungstenite's `ResetWithoutClosingHandshake`, which Golem's
/// host (and the test host, built the same way) reports as a
/// `protocol-error` when the connection ends without a close frame: the
/// crate reads it as that end ([`crate::Error::ConnectionReset`]).
const RESET_WITHOUT_CLOSE: &str = "Connection reset without closing handshake";

/// What both golem shapes do alike over their own generated types: `send`,
/// `close`, and the host's errors as the state machine sees them (a close
/// frame with 1005, "no status code", is a close without a code, as on the
/// wire, and the host's protocol error [`RESET_WITHOUT_CLOSE`] is an end
/// without a close frame, as `closed(none)` is). `$host` names the generated
/// `client` module; the arms after it are the errors only that shape has.
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
                // tungstenite's `ResetWithoutClosingHandshake`, which Golem's
                // host passes on as a protocol error: an end without a close
                // frame, as `Closed(None)` is.
                $host::Error::ProtocolError(m) if m == super::RESET_WITHOUT_CLOSE => Failure::Ended,
                $host::Error::ProtocolError(m) => Failure::Error(Error::Protocol(m)),
                $host::Error::Other(m) => Failure::Error(Error::Other(m)),
                $($pattern => $failure,)*
            }
        }
    };
}

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
mod hub;
#[cfg(feature = "p2")]
mod reactor;
#[cfg(feature = "p2")]
mod watch;

#[cfg(feature = "p2")]
pub(crate) use golem::HostConnection;
#[cfg(feature = "p3")]
pub(crate) use golem_p3::{HostConnection, sleep, timeout};
#[cfg(feature = "server")]
pub(crate) use hub::Ready;
#[cfg(feature = "server")]
pub(crate) use reactor::yield_to_host;
#[cfg(feature = "p2")]
pub(crate) use reactor::{sleep, timeout};

#[cfg(any(feature = "sockets", feature = "server"))]
pub(crate) mod engine;

/// The connection a `WebSocket` runs on: the host's `golem:websocket`
/// connection ([`HostConnection`]), or one the engine runs in the app
/// (`engine::EngineConnection`), behind the seam. Dynamic, not an enum: see
/// the module's docs.
pub(crate) type AnyConnection = Box<dyn crate::machine::Connection>;

/// A boxed connection is one: every call goes to the box's content.
impl<C: crate::machine::Connection + ?Sized> crate::machine::Connection for Box<C> {
    fn send(&mut self, message: crate::Message) -> Result<(), crate::machine::Failure> {
        (**self).send(message)
    }

    fn close(&mut self, frame: Option<&crate::CloseFrame>) -> Result<(), crate::machine::Failure> {
        (**self).close(frame)
    }

    fn poll_receive(
        &mut self,
        deadline: Option<std::time::Instant>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<crate::Message, crate::machine::Failure>> {
        (**self).poll_receive(deadline, cx)
    }

    fn poll_deadline(
        &mut self,
        deadline: std::time::Instant,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        (**self).poll_deadline(deadline, cx)
    }

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), crate::machine::Failure>> {
        (**self).poll_ready(cx)
    }

    fn poll_flush(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), crate::machine::Failure>> {
        (**self).poll_flush(cx)
    }

    fn try_ready(&mut self) -> Result<bool, crate::machine::Failure> {
        (**self).try_ready()
    }
}

#[cfg(all(test, feature = "p2"))]
mod tests {
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};
    use std::time::Duration;

    use crate::{ClientRequest, Error, WebSocket};

    /// `connect_with` is the `golem:websocket` connect whatever else is
    /// enabled (`sockets` and `server` only add): a request with a keepalive
    /// is refused there, before any host call, as only that host does.
    #[test]
    fn connect_with_is_the_golem_connect_under_every_feature() {
        let request = ClientRequest::new("ws://127.0.0.1:9/")
            .keepalive(Duration::from_secs(1), Duration::from_secs(1));
        let connect = pin!(WebSocket::connect_with(request));
        match connect.poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(Err(Error::Unsupported(message))) => {
                assert!(message.contains("golem:websocket"), "{message}");
            }
            other => panic!(
                "expected golem:websocket's refusal of a keepalive, got {:?}",
                other.map(|result| result.map(|_| "a connection"))
            ),
        }
    }
}
