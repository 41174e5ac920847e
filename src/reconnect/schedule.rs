//! The reconnecting client's decisions, free of any host: which delay comes
//! next, how attempts are counted, when to give up, how jitter moves a
//! delay, and which ends of a connection are unexpected. The driver
//! (`crate::reconnect`) asks; the unit tests below run on the host target.

use std::hash::{BuildHasher, Hasher, RandomState};
use std::time::Duration;

use crate::{CloseFrame, Error, Message, Result};

/// The delay used when a config gives none: one second.
pub(crate) const DEFAULT_DELAY: Duration = Duration::from_secs(1);

/// What to do after a connect attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Try again after this delay.
    Retry(Duration),
    /// The bound on attempts is reached: stop for good.
    GiveUp,
}

/// The schedule of one reconnecting client: the delays, the attempts made
/// since the last successful connect, and the jitter's random source.
#[derive(Debug, Clone)]
pub(crate) struct Schedule {
    delays: Vec<Duration>,
    max_attempts: Option<u32>,
    jitter: f64,
    rng: XorShift,
    /// The index of the delay the next wait takes; it stays at the last.
    next_delay: usize,
    /// Connect attempts since the last successful connect.
    attempts: u32,
}

impl Schedule {
    /// A schedule over `delays` (empty: [`DEFAULT_DELAY`]), giving up after
    /// `max_attempts` failed attempts in a row (at least one), each delay
    /// moved by up to `jitter` of itself (clamped to `0.0..=1.0`), drawing
    /// from a generator seeded with `seed`.
    pub(crate) fn new(
        delays: &[Duration],
        max_attempts: Option<u32>,
        jitter: f64,
        seed: u64,
    ) -> Schedule {
        Schedule {
            delays: if delays.is_empty() {
                vec![DEFAULT_DELAY]
            } else {
                delays.to_vec()
            },
            max_attempts: max_attempts.map(|n| n.max(1)),
            jitter: clamp_jitter(jitter),
            rng: XorShift::new(seed),
            next_delay: 0,
            attempts: 0,
        }
    }

    /// A connect attempt starts; returns its number in the current series
    /// (1 for the first attempt after a start or a disconnect).
    pub(crate) fn attempt(&mut self) -> u32 {
        self.attempts = self.attempts.saturating_add(1);
        self.attempts
    }

    /// The attempt succeeded: the next series starts at the first delay.
    pub(crate) fn connected(&mut self) {
        self.attempts = 0;
        self.next_delay = 0;
    }

    /// An open connection ended unexpectedly: wait this long, then attempt.
    pub(crate) fn disconnected(&mut self) -> Duration {
        self.take_delay()
    }

    /// The attempt failed: wait and retry, or give up once `max_attempts`
    /// attempts in a row failed.
    pub(crate) fn connect_failed(&mut self) -> Next {
        match self.max_attempts {
            Some(max) if self.attempts >= max => Next::GiveUp,
            _ => Next::Retry(self.take_delay()),
        }
    }

    /// The next delay of the list (the last one repeats), with jitter.
    fn take_delay(&mut self) -> Duration {
        let base = self.delays[self.next_delay];
        self.next_delay = (self.next_delay + 1).min(self.delays.len() - 1);
        jittered(base, self.jitter, self.rng.next_unit())
    }
}

/// `base` moved by `jitter` of itself, up or down: `unit` (in `0.0..1.0`)
/// picks the point in `base * (1 - jitter) ..= base * (1 + jitter)`.
pub(crate) fn jittered(base: Duration, jitter: f64, unit: f64) -> Duration {
    if jitter == 0.0 {
        return base;
    }
    let factor = 1.0 + jitter * (2.0 * unit - 1.0);
    base.mul_f64(factor.max(0.0))
}

/// A small xorshift64* generator: enough to spread reconnects out, no
/// `rand` dependency.
#[derive(Debug, Clone)]
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> XorShift {
        // Zero is the one state xorshift never leaves.
        XorShift(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// A number in `0.0..1.0`.
    fn next_unit(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        let out = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
        // The top 53 bits, as a fraction.
        (out >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A seed for the jitter from std's `RandomState`, which takes its keys
/// from `wasi:random` on `wasm32-wasip2`. Golem records those calls, so a
/// replay draws the same delays.
pub(crate) fn random_seed() -> u64 {
    RandomState::new().build_hasher().finish()
}

/// How an item of a connection's stream reads to the reconnecting client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Item {
    /// A data message for the app.
    Message(Message),
    /// The connection ended. Exactly one of the two is `Some`: the peer's
    /// close frame with its code, or why it ended otherwise
    /// (`Error::ConnectionClosed(None)` for a close without a code,
    /// `Error::ConnectionReset` for an end without a close frame).
    Ended {
        close: Option<CloseFrame>,
        error: Option<Error>,
    },
}

/// A jitter fraction as used: clamped to `0.0..=1.0`, NaN as `0.0`.
pub(crate) fn clamp_jitter(jitter: f64) -> f64 {
    if jitter.is_nan() {
        0.0
    } else {
        jitter.clamp(0.0, 1.0)
    }
}

/// Sorts an item of a connection's stream (`None`: the stream ended).
///
/// Every end is unexpected here: the driver stops reading a connection the
/// app closed, so an end it reads was not asked for.
pub(crate) fn classify(item: Option<Result<Message>>) -> Item {
    match item {
        Some(Ok(Message::Close(Some(frame)))) => Item::Ended {
            close: Some(frame),
            error: None,
        },
        Some(Ok(Message::Close(None))) => Item::Ended {
            close: None,
            error: Some(Error::ConnectionClosed(None)),
        },
        None => Item::Ended {
            close: None,
            error: Some(Error::ConnectionReset),
        },
        Some(Ok(message)) => Item::Message(message),
        Some(Err(error)) => Item::Ended {
            close: None,
            error: Some(error),
        },
    }
}

/// Whether a failed connect is worth another attempt: not when the request
/// itself is wrong, which no retry can change.
pub(crate) fn retryable(error: &Error) -> bool {
    !matches!(error, Error::InvalidUrl(_) | Error::InvalidHeader(_))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CloseCode;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// The delays a schedule takes for `n` failed attempts in a row after a
    /// disconnect (`None` once it gives up).
    fn failures(schedule: &mut Schedule, n: usize) -> Vec<Option<Duration>> {
        (0..n)
            .map(|_| {
                schedule.attempt();
                match schedule.connect_failed() {
                    Next::Retry(delay) => Some(delay),
                    Next::GiveUp => None,
                }
            })
            .collect()
    }

    #[test]
    fn delays_follow_the_list_and_the_last_repeats() {
        let mut s = Schedule::new(&[ms(100), ms(200), ms(400)], None, 0.0, 1);
        assert_eq!(s.attempt(), 1, "the first connect is attempt 1");
        assert_eq!(
            failures(&mut s, 5),
            [ms(100), ms(200), ms(400), ms(400), ms(400)].map(Some)
        );
    }

    #[test]
    fn a_successful_connect_resets_the_delays_and_the_attempts() {
        let mut s = Schedule::new(&[ms(100), ms(200), ms(400)], None, 0.0, 1);
        s.attempt();
        assert_eq!(failures(&mut s, 2), [Some(ms(100)), Some(ms(200))]);
        assert_eq!(s.attempt(), 4);
        s.connected();
        // The disconnect waits the first delay, and the attempt after it is
        // attempt 1 again.
        assert_eq!(s.disconnected(), ms(100));
        assert_eq!(s.attempt(), 1);
        assert_eq!(s.connect_failed(), Next::Retry(ms(200)));
        assert_eq!(s.attempt(), 2);
        s.connected();
        assert_eq!(s.disconnected(), ms(100));
    }

    #[test]
    fn the_default_is_one_second_repeating() {
        let mut s = Schedule::new(&[], None, 0.0, 1);
        assert_eq!(s.disconnected(), Duration::from_secs(1));
        assert_eq!(
            failures(&mut s, 3),
            [
                Some(DEFAULT_DELAY),
                Some(DEFAULT_DELAY),
                Some(DEFAULT_DELAY)
            ]
        );
    }

    #[test]
    fn the_bound_counts_failed_attempts_in_a_row() {
        let mut s = Schedule::new(&[ms(100), ms(200)], Some(3), 0.0, 1);
        // From the start: attempts 1 and 2 fail and wait, attempt 3 gives up.
        assert_eq!(
            failures(&mut s, 3),
            [Some(ms(100)), Some(ms(200)), None],
            "three attempts, two waits"
        );
        // After a success the count starts again.
        let mut s = Schedule::new(&[ms(100)], Some(2), 0.0, 1);
        s.attempt();
        s.connected();
        s.disconnected();
        assert_eq!(failures(&mut s, 2), [Some(ms(100)), None]);
    }

    #[test]
    fn a_bound_of_zero_still_makes_one_attempt() {
        let mut s = Schedule::new(&[ms(100)], Some(0), 0.0, 1);
        assert_eq!(failures(&mut s, 1), [None]);
    }

    #[test]
    fn jitter_stays_within_its_bounds_and_spreads() {
        let base = ms(1000);
        let mut s = Schedule::new(&[base], None, 0.25, 42);
        let delays: Vec<Duration> = (0..1000).map(|_| s.disconnected()).collect();
        for d in &delays {
            assert!(
                (ms(750)..=ms(1250)).contains(d),
                "{d:?} is outside 1 s +- 25 %"
            );
        }
        let low = delays.iter().filter(|d| **d < ms(900)).count();
        let high = delays.iter().filter(|d| **d > ms(1100)).count();
        assert!(
            low > 200 && high > 200,
            "not spread: {low} low, {high} high"
        );
    }

    #[test]
    fn jitter_is_deterministic_for_a_seed() {
        let draw = |seed| {
            let mut s = Schedule::new(&[ms(1000)], None, 0.5, seed);
            (0..8).map(|_| s.disconnected()).collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
        // A zero seed still draws.
        assert!(draw(0).windows(2).any(|w| w[0] != w[1]));
    }

    #[test]
    fn jitter_at_the_ends_of_the_unit_interval() {
        assert_eq!(jittered(ms(1000), 0.5, 0.0), ms(500));
        assert_eq!(jittered(ms(1000), 0.5, 0.5), ms(1000));
        assert!(jittered(ms(1000), 0.5, 0.999_999) <= ms(1500));
        assert_eq!(jittered(ms(1000), 1.0, 0.0), Duration::ZERO);
        assert_eq!(jittered(ms(1000), 0.0, 0.9), ms(1000));
    }

    #[test]
    fn out_of_range_jitter_is_clamped() {
        let mut s = Schedule::new(&[ms(1000)], None, 7.0, 3);
        assert!((0..100).all(|_| s.disconnected() <= ms(2000)));
        let mut s = Schedule::new(&[ms(1000)], None, -1.0, 3);
        assert_eq!(s.disconnected(), ms(1000));
        let mut s = Schedule::new(&[ms(1000)], None, f64::NAN, 3);
        assert_eq!(s.disconnected(), ms(1000));
    }

    #[test]
    fn every_end_of_a_connection_is_unexpected_and_says_why() {
        let away = CloseFrame::new(CloseCode::Away, "restarting");
        assert_eq!(
            classify(Some(Ok(Message::Close(Some(away.clone()))))),
            Item::Ended {
                close: Some(away),
                error: None
            }
        );
        let abrupt = Item::Ended {
            close: None,
            error: Some(Error::ConnectionReset),
        };
        assert_eq!(classify(Some(Err(Error::ConnectionReset))), abrupt);
        assert_eq!(classify(None), abrupt);
        assert_eq!(
            classify(Some(Ok(Message::Close(None)))),
            Item::Ended {
                close: None,
                error: Some(Error::ConnectionClosed(None))
            }
        );
        assert_eq!(
            classify(Some(Err(Error::Protocol("rsv".into())))),
            Item::Ended {
                close: None,
                error: Some(Error::Protocol("rsv".into()))
            }
        );
        assert_eq!(
            classify(Some(Ok(Message::text("tick")))),
            Item::Message(Message::text("tick"))
        );
    }

    #[test]
    fn only_a_wrong_request_is_not_retried() {
        assert!(!retryable(&Error::InvalidUrl("x".into())));
        assert!(!retryable(&Error::InvalidHeader("x".into())));
        assert!(retryable(&Error::Connect("refused".into())));
        assert!(retryable(&Error::SessionLost));
        assert!(retryable(&Error::Other("busy".into())));
    }

    #[test]
    fn random_seeds_differ() {
        assert_ne!(random_seed(), random_seed());
    }
}
