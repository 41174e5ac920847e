//! The reconnecting client's driver: where it is (connecting, open,
//! waiting, closed), what each poll does there, and the events it reports.
//!
//! It is generic over the connection ([`Link`], which [`WebSocket`] is) and
//! takes its connect and its sleep as functions, so the unit tests
//! (`tests.rs`) run it on the host target with a scripted link and timers.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use futures_sink::Sink;

use super::Event;
use super::schedule::{Item, Next, Schedule, classify, retryable};
use crate::{ClientRequest, CloseFrame, ConnectionState, Error, Message, Result, WebSocket};

pub(super) type Pending<T> = Pin<Box<dyn Future<Output = T>>>;

/// What the driver needs of a connection: [`WebSocket`]'s public API.
pub(super) trait Link:
    Stream<Item = Result<Message>> + Sink<Message, Error = Error> + Unpin + 'static
{
    fn state(&self) -> ConnectionState;
    fn protocol(&self) -> Option<&str>;
    fn close(&mut self, frame: Option<CloseFrame>) -> impl Future<Output = Result<()>>;
}

impl Link for WebSocket {
    fn state(&self) -> ConnectionState {
        WebSocket::state(self)
    }

    fn protocol(&self) -> Option<&str> {
        WebSocket::protocol(self)
    }

    fn close(&mut self, frame: Option<CloseFrame>) -> impl Future<Output = Result<()>> {
        WebSocket::close(self, frame)
    }
}

/// Opens a connection for a request.
pub(super) type Connect<L> = Box<dyn FnMut(ClientRequest) -> Pending<Result<L>>>;

/// Waits a delay.
pub(super) type Sleep = Box<dyn FnMut(Duration) -> Pending<()>>;

pub(super) struct Driver<L> {
    request: ClientRequest,
    on_connect: Vec<Message>,
    schedule: Schedule,
    connect: Connect<L>,
    sleep: Sleep,
    phase: Phase<L>,
    /// `Connected`, reported once the subscriptions are out.
    connected: Option<Event>,
    /// The end of a connection whose subscriptions failed, reported right
    /// after its `Connected`.
    pending: Option<Event>,
}

/// Where the client is.
enum Phase<L> {
    /// Connect at the next poll.
    Connect,
    /// A connect attempt is under way.
    Connecting {
        attempt: u32,
        connect: Pending<Result<L>>,
    },
    /// Connected: sending the `on_connect` messages (`sent` of them so far),
    /// then reading.
    Open {
        link: L,
        sent: usize,
        /// The app sent `Message::Close`: the end that follows is expected.
        closing: bool,
    },
    /// Waiting for the next attempt.
    Waiting(Pending<()>),
    /// Closed by the app, or given up.
    Closed,
}

impl<L: Link> Driver<L> {
    pub(super) fn new(
        request: ClientRequest,
        on_connect: Vec<Message>,
        schedule: Schedule,
        connect: Connect<L>,
        sleep: Sleep,
    ) -> Self {
        Driver {
            request,
            on_connect,
            schedule,
            connect,
            sleep,
            phase: Phase::Connect,
            connected: None,
            pending: None,
        }
    }

    pub(super) fn request(&self) -> &ClientRequest {
        &self.request
    }

    /// See `ReconnectingWebSocket::send`.
    pub(super) async fn send(&mut self, message: Message) -> Result<()> {
        match &mut self.phase {
            Phase::Open {
                link,
                sent,
                closing,
            } if !*closing && *sent == self.on_connect.len() => {
                let close = message.is_close();
                poll_fn(|cx| Pin::new(&mut *link).poll_ready(cx)).await?;
                Pin::new(&mut *link).start_send(message)?;
                *closing = close;
                poll_fn(|cx| Pin::new(&mut *link).poll_flush(cx)).await
            }
            Phase::Open { closing: true, .. } | Phase::Closed => Err(Error::AlreadyClosed),
            Phase::Open { .. } => Err(Error::NotConnected),
            _ if message.is_close() => {
                self.close_now();
                Ok(())
            }
            _ => Err(Error::NotConnected),
        }
    }

    /// See `ReconnectingWebSocket::close`.
    pub(super) async fn close(&mut self, frame: Option<CloseFrame>) -> Result<()> {
        match std::mem::replace(&mut self.phase, Phase::Closed) {
            Phase::Open {
                mut link,
                sent,
                closing,
            } => match link.close(frame).await {
                Err(err @ Error::InvalidCloseFrame(_)) => {
                    self.phase = Phase::Open {
                        link,
                        sent,
                        closing,
                    };
                    Err(err)
                }
                result => {
                    self.close_now();
                    result
                }
            },
            Phase::Closed => Err(Error::AlreadyClosed),
            _ => {
                self.close_now();
                Ok(())
            }
        }
    }

    /// See `ReconnectingWebSocket::state`.
    pub(super) fn state(&self) -> ConnectionState {
        match &self.phase {
            Phase::Connect | Phase::Connecting { .. } | Phase::Waiting(_) => {
                ConnectionState::Connecting
            }
            Phase::Open { link, closing, .. } => match link.state() {
                ConnectionState::Closed if !*closing => ConnectionState::Connecting,
                state => state,
            },
            Phase::Closed => ConnectionState::Closed,
        }
    }

    pub(super) fn protocol(&self) -> Option<&str> {
        match &self.phase {
            Phase::Open { link, .. } => link.protocol(),
            _ => None,
        }
    }

    pub(super) fn is_terminated(&self) -> bool {
        matches!(self.phase, Phase::Closed) && self.pending.is_none()
    }

    fn close_now(&mut self) {
        self.phase = Phase::Closed;
        self.connected = None;
        self.pending = None;
    }

    /// Drops the connection, if any, and waits `delay` before the next
    /// attempt.
    fn wait(&mut self, delay: Duration) {
        self.phase = Phase::Waiting((self.sleep)(delay));
    }

    /// Drives the client to its next event; `None` once it stopped.
    pub(super) fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Event>>> {
        if let Some(event) = self.pending.take() {
            return Poll::Ready(Some(Ok(event)));
        }
        loop {
            match &mut self.phase {
                Phase::Closed => return Poll::Ready(None),
                Phase::Connect => {
                    let attempt = self.schedule.attempt();
                    let connect = (self.connect)(self.request.clone());
                    self.phase = Phase::Connecting { attempt, connect };
                }
                Phase::Connecting { attempt, connect } => {
                    let attempt = *attempt;
                    let Poll::Ready(result) = connect.as_mut().poll(cx) else {
                        return Poll::Pending;
                    };
                    match result {
                        Ok(link) => {
                            self.schedule.connected();
                            self.connected = Some(Event::Connected {
                                attempt,
                                protocol: link.protocol().map(str::to_owned),
                            });
                            self.phase = Phase::Open {
                                link,
                                sent: 0,
                                closing: false,
                            };
                        }
                        Err(error) if !retryable(&error) => {
                            self.close_now();
                            return Poll::Ready(Some(Err(error)));
                        }
                        Err(error) => match self.schedule.connect_failed() {
                            Next::Retry(retry_in) => {
                                self.wait(retry_in);
                                return Poll::Ready(Some(Ok(Event::ConnectFailed {
                                    attempt,
                                    error,
                                    retry_in,
                                })));
                            }
                            Next::GiveUp => {
                                self.close_now();
                                return Poll::Ready(Some(Err(error)));
                            }
                        },
                    }
                }
                Phase::Waiting(delay) => {
                    if delay.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    self.phase = Phase::Connect;
                }
                Phase::Open {
                    link,
                    sent,
                    closing,
                } => {
                    // The subscriptions go out before `Connected` is
                    // reported, so whatever the app sends on it follows them.
                    while let Some(message) = self.on_connect.get(*sent) {
                        let mut sink = Pin::new(&mut *link);
                        let result = match sink.as_mut().poll_ready(cx) {
                            Poll::Pending => return Poll::Pending,
                            Poll::Ready(ready) => {
                                ready.and_then(|()| sink.start_send(message.clone()))
                            }
                        };
                        if let Err(error) = result {
                            // The connection is no use: report it connected,
                            // then lost.
                            let retry_in = self.schedule.disconnected();
                            let lost = Event::Disconnected {
                                close: None,
                                error: Some(error),
                                retry_in,
                            };
                            self.wait(retry_in);
                            let event = match self.connected.take() {
                                Some(connected) => {
                                    self.pending = Some(lost);
                                    connected
                                }
                                None => lost,
                            };
                            return Poll::Ready(Some(Ok(event)));
                        }
                        *sent += 1;
                    }
                    if let Some(connected) = self.connected.take() {
                        return Poll::Ready(Some(Ok(connected)));
                    }
                    let closing = *closing;
                    let Poll::Ready(item) = Pin::new(&mut *link).poll_next(cx) else {
                        return Poll::Pending;
                    };
                    match classify(item) {
                        Item::Message(message) => {
                            return Poll::Ready(Some(Ok(Event::Message(message))));
                        }
                        Item::Ended { .. } if closing => {
                            self.close_now();
                            return Poll::Ready(None);
                        }
                        Item::Ended { close, error } => {
                            let retry_in = self.schedule.disconnected();
                            self.wait(retry_in);
                            return Poll::Ready(Some(Ok(Event::Disconnected {
                                close,
                                error,
                                retry_in,
                            })));
                        }
                    }
                }
            }
        }
    }
}
