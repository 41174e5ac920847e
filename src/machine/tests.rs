//! The state machine driven by a scripted connection, on the host target.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;
use crate::CloseCode;

/// What the scripted connection was asked, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Call {
    Send(Message),
    Close(Option<CloseFrame>),
    Receive(Option<Instant>),
    Deadline(Instant),
}

/// The script: what each receive answers (`None`: nothing yet), and what
/// sends and closes answer (by default `Ok`).
#[derive(Default)]
struct Script {
    receives: VecDeque<Option<Result<Message, Failure>>>,
    sends: VecDeque<Result<(), Failure>>,
    closes: VecDeque<Result<(), Failure>>,
    /// What `try_ready` answers (by default `Ok(true)`).
    ready: VecDeque<Result<bool, Failure>>,
    calls: Vec<Call>,
    /// The waker the last `Pending` registered: the host's readiness.
    waker: Option<Waker>,
}

#[derive(Clone, Default)]
struct Scripted(Rc<RefCell<Script>>);

impl Scripted {
    fn receives(&self, item: Option<Result<Message, Failure>>) -> &Self {
        self.0.borrow_mut().receives.push_back(item);
        self
    }

    fn message(&self, text: &str) -> &Self {
        self.receives(Some(Ok(Message::text(text))))
    }

    fn calls(&self) -> Vec<Call> {
        std::mem::take(&mut self.0.borrow_mut().calls)
    }

    /// The host says a message may be there: wakes whoever it was given.
    fn ready(&self) {
        let waker = self.0.borrow_mut().waker.take();
        waker.expect("someone waits on the host").wake();
    }
}

impl Connection for Scripted {
    fn send(&mut self, message: Message) -> Result<(), Failure> {
        let mut script = self.0.borrow_mut();
        script.calls.push(Call::Send(message));
        script.sends.pop_front().unwrap_or(Ok(()))
    }

    fn close(&mut self, frame: Option<&CloseFrame>) -> Result<(), Failure> {
        let mut script = self.0.borrow_mut();
        script.calls.push(Call::Close(frame.cloned()));
        script.closes.pop_front().unwrap_or(Ok(()))
    }

    fn poll_receive(
        &mut self,
        deadline: Option<Instant>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Message, Failure>> {
        let mut script = self.0.borrow_mut();
        script.calls.push(Call::Receive(deadline));
        match script.receives.pop_front().flatten() {
            Some(item) => Poll::Ready(item),
            None => {
                script.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }

    fn poll_deadline(&mut self, deadline: Instant, cx: &mut Context<'_>) -> Poll<()> {
        let mut script = self.0.borrow_mut();
        script.calls.push(Call::Deadline(deadline));
        script.waker = Some(cx.waker().clone());
        Poll::Pending
    }

    fn try_ready(&mut self) -> Result<bool, Failure> {
        self.0.borrow_mut().ready.pop_front().unwrap_or(Ok(true))
    }
}

/// A host whose `send` returns once the frame is handed over, with the
/// default readiness (always ready): the shape of `golem:websocket`.
#[derive(Default)]
struct Blocking {
    sent: Vec<Message>,
}

impl Connection for Blocking {
    fn send(&mut self, message: Message) -> Result<(), Failure> {
        self.sent.push(message);
        Ok(())
    }

    fn close(&mut self, _frame: Option<&CloseFrame>) -> Result<(), Failure> {
        Ok(())
    }

    fn poll_receive(
        &mut self,
        _deadline: Option<Instant>,
        _cx: &mut Context<'_>,
    ) -> Poll<Result<Message, Failure>> {
        Poll::Pending
    }

    fn poll_deadline(&mut self, _deadline: Instant, _cx: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

/// A task's waker that counts its wake-ups.
#[derive(Default)]
struct Task(AtomicUsize);

impl Wake for Task {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn task() -> (Arc<Task>, Waker) {
    let task = Arc::new(Task::default());
    (task.clone(), Waker::from(task))
}

fn woken(task: &Task) -> usize {
    task.0.swap(0, Ordering::SeqCst)
}

const TIMEOUT: Duration = Duration::from_secs(5);

fn open() -> (Core<Scripted>, Scripted, Instant) {
    let host = Scripted::default();
    (Core::new(host.clone(), TIMEOUT), host, Instant::now())
}

/// Wakes what the last transition asked for, as the driver does.
fn settle(core: &mut Core<Scripted>) {
    if let Some(waker) = core.take_wake() {
        waker.wake();
    }
}

fn recv(core: &mut Core<Scripted>, now: Instant, waker: &Waker) -> Poll<Option<Result<Message>>> {
    let poll = core.poll_recv(|| now, &mut Context::from_waker(waker));
    settle(core);
    poll
}

fn closed(core: &mut Core<Scripted>, now: Instant, waker: &Waker) -> Poll<Result<()>> {
    let poll = core.poll_closed(|| now, &mut Context::from_waker(waker));
    settle(core);
    poll
}

fn text(text: &str) -> Poll<Option<Result<Message>>> {
    Poll::Ready(Some(Ok(Message::text(text))))
}

fn peer_close(code: u16, reason: &str) -> Option<Result<Message, Failure>> {
    Some(Err(Failure::Closed(Some(CloseFrame::new(code, reason)))))
}

#[test]
fn receives_in_order_and_waits_on_the_host_when_nothing_is_there() {
    let (mut core, host, now) = open();
    let (reader, waker) = task();
    host.message("a").receives(None).message("b");

    assert_eq!(recv(&mut core, now, &waker), text("a"));
    assert!(recv(&mut core, now, &waker).is_pending());
    assert_eq!(woken(&reader), 0);
    host.ready();
    assert_eq!(woken(&reader), 1, "the host's readiness wakes the reader");
    assert_eq!(recv(&mut core, now, &waker), text("b"));
    assert_eq!(host.calls(), vec![Call::Receive(None); 3]);
    assert_eq!(core.state(), ConnectionState::Open);
}

#[test]
fn a_spurious_wake_up_delivers_nothing_and_the_reader_waits_again() {
    let (mut core, host, now) = open();
    let (reader, waker) = task();
    host.receives(None).receives(None).message("late");

    assert!(recv(&mut core, now, &waker).is_pending());
    host.ready();
    assert_eq!(woken(&reader), 1);
    assert!(
        recv(&mut core, now, &waker).is_pending(),
        "woken, but nothing came"
    );
    host.ready();
    assert_eq!(recv(&mut core, now, &waker), text("late"));
}

#[test]
fn the_peer_closes_first_then_our_close_is_ok_without_a_frame() {
    let (mut core, host, now) = open();
    let (_reader, waker) = task();
    host.receives(peer_close(1001, "restart"));

    assert_eq!(
        recv(&mut core, now, &waker),
        Poll::Ready(Some(Ok(Message::Close(Some(CloseFrame::new(
            CloseCode::Away,
            "restart"
        ))))))
    );
    assert_eq!(core.state(), ConnectionState::Closed);
    assert_eq!(recv(&mut core, now, &waker), Poll::Ready(None));
    host.calls();

    assert_eq!(core.start_close(None, now), Ok(()));
    assert_eq!(closed(&mut core, now, &waker), Poll::Ready(Ok(())));
    assert_eq!(host.calls(), vec![], "nothing more reaches the host");
    assert_eq!(
        core.send(Message::text("x"), || now),
        Err(Error::AlreadyClosed)
    );
}

#[test]
fn our_close_first_keeps_what_arrives_for_the_receiver() {
    let (mut core, host, now) = open();
    let (closer, close_waker) = task();
    let (reader, read_waker) = task();
    let frame = CloseFrame::new(CloseCode::Normal, "done");

    assert_eq!(core.start_close(Some(frame.clone()), now), Ok(()));
    settle(&mut core);
    assert_eq!(core.state(), ConnectionState::Closing);
    let deadline = now + TIMEOUT;
    assert_eq!(host.calls(), vec![Call::Close(Some(frame))]);
    assert_eq!(
        core.send(Message::text("late"), || now),
        Err(Error::AlreadyClosed),
        "nothing is sent after our close frame"
    );

    host.message("in flight").receives(None);
    assert!(closed(&mut core, now, &close_waker).is_pending());
    assert_eq!(woken(&reader) + woken(&closer), 0);
    host.receives(peer_close(1000, "bye"));
    host.ready();
    assert_eq!(woken(&closer), 1);
    assert_eq!(closed(&mut core, now, &close_waker), Poll::Ready(Ok(())));
    assert_eq!(host.calls(), vec![Call::Receive(Some(deadline)); 3]);
    assert_eq!(core.state(), ConnectionState::Closed);

    assert_eq!(recv(&mut core, now, &read_waker), text("in flight"));
    assert_eq!(
        recv(&mut core, now, &read_waker),
        Poll::Ready(Some(Ok(Message::Close(Some(CloseFrame::new(1000, "bye"))))))
    );
    assert_eq!(recv(&mut core, now, &read_waker), Poll::Ready(None));
    assert_eq!(
        host.calls(),
        vec![],
        "the receiver read what the close kept"
    );
}

#[test]
fn a_close_dropped_half_way_resumes_without_a_second_frame() {
    let (mut core, host, now) = open();
    let (_closer, waker) = task();
    host.receives(None);

    core.start_close(None, now).unwrap();
    assert!(closed(&mut core, now, &waker).is_pending());
    // The close future is dropped here; a later close finds it under way.
    assert!(core.is_closing());
    host.receives(peer_close(1000, ""));
    assert_eq!(closed(&mut core, now, &waker), Poll::Ready(Ok(())));
    let closes = host
        .calls()
        .into_iter()
        .filter(|c| matches!(c, Call::Close(_)))
        .count();
    assert_eq!(closes, 1);
}

#[test]
fn an_unanswered_close_times_out_and_the_stream_says_so() {
    let (mut core, host, now) = open();
    let (_closer, waker) = task();
    host.receives(None);
    core.start_close(None, now).unwrap();
    assert!(closed(&mut core, now, &waker).is_pending());

    let late = now + TIMEOUT;
    assert_eq!(
        closed(&mut core, late, &waker),
        Poll::Ready(Err(Error::Timeout))
    );
    assert_eq!(core.state(), ConnectionState::Closed);
    assert_eq!(
        recv(&mut core, late, &waker),
        Poll::Ready(Some(Err(Error::Timeout)))
    );
    assert_eq!(recv(&mut core, late, &waker), Poll::Ready(None));
    // A second close after the first ended.
    assert_eq!(core.start_close(None, late), Err(Error::AlreadyClosed));
}

#[test]
fn a_reader_waiting_during_our_close_ends_with_the_deadline() {
    let (mut core, host, now) = open();
    let (reader, waker) = task();
    host.receives(None).receives(None);

    assert!(recv(&mut core, now, &waker).is_pending());
    core.start_close(None, now).unwrap();
    settle(&mut core);
    assert_eq!(
        woken(&reader),
        1,
        "a close wakes the reader to watch the deadline"
    );
    assert!(recv(&mut core, now, &waker).is_pending());
    assert_eq!(
        host.calls().last(),
        Some(&Call::Receive(Some(now + TIMEOUT))),
        "the reader's wait now ends at the deadline"
    );
    assert_eq!(
        recv(&mut core, now + TIMEOUT, &waker),
        Poll::Ready(Some(Err(Error::Timeout)))
    );
}

#[test]
fn both_halves_waiting_are_both_woken_by_the_host_and_by_the_end() {
    let (mut core, host, now) = open();
    let (reader, read_waker) = task();
    let (closer, close_waker) = task();
    host.receives(None);
    assert!(recv(&mut core, now, &read_waker).is_pending());
    core.start_close(None, now).unwrap();
    settle(&mut core);
    woken(&reader);
    host.receives(None);
    assert!(closed(&mut core, now, &close_waker).is_pending());

    // The host wakes whoever registered last; both must look again.
    host.ready();
    assert_eq!((woken(&reader), woken(&closer)), (0, 1));
    host.receives(None);
    assert!(recv(&mut core, now, &read_waker).is_pending());
    assert!(closed(&mut core, now, &close_waker).is_pending());
    host.ready();
    assert_eq!((woken(&reader), woken(&closer)), (1, 1));

    // The closer takes the end: the reader, waiting, is woken to read it.
    host.receives(None);
    assert!(recv(&mut core, now, &read_waker).is_pending());
    host.receives(peer_close(1000, ""));
    assert_eq!(closed(&mut core, now, &close_waker), Poll::Ready(Ok(())));
    assert_eq!(woken(&reader), 1);
    assert_eq!(
        recv(&mut core, now, &read_waker),
        Poll::Ready(Some(Ok(Message::Close(Some(CloseFrame::new(1000, ""))))))
    );
}

#[test]
fn wakers_run_only_after_the_caller_lets_go() {
    let (mut core, host, now) = open();
    let (reader, waker) = task();
    host.receives(None);
    assert!(recv(&mut core, now, &waker).is_pending());
    core.start_close(None, now).unwrap();
    assert_eq!(woken(&reader), 0, "no waker runs inside a transition");
    settle(&mut core);
    assert_eq!(woken(&reader), 1);
    assert!(core.take_wake().is_none(), "one wake per transition");
}

#[test]
fn the_close_drain_stops_at_its_bound_until_the_receiver_reads() {
    let (mut core, host, now) = open();
    let (closer, close_waker) = task();
    let (_reader, read_waker) = task();
    let big = vec![0u8; CLOSE_DRAIN_LIMIT / 2 + 1];
    core.start_close(None, now).unwrap();
    host.receives(Some(Ok(Message::binary(big.clone()))))
        .receives(Some(Ok(Message::binary(big.clone()))))
        .receives(Some(Ok(Message::binary(big.clone()))));

    assert!(closed(&mut core, now, &close_waker).is_pending());
    let calls = host.calls();
    assert_eq!(
        calls
            .iter()
            .filter(|c| matches!(c, Call::Receive(_)))
            .count(),
        2,
        "two messages pass the bound; the third stays with the host"
    );
    assert_eq!(calls.last(), Some(&Call::Deadline(now + TIMEOUT)));

    assert_eq!(
        recv(&mut core, now, &read_waker),
        Poll::Ready(Some(Ok(Message::binary(big.clone()))))
    );
    assert_eq!(
        woken(&closer),
        1,
        "reading below the bound wakes the closer"
    );
    assert!(
        closed(&mut core, now, &close_waker).is_pending(),
        "over the bound again"
    );
    for _ in 0..2 {
        assert_eq!(
            recv(&mut core, now, &read_waker),
            Poll::Ready(Some(Ok(Message::binary(big.clone()))))
        );
    }
    host.receives(peer_close(1000, ""));
    assert_eq!(closed(&mut core, now, &close_waker), Poll::Ready(Ok(())));
}

#[test]
fn send_failures_leave_the_connection_as_it_was() {
    let (mut core, host, now) = open();
    host.0
        .borrow_mut()
        .sends
        .push_back(Err(Failure::Error(Error::Send("full".into()))));
    assert_eq!(
        core.send(Message::text("a"), || now),
        Err(Error::Send("full".into()))
    );
    assert_eq!(core.state(), ConnectionState::Open);
    host.0.borrow_mut().sends.push_back(Err(Failure::Ended));
    assert_eq!(
        core.send(Message::text("b"), || now),
        Err(Error::ConnectionReset)
    );
    assert_eq!(core.send(Message::text("c"), || now), Ok(()));
}

#[test]
fn a_close_the_host_refuses_is_an_error_and_nothing_changes() {
    let (mut core, host, now) = open();
    host.0
        .borrow_mut()
        .closes
        .push_back(Err(Failure::Error(Error::Send("full".into()))));
    assert_eq!(core.start_close(None, now), Err(Error::Send("full".into())));
    assert_eq!(core.state(), ConnectionState::Open);
}

#[test]
fn a_close_on_a_connection_already_over_completes_and_tells_the_receiver() {
    let (mut core, host, now) = open();
    let (_t, waker) = task();
    host.0.borrow_mut().closes.push_back(Err(Failure::Ended));
    assert_eq!(core.start_close(None, now), Ok(()));
    assert_eq!(core.state(), ConnectionState::Closed);
    assert_eq!(closed(&mut core, now, &waker), Poll::Ready(Ok(())));
    assert_eq!(
        recv(&mut core, now, &waker),
        Poll::Ready(Some(Err(Error::ConnectionReset)))
    );
    assert_eq!(recv(&mut core, now, &waker), Poll::Ready(None));
}

#[test]
fn a_frame_a_client_may_not_send_is_refused_before_the_host() {
    let (mut core, host, now) = open();
    let bad = CloseFrame::new(CloseCode::Abnormal, "");
    assert!(matches!(
        core.start_close(Some(bad.clone()), now),
        Err(Error::InvalidCloseFrame(_))
    ));
    assert!(matches!(
        core.send(Message::Close(Some(bad)), || now),
        Err(Error::InvalidCloseFrame(_))
    ));
    assert_eq!(host.calls(), vec![]);
    assert_eq!(core.state(), ConnectionState::Open);
}

#[test]
fn receive_errors_end_the_connection_in_each_state() {
    // Open: the error is the receiver's last item.
    let (mut core, host, now) = open();
    let (_t, waker) = task();
    host.receives(Some(Err(Failure::Error(Error::Protocol("rsv".into())))));
    assert_eq!(
        recv(&mut core, now, &waker),
        Poll::Ready(Some(Err(Error::Protocol("rsv".into()))))
    );
    assert_eq!(recv(&mut core, now, &waker), Poll::Ready(None));
    assert_eq!(
        core.send(Message::text("x"), || now),
        Err(Error::AlreadyClosed)
    );

    // Closing: the closer returns it, and the receiver reads it too.
    let (mut core, host, now) = open();
    core.start_close(None, now).unwrap();
    host.receives(Some(Err(Failure::Error(Error::Receive("reset".into())))));
    assert_eq!(
        closed(&mut core, now, &waker),
        Poll::Ready(Err(Error::Receive("reset".into())))
    );
    assert_eq!(
        recv(&mut core, now, &waker),
        Poll::Ready(Some(Err(Error::Receive("reset".into()))))
    );

    // Closing, and the connection just ends: the close is over.
    let (mut core, host, now) = open();
    core.start_close(None, now).unwrap();
    host.receives(Some(Err(Failure::Ended)));
    assert_eq!(closed(&mut core, now, &waker), Poll::Ready(Ok(())));
    assert_eq!(
        recv(&mut core, now, &waker),
        Poll::Ready(Some(Err(Error::ConnectionReset)))
    );
}

#[test]
fn abandoning_an_open_connection_sends_a_normal_close_and_releases_it() {
    let (mut core, host, _now) = open();
    core.abandon();
    assert_eq!(
        host.calls(),
        vec![Call::Close(Some(CloseFrame::new(CloseCode::Normal, "")))]
    );
    assert_eq!(core.state(), ConnectionState::Closed);
    assert_eq!(
        Rc::strong_count(&host.0),
        1,
        "the host connection is released"
    );

    let (mut core, host, now) = open();
    core.start_close(None, now).unwrap();
    host.calls();
    core.abandon();
    assert_eq!(host.calls(), vec![], "a close under way is not sent twice");
}

#[test]
fn a_close_frame_without_a_code_is_a_close_message_and_an_abrupt_end_an_error() {
    let (mut core, host, now) = open();
    let (_t, waker) = task();
    host.receives(Some(Err(Failure::Closed(None))));
    assert_eq!(
        recv(&mut core, now, &waker),
        Poll::Ready(Some(Ok(Message::Close(None))))
    );
    assert_eq!(core.start_close(None, now), Ok(()), "the peer closed first");

    let (mut core, host, now) = open();
    host.receives(Some(Err(Failure::Ended)));
    assert_eq!(
        recv(&mut core, now, &waker),
        Poll::Ready(Some(Err(Error::ConnectionReset)))
    );
    assert_eq!(core.start_close(None, now), Err(Error::AlreadyClosed));
}

#[test]
fn try_send_takes_a_frame_whole_or_gives_it_back_at_once() {
    let (mut core, host, now) = open();
    {
        let mut script = host.0.borrow_mut();
        script.ready.push_back(Ok(false));
        script.ready.push_back(Ok(true));
    }
    // An earlier frame still waits for room: nothing is sent, the message
    // comes back whole.
    assert_eq!(
        core.try_send(Message::text("a"), || now),
        Err(Error::WriteBufferFull(Message::text("a")))
    );
    assert_eq!(host.calls(), []);
    assert_eq!(core.state(), ConnectionState::Open);
    // Room again: the frame goes to the host whole.
    assert_eq!(core.try_send(Message::text("a"), || now), Ok(()));
    assert_eq!(host.calls(), [Call::Send(Message::text("a"))]);
    // A ping is a frame like any other.
    host.0.borrow_mut().ready.push_back(Ok(false));
    assert_eq!(
        core.try_send(Message::Ping(b"hb".to_vec()), || now),
        Err(Error::WriteBufferFull(Message::Ping(b"hb".to_vec())))
    );
    assert_eq!(core.try_send(Message::Ping(b"hb".to_vec()), || now), Ok(()));
    assert_eq!(host.calls(), [Call::Send(Message::Ping(b"hb".to_vec()))]);
}

#[test]
fn try_send_reports_a_broken_connection_and_closes_like_send() {
    let (mut core, host, now) = open();
    host.0
        .borrow_mut()
        .ready
        .push_back(Err(Failure::Error(Error::Send("broken pipe".into()))));
    assert_eq!(
        core.try_send(Message::text("a"), || now),
        Err(Error::Send("broken pipe".into()))
    );
    assert_eq!(host.calls(), []);
    // A close frame is always taken, even while a frame waits for room.
    host.0.borrow_mut().ready.push_back(Ok(false));
    assert_eq!(core.try_send(Message::Close(None), || now), Ok(()));
    assert_eq!(host.calls(), [Call::Close(None)]);
    assert_eq!(core.state(), ConnectionState::Closing);
    assert_eq!(
        core.try_send(Message::text("b"), || now),
        Err(Error::AlreadyClosed)
    );
}

#[test]
fn try_send_on_a_host_whose_send_blocks_always_sends() {
    let mut core = Core::new(Blocking::default(), TIMEOUT);
    let now = Instant::now();
    for i in 0..3 {
        assert_eq!(
            core.try_send(Message::text(format!("m{i}")), || now),
            Ok(())
        );
    }
    let sent = &core.conn.as_ref().expect("open").sent;
    assert_eq!(
        sent,
        &[
            Message::text("m0"),
            Message::text("m1"),
            Message::text("m2")
        ]
    );
}
