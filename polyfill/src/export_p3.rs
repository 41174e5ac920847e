//! The WASI 0.3 shape of `golem:websocket/client@1.5.0` (feature `p3`):
//! the export glue over the same [`Connection`] the WASI 0.2 build exports.
//!
//! `receive` and `receive-with-timeout` are `async func`s here. The engine
//! waits on `wasi:io@0.2` pollables, which a WASI 0.3 task cannot await
//! without blocking the whole component, so an async receive never lets the
//! engine wait: it takes what has arrived with the engine's non-blocking
//! receive (`receive-with-timeout(0)`), and when that is not a whole message
//! it sleeps on `wasi:clocks@0.3.0` (1 ms, doubling to 16 ms) and looks
//! again. Other tasks of the app run while it sleeps. The cost is latency: a
//! message that arrives while a receive sleeps waits for the end of the
//! pause (at most 16 ms). The proper fix is a `wasi:sockets@0.3` engine whose
//! reads are streams a task can await.
//!
//! A receive the caller cancels is dropped at a pause, never between taking a
//! message from the engine and returning it, so a cancelled receive loses
//! nothing.

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

/// The first pause of a receive that found nothing, in nanoseconds (1 ms).
const FIRST_PAUSE: u64 = 1_000_000;

/// The longest pause (16 ms): the most a message waits for a sleeping receive.
const LONGEST_PAUSE: u64 = 16_000_000;

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
        let mut pause = FIRST_PAUSE;
        loop {
            if let Some(message) = Connection::receive_with_timeout(self, 0)? {
                return Ok(message);
            }
            monotonic_clock::wait_for(pause).await;
            pause = next_pause(pause);
        }
    }

    async fn receive_with_timeout(&self, timeout_ms: u64) -> Result<Option<Message>, Error> {
        let deadline = monotonic_clock::now().saturating_add(timeout_ms.saturating_mul(1_000_000));
        let mut pause = FIRST_PAUSE;
        loop {
            if let Some(message) = Connection::receive_with_timeout(self, 0)? {
                return Ok(Some(message));
            }
            let now = monotonic_clock::now();
            if now >= deadline {
                return Ok(None);
            }
            monotonic_clock::wait_for(pause.min(deadline - now)).await;
            pause = next_pause(pause);
        }
    }

    fn close(&self, code: Option<u16>, reason: Option<String>) -> Result<(), Error> {
        Connection::close(self, code, reason)
    }
}

/// The pause after `pause`: twice as long, at most [`LONGEST_PAUSE`].
fn next_pause(pause: u64) -> u64 {
    pause.saturating_mul(2).min(LONGEST_PAUSE)
}

bindings::export!(Polyfill with_types_in bindings);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_up_to_the_longest() {
        let mut pause = FIRST_PAUSE;
        let mut seen = vec![pause];
        for _ in 0..6 {
            pause = next_pause(pause);
            seen.push(pause);
        }
        let ms: Vec<u64> = seen.iter().map(|p| p / 1_000_000).collect();
        assert_eq!(ms, [1, 2, 4, 8, 16, 16, 16]);
    }
}
