//! Non-blocking `Read`/`Write` over the wasi:sockets TCP streams, and waiting on
//! their pollables with a deadline ([`Deadline`]).
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

use crate::budget::Slice;
use crate::net::TcpConnection;
use crate::wait::Deadline;

/// The TCP connection and its two streams. Shared (`Rc`) between the byte
/// stream that tungstenite drives and the connection, which waits on and
/// subscribes to them. Dropping it closes the connection without waiting for
/// the peer ([`TcpConnection::close`]).
pub struct TcpIo {
    /// Taken out only by `Drop`.
    tcp: ManuallyDrop<TcpConnection>,
    /// Bytes accepted by `write` and not yet taken by the output stream: the
    /// rest of one `write` call, or a send ahead's frames (see [`Pending`]).
    pending: RefCell<Pending>,
    /// What the current receive call may still read (see [`Slice`]).
    slice: Cell<Slice>,
    want_read: Cell<bool>,
    want_write: Cell<bool>,
    /// How many bytes the write queue may hold without pushing while the
    /// app's own frame is written (see [`Pending`]); 0 otherwise.
    ahead: Cell<usize>,
    /// The last `write` was refused (`WouldBlock`): its writer (tungstenite,
    /// rustls) still holds bytes. The last write tells, since a writer
    /// always offers the bytes it holds again before anything new.
    refused: Cell<bool>,
    /// Bytes were written since the output stream was last asked to flush.
    unflushed: Cell<bool>,
    /// The input stream reported its end.
    eof: Cell<bool>,
}

/// The write queue: bytes accepted by `write` that the output stream has not
/// taken yet.
///
/// Taking a whole frame at once keeps tungstenite from re-copying a large
/// frame's tail for every small chunk the stream accepts. Outside a send
/// ahead (`ahead` 0), the queue takes a buffer only when it is empty: a
/// `write` that finds bytes still queued pushes those first and, while the
/// stream does not take them all, takes nothing (`WouldBlock`). So it holds
/// at most the largest single buffer tungstenite writes, which is one frame
/// the app sends, or the few control frames tungstenite's write buffer holds
/// (`CONTROL_ROOM` in session.rs). What a peer sends never grows it: a peer
/// that floods pings and never reads finds the queue full, tungstenite keeps
/// one pong and drops the others.
///
/// A send ahead (`ahead` > 0, only while the app's own frame is written:
/// [`TcpIo::send_ahead`]) appends the frame without pushing while the queue
/// then holds at most `ahead` bytes, so that frames sent one after another
/// leave in one write (a later flush). A frame that does not fit goes the
/// way above.
#[derive(Default)]
struct Pending {
    buf: Vec<u8>,
    start: usize,
}

/// The queue gives back its memory when it empties, above this capacity.
const PENDING_KEEP: usize = 64 * 1024;

impl Pending {
    fn is_empty(&self) -> bool {
        self.start >= self.buf.len()
    }

    /// The bytes waiting.
    fn len(&self) -> usize {
        self.buf.len().saturating_sub(self.start)
    }

    /// Pushes the queued bytes: `Ok` once none are left, `WouldBlock` while the
    /// stream does not take them.
    fn push(&mut self, push: &mut impl FnMut(&[u8]) -> io::Result<usize>) -> io::Result<()> {
        if !self.is_empty() {
            let taken = push(&self.buf[self.start..])?;
            self.start += taken;
            if !self.is_empty() {
                return Err(io::ErrorKind::WouldBlock.into());
            }
        }
        if self.buf.capacity() > PENDING_KEEP {
            self.buf = Vec::new();
        } else {
            self.buf.clear();
        }
        self.start = 0;
        Ok(())
    }

    /// `Write::write` through `push` (which hands bytes to the stream and
    /// says how many it took): all of `buf` is taken when nothing was queued,
    /// none of it (`WouldBlock`) while queued bytes wait.
    ///
    /// Within a send ahead of `ahead` bytes, a buffer that fits is appended
    /// whole and nothing is pushed.
    fn write(
        &mut self,
        buf: &[u8],
        ahead: usize,
        push: &mut impl FnMut(&[u8]) -> io::Result<usize>,
    ) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.len().saturating_add(buf.len()) <= ahead {
            // What was pushed is dropped once it outweighs what waits, or
            // before the buffer would grow; and it grows to the bound at
            // most. So a queue that never empties (a slow peer) holds at
            // most `ahead` bytes of memory, not a doubling of it.
            let grows = self.buf.len() + buf.len() > self.buf.capacity();
            if self.start > 0 && (self.start >= self.len() || grows) {
                self.buf.drain(..self.start);
                self.start = 0;
            }
            let needed = self.buf.len() + buf.len();
            if needed > self.buf.capacity() {
                let target = needed.max(self.buf.capacity() * 2).min(ahead);
                self.buf.reserve_exact(target - self.buf.len());
            }
            self.buf.extend_from_slice(buf);
            return Ok(buf.len());
        }
        self.push(push)?;
        // Start sending now, straight from `buf`; only the rest is copied.
        let taken = push(buf)?;
        self.buf.extend_from_slice(&buf[taken..]);
        Ok(buf.len())
    }
}

impl TcpIo {
    pub fn new(tcp: TcpConnection) -> TcpIo {
        TcpIo {
            tcp: ManuallyDrop::new(tcp),
            pending: RefCell::new(Pending::default()),
            slice: Cell::new(Slice::unlimited()),
            want_read: Cell::new(false),
            want_write: Cell::new(false),
            ahead: Cell::new(0),
            refused: Cell::new(false),
            unflushed: Cell::new(false),
            eof: Cell::new(false),
        }
    }

    /// The input stream's pollable: ready when bytes (or the end) arrived.
    pub fn subscribe_input(&self) -> Pollable {
        self.tcp.input.subscribe()
    }

    /// The output stream's pollable: ready when the stream takes bytes again.
    pub fn subscribe_output(&self) -> Pollable {
        self.tcp.output.subscribe()
    }

    /// Which directions returned `WouldBlock` since the last call (`(read,
    /// write)`), and forgets them: what an async caller waits on. Neither
    /// set means "read" (a read that found the slice spent sets none).
    pub fn take_wants(&self) -> (bool, bool) {
        let want_write = self.want_write.replace(false);
        let want_read = self.want_read.replace(false) || !want_write;
        (want_read, want_write)
    }

    /// Shuts the socket down in both directions (bytes not yet handed to the
    /// host are dropped); later reads see the end, later writes fail.
    pub fn shutdown(&self) {
        let _ = self.tcp.socket.shutdown(ShutdownType::Both);
    }

    /// How many bytes of earlier writes still wait for room in the output
    /// stream.
    pub fn queued_bytes(&self) -> usize {
        self.pending.borrow().len()
    }

    /// Lets the writes that follow queue up to `bytes` without pushing them
    /// (0: none), for the app's own frames: they leave together with the
    /// next flush, or with a write that does not fit.
    pub fn send_ahead(&self, bytes: usize) {
        self.ahead.set(bytes);
    }

    /// Whether the last write was refused, so that its writer (tungstenite,
    /// or rustls under TLS) still holds bytes that a flush hands on.
    pub fn refused(&self) -> bool {
        self.refused.get()
    }

    /// Whether the input stream ended.
    pub fn at_eof(&self) -> bool {
        self.eof.get()
    }

    /// Waits until the direction(s) that last returned `WouldBlock` can make
    /// progress, or the deadline passes. `true` when a stream is ready.
    pub fn wait(&self, deadline: Deadline) -> bool {
        let (want_read, want_write) = self.take_wants();
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

    /// Starts a new slice of reading: reads beyond it are `WouldBlock` until
    /// the next one (see [`Slice`]).
    pub fn start_slice(&self, slice: Slice) {
        self.slice.set(slice);
    }

    /// What the current slice has left (compared with the slice it started
    /// as: whether the read took anything).
    pub fn slice(&self) -> Slice {
        self.slice.get()
    }

    /// Counts one control frame against the slice; `false` once it is spent.
    pub fn take_frame(&self) -> bool {
        let mut slice = self.slice.get();
        let more = slice.take_frame();
        self.slice.set(slice);
        more
    }

    /// Whether the current slice is spent (a `WouldBlock` then means "come
    /// back", not "nothing arrived").
    pub fn slice_spent(&self) -> bool {
        self.slice.get().spent()
    }

    /// Reads and discards what has already arrived, at most `limit` bytes,
    /// never waiting (used when dropping, so that the socket is not closed
    /// with unread data, which makes the kernel reset the connection).
    pub fn discard_arrived(&self, limit: usize) {
        self.start_slice(Slice::of(u32::MAX, limit));
        let mut sink = [0u8; 16 * 1024];
        let mut me = self;
        while let Ok(n) = me.read(&mut sink) {
            if n == 0 {
                return;
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
            let end = done + next_piece(data.len() - done, permit);
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
        self.pending.borrow_mut().push(&mut |data| self.push(data))
    }
}

/// How much of `left` bytes to write next under a permit of `permit`.
///
/// A buffer of more than two permits goes out as its remainder first and
/// then in whole permits: a 1 MiB frame with its 14-byte header under
/// wasmtime's 64 KiB permit is 14 bytes, then 16 writes of 64 KiB. Written
/// the other way round, its last write (14 bytes) is a small segment that
/// the kernel holds until the peer acknowledges the small segment before it
/// (Nagle; wasi:sockets 0.2 cannot set `TCP_NODELAY`): sequential 1 MiB
/// round trips ran at 0.26 of native, and at 0.8-1.1 this way. Smaller
/// buffers go in whole permits: a 64 KiB frame gained nothing from it.
fn next_piece(left: usize, permit: usize) -> usize {
    let permit = permit.max(1);
    match left % permit {
        rest if rest > 0 && left > permit.saturating_mul(2) => rest,
        _ => left.min(permit),
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

impl TcpIo {
    /// [`Read::read`] with `put` moving the bytes that came (at most
    /// `buf.len()`) into `buf`: it returns how many it wrote there, which
    /// `read_with` returns beside how many came (`(0, 0)` at the end). A
    /// plain copy makes it `read`; a server's transport takes the client's
    /// masks off on the way ([`crate::transport::Transport::unmask`]).
    pub fn read_with(
        &self,
        buf: &mut [u8],
        put: impl FnOnce(&[u8], &mut [u8]) -> io::Result<usize>,
    ) -> io::Result<(usize, usize)> {
        if buf.is_empty() || self.eof.get() {
            return Ok((0, 0));
        }
        let mut slice = self.slice.get();
        let allowed = slice.allow_bytes(buf.len());
        if allowed == 0 {
            // The slice is spent, not the stream: the caller comes back.
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let len = u64::try_from(allowed).unwrap_or(u64::MAX);
        match self.tcp.input.read(len) {
            Ok(chunk) if chunk.is_empty() => {
                self.want_read.set(true);
                Err(io::ErrorKind::WouldBlock.into())
            }
            Ok(chunk) => {
                let n = chunk.len().min(buf.len());
                slice.took_bytes(n);
                self.slice.set(slice);
                Ok((n, put(&chunk[..n], buf)?))
            }
            Err(StreamError::Closed) => {
                self.eof.set(true);
                Ok((0, 0))
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

impl Read for &TcpIo {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let (_, written) = self.read_with(buf, |chunk, buf| {
            buf[..chunk.len()].copy_from_slice(chunk);
            Ok(chunk.len())
        })?;
        Ok(written)
    }
}

impl Write for &TcpIo {
    /// Takes all of `buf` when no earlier bytes wait for room (or it fits a
    /// send ahead), else none (`WouldBlock`): see `Pending`.
    /// [`flush`](Write::flush) (or a later write) pushes out what the stream
    /// did not take at once. Never `Ok(0)` for a non-empty buffer.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self
            .pending
            .borrow_mut()
            .write(buf, self.ahead.get(), &mut |data| self.push(data));
        self.refused
            .set(matches!(&written, Err(e) if e.kind() == io::ErrorKind::WouldBlock));
        written
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake output stream that takes at most `room` bytes, then nothing.
    struct Stream {
        room: usize,
        taken: Vec<u8>,
    }

    impl Stream {
        fn with_room(room: usize) -> Stream {
            Stream {
                room,
                taken: Vec::new(),
            }
        }

        fn push(&mut self, data: &[u8]) -> io::Result<usize> {
            let n = data.len().min(self.room);
            self.room -= n;
            self.taken.extend_from_slice(&data[..n]);
            Ok(n)
        }
    }

    fn would_block(result: io::Result<usize>) -> bool {
        matches!(result, Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }

    #[test]
    fn a_large_buffer_goes_out_remainder_first_then_in_whole_permits() {
        let permit = 64 * 1024;
        let pieces = |mut left: usize| {
            let mut pieces = Vec::new();
            while left > 0 {
                let piece = next_piece(left, permit);
                assert!(piece > 0 && piece <= permit);
                pieces.push(piece);
                left -= piece;
            }
            pieces
        };
        let mut mib = vec![14];
        mib.extend([permit; 16]);
        assert_eq!(pieces((1 << 20) + 14), mib);
        assert_eq!(pieces(permit + 14), [permit, 14]);
        assert_eq!(pieces(3 * permit), [permit; 3]);
        assert_eq!(pieces(100), [100]);
        assert_eq!(next_piece(5, 0), 1, "a zero permit still makes progress");
        assert_eq!(next_piece(5, usize::MAX), 5, "a permit of all memory");
    }

    #[test]
    fn a_buffer_is_taken_whole_when_nothing_waits() {
        let mut pending = Pending::default();
        let mut stream = Stream::with_room(3);
        let frame = b"0123456789";
        assert_eq!(
            pending.write(frame, 0, &mut |d| stream.push(d)).unwrap(),
            10
        );
        assert_eq!(stream.taken, b"012");
        assert_eq!(&pending.buf[pending.start..], b"3456789");
        // Room again: the rest goes out, in order, before anything new.
        stream.room = 100;
        assert_eq!(pending.write(b"ab", 0, &mut |d| stream.push(d)).unwrap(), 2);
        assert_eq!(stream.taken, b"0123456789ab");
        assert!(pending.is_empty());
    }

    #[test]
    fn a_full_queue_takes_nothing() {
        let mut pending = Pending::default();
        let mut stream = Stream::with_room(0);
        // A peer that never reads: the first pong is queued ...
        assert_eq!(
            pending
                .write(&[0x8a, 0x80, 1, 2, 3, 4], 0, &mut |d| stream.push(d))
                .unwrap(),
            6
        );
        // ... and every later one is refused, whatever the number.
        for _ in 0..100_000 {
            let pong = [0x8a, 0x80, 1, 2, 3, 4];
            assert!(would_block(
                pending.write(&pong, 0, &mut |d| stream.push(d))
            ));
        }
        assert_eq!(pending.buf.len(), 6, "the queue holds one write");
    }

    #[test]
    fn a_partly_pushed_queue_still_refuses() {
        let mut pending = Pending::default();
        let mut stream = Stream::with_room(2);
        pending
            .write(b"abcdef", 0, &mut |d| stream.push(d))
            .unwrap();
        stream.room = 2;
        assert!(would_block(pending.write(b"x", 0, &mut |d| stream.push(d))));
        assert_eq!(stream.taken, b"abcd");
        stream.room = 10;
        assert_eq!(pending.write(b"x", 0, &mut |d| stream.push(d)).unwrap(), 1);
        assert_eq!(stream.taken, b"abcdefx");
    }

    #[test]
    fn a_large_queue_gives_its_memory_back() {
        let mut pending = Pending::default();
        let mut stream = Stream::with_room(0);
        let big = vec![7u8; 1 << 20];
        pending.write(&big, 0, &mut |d| stream.push(d)).unwrap();
        assert!(pending.buf.capacity() >= 1 << 20);
        stream.room = usize::MAX;
        pending.push(&mut |d| stream.push(d)).unwrap();
        assert_eq!(pending.buf.capacity(), 0);
        assert_eq!(stream.taken.len(), 1 << 20);
    }

    #[test]
    fn a_send_ahead_appends_what_fits_without_pushing() {
        let mut pending = Pending::default();
        let mut stream = Stream::with_room(100);
        for frame in [&b"abc"[..], b"defg", b"hi"] {
            assert_eq!(
                pending.write(frame, 9, &mut |d| stream.push(d)).unwrap(),
                frame.len()
            );
        }
        assert!(stream.taken.is_empty(), "nothing pushed within the bound");
        // One that does not fit pushes what waits first, then itself.
        assert_eq!(pending.write(b"jk", 9, &mut |d| stream.push(d)).unwrap(), 2);
        assert_eq!(stream.taken, b"abcdefghijk");
        assert!(pending.is_empty());
        // Behind a full stream, a frame that does not fit is refused.
        stream.room = 0;
        pending
            .write(b"0123456", 9, &mut |d| stream.push(d))
            .unwrap();
        assert!(would_block(
            pending.write(b"789", 9, &mut |d| stream.push(d))
        ));
        assert_eq!(pending.write(b"78", 9, &mut |d| stream.push(d)).unwrap(), 2);
        assert_eq!(pending.len(), 9);
    }

    #[test]
    fn a_queue_that_never_empties_stays_within_its_bound() {
        // A slow peer: the stream takes 5 bytes a turn, the app sends 10.
        let mut pending = Pending::default();
        let mut stream = Stream::with_room(0);
        let ahead = 1000;
        for _ in 0..10_000 {
            stream.room = 5;
            let _ = pending.push(&mut |d| stream.push(d));
            let _ = pending.write(&[1; 10], ahead, &mut |d| stream.push(d));
            assert!(pending.len() <= ahead);
            assert!(
                pending.buf.capacity() <= ahead,
                "{} bytes held for a bound of {ahead}",
                pending.buf.capacity()
            );
        }
        assert!(!pending.is_empty(), "the queue never emptied");
    }

    proptest::proptest! {
        /// Whatever the frames, the bound and the stream's room: the stream
        /// gets the accepted frames' bytes in order, a refused frame leaves
        /// no byte behind, and the queue (and its buffer) stays bounded.
        #[test]
        fn the_queue_keeps_order_and_bounds(
            ahead in 0usize..64,
            steps in proptest::collection::vec((1usize..40, 0usize..48, proptest::bool::ANY), 1..80),
        ) {
            let mut pending = Pending::default();
            let mut stream = Stream::with_room(0);
            let mut accepted = Vec::new();
            let mut largest = 0;
            for (i, (len, room, flush)) in steps.into_iter().enumerate() {
                stream.room = room;
                let frame: Vec<u8> = (0..len).map(|j| (i * 7 + j) as u8).collect();
                if flush {
                    let _ = pending.push(&mut |d| stream.push(d));
                } else {
                    match pending.write(&frame, ahead, &mut |d| stream.push(d)) {
                        Ok(n) => {
                            proptest::prop_assert_eq!(n, len);
                            accepted.extend_from_slice(&frame);
                            largest = largest.max(len);
                        }
                        Err(e) => proptest::prop_assert_eq!(e.kind(), io::ErrorKind::WouldBlock),
                    }
                }
                proptest::prop_assert!(accepted.starts_with(&stream.taken));
                proptest::prop_assert_eq!(stream.taken.len() + pending.len(), accepted.len());
                proptest::prop_assert!(pending.len() <= ahead.max(largest));
                proptest::prop_assert!(pending.buf.len() <= 2 * ahead.max(largest));
            }
        }
    }

    #[test]
    fn an_empty_write_takes_nothing_and_errors_pass_through() {
        let mut pending = Pending::default();
        let mut stream = Stream::with_room(0);
        assert_eq!(pending.write(b"", 0, &mut |d| stream.push(d)).unwrap(), 0);
        let mut broken = |_: &[u8]| -> io::Result<usize> { Err(io::ErrorKind::BrokenPipe.into()) };
        let err = pending.write(b"x", 0, &mut broken).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }
}
