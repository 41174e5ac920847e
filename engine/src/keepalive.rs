//! Keepalive: when to ping a silent peer, and when to give up on it (pure;
//! unit-tested on the host). The session reads the clock, feeds it in, and
//! acts on the answer ([`crate::session::Session::keepalive`]).
//!
//! After `interval` in which nothing arrived from the peer, a ping goes out;
//! when nothing (a pong or any other frame) arrives within `timeout` of that
//! ping, the peer is deemed gone. Anything read from the peer starts the
//! silence over, so a busy connection is never pinged.

use std::time::Duration;

/// The payload of the session's own keepalive pings. A pong that carries it
/// answers one of them and is not handed up to the app.
pub const PING_PAYLOAD: &[u8] = b"wasm-websocket keepalive";

/// A keepalive setting: ping after `interval` of silence, give up when
/// nothing arrives within `timeout` of the ping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Keepalive {
    /// Silence from the peer after which a ping goes out.
    pub interval: Duration,
    /// How long the peer has to answer that ping (with anything).
    pub timeout: Duration,
}

/// What the session does now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Beat {
    /// Nothing yet: look again at [`Heartbeat::due`].
    Wait,
    /// Send a keepalive ping now.
    Ping,
    /// The peer did not answer in time: end the session.
    Lost,
}

/// The keepalive state of one session, on the monotonic clock (nanoseconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heartbeat {
    setting: Keepalive,
    /// When the peer was last heard from (or the session began).
    heard: u64,
    /// When our unanswered ping went out.
    pinged: Option<u64>,
}

impl Heartbeat {
    /// A heartbeat starting at `now`, as if the peer had just been heard.
    pub fn new(setting: Keepalive, now: u64) -> Heartbeat {
        Heartbeat {
            setting,
            heard: now,
            pinged: None,
        }
    }

    /// The setting it runs.
    pub fn setting(&self) -> Keepalive {
        self.setting
    }

    /// Something arrived from the peer at `now`: the silence starts over.
    pub fn heard(&mut self, now: u64) {
        self.heard = now;
        self.pinged = None;
    }

    /// What to do at `now`. [`Beat::Ping`] is answered once per silence:
    /// the ping counts as sent at `now`.
    pub fn check(&mut self, now: u64) -> Beat {
        if now < self.due() {
            return Beat::Wait;
        }
        match self.pinged {
            None => {
                self.pinged = Some(now);
                Beat::Ping
            }
            Some(_) => Beat::Lost,
        }
    }

    /// When [`check`](Heartbeat::check) next has something to do: the end
    /// of the interval while no ping is out, else the end of the ping's
    /// timeout.
    pub fn due(&self) -> u64 {
        match self.pinged {
            None => self.heard.saturating_add(nanos(self.setting.interval)),
            Some(at) => at.saturating_add(nanos(self.setting.timeout)),
        }
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn beat(interval_ms: u64, timeout_ms: u64) -> Heartbeat {
        let setting = Keepalive {
            interval: Duration::from_millis(interval_ms),
            timeout: Duration::from_millis(timeout_ms),
        };
        Heartbeat::new(setting, 1_000 * MS)
    }

    #[test]
    fn a_silent_peer_is_pinged_after_the_interval_then_lost_after_the_timeout() {
        let mut h = beat(300, 200);
        let start = 1_000 * MS;
        assert_eq!(h.due(), start + 300 * MS);
        assert_eq!(h.check(start + 299 * MS), Beat::Wait);
        assert_eq!(h.check(start + 300 * MS), Beat::Ping);
        // The timeout runs from the ping, not from the interval's end.
        assert_eq!(h.due(), start + 500 * MS);
        assert_eq!(h.check(start + 499 * MS), Beat::Wait);
        assert_eq!(h.check(start + 500 * MS), Beat::Lost);
    }

    #[test]
    fn a_late_check_pings_once_and_times_the_answer_from_then() {
        let mut h = beat(300, 200);
        let start = 1_000 * MS;
        assert_eq!(h.check(start + 900 * MS), Beat::Ping);
        assert_eq!(h.check(start + 901 * MS), Beat::Wait);
        assert_eq!(h.due(), start + 1_100 * MS);
    }

    #[test]
    fn anything_heard_starts_the_silence_over() {
        let mut h = beat(300, 200);
        let start = 1_000 * MS;
        h.heard(start + 250 * MS);
        assert_eq!(h.check(start + 400 * MS), Beat::Wait);
        assert_eq!(h.check(start + 550 * MS), Beat::Ping);
        // The answer (or any frame) clears the ping.
        h.heard(start + 600 * MS);
        assert_eq!(h.due(), start + 900 * MS);
        assert_eq!(h.check(start + 760 * MS), Beat::Wait);
        assert_eq!(h.check(start + 900 * MS), Beat::Ping);
    }

    #[test]
    fn huge_settings_do_not_overflow() {
        let setting = Keepalive {
            interval: Duration::MAX,
            timeout: Duration::MAX,
        };
        let mut h = Heartbeat::new(setting, u64::MAX - 1);
        assert_eq!(h.due(), u64::MAX);
        assert_eq!(h.check(u64::MAX - 1), Beat::Wait);
    }
}
