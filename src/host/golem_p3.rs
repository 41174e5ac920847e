//! `golem:websocket/client@1.5.0` in its WASI 0.3 shape (golem-rust 3.x),
//! on wit-bindgen's async runtime: `receive` is an async host call, and
//! timers come from `wasi:clocks@0.3.0`.
//!
//! A connection keeps at most one `receive` in flight and owns it, so that a
//! receive the app gives up on (a timeout, a `select` whose other branch won)
//! stays in flight for the next one. Dropping an async host call that had
//! already returned would throw its message away.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::golem_p3_bindings::golem::websocket::client::{self as host, WebsocketConnection};
use crate::machine::{Connection, Failure};
use crate::request::MAX_TIMEOUT;
use crate::{CloseFrame, Error, Message, ReconstructionPolicy, Result};

type Pending<T> = Pin<Box<dyn Future<Output = T>>>;

/// A connection to the host, with its receive in flight and its deadline
/// timer.
pub(crate) struct HostConnection {
    receiving: Option<Pending<Result<host::Message, host::Error>>>,
    timer: Option<(Instant, Pending<()>)>,
    conn: Rc<WebsocketConnection>,
}

impl HostConnection {
    /// Opens a connection: one blocking host call.
    pub(crate) fn connect(
        url: &str,
        headers: Option<&[(String, String)]>,
        policy: Option<ReconstructionPolicy>,
    ) -> Result<Self> {
        let policy = policy.map(|policy| match policy {
            ReconstructionPolicy::ReconnectAutomatically => {
                host::ReconstructionPolicy::ReconnectAutomatically
            }
            ReconstructionPolicy::ReportConnectionLoss => {
                host::ReconstructionPolicy::ReportConnectionLoss
            }
        });
        let conn = WebsocketConnection::connect(url, headers, policy)
            .map_err(|err| Error::from(failure(err)))?;
        Ok(HostConnection {
            receiving: None,
            timer: None,
            conn: Rc::new(conn),
        })
    }
}

impl Connection for HostConnection {
    fn send(&mut self, message: Message) -> Result<(), Failure> {
        send_message(&self.conn, message)
    }

    fn close(&mut self, frame: Option<&CloseFrame>) -> Result<(), Failure> {
        send_close(&self.conn, frame)
    }

    fn poll_receive(
        &mut self,
        deadline: Option<Instant>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Message, Failure>> {
        let receiving = self.receiving.get_or_insert_with(|| {
            let conn = self.conn.clone();
            Box::pin(async move { conn.receive().await })
        });
        if let Poll::Ready(result) = receiving.as_mut().poll(cx) {
            self.receiving = None;
            return Poll::Ready(match result {
                Ok(host::Message::Text(text)) => Ok(Message::Text(text)),
                Ok(host::Message::Binary(data)) => Ok(Message::Binary(data)),
                Err(err) => Err(failure(err)),
            });
        }
        if let Some(deadline) = deadline {
            // The state machine sees the deadline pass when it looks again.
            let _ = self.poll_deadline(deadline, cx);
        }
        Poll::Pending
    }

    fn poll_deadline(&mut self, deadline: Instant, cx: &mut Context<'_>) -> Poll<()> {
        if !matches!(&self.timer, Some((at, _)) if *at == deadline) {
            let left = deadline.saturating_duration_since(Instant::now());
            self.timer = Some((deadline, Box::pin(sleep(left))));
        }
        let (_, timer) = self.timer.as_mut().expect("set above");
        let poll = timer.as_mut().poll(cx);
        if poll.is_ready() {
            self.timer = None;
        }
        poll
    }
}

golem_calls!(host,
    host::Error::SessionLost => Failure::Error(Error::SessionLost));

/// Waits `duration` on `wasi:clocks@0.3.0` (a year at most).
pub(crate) async fn sleep(duration: Duration) {
    let nanos = u64::try_from(duration.min(MAX_TIMEOUT).as_nanos()).unwrap_or(u64::MAX);
    wasip3::clocks::monotonic_clock::wait_for(nanos).await;
}

/// Runs `future` for at most `limit` (a year at most); `None` on expiry.
pub(crate) async fn timeout<F: Future>(limit: Duration, future: F) -> Option<F::Output> {
    futures_lite::future::or(async { Some(future.await) }, async {
        sleep(limit).await;
        None
    })
    .await
}
