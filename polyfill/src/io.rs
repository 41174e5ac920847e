//! Non-blocking `Read`/`Write` over the wasi:sockets TCP streams, and waiting on
//! their pollables with a deadline.
//!
//! An empty read, or an output stream that takes no bytes, is
//! `io::ErrorKind::WouldBlock`; the adapter remembers which direction blocked so
//! that [`TcpIo::wait`] polls the right stream (plus a clock for the deadline).

use std::cell::{Cell, RefCell};
use std::io::{self, Read, Write};
use std::mem::ManuallyDrop;

use wasip2::clocks::monotonic_clock;
use wasip2::io::poll::{self, Pollable};
use wasip2::io::streams::StreamError;
use wasip2::sockets::tcp::ShutdownType;

use crate::net::TcpConnection;

/// A point on the monotonic clock (nanoseconds).
pub(crate) type Instant = monotonic_clock::Instant;

/// When a wait gives up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Deadline {
    /// Do not wait at all.
    Now,
    /// Wait until this instant.
    At(Instant),
    /// Wait as long as it takes.
    Never,
}

impl Deadline {
    /// `ms` milliseconds from now.
    pub(crate) fn after_ms(ms: u64) -> Deadline {
        if ms == 0 {
            return Deadline::Now;
        }
        Deadline::At(monotonic_clock::now().saturating_add(ms.saturating_mul(1_000_000)))
    }

    /// `d` from now.
    pub(crate) fn after(d: std::time::Duration) -> Deadline {
        Deadline::after_ms(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    /// Whether the deadline has passed.
    pub(crate) fn passed(self) -> bool {
        match self {
            Deadline::Now => true,
            Deadline::At(t) => monotonic_clock::now() >= t,
            Deadline::Never => false,
        }
    }
}

/// A pollable that is ready at once.
pub(crate) fn ready_pollable() -> Pollable {
    monotonic_clock::subscribe_duration(0)
}

/// Blocks until `pollable` is ready or the deadline passes; `true` when ready.
pub(crate) fn wait_for(pollable: &Pollable, deadline: Deadline) -> bool {
    match deadline {
        Deadline::Now => pollable.ready(),
        Deadline::Never => {
            pollable.block();
            true
        }
        Deadline::At(t) => {
            let timer = monotonic_clock::subscribe_instant(t);
            let ready = poll::poll(&[pollable, &timer]);
            ready.contains(&0)
        }
    }
}

/// The TCP connection and its two streams. Shared (`Rc`) between the byte
/// stream that tungstenite drives and the connection, which waits on and
/// subscribes to them. Dropping it closes the connection without waiting for
/// the peer ([`TcpConnection::close`]).
pub(crate) struct TcpIo {
    /// Taken out only by `Drop`.
    tcp: ManuallyDrop<TcpConnection>,
    /// Bytes accepted by `write` and not yet taken by the output stream. Taking a
    /// whole frame at once keeps tungstenite from re-copying a large frame's tail
    /// for every small chunk the stream accepts.
    pending: RefCell<Pending>,
    want_read: Cell<bool>,
    want_write: Cell<bool>,
    /// Bytes were written since the output stream was last asked to flush.
    unflushed: Cell<bool>,
    /// The input stream reported its end.
    eof: Cell<bool>,
}

#[derive(Default)]
struct Pending {
    buf: Vec<u8>,
    start: usize,
}

impl TcpIo {
    pub(crate) fn new(tcp: TcpConnection) -> TcpIo {
        TcpIo {
            tcp: ManuallyDrop::new(tcp),
            pending: RefCell::new(Pending::default()),
            want_read: Cell::new(false),
            want_write: Cell::new(false),
            unflushed: Cell::new(false),
            eof: Cell::new(false),
        }
    }

    /// The input stream's pollable: ready when bytes (or the end) arrived.
    pub(crate) fn subscribe_input(&self) -> Pollable {
        self.tcp.input.subscribe()
    }

    /// Shuts the socket down in both directions (bytes not yet handed to the
    /// host are dropped); later reads see the end, later writes fail.
    pub(crate) fn shutdown(&self) {
        let _ = self.tcp.socket.shutdown(ShutdownType::Both);
    }

    /// Whether the input stream ended.
    pub(crate) fn at_eof(&self) -> bool {
        self.eof.get()
    }

    /// Waits until the direction(s) that last returned `WouldBlock` can make
    /// progress, or the deadline passes. `true` when a stream is ready.
    pub(crate) fn wait(&self, deadline: Deadline) -> bool {
        let want_write = self.want_write.replace(false);
        let want_read = self.want_read.replace(false) || !want_write;
        if deadline == Deadline::Now {
            return false;
        }
        let mut pollables = Vec::with_capacity(3);
        if want_read {
            pollables.push(self.tcp.input.subscribe());
        }
        if want_write {
            pollables.push(self.tcp.output.subscribe());
        }
        let streams = pollables.len() as u32;
        if let Deadline::At(t) = deadline {
            pollables.push(monotonic_clock::subscribe_instant(t));
        }
        let refs: Vec<&Pollable> = pollables.iter().collect();
        poll::poll(&refs).iter().any(|&i| i < streams)
    }

    /// Reads and discards input until the peer ends the stream or the deadline
    /// passes (used when closing, to let the server close TCP first).
    pub(crate) fn drain_until_eof(&self, deadline: Deadline) {
        let mut sink = [0u8; 16 * 1024];
        let mut me = self;
        loop {
            match me.read(&mut sink) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.want_read.set(true);
                    if !self.wait(deadline) {
                        return;
                    }
                }
                Err(_) => return,
            }
        }
    }

    /// Hands `data` to the output stream as far as it takes it now; returns how
    /// many bytes it took (fewer than all when it is full: `want_write` is set).
    fn push(&self, data: &[u8]) -> io::Result<usize> {
        let mut done = 0;
        while done < data.len() {
            let permit = match self.tcp.output.check_write() {
                Ok(0) => {
                    self.want_write.set(true);
                    break;
                }
                Ok(n) => usize::try_from(n).unwrap_or(usize::MAX),
                Err(e) => return Err(write_error(e)),
            };
            let end = data.len().min(done.saturating_add(permit));
            self.tcp
                .output
                .write(&data[done..end])
                .map_err(write_error)?;
            self.unflushed.set(true);
            done = end;
        }
        Ok(done)
    }

    /// Writes what `pending` holds until done (`Ok`) or the stream is full
    /// (`WouldBlock`).
    fn push_pending(&self) -> io::Result<()> {
        let mut pending = self.pending.borrow_mut();
        if pending.start < pending.buf.len() {
            let taken = self.push(&pending.buf[pending.start..])?;
            pending.start += taken;
            if pending.start < pending.buf.len() {
                return Err(io::ErrorKind::WouldBlock.into());
            }
        }
        pending.buf.clear();
        pending.start = 0;
        Ok(())
    }
}

impl Drop for TcpIo {
    fn drop(&mut self) {
        // SAFETY: `tcp` is taken once, here, and not used afterwards.
        let tcp = unsafe { ManuallyDrop::take(&mut self.tcp) };
        tcp.close();
    }
}

fn write_error(e: StreamError) -> io::Error {
    match e {
        StreamError::Closed => {
            io::Error::new(io::ErrorKind::BrokenPipe, "the connection was closed")
        }
        StreamError::LastOperationFailed(e) => {
            io::Error::new(io::ErrorKind::ConnectionReset, e.to_debug_string())
        }
    }
}

impl Read for &TcpIo {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.eof.get() {
            return Ok(0);
        }
        let len = u64::try_from(buf.len()).unwrap_or(u64::MAX);
        match self.tcp.input.read(len) {
            Ok(chunk) if chunk.is_empty() => {
                self.want_read.set(true);
                Err(io::ErrorKind::WouldBlock.into())
            }
            Ok(chunk) => {
                let n = chunk.len().min(buf.len());
                buf[..n].copy_from_slice(&chunk[..n]);
                Ok(n)
            }
            Err(StreamError::Closed) => {
                self.eof.set(true);
                Ok(0)
            }
            Err(StreamError::LastOperationFailed(e)) => {
                self.eof.set(true);
                Err(io::Error::new(
                    io::ErrorKind::ConnectionReset,
                    e.to_debug_string(),
                ))
            }
        }
    }
}

impl Write for &TcpIo {
    /// Takes all of `buf`; [`flush`](Write::flush) (or a later write) pushes out
    /// what the stream did not take at once. Never `Ok(0)` for a non-empty buffer.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let queued = match self.push_pending() {
            Ok(()) | Err(_) if buf.is_empty() => return Ok(0),
            Ok(()) => false,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => true,
            Err(e) => return Err(e),
        };
        // Start sending now, straight from `buf` when nothing waits before it;
        // only the rest is copied, to wait for `flush`.
        let taken = if queued { 0 } else { self.push(buf)? };
        self.pending
            .borrow_mut()
            .buf
            .extend_from_slice(&buf[taken..]);
        Ok(buf.len())
    }

    /// Done when every byte was handed to the host and the host was asked to
    /// send it (`flush`); `WouldBlock` while the output stream is full. It does
    /// not wait for the host to finish writing: a later write waits for that
    /// (the stream takes no bytes until then), and a failure of that write is
    /// reported by the next write.
    fn flush(&mut self) -> io::Result<()> {
        self.push_pending()?;
        if self.unflushed.replace(false) {
            self.tcp.output.flush().map_err(write_error)?;
        }
        Ok(())
    }
}

/// The byte stream tungstenite runs on: plain TCP or TLS over TCP.
pub(crate) enum Transport {
    Plain(std::rc::Rc<TcpIo>),
    #[cfg(feature = "tls")]
    Tls(Box<crate::tls::TlsStream>),
}

impl Transport {
    /// Best-effort goodbye below the WebSocket layer (TLS close_notify).
    pub(crate) fn shutdown(&mut self) {
        match self {
            Transport::Plain(_) => {}
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => tls.send_close_notify(),
        }
    }
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(tcp) => (&**tcp).read(buf),
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(tcp) => (&**tcp).write(buf),
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => tls.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain(tcp) => (&**tcp).flush(),
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => tls.flush(),
        }
    }
}
