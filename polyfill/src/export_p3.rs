//! The WASI 0.3 shape of `golem:websocket/client@1.5.0` (feature `p3`):
//! the export glue over the same [`Connection`] the WASI 0.2 build exports.
//!
//! `receive` and `receive-with-timeout` are `async func`s here. The engine's
//! socket is a `wasi:sockets@0.2` one, and under wasmtime 48 no WASI 0.3 task
//! can await its readiness without blocking the component: wasmtime runs
//! `wasi:io@0.2` `poll` as a blocking host call (`func_wrap_async`, whose
//! future holds the store) even when it is lowered `async`. So a receive that
//! finds no whole message waits in slices: it lets the app's other tasks run
//! (`task.yield`) and looks again, a few times ([`YIELDS`]), then blocks in
//! `poll` on its socket and a timer of [`WAIT_SLICE`] at most, and starts
//! over. A message that arrives is seen at once (the socket wakes the
//! `poll`); the cost is that the app's other tasks wait up to one slice while
//! a receive blocks (measured bounds in the README).
//!
//! A receive the caller cancels is dropped at a `task.yield`, never between
//! taking a message from the engine and returning it, so a cancelled receive
//! loses nothing.

use wasip2::clocks::monotonic_clock as clock_p2;
use wasip3::clocks::monotonic_clock;

use crate::connection::Connection;

pub(crate) mod bindings {
    wit_bindgen_p3::generate!({
        path: "../wit/p3",
        world: "polyfill",
        runtime_path: "wit_bindgen_p3::rt",
        generate_all,
    });
}

use bindings::exports::golem::websocket::client::{
    Error, Guest, GuestWebsocketConnection, Message, ReconstructionPolicy, WebsocketConnection,
};

/// The longest a receive blocks the component in one `poll`, in
/// nanoseconds (1 ms; wasmtime's timer ends it 1 to 2 ms after it started).
const WAIT_SLICE: u64 = 1_000_000;

/// How often a receive that found nothing lets the app's other tasks run, and
/// looks again, before it blocks. A pipelining sender gets its turns there:
/// with none, pipelined 16 B ran at 9,000 msg/s, with one at 20,000, with
/// four at 88,000 (native: 80,000 to 370,000 on the loaded machine).
const YIELDS: usize = 4;

struct Polyfill;

impl Guest for Polyfill {
    type WebsocketConnection = Connection;
}

impl GuestWebsocketConnection for Connection {
    /// The reconstruction policy is accepted and ignored: outside Golem there
    /// is no reconstruction, so `session-lost` is never returned.
    fn connect(
        url: String,
        headers: Option<Vec<(String, String)>>,
        _reconstruction_policy: Option<ReconstructionPolicy>,
    ) -> Result<WebsocketConnection, Error> {
        Connection::open(&url, &headers.unwrap_or_default()).map(WebsocketConnection::new)
    }

    fn send(&self, message: Message) -> Result<(), Error> {
        Connection::send(self, message)
    }

    async fn receive(&self) -> Result<Message, Error> {
        loop {
            if let Some(message) = look(self).await? {
                return Ok(message);
            }
            wait_for_data(self, WAIT_SLICE);
        }
    }

    async fn receive_with_timeout(&self, timeout_ms: u64) -> Result<Option<Message>, Error> {
        if timeout_ms == 0 {
            return Connection::receive_with_timeout(self, 0);
        }
        let deadline = monotonic_clock::now().saturating_add(timeout_ms.saturating_mul(1_000_000));
        loop {
            if let Some(message) = look(self).await? {
                return Ok(Some(message));
            }
            let now = monotonic_clock::now();
            if now >= deadline {
                return Ok(None);
            }
            wait_for_data(self, WAIT_SLICE.min(deadline - now));
        }
    }

    fn close(&self, code: Option<u16>, reason: Option<String>) -> Result<(), Error> {
        Connection::close(self, code, reason)
    }
}

/// Takes a whole message if one has arrived; else lets the app's other tasks
/// run (`task.yield`) and looks again, [`YIELDS`] times. Never blocks.
async fn look(connection: &Connection) -> Result<Option<Message>, Error> {
    if let Some(message) = Connection::receive_with_timeout(connection, 0)? {
        return Ok(Some(message));
    }
    for _ in 0..YIELDS {
        wit_bindgen_p3::yield_async().await;
        if let Some(message) = Connection::receive_with_timeout(connection, 0)? {
            return Ok(Some(message));
        }
    }
    Ok(None)
}

/// Blocks the component until data arrives on `connection` (or a message is
/// already buffered), or `limit` nanoseconds pass: one `wasi:io@0.2` `poll`.
fn wait_for_data(connection: &Connection, limit: u64) {
    let data = Connection::subscribe(connection);
    let timer = clock_p2::subscribe_duration(limit);
    wasip2::io::poll::poll(&[&data, &timer]);
}

bindings::export!(Polyfill with_types_in bindings);
