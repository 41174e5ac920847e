//! Follows a peer's byte stream (an HTTP response head, then frames) and
//! keeps the payload of the last close frame in it.
//!
//! tungstenite, the engine, hands up the peer's close frame except for one
//! case: a frame whose code may not be sent on the wire (1005, 999, 5000,
//! ...) is answered with 1002 and handed up as `1002 "Protocol violation"`,
//! which reads exactly like a peer that closed with that code and reason. So
//! that a close is reported with the code the peer sent, the engine's
//! transport shows every byte it reads to a [`CloseWatch`], which follows the
//! frame headers (it parses no payload but a close frame's) and keeps the
//! last close payload, at most [`MAX_CONTROL_PAYLOAD`] bytes of it.

use crate::close::MAX_CONTROL_PAYLOAD;

/// Follows a peer's byte stream: the HTTP response head, then frames.
#[derive(Debug, Default)]
pub struct CloseWatch {
    state: State,
    /// The payload of the last whole close frame.
    last_close: Option<Vec<u8>>,
}

#[derive(Debug)]
enum State {
    /// In the HTTP response head; `matched` bytes of its blank line seen.
    Http { matched: usize },
    /// In a frame header: its bytes so far.
    Header { bytes: [u8; 14], have: usize },
    /// In a payload: `left` bytes to go; a close frame's are kept.
    Payload { left: u64, close: Option<Close> },
}

impl Default for State {
    fn default() -> State {
        State::Http { matched: 0 }
    }
}

#[derive(Debug)]
struct Close {
    payload: Vec<u8>,
    mask: Option<[u8; 4]>,
}

/// A close frame's payload is at most this long; more is not kept.
const MAX_CLOSE_PAYLOAD: usize = MAX_CONTROL_PAYLOAD;

const OPCODE_CLOSE: u8 = 0x8;

impl CloseWatch {
    /// A watch on a stream whose HTTP head was read elsewhere (a server's,
    /// after its request head): it starts at the first frame. The
    /// [`Default`] one starts in a response head.
    pub fn frames() -> CloseWatch {
        CloseWatch {
            state: header(),
            last_close: None,
        }
    }

    /// Sees `data`, the next bytes read from the server.
    pub fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            match &mut self.state {
                State::Http { matched } => {
                    let mut used = 0;
                    for &byte in data {
                        used += 1;
                        *matched = match (*matched, byte) {
                            (0 | 2, b'\r') => *matched + 1,
                            (1 | 3, b'\n') => *matched + 1,
                            (_, b'\r') => 1,
                            _ => 0,
                        };
                        if *matched == 4 {
                            break;
                        }
                    }
                    data = &data[used..];
                    if *matched == 4 {
                        self.state = header();
                    }
                }
                State::Header { bytes, have } => {
                    let need = header_len(&bytes[..*have]);
                    let take = (need - *have).min(data.len());
                    bytes[*have..*have + take].copy_from_slice(&data[..take]);
                    *have += take;
                    data = &data[take..];
                    if *have == header_len(&bytes[..*have]) {
                        let header = &bytes[..*have];
                        self.state = payload(header);
                        self.end_of_frame();
                    }
                }
                State::Payload { left, close } => {
                    let take = usize::try_from(*left).unwrap_or(usize::MAX).min(data.len());
                    if let Some(close) = close {
                        let room = MAX_CLOSE_PAYLOAD.saturating_sub(close.payload.len());
                        close.payload.extend_from_slice(&data[..take.min(room)]);
                    }
                    *left -= take as u64;
                    data = &data[take..];
                    self.end_of_frame();
                }
            }
        }
    }

    /// Moves on to the next header once a payload is complete.
    fn end_of_frame(&mut self) {
        if let State::Payload { left: 0, close } = &mut self.state {
            if let Some(close) = close.take() {
                let mut payload = close.payload;
                if let Some(mask) = close.mask {
                    for (i, byte) in payload.iter_mut().enumerate() {
                        *byte ^= mask[i % 4];
                    }
                }
                self.last_close = Some(payload);
            }
            self.state = header();
        }
    }

    /// The payload of the last close frame seen, taken.
    pub fn take_close(&mut self) -> Option<Vec<u8>> {
        self.last_close.take()
    }
}

fn header() -> State {
    State::Header {
        bytes: [0; 14],
        have: 0,
    }
}

/// The length of a frame header whose first bytes are `start` (2 until the
/// second byte is known).
pub(crate) fn header_len(start: &[u8]) -> usize {
    let Some(&second) = start.get(1) else {
        return 2;
    };
    let extended = match second & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let mask = if second & 0x80 != 0 { 4 } else { 0 };
    2 + extended + mask
}

/// A whole header's payload length, and where its key (if any) begins.
pub(crate) fn payload_len(header: &[u8]) -> (u64, usize) {
    match header[1] & 0x7f {
        126 => (u64::from(u16::from_be_bytes([header[2], header[3]])), 4),
        127 => {
            let mut len = [0; 8];
            len.copy_from_slice(&header[2..10]);
            (u64::from_be_bytes(len), 10)
        }
        n => (u64::from(n), 2),
    }
}

/// The payload state after a whole header.
fn payload(header: &[u8]) -> State {
    let second = header[1];
    let (left, rest) = payload_len(header);
    let close = (header[0] & 0x0f == OPCODE_CLOSE).then(|| Close {
        payload: Vec::new(),
        mask: (second & 0x80 != 0).then(|| {
            let mut mask = [0; 4];
            mask.copy_from_slice(&header[rest..rest + 4]);
            mask
        }),
    });
    State::Payload { left, close }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";

    fn close(code: u16, reason: &str) -> Vec<u8> {
        let mut frame = vec![0x88, 2 + reason.len() as u8];
        frame.extend_from_slice(&code.to_be_bytes());
        frame.extend_from_slice(reason.as_bytes());
        frame
    }

    fn watch(stream: &[u8]) -> CloseWatch {
        let mut watch = CloseWatch::default();
        watch.feed(stream);
        watch
    }

    #[test]
    fn finds_the_close_after_the_head_and_other_frames() {
        let mut stream = HEAD.to_vec();
        stream.extend_from_slice(&[0x81, 0x02, b'h', b'i']); // text
        stream.extend_from_slice(&[0x89, 0x00]); // ping
        stream.extend_from_slice(&[0x82, 126, 0x01, 0x00]); // binary, 256 bytes
        stream.extend_from_slice(&[0x88; 256]); // bytes that look like close frames
        stream.extend_from_slice(&close(1002, "Protocol violation"));
        let mut watch = watch(&stream);
        let payload = watch.take_close().unwrap();
        assert_eq!(payload[..2], 1002u16.to_be_bytes());
        assert_eq!(&payload[2..], b"Protocol violation");
        assert_eq!(watch.take_close(), None, "taken");
    }

    #[test]
    fn the_head_alone_and_bytes_that_look_like_frames_in_it() {
        let mut head = b"HTTP/1.1 101 OK\r\nX-A: \x88\x02\x03\xed\r\n".to_vec();
        head.extend_from_slice(b"\r\n");
        assert_eq!(watch(&head).take_close(), None);
    }

    #[test]
    fn byte_by_byte_is_the_same() {
        let mut stream = HEAD.to_vec();
        stream.extend_from_slice(&[0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]); // 65536 bytes
        stream.extend_from_slice(&vec![0u8; 65536]);
        stream.extend_from_slice(&close(4000, "bye"));
        let mut watch = CloseWatch::default();
        for byte in &stream {
            watch.feed(std::slice::from_ref(byte));
        }
        assert_eq!(watch.take_close().unwrap(), close(4000, "bye")[2..]);
    }

    #[test]
    fn empty_and_masked_close_frames() {
        let mut stream = HEAD.to_vec();
        stream.extend_from_slice(&[0x88, 0x00]);
        assert_eq!(watch(&stream).take_close(), Some(Vec::new()));
        let mut stream = HEAD.to_vec();
        let mask = [1, 2, 3, 4];
        let plain = [0x03, 0xed, b'x'];
        stream.extend_from_slice(&[0x88, 0x80 | 3]);
        stream.extend_from_slice(&mask);
        stream.extend(plain.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        assert_eq!(watch(&stream).take_close().unwrap(), plain);
    }

    #[test]
    fn a_watch_on_frames_alone_needs_no_head() {
        let mut watch = CloseWatch::frames();
        watch.feed(&close(1005, "")[..]);
        assert_eq!(watch.take_close().unwrap(), 1005u16.to_be_bytes());
    }

    #[test]
    fn an_oversized_close_payload_is_cut() {
        let mut stream = HEAD.to_vec();
        stream.extend_from_slice(&[0x88, 126, 0x01, 0x00]);
        stream.extend_from_slice(&[b'a'; 256]);
        assert_eq!(watch(&stream).take_close().unwrap().len(), 125);
    }
}
