//! Takes the client's masks off a server's incoming frames as they are read,
//! eight bytes at a time.
//!
//! A client masks every frame it sends (RFC 6455, section 5.3), and a server
//! removes the mask from every payload byte. tungstenite does that a 32-bit
//! word at a time in its own pass over the payload; in a component built for
//! size (`opt-level = "s"`) that loop was the largest piece of guest code in
//! the component server's 64 KiB echo. An [`Unmasker`] follows the frames in
//! the bytes a read brings and copies them where the server reads them, in
//! the same pass: each header without its mask bit and key, each payload
//! unmasked. What the server's WebSocket then reads is unmasked frames,
//! which it is told to accept: the unmasker refuses a frame the client sent
//! unmasked, as the RFC requires of the server.
//!
//! ```
//! use wasm_websocket_protocol::unmask::Unmasker;
//!
//! // A masked text frame "Hi", read in two pieces.
//! let mask = [1, 2, 3, 4];
//! let frame = [0x81, 0x82, 1, 2, 3, 4, b'H' ^ mask[0], b'i' ^ mask[1]];
//! let mut unmasker = Unmasker::default();
//! let mut out = [0; 8];
//! assert_eq!(unmasker.rewrite(&frame[..4], &mut out), Ok((4, 2)));
//! assert_eq!(unmasker.rewrite(&frame[4..], &mut out[2..]), Ok((4, 2)));
//! assert_eq!(&out[..4], &[0x81, 0x02, b'H', b'i']);
//! ```

use std::fmt;

use crate::close_watch::{header_len, payload_len};

/// Follows a client's frames from a frame boundary and rewrites them
/// unmasked ([`rewrite`](Unmasker::rewrite)).
#[derive(Debug, Clone, Default)]
pub struct Unmasker {
    state: State,
}

#[derive(Debug, Clone)]
enum State {
    /// In a frame header: its bytes so far.
    Header { bytes: [u8; 14], have: usize },
    /// In a payload: `left` bytes to go, under `mask` from byte `phase` of
    /// it on.
    Payload {
        left: u64,
        mask: [u8; 4],
        phase: usize,
    },
    /// An unmasked frame came: the stream is not followed further.
    Refused,
}

impl Default for State {
    fn default() -> State {
        header()
    }
}

/// A frame the client sent without a mask: a protocol violation that the
/// server answers with close code 1002.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnmaskedFrame;

impl fmt::Display for UnmaskedFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the client sent an unmasked frame")
    }
}

impl std::error::Error for UnmaskedFrame {}

impl Unmasker {
    /// Whether a frame without a mask came: every later call with bytes to
    /// read is refused.
    pub fn refused(&self) -> bool {
        matches!(self.state, State::Refused)
    }

    /// Reads the next bytes of the client's frames from `src`, at most
    /// `dst.len()` of them, and writes them unmasked to the start of `dst`:
    /// each header without its mask bit and key, each payload with the mask
    /// taken off. Returns how many bytes it read and how many it wrote
    /// (fewer: a frame's key is dropped, and a read of only a key writes
    /// none).
    ///
    /// At a frame without a mask it stops: what it wrote of the frames
    /// before that one is returned (as `Ok`), and [`UnmaskedFrame`] comes
    /// with the next call that has bytes to read, and with every one after
    /// it: the stream cannot be followed further. A frame's first byte may
    /// have gone out in an earlier call; its second, which says it is not
    /// masked, never does, so the frame never reaches the reader whole.
    pub fn rewrite(&mut self, src: &[u8], dst: &mut [u8]) -> Result<(usize, usize), UnmaskedFrame> {
        let src = &src[..src.len().min(dst.len())];
        let mut read = 0;
        let mut out = 0;
        while read < src.len() {
            match &mut self.state {
                State::Header { bytes, have } => {
                    let byte = src[read];
                    read += 1;
                    bytes[*have] = byte;
                    *have += 1;
                    let kept = match *have {
                        2 if byte & 0x80 == 0 => {
                            self.state = State::Refused;
                            // The frame's first byte, when this call
                            // wrote it, is taken back.
                            let written = if read >= 2 { out - 1 } else { out };
                            return match written {
                                0 => Err(UnmaskedFrame),
                                written => Ok((read, written)),
                            };
                        }
                        1 => Some(byte),
                        2 => Some(byte & 0x7f),
                        // The extended length, then the key (the mask bit
                        // is set: `header_len` counts the key's 4 bytes).
                        n if n <= header_len(&bytes[..n]) - 4 => Some(byte),
                        _ => None,
                    };
                    if let Some(byte) = kept {
                        dst[out] = byte;
                        out += 1;
                    }
                    if *have == header_len(&bytes[..*have]) {
                        self.state = payload(&bytes[..*have]);
                    }
                }
                State::Payload { left, mask, phase } => {
                    let take = usize::try_from(*left)
                        .unwrap_or(usize::MAX)
                        .min(src.len() - read);
                    unmask_copy(
                        &src[read..read + take],
                        &mut dst[out..out + take],
                        *mask,
                        *phase,
                    );
                    read += take;
                    out += take;
                    *left -= take as u64;
                    *phase = (*phase + take) % 4;
                    if *left == 0 {
                        self.state = header();
                    }
                }
                State::Refused => return Err(UnmaskedFrame),
            }
        }
        Ok((read, out))
    }
}

fn header() -> State {
    State::Header {
        bytes: [0; 14],
        have: 0,
    }
}

/// The payload state after a whole (masked) header.
fn payload(head: &[u8]) -> State {
    let (left, key_at) = payload_len(head);
    let mut mask = [0; 4];
    mask.copy_from_slice(&head[key_at..key_at + 4]);
    if left == 0 {
        return header();
    }
    State::Payload {
        left,
        mask,
        phase: 0,
    }
}

/// Copies `src` to `dst` (as long) with the mask taken off: `mask`
/// applies from byte `phase` of it on. Eight bytes at a time.
fn unmask_copy(src: &[u8], dst: &mut [u8], mask: [u8; 4], phase: usize) {
    let rotated: [u8; 8] = std::array::from_fn(|i| mask[(phase + i) % 4]);
    let wide = u64::from_ne_bytes(rotated);
    let mut src = src.chunks_exact(8);
    let mut dst = dst.chunks_exact_mut(8);
    for (from, to) in (&mut src).zip(&mut dst) {
        let word = u64::from_ne_bytes(from.try_into().unwrap_or_default());
        to.copy_from_slice(&(word ^ wide).to_ne_bytes());
    }
    let tail = src.remainder().iter().zip(rotated);
    for (to, (from, mask)) in dst.into_remainder().iter_mut().zip(tail) {
        *to = from ^ mask;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client's frame: `payload` masked with `mask`.
    fn masked(opcode: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
        let mut frame = head(opcode, payload.len(), true);
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        frame
    }

    /// The same frame unmasked.
    fn unmasked(opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mut frame = head(opcode, payload.len(), false);
        frame.extend_from_slice(payload);
        frame
    }

    fn head(opcode: u8, len: usize, mask: bool) -> Vec<u8> {
        let bit = if mask { 0x80 } else { 0 };
        let mut head = vec![0x80 | opcode];
        match len {
            0..=125 => head.push(bit | len as u8),
            126..=0xffff => {
                head.push(bit | 126);
                head.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                head.push(bit | 127);
                head.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        head
    }

    /// Rewrites `stream` in reads of `piece` bytes; what came out, in order.
    fn rewrite_in(stream: &[u8], piece: usize) -> Result<Vec<u8>, UnmaskedFrame> {
        let mut unmasker = Unmasker::default();
        let mut out = Vec::new();
        for chunk in stream.chunks(piece.max(1)) {
            // A call that stops at an unmasked frame leaves the rest of the
            // read, which the next call refuses.
            let mut rest = chunk;
            while !rest.is_empty() {
                let mut read = vec![0; rest.len()];
                let (taken, n) = unmasker.rewrite(rest, &mut read)?;
                out.extend_from_slice(&read[..n]);
                rest = &rest[taken..];
            }
        }
        Ok(out)
    }

    #[test]
    fn frames_of_every_length_class_come_out_unmasked_however_the_reads_cut_them() {
        let payloads: Vec<Vec<u8>> = [0, 1, 7, 8, 9, 125, 126, 127, 1000, 65_535, 65_536, 70_001]
            .iter()
            .map(|&len| (0..len).map(|i| (i * 31 % 251) as u8).collect())
            .collect();
        let mut stream = Vec::new();
        let mut expected = Vec::new();
        for (i, payload) in payloads.iter().enumerate() {
            let mask = [i as u8 + 1, 0x5a, 0xc3, 0x0f];
            let opcode = if i % 3 == 0 { 0x1 } else { 0x2 };
            stream.extend(masked(opcode, payload, mask));
            expected.extend(unmasked(opcode, payload));
        }
        for piece in [1, 2, 3, 5, 8, 13, 4096, 65_536, stream.len()] {
            assert_eq!(
                rewrite_in(&stream, piece).unwrap(),
                expected,
                "reads of {piece}"
            );
        }
    }

    #[test]
    fn a_read_of_only_a_key_gives_nothing_and_the_payload_follows() {
        let frame = masked(0x2, b"payload", [9, 8, 7, 6]);
        let mut unmasker = Unmasker::default();
        let (head, rest) = frame.split_at(2);
        let (key, payload) = rest.split_at(4);
        let mut out = [0; 7];
        assert_eq!(unmasker.rewrite(head, &mut out).unwrap(), (2, 2));
        assert_eq!(out[..2], [0x82, 7]);
        assert_eq!(unmasker.rewrite(key, &mut out).unwrap(), (4, 0));
        assert_eq!(unmasker.rewrite(payload, &mut out).unwrap(), (7, 7));
        assert_eq!(&out, b"payload");
    }

    #[test]
    fn it_reads_no_more_than_the_output_holds() {
        let frame = masked(0x2, b"0123456789", [5, 6, 7, 8]);
        let mut unmasker = Unmasker::default();
        let mut out = [0; 4];
        // Four bytes read: the header's two and half the key (dropped).
        assert_eq!(unmasker.rewrite(&frame, &mut out).unwrap(), (4, 2));
        assert_eq!(out[..2], [0x82, 10]);
        // The key's other half and two bytes of the payload.
        assert_eq!(unmasker.rewrite(&frame[4..], &mut out).unwrap(), (4, 2));
        assert_eq!(&out[..2], b"01");
        let mut rest = [0; 16];
        assert_eq!(unmasker.rewrite(&frame[8..], &mut rest).unwrap(), (8, 8));
        assert_eq!(&rest[..8], b"23456789");
    }

    #[test]
    fn the_frames_before_an_unmasked_one_come_out_then_it_is_refused() {
        let mut stream = masked(0x1, b"hello", [1, 2, 3, 4]);
        stream.extend(masked(0x8, &[0x03, 0xe8], [5, 6, 7, 8]));
        stream.extend(unmasked(0x1, b"x"));
        let mut expected = unmasked(0x1, b"hello");
        expected.extend(unmasked(0x8, &[0x03, 0xe8]));
        let mut unmasker = Unmasker::default();
        let mut out = vec![0; stream.len()];
        let (_, written) = unmasker.rewrite(&stream, &mut out).unwrap();
        assert_eq!(out[..written], expected);
        assert_eq!(unmasker.rewrite(b"more", &mut out), Err(UnmaskedFrame));
        assert_eq!(
            unmasker.rewrite(b"", &mut out),
            Ok((0, 0)),
            "nothing to read"
        );
        // The unmasked frame's first byte in one read, its second in the next.
        let mut unmasker = Unmasker::default();
        let frame = masked(0x2, b"ok", [9, 9, 9, 9]);
        let mut first = frame.clone();
        first.push(0x81);
        let (_, written) = unmasker.rewrite(&first, &mut out).unwrap();
        assert_eq!(
            out[..written - 1],
            unmasked(0x2, b"ok"),
            "the 0x81 went out"
        );
        assert_eq!(
            unmasker.rewrite(&[0x01, b'x'], &mut out),
            Err(UnmaskedFrame)
        );
    }

    #[test]
    fn an_unmasked_frame_is_refused_wherever_it_comes() {
        let mut stream = masked(0x1, b"fine", [1, 2, 3, 4]);
        stream.extend(unmasked(0x2, b"not masked"));
        for piece in [1, 3, stream.len()] {
            assert_eq!(
                rewrite_in(&stream, piece),
                Err(UnmaskedFrame),
                "reads of {piece}"
            );
        }
        assert_eq!(rewrite_in(&unmasked(0x9, b""), 1), Err(UnmaskedFrame));
        // And from then on, whatever comes.
        let mut unmasker = Unmasker::default();
        let mut out = [0; 16];
        assert!(unmasker.rewrite(&unmasked(0x2, b"x"), &mut out).is_err());
        let again = masked(0x2, b"x", [1, 2, 3, 4]);
        assert!(unmasker.rewrite(&again, &mut out).is_err());
    }

    proptest::proptest! {
        /// Any masked frames, cut into reads anywhere: the same frames come
        /// out unmasked, in order.
        #[test]
        fn any_frames_cut_anywhere_come_out_unmasked(
            frames in proptest::collection::vec(
                (
                    0u8..16,
                    proptest::collection::vec(proptest::num::u8::ANY, 0..300),
                    proptest::array::uniform4(proptest::num::u8::ANY),
                ),
                0..12,
            ),
            cuts in proptest::collection::vec(1usize..64, 1..40),
        ) {
            let mut stream = Vec::new();
            let mut expected = Vec::new();
            for (opcode, payload, mask) in &frames {
                stream.extend(masked(*opcode, payload, *mask));
                expected.extend(unmasked(*opcode, payload));
            }
            let mut unmasker = Unmasker::default();
            let mut out = Vec::new();
            let mut at = 0;
            for cut in cuts.iter().cycle() {
                if at >= stream.len() {
                    break;
                }
                let end = (at + cut).min(stream.len());
                let mut read = vec![0; end - at];
                let (taken, n) = unmasker.rewrite(&stream[at..end], &mut read).unwrap();
                proptest::prop_assert_eq!(taken, end - at);
                out.extend_from_slice(&read[..n]);
                at = end;
            }
            proptest::prop_assert_eq!(out, expected);
        }
    }
}
