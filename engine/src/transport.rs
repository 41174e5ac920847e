//! The byte stream tungstenite runs on: plain TCP ([`TcpIo`]) or TLS over it,
//! with the [`CloseWatch`] that sees every byte read, and for a server the
//! [`Unmasker`] that takes the client's masks off.

use std::io::{self, Read, Write};
use std::rc::Rc;

use wasm_websocket_protocol::unmask::{UnmaskedFrame, Unmasker};

use crate::close_watch::CloseWatch;
use crate::io::TcpIo;

/// The byte stream tungstenite runs on: plain TCP or TLS over TCP, and the
/// [`CloseWatch`] that sees every byte read from it.
pub struct Transport {
    stream: Stream,
    pub close_watch: CloseWatch,
    /// A server's, once its handshake is done ([`Transport::unmask`]).
    unmask: Option<Unmasker>,
    /// What was read before unmasking began and is not yet read again.
    held: Vec<u8>,
}

enum Stream {
    Plain(Rc<TcpIo>),
    #[cfg(feature = "tls")]
    Tls(Box<crate::tls::TlsStream>),
}

impl Transport {
    pub fn plain(tcp: Rc<TcpIo>) -> Transport {
        Transport::new(Stream::Plain(tcp))
    }

    #[cfg(feature = "tls")]
    pub fn tls(tls: crate::tls::TlsStream) -> Transport {
        Transport::new(Stream::Tls(Box::new(tls)))
    }

    fn new(stream: Stream) -> Transport {
        Transport {
            stream,
            close_watch: CloseWatch::default(),
            unmask: None,
            held: Vec::new(),
        }
    }

    /// From here on (a server's, after its handshake), reads give the
    /// client's frames with their masks taken off, eight bytes at a time on
    /// the way into the reader's buffer ([`Unmasker`]), starting with
    /// `tail`, what was read after the request head (the close watch saw it
    /// then, and does not see it again). The WebSocket on top
    /// accepts unmasked frames ([`crate::accept::server_socket`]); a frame
    /// the client did not mask fails the read with [`UnmaskedFrame`] inside
    /// an `InvalidData` error, which [`crate::errors::classify_read`] reads
    /// as a protocol violation.
    ///
    /// [`UnmaskedFrame`]: wasm_websocket_protocol::unmask::UnmaskedFrame
    pub fn unmask(&mut self, tail: Vec<u8>) {
        self.unmask = Some(Unmasker::default());
        self.held = tail;
    }

    /// Best-effort goodbye below the WebSocket layer (TLS close_notify).
    pub fn shutdown(&mut self) {
        match &mut self.stream {
            Stream::Plain(_) => {}
            #[cfg(feature = "tls")]
            Stream::Tls(tls) => tls.send_close_notify(),
        }
    }

    /// One read: the held bytes first (which the close watch saw when they
    /// were read), then the stream; returns how many bytes came and how
    /// many it wrote to `buf` (fewer when the unmasker dropped keys).
    fn read_once(&mut self, buf: &mut [u8]) -> io::Result<(usize, usize)> {
        let Transport {
            stream,
            close_watch,
            unmask,
            held,
        } = self;
        if unmask.as_ref().is_some_and(Unmasker::refused) {
            return Err(unmasked());
        }
        if !held.is_empty() {
            let n = held.len().min(buf.len());
            let written = put(unmask, &held[..n], buf)?;
            if n == held.len() {
                *held = Vec::new();
            } else {
                held.drain(..n);
            }
            return Ok((n, written));
        }
        match stream {
            Stream::Plain(tcp) => tcp.read_with(buf, |came, buf| {
                close_watch.feed(came);
                put(unmask, came, buf)
            }),
            #[cfg(feature = "tls")]
            Stream::Tls(tls) => {
                let n = tls.read(buf)?;
                close_watch.feed(&buf[..n]);
                if unmask.is_none() {
                    return Ok((n, n));
                }
                let came = buf[..n].to_vec();
                Ok((n, put(unmask, &came, buf)?))
            }
        }
    }
}

/// Moves the bytes that `came` (no more than `buf` holds) into `buf`:
/// unmasked by `unmask` when set, else as they are. Returns how many it
/// wrote. The unmasker reads them all, or stops at a frame the client did
/// not mask; the next read then fails ([`unmasked`]), the frames before that
/// one having reached the reader.
fn put(unmask: &mut Option<Unmasker>, came: &[u8], buf: &mut [u8]) -> io::Result<usize> {
    match unmask {
        Some(unmasker) => match unmasker.rewrite(came, buf) {
            Ok((read, written)) => {
                debug_assert!(read == came.len() || unmasker.refused());
                Ok(written)
            }
            Err(_) => Err(unmasked()),
        },
        None => {
            buf[..came.len()].copy_from_slice(came);
            Ok(came.len())
        }
    }
}

/// A read's error for a frame the client did not mask.
fn unmasked() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, UnmaskedFrame)
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let (came, written) = self.read_once(buf)?;
            // A read of nothing but a key writes nothing: read on (a read
            // that finds nothing more is `WouldBlock`).
            if came == 0 || written > 0 {
                return Ok(written);
            }
        }
    }
}

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.stream {
            Stream::Plain(tcp) => (&**tcp).write(buf),
            #[cfg(feature = "tls")]
            Stream::Tls(tls) => tls.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.stream {
            Stream::Plain(tcp) => (&**tcp).flush(),
            #[cfg(feature = "tls")]
            Stream::Tls(tls) => tls.flush(),
        }
    }
}
