//! The byte stream tungstenite runs on: plain TCP ([`TcpIo`]) or TLS over it,
//! with the [`CloseWatch`] that sees every byte read.

use std::io::{self, Read, Write};
use std::rc::Rc;

use crate::close_watch::CloseWatch;
use crate::io::TcpIo;

/// The byte stream tungstenite runs on: plain TCP or TLS over TCP, and the
/// [`CloseWatch`] that sees every byte read from it.
pub struct Transport {
    stream: Stream,
    pub close_watch: CloseWatch,
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
        }
    }

    /// Best-effort goodbye below the WebSocket layer (TLS close_notify).
    pub fn shutdown(&mut self) {
        match &mut self.stream {
            Stream::Plain(_) => {}
            #[cfg(feature = "tls")]
            Stream::Tls(tls) => tls.send_close_notify(),
        }
    }
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match &mut self.stream {
            Stream::Plain(tcp) => (&**tcp).read(buf)?,
            #[cfg(feature = "tls")]
            Stream::Tls(tls) => tls.read(buf)?,
        };
        self.close_watch.feed(&buf[..n]);
        Ok(n)
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
