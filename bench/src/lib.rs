//! The benchmark workloads, shared by the two clients that run them: the native
//! tokio-tungstenite client in this crate's `wasm-websocket-bench` binary and the
//! `bench-client` component (examples/bench-client), built on `wasm-websocket`.
//!
//! Both clients take the same command line, `<workload> <ws url> [params]` (see
//! [`Workload::parse`]), send the same payloads ([`Payloads`]), check every echo
//! the same way, and print one [`Report`] as a JSON line on stdout. This crate
//! has no dependencies so that it builds for wasm32-wasip2 as well.
#![warn(missing_docs, unreachable_pub)]

use std::fmt::Write as _;
use std::future::poll_fn;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

/// One benchmark workload. Every message is binary, echoed by the server, and
/// checked byte for byte against what was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Workload {
    /// `seq <size> <count>`: `count` round trips of `size` bytes, one after another.
    Sequential {
        /// Payload bytes per message.
        size: usize,
        /// Round trips.
        count: u64,
    },
    /// `pipe <size> <count> <window>`: `count` messages sent by one task while
    /// another receives, with at most `window` messages unanswered.
    Pipelined {
        /// Payload bytes per message.
        size: usize,
        /// Messages.
        count: u64,
        /// Messages in flight at most.
        window: u64,
    },
    /// `latency <size> <count>`: like [`Workload::Sequential`], timing each
    /// round trip; reports the median and 99th percentile.
    Latency {
        /// Payload bytes per message.
        size: usize,
        /// Round trips (samples).
        count: u64,
    },
    /// `first`: connect and one 16-byte round trip, timed together.
    FirstEcho,
    /// `concurrent <connections> <round trips> <size>`: open `connections`
    /// connections at once, then each does `round_trips` sequential round trips,
    /// all connections concurrently.
    Concurrent {
        /// Connections open at the same time.
        connections: u64,
        /// Round trips on each connection.
        round_trips: u64,
        /// Payload bytes per message.
        size: usize,
    },
}

/// The payload size of [`Workload::FirstEcho`].
pub const FIRST_ECHO_SIZE: usize = 16;

/// The usage line both clients print for a bad command line.
pub const USAGE: &str = "usage: <client> <workload> <ws url> [params]\n  \
    seq <url> <size> <count>\n  \
    pipe <url> <size> <count> <window>\n  \
    latency <url> <size> <count>\n  \
    first <url>\n  \
    concurrent <url> <connections> <round trips> <size>";

impl Workload {
    /// Parses `<workload> <url> [params]` (the arguments after the program
    /// name) into the workload and the URL.
    pub fn parse(args: &[String]) -> Result<(Workload, String), String> {
        let (name, rest) = args.split_first().ok_or("missing workload")?;
        let (url, params) = rest.split_first().ok_or("missing ws url")?;
        let expected = match name.as_str() {
            "seq" | "latency" => 2,
            "pipe" | "concurrent" => 3,
            "first" => 0,
            other => return Err(format!("unknown workload {other:?}")),
        };
        if params.len() != expected {
            return Err(format!(
                "{name} takes {expected} parameters, got {}",
                params.len()
            ));
        }
        let number = |i: usize| -> Result<u64, String> {
            params[i]
                .parse()
                .map_err(|_| format!("{name}: {:?} is not a number", params[i]))
        };
        let size = |i: usize| number(i).map(|n| n as usize);
        let workload = match name.as_str() {
            "seq" => Workload::Sequential {
                size: size(0)?,
                count: number(1)?,
            },
            "pipe" => Workload::Pipelined {
                size: size(0)?,
                count: number(1)?,
                window: number(2)?.max(1),
            },
            "latency" => Workload::Latency {
                size: size(0)?,
                count: number(1)?,
            },
            "concurrent" => Workload::Concurrent {
                connections: number(0)?,
                round_trips: number(1)?,
                size: size(2)?,
            },
            _ => Workload::FirstEcho,
        };
        Ok((workload, url.clone()))
    }

    /// The command line arguments that [`Workload::parse`] reads back.
    pub fn args(&self, url: &str) -> Vec<String> {
        let mut args = vec![self.name().to_string(), url.to_string()];
        let params: Vec<u64> = match *self {
            Workload::Sequential { size, count } | Workload::Latency { size, count } => {
                vec![size as u64, count]
            }
            Workload::Pipelined {
                size,
                count,
                window,
            } => vec![size as u64, count, window],
            Workload::FirstEcho => vec![],
            Workload::Concurrent {
                connections,
                round_trips,
                size,
            } => vec![connections, round_trips, size as u64],
        };
        args.extend(params.iter().map(u64::to_string));
        args
    }

    /// The messages a run must deliver (every one echoed and checked).
    pub fn messages(&self) -> u64 {
        match *self {
            Workload::Sequential { count, .. }
            | Workload::Pipelined { count, .. }
            | Workload::Latency { count, .. } => count,
            Workload::FirstEcho => 1,
            Workload::Concurrent {
                connections,
                round_trips,
                ..
            } => connections * round_trips,
        }
    }

    /// The workload's name on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            Workload::Sequential { .. } => "seq",
            Workload::Pipelined { .. } => "pipe",
            Workload::Latency { .. } => "latency",
            Workload::FirstEcho => "first",
            Workload::Concurrent { .. } => "concurrent",
        }
    }
}

/// The messages of one workload: message `seq` of `size` bytes has byte
/// `i = (i % 251)`, except that its first (up to) 8 bytes are `seq` in little
/// endian, so that a reply in the wrong order or from the wrong connection fails
/// the check.
#[derive(Debug, Clone)]
pub struct Payloads {
    base: Vec<u8>,
}

impl Payloads {
    /// Payloads of `size` bytes.
    pub fn new(size: usize) -> Payloads {
        Payloads {
            base: (0..size).map(|i| (i % 251) as u8).collect(),
        }
    }

    /// The payload bytes of every message.
    pub fn size(&self) -> usize {
        self.base.len()
    }

    /// Message `seq`, a fresh buffer (as an application would build one).
    pub fn message(&self, seq: u64) -> Vec<u8> {
        let mut message = self.base.clone();
        let tag = self.tag_len();
        message[..tag].copy_from_slice(&seq.to_le_bytes()[..tag]);
        message
    }

    /// Checks that `reply` is exactly message `seq`.
    pub fn check(&self, seq: u64, reply: &[u8]) -> Result<(), String> {
        let tag = self.tag_len();
        if reply.len() != self.base.len() {
            return Err(format!(
                "echo of message {seq} has {} bytes, sent {}",
                reply.len(),
                self.base.len()
            ));
        }
        if reply[..tag] != seq.to_le_bytes()[..tag] || !equal(&reply[tag..], &self.base[tag..]) {
            return Err(format!("echo of message {seq} differs from what was sent"));
        }
        Ok(())
    }

    fn tag_len(&self) -> usize {
        self.base.len().min(8)
    }
}

/// `a == b` for slices of equal length, compared eight bytes at a time: on
/// wasm32 `==` on byte slices is a byte-by-byte `memcmp`, slow enough to weigh on
/// the component's figures for large messages.
fn equal(a: &[u8], b: &[u8]) -> bool {
    let (a_words, a_rest) = a.as_chunks::<8>();
    let (b_words, b_rest) = b.as_chunks::<8>();
    a_rest == b_rest
        && a_words
            .iter()
            .zip(b_words)
            .all(|(x, y)| u64::from_ne_bytes(*x) == u64::from_ne_bytes(*y))
}

/// The flow control of [`Workload::Pipelined`]: the sending task takes a slot
/// before each message and the receiving task frees one for each echo, so at
/// most `size` messages are in flight. Clones share the window.
#[derive(Debug, Clone)]
pub struct Window {
    state: Arc<Mutex<WindowState>>,
}

#[derive(Debug)]
struct WindowState {
    free: u64,
    sender: Option<Waker>,
}

impl Window {
    /// A window of `size` free slots.
    pub fn new(size: u64) -> Window {
        Window {
            state: Arc::new(Mutex::new(WindowState {
                free: size,
                sender: None,
            })),
        }
    }

    /// Waits for a free slot and takes it.
    pub async fn acquire(&self) {
        poll_fn(|cx| {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if state.free > 0 {
                state.free -= 1;
                Poll::Ready(())
            } else {
                state.sender = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }

    /// Frees a slot, waking the task waiting in [`Window::acquire`].
    pub fn release(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.free += 1;
        if let Some(sender) = state.sender.take() {
            sender.wake();
        }
    }
}

/// What a client measured, printed as one JSON line by [`Report::to_json`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// [`Workload::name`].
    pub workload: &'static str,
    /// Round trips completed and checked.
    pub messages: u64,
    /// Payload bytes echoed (each message counted once).
    pub bytes: u64,
    /// Time to open the connection(s).
    pub connect: Duration,
    /// Time of the measured phase: the messages after connecting, or for
    /// [`Workload::FirstEcho`] the connect plus the first round trip.
    pub elapsed: Duration,
    /// Median and 99th percentile round trip, for [`Workload::Latency`].
    pub percentiles: Option<(Duration, Duration)>,
}

impl Report {
    /// The report as one line of JSON: `workload`, `messages`, `bytes`,
    /// `connect_us`, `elapsed_us`, `msgs_per_s`, `mb_per_s` (10^6 payload bytes
    /// per second), and for latency `p50_us` and `p99_us`.
    pub fn to_json(&self) -> String {
        let seconds = self.elapsed.as_secs_f64().max(1e-9);
        let mut json = format!(
            "{{\"workload\":\"{}\",\"messages\":{},\"bytes\":{},\"connect_us\":{:.1},\
             \"elapsed_us\":{:.1},\"msgs_per_s\":{:.1},\"mb_per_s\":{:.3}",
            self.workload,
            self.messages,
            self.bytes,
            micros(self.connect),
            micros(self.elapsed),
            self.messages as f64 / seconds,
            self.bytes as f64 / seconds / 1e6,
        );
        if let Some((p50, p99)) = self.percentiles {
            let _ = write!(
                json,
                ",\"p50_us\":{:.1},\"p99_us\":{:.1}",
                micros(p50),
                micros(p99)
            );
        }
        json.push('}');
        json
    }
}

/// The median and 99th percentile (nearest rank) of `samples`, which it sorts.
pub fn percentiles(samples: &mut [Duration]) -> Option<(Duration, Duration)> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    let rank = |p: f64| {
        let index = (p * samples.len() as f64).ceil() as usize;
        samples[index.clamp(1, samples.len()) - 1]
    };
    Some((rank(0.50), rank(0.99)))
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn command_lines_round_trip() {
        let workloads = [
            Workload::Sequential {
                size: 16,
                count: 100,
            },
            Workload::Pipelined {
                size: 65536,
                count: 1000,
                window: 64,
            },
            Workload::Latency { size: 16, count: 5 },
            Workload::FirstEcho,
            Workload::Concurrent {
                connections: 1000,
                round_trips: 10,
                size: 16,
            },
        ];
        for workload in workloads {
            let args = workload.args("ws://127.0.0.1:1/");
            assert_eq!(
                Workload::parse(&args),
                Ok((workload, "ws://127.0.0.1:1/".to_string()))
            );
        }
    }

    #[test]
    fn bad_command_lines_are_refused() {
        assert!(Workload::parse(&strings(&[])).is_err());
        assert!(Workload::parse(&strings(&["seq"])).is_err());
        assert!(Workload::parse(&strings(&["seq", "ws://h/", "16"])).is_err());
        assert!(Workload::parse(&strings(&["seq", "ws://h/", "16", "x"])).is_err());
        assert!(Workload::parse(&strings(&["fly", "ws://h/"])).is_err());
    }

    #[test]
    fn payloads_check_size_order_and_content() {
        for size in [0, 3, 16, 1000] {
            let payloads = Payloads::new(size);
            let message = payloads.message(7);
            assert_eq!(message.len(), size);
            assert_eq!(payloads.check(7, &message), Ok(()));
            if size >= 2 {
                assert!(payloads.check(7, &message[..size / 2]).is_err());
                assert!(payloads.check(8, &message).is_err());
                let mut corrupt = message.clone();
                corrupt[size - 1] ^= 1;
                assert!(payloads.check(7, &corrupt).is_err());
            }
        }
    }

    #[test]
    fn window_holds_the_sender_until_a_slot_is_freed() {
        let window = Window::new(1);
        let mut cx = std::task::Context::from_waker(Waker::noop());
        let mut first = std::pin::pin!(window.acquire());
        assert_eq!(first.as_mut().poll(&mut cx), Poll::Ready(()));
        let mut second = std::pin::pin!(window.acquire());
        assert_eq!(second.as_mut().poll(&mut cx), Poll::Pending);
        window.release();
        assert_eq!(second.as_mut().poll(&mut cx), Poll::Ready(()));
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let mut samples: Vec<Duration> = (1..=100).rev().map(Duration::from_micros).collect();
        assert_eq!(
            percentiles(&mut samples),
            Some((Duration::from_micros(50), Duration::from_micros(99)))
        );
        assert_eq!(percentiles(&mut []), None);
    }

    #[test]
    fn report_is_one_json_line() {
        let report = Report {
            workload: "latency",
            messages: 2,
            bytes: 32,
            connect: Duration::from_micros(5),
            elapsed: Duration::from_secs(1),
            percentiles: Some((Duration::from_micros(10), Duration::from_micros(20))),
        };
        assert_eq!(
            report.to_json(),
            "{\"workload\":\"latency\",\"messages\":2,\"bytes\":32,\"connect_us\":5.0,\
             \"elapsed_us\":1000000.0,\"msgs_per_s\":2.0,\"mb_per_s\":0.000,\
             \"p50_us\":10.0,\"p99_us\":20.0}"
        );
    }
}
