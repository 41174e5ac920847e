//! The server's request-head parser as a fuzz entry point (feature
//! `fuzzing`): it takes arbitrary bytes, runs [`HeadReader`] on them and
//! checks what it returned; a panic is a finding. `fuzz/` runs it under
//! libFuzzer (`just fuzz`), and this crate's tests run it on stable over a
//! bounded set of inputs.

use std::io::{self, Read};

use crate::accept::{self, HeadError, HeadReader};

/// The statuses a refused head is answered with.
const REFUSALS: [u16; 4] = [400, 405, 426, 431];

/// A stream that hands out its bytes in chunks of a fixed size, then
/// `WouldBlock`.
struct Chunks<'a> {
    data: &'a [u8],
    size: usize,
}

impl Read for Chunks<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.data.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = self.size.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// The request-head reader: the first byte sets the chunk size and the
/// head limit, the rest is the stream. A head it takes leaves the bytes
/// after it as the tail and is answered with a 101; one it refuses gets a
/// status of [`REFUSALS`]; it never reads past its limit.
pub fn request_head(data: &[u8]) {
    let Some((&first, stream)) = data.split_first() else {
        return;
    };
    let limit = if first & 0x80 != 0 {
        64 + usize::from(first & 0x3f) * 8
    } else {
        accept::MAX_HEAD_SIZE
    };
    let mut chunks = Chunks {
        data: stream,
        size: usize::from(first & 0x3f).max(1),
    };
    let mut reader = HeadReader::new(limit);
    loop {
        let left = chunks.data.len();
        match reader.read_from(&mut chunks) {
            Ok(Some((request, tail))) => {
                let read = stream.len() - chunks.data.len();
                assert!(
                    read <= limit + 1,
                    "read {read} bytes past the limit {limit}"
                );
                assert!(stream[..read].ends_with(&tail));
                assert!(read - tail.len() <= limit);
                assert!(accept::accept_response(&request, None).is_ok());
                for protocol in accept::offered_protocols(&request) {
                    let _ = accept::accept_response(&request, Some(&protocol));
                }
                return;
            }
            Ok(None) if chunks.data.is_empty() || chunks.data.len() == left => return,
            Ok(None) => {}
            Err(HeadError::Refused(refusal)) => {
                assert!(REFUSALS.contains(&refusal.status), "{refusal:?}");
                assert!(accept::refusal_response(refusal.status, &refusal.text).is_ok());
                let read = stream.len() - chunks.data.len();
                assert!(
                    read <= limit + 1,
                    "read {read} bytes past the limit {limit}"
                );
                return;
            }
            Err(HeadError::Io(e)) => panic!("a stream that only blocks failed: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_websocket_protocol::fuzzing::Inputs;

    #[test]
    fn the_head_reader_takes_any_bytes() {
        let seeds: [&[u8]; 3] = [
            b"\x10GET /chat?room=1 HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\
              Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
              Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: a, b\r\n\r\n\x81\x00",
            b"\x81GET / HTTP/1.1\r\nX: y\r\n\r\n",
            b"\x3fPOST / HTTP/1.0\r\n\r\n",
        ];
        Inputs::new(&seeds, 5000).for_each(|input| request_head(&input));
    }
}
