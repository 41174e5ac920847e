//! The driver on the host target, over scripted connections and timers:
//! the order of events, the subscriptions on every connect, no reconnect
//! after the app's close (also while waiting, also by `Message::Close`),
//! giving up, and state and protocol in each phase.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures_core::Stream;
use futures_sink::Sink;

use super::driver::{Driver, Link, Pending};
use super::schedule::Schedule;
use super::{Event, ReconnectConfig};
use crate::{ClientRequest, CloseCode, CloseFrame, ConnectionState, Error, Message, Result};

/// The script of a test and what the driver did.
#[derive(Default)]
struct World {
    /// The outcomes of the next connect attempts.
    connects: VecDeque<Result<Script>>,
    /// The connections made, by number (from 1).
    links: Vec<Script>,
    /// What happened, in order: `connect`, `send N text`, `sleep MS`, `close N`.
    log: Vec<String>,
    /// Sleeps never end (otherwise they end at once).
    sleeps_pend: bool,
}

/// One scripted connection.
#[derive(Default)]
struct Script {
    protocol: Option<&'static str>,
    /// What the stream yields next; `None` ends it. Empty: pending.
    items: VecDeque<Option<Result<Message>>>,
    fail_sends: bool,
    state: Option<ConnectionState>,
}

impl Script {
    fn yielding(items: impl IntoIterator<Item = Option<Result<Message>>>) -> Script {
        Script {
            protocol: Some("feed.v1"),
            items: items.into_iter().collect(),
            ..Script::default()
        }
    }
}

type Shared = Rc<RefCell<World>>;

struct FakeLink {
    n: usize,
    world: Shared,
}

impl FakeLink {
    fn with<R>(&self, f: impl FnOnce(&mut Script, &mut Vec<String>) -> R) -> R {
        let mut world = self.world.borrow_mut();
        let World { links, log, .. } = &mut *world;
        f(&mut links[self.n - 1], log)
    }
}

impl Stream for FakeLink {
    type Item = Result<Message>;

    fn poll_next(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.with(|script, _| match script.items.pop_front() {
            None => Poll::Pending,
            Some(item) => {
                if !matches!(item, Some(Ok(Message::Text(_) | Message::Binary(_)))) {
                    script.state = Some(ConnectionState::Closed);
                }
                Poll::Ready(item)
            }
        })
    }
}

impl Sink<Message> for FakeLink {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<()> {
        let n = self.n;
        self.with(|script, log| {
            if script.fail_sends {
                return Err(Error::Send("broken pipe".into()));
            }
            if message.is_close() {
                script.state = Some(ConnectionState::Closing);
            }
            log.push(format!(
                "send {n} {}",
                message.into_text().unwrap_or_default()
            ));
            Ok(())
        })
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl Link for FakeLink {
    fn state(&self) -> ConnectionState {
        self.with(|script, _| script.state.unwrap_or(ConnectionState::Open))
    }

    fn protocol(&self) -> Option<&str> {
        self.with(|script, _| script.protocol)
    }

    fn close(&mut self, frame: Option<CloseFrame>) -> impl Future<Output = Result<()>> {
        let n = self.n;
        self.with(|script, log| {
            script.state = Some(ConnectionState::Closed);
            log.push(format!("close {n} {frame:?}"));
        });
        std::future::ready(Ok(()))
    }
}

/// A driver over `world`, with delays in ms, no jitter.
fn driver(
    world: &Shared,
    delays: &[u64],
    max: Option<u32>,
    on_connect: &[&str],
) -> Driver<FakeLink> {
    let delays: Vec<Duration> = delays.iter().map(|&ms| Duration::from_millis(ms)).collect();
    let w = world.clone();
    let connect = Box::new(
        move |_request: ClientRequest| -> Pending<Result<FakeLink>> {
            let mut world = w.borrow_mut();
            world.log.push("connect".into());
            let outcome = world.connects.pop_front().expect("a scripted connect");
            let link = outcome.map(|script| {
                world.links.push(script);
                FakeLink {
                    n: world.links.len(),
                    world: w.clone(),
                }
            });
            Box::pin(std::future::ready(link))
        },
    );
    let w = world.clone();
    let sleep = Box::new(move |delay: Duration| -> Pending<()> {
        let mut world = w.borrow_mut();
        world.log.push(format!("sleep {}", delay.as_millis()));
        if world.sleeps_pend {
            Box::pin(std::future::pending())
        } else {
            Box::pin(std::future::ready(()))
        }
    });
    Driver::new(
        ClientRequest::new("ws://127.0.0.1:9001/feed"),
        on_connect.iter().map(|text| Message::text(*text)).collect(),
        Schedule::new(&delays, max, 0.0, 1),
        connect,
        sleep,
    )
}

fn world(connects: impl IntoIterator<Item = Result<Script>>) -> Shared {
    Rc::new(RefCell::new(World {
        connects: connects.into_iter().collect(),
        ..World::default()
    }))
}

fn next(driver: &mut Driver<FakeLink>) -> Poll<Option<Result<Event>>> {
    driver.poll_event(&mut Context::from_waker(Waker::noop()))
}

fn event(driver: &mut Driver<FakeLink>) -> Event {
    match next(driver) {
        Poll::Ready(Some(Ok(event))) => event,
        other => panic!("expected an event, got {other:?}"),
    }
}

/// Runs a future that never waits.
fn now<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the future waited"),
    }
}

fn log(world: &Shared) -> Vec<String> {
    std::mem::take(&mut world.borrow_mut().log)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn text(t: &str) -> Option<Result<Message>> {
    Some(Ok(Message::text(t)))
}

#[test]
fn every_connect_sends_the_subscriptions_before_it_is_reported() {
    let w = world([
        Ok(Script::yielding([
            text("a"),
            Some(Err(Error::ConnectionReset)),
        ])),
        Ok(Script::yielding([text("b")])),
    ]);
    let mut d = driver(&w, &[200], None, &["sub:1", "sub:2"]);
    assert_eq!(d.state(), ConnectionState::Connecting);
    assert_eq!(
        event(&mut d),
        Event::Connected {
            attempt: 1,
            protocol: Some("feed.v1".into())
        }
    );
    assert_eq!(log(&w), ["connect", "send 1 sub:1", "send 1 sub:2"]);
    assert_eq!(event(&mut d), Event::Message(Message::text("a")));
    assert_eq!(
        event(&mut d),
        Event::Disconnected {
            close: None,
            error: Some(Error::ConnectionReset),
            retry_in: ms(200)
        }
    );
    assert_eq!(d.state(), ConnectionState::Connecting);
    assert_eq!(d.protocol(), None);
    assert!(matches!(event(&mut d), Event::Connected { attempt: 1, .. }));
    assert_eq!(
        log(&w),
        ["sleep 200", "connect", "send 2 sub:1", "send 2 sub:2"]
    );
    assert_eq!(event(&mut d), Event::Message(Message::text("b")));
    assert!(next(&mut d).is_pending());
}

#[test]
fn a_peer_close_is_reported_with_its_frame_and_reconnected() {
    let away = CloseFrame::new(CloseCode::Away, "restarting");
    let w = world([
        Ok(Script::yielding([Some(Ok(Message::Close(Some(
            away.clone(),
        ))))])),
        Ok(Script::yielding([])),
    ]);
    let mut d = driver(&w, &[100], None, &[]);
    event(&mut d);
    assert_eq!(
        event(&mut d),
        Event::Disconnected {
            close: Some(away),
            error: None,
            retry_in: ms(100)
        }
    );
    assert!(matches!(event(&mut d), Event::Connected { .. }));
}

#[test]
fn the_apps_close_while_waiting_ends_it_for_good() {
    let w = world([Ok(Script::yielding([None]))]);
    w.borrow_mut().sleeps_pend = true;
    let mut d = driver(&w, &[300], None, &[]);
    event(&mut d);
    assert!(matches!(event(&mut d), Event::Disconnected { .. }));
    assert!(next(&mut d).is_pending(), "waiting");
    assert_eq!(
        now(d.send(Message::text("x"))),
        Err(Error::NotConnected),
        "nothing is sent or queued while disconnected"
    );
    assert_eq!(now(d.close(None)), Ok(()));
    assert_eq!(d.state(), ConnectionState::Closed);
    assert!(matches!(next(&mut d), Poll::Ready(None)));
    assert!(d.is_terminated());
    assert_eq!(
        log(&w),
        ["connect", "sleep 300"],
        "no connect after the close"
    );
    assert_eq!(now(d.close(None)), Err(Error::AlreadyClosed));
}

#[test]
fn the_apps_close_while_open_closes_the_connection_and_ends() {
    let w = world([Ok(Script::yielding([]))]);
    let mut d = driver(&w, &[300], None, &[]);
    event(&mut d);
    let frame = CloseFrame::new(CloseCode::Normal, "done");
    assert_eq!(now(d.close(Some(frame.clone()))), Ok(()));
    assert!(matches!(next(&mut d), Poll::Ready(None)));
    assert_eq!(
        log(&w),
        ["connect".to_owned(), format!("close 1 {:?}", Some(frame))]
    );
}

#[test]
fn a_close_message_the_app_sent_is_not_a_disconnect() {
    let w = world([Ok(Script::yielding([]))]);
    let mut d = driver(&w, &[300], None, &[]);
    event(&mut d);
    assert_eq!(now(d.send(Message::Close(None))), Ok(()));
    assert_eq!(d.state(), ConnectionState::Closing);
    assert_eq!(
        now(d.send(Message::text("late"))),
        Err(Error::AlreadyClosed)
    );
    // The peer answers; data it sent before still arrives.
    w.borrow_mut().links[0].items.extend([
        text("last"),
        Some(Ok(Message::Close(Some(CloseFrame::new(
            CloseCode::Normal,
            "",
        ))))),
    ]);
    assert_eq!(event(&mut d), Event::Message(Message::text("last")));
    assert!(matches!(next(&mut d), Poll::Ready(None)));
    assert_eq!(d.state(), ConnectionState::Closed);
    assert_eq!(log(&w), ["connect", "send 1 "], "no reconnect");
}

#[test]
fn subscriptions_that_fail_report_the_connect_then_the_loss() {
    let broken = Script {
        fail_sends: true,
        ..Script::yielding([])
    };
    let w = world([Ok(broken), Ok(Script::yielding([]))]);
    let mut d = driver(&w, &[100, 200], None, &["sub"]);
    assert!(matches!(event(&mut d), Event::Connected { attempt: 1, .. }));
    assert_eq!(
        event(&mut d),
        Event::Disconnected {
            close: None,
            error: Some(Error::Send("broken pipe".into())),
            retry_in: ms(100)
        }
    );
    assert!(matches!(event(&mut d), Event::Connected { attempt: 1, .. }));
    assert_eq!(log(&w), ["connect", "sleep 100", "connect", "send 2 sub"]);
}

#[test]
fn the_bound_ends_with_the_last_error_then_the_stream_ends() {
    let refused = |n: u8| Err(Error::Connect(format!("refused {n}")));
    let w = world([refused(1), refused(2), refused(3)]);
    let mut d = driver(&w, &[100, 200], Some(3), &["sub"]);
    assert_eq!(
        event(&mut d),
        Event::ConnectFailed {
            attempt: 1,
            error: Error::Connect("refused 1".into()),
            retry_in: ms(100)
        }
    );
    assert_eq!(d.state(), ConnectionState::Connecting);
    assert!(matches!(
        event(&mut d),
        Event::ConnectFailed {
            attempt: 2,
            retry_in,
            ..
        } if retry_in == ms(200)
    ));
    assert!(matches!(
        next(&mut d),
        Poll::Ready(Some(Err(Error::Connect(m)))) if m == "refused 3"
    ));
    assert_eq!(d.state(), ConnectionState::Closed);
    assert!(matches!(next(&mut d), Poll::Ready(None)));
    assert_eq!(
        log(&w),
        ["connect", "sleep 100", "connect", "sleep 200", "connect"]
    );
}

#[test]
fn a_wrong_request_is_not_retried() {
    let w = world([Err(Error::InvalidUrl("no host".into()))]);
    let mut d = driver(&w, &[100], None, &[]);
    assert!(matches!(
        next(&mut d),
        Poll::Ready(Some(Err(Error::InvalidUrl(_))))
    ));
    assert!(matches!(next(&mut d), Poll::Ready(None)));
    assert_eq!(log(&w), ["connect"]);
}

#[test]
fn state_and_protocol_in_each_phase() {
    let w = world([Ok(Script::yielding([]))]);
    let mut d = driver(&w, &[100], None, &[]);
    assert_eq!(
        (d.state(), d.protocol()),
        (ConnectionState::Connecting, None)
    );
    assert_eq!(now(d.send(Message::text("x"))), Err(Error::NotConnected));
    event(&mut d);
    assert_eq!(
        (d.state(), d.protocol()),
        (ConnectionState::Open, Some("feed.v1"))
    );
    // The connection ended, and the next poll has not reported it yet: it
    // is not connected, and reconnects.
    w.borrow_mut().links[0].state = Some(ConnectionState::Closed);
    assert_eq!(d.state(), ConnectionState::Connecting);
}

#[test]
fn the_config_reads_back_each_setting_as_it_will_be_used() {
    let config = ReconnectConfig::default();
    assert_eq!(config.get_delays(), [Duration::from_secs(1)]);
    assert_eq!(config.get_max_attempts(), None);
    assert_eq!(config.get_jitter(), 0.0);
    assert!(config.get_on_connect().is_empty());
    let config = ReconnectConfig::default()
        .delays([ms(100), ms(400)])
        .max_attempts(0)
        .jitter(1.5)
        .on_connect(Message::text("sub:1"))
        .on_connect(Message::text("sub:2"));
    assert_eq!(config.get_delays(), [ms(100), ms(400)]);
    assert_eq!(config.get_max_attempts(), Some(1), "0 counts as 1");
    assert_eq!(config.get_jitter(), 1.0, "clamped");
    assert_eq!(
        config.get_on_connect(),
        [Message::text("sub:1"), Message::text("sub:2")]
    );
    let config = ReconnectConfig::default().delays([]).jitter(f64::NAN);
    assert_eq!(config.get_delays(), [Duration::from_secs(1)], "the default");
    assert_eq!(config.get_jitter(), 0.0);
}
