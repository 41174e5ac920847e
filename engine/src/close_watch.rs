//! The peer's close as the app sees it: the code and reason it sent, or a
//! violation when its code may not be sent (pure; unit-tested on the host).
//!
//! tungstenite answers a close code that may not be sent with 1002 and hands
//! up `1002 "Protocol violation"` in its place; the transport's
//! [`CloseWatch`] (the protocol crate's) keeps the payload as it came over
//! the wire, and [`peer_close`] reads both.

use tungstenite::protocol::CloseFrame;
use wasm_websocket_protocol::close;

pub use wasm_websocket_protocol::close::NO_STATUS;
pub use wasm_websocket_protocol::close_watch::CloseWatch;

/// What the peer's close frame means for the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerClose {
    /// `closed(some(close-info))` with this code and reason; [`NO_STATUS`]
    /// (1005) and an empty reason for a frame without a code.
    Closed { code: u16, reason: String },
    /// The frame carried a code that may not be sent on the wire: a protocol
    /// violation (tungstenite answered it with 1002).
    InvalidCode(u16),
}

/// The peer's close: from the payload seen on the wire (`wire`), and the frame
/// tungstenite handed up (`frame`), which is the same unless the wire's code
/// may not be sent.
pub fn peer_close(wire: Option<&[u8]>, frame: Option<&CloseFrame>) -> PeerClose {
    if let Some([high, low, ..]) = wire {
        let code = u16::from_be_bytes([*high, *low]);
        if !close::may_send(code) {
            return PeerClose::InvalidCode(code);
        }
    }
    match frame {
        Some(frame) => PeerClose::Closed {
            code: frame.code.into(),
            reason: frame.reason.as_str().to_owned(),
        },
        None => PeerClose::Closed {
            code: NO_STATUS,
            reason: String::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tungstenite::protocol::frame::coding::CloseCode;

    fn close(code: u16, reason: &str) -> Vec<u8> {
        let mut frame = vec![0x88, 2 + reason.len() as u8];
        frame.extend_from_slice(&code.to_be_bytes());
        frame.extend_from_slice(reason.as_bytes());
        frame
    }

    fn frame(code: u16, reason: &str) -> CloseFrame {
        CloseFrame {
            code: code.into(),
            reason: reason.to_owned().into(),
        }
    }

    #[test]
    fn the_protocol_rule_is_tungstenites() {
        for code in 0..=u16::MAX {
            assert_eq!(
                wasm_websocket_protocol::close::may_send(code),
                CloseCode::from(code).is_allowed(),
                "{code}"
            );
        }
    }

    #[test]
    fn a_close_is_reported_with_the_code_and_reason_sent() {
        let sent = close(1002, "Protocol violation");
        assert_eq!(
            peer_close(Some(&sent[2..]), Some(&frame(1002, "Protocol violation"))),
            PeerClose::Closed {
                code: 1002,
                reason: "Protocol violation".into()
            }
        );
        let sent = close(4001, "bye");
        assert_eq!(
            peer_close(Some(&sent[2..]), Some(&frame(4001, "bye"))),
            PeerClose::Closed {
                code: 4001,
                reason: "bye".into()
            }
        );
    }

    #[test]
    fn a_code_that_may_not_be_sent_is_a_violation() {
        // What tungstenite hands up in its place.
        let replaced = frame(1002, "Protocol violation");
        for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535] {
            let sent = code.to_be_bytes();
            assert_eq!(
                peer_close(Some(&sent), Some(&replaced)),
                PeerClose::InvalidCode(code),
                "{code}"
            );
        }
    }

    #[test]
    fn no_code_reads_1005() {
        assert_eq!(
            peer_close(Some(&[]), None),
            PeerClose::Closed {
                code: 1005,
                reason: String::new()
            }
        );
        assert_eq!(
            peer_close(None, None),
            PeerClose::Closed {
                code: 1005,
                reason: String::new()
            }
        );
    }
}
