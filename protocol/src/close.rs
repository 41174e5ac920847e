//! Close frames on the wire (RFC 6455 5.5.1, 7.4): which codes an endpoint
//! may send, how long a reason and a control frame's payload may be, what a
//! peer's close payload says, and the 1005 "no status" mapping.

use std::fmt;

/// The most a control frame (close, ping, pong) carries, in bytes.
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// The longest close reason: a close frame's payload is at most
/// [`MAX_CONTROL_PAYLOAD`] bytes, two of which hold the code.
pub const MAX_CLOSE_REASON_LEN: usize = MAX_CONTROL_PAYLOAD - 2;

/// The code a close is reported with when its frame carried none (RFC 6455
/// 7.1.5); never sent on the wire.
pub const NO_STATUS: u16 = 1005;

/// The code sent for a close with a reason and no code: 1000, normal.
pub const NORMAL: u16 = 1000;

/// Whether an endpoint may put `code` in a close frame: 1000-1003,
/// 1007-1013 and 3000-4999.
///
/// Not 1005, 1006 and 1015 (only ever reported locally), the reserved 1004
/// and 1016-2999, 1014 (registered after RFC 6455, and refused on the wire
/// by tungstenite, the engine), nor codes below 1000 or above 4999. This is
/// tungstenite's rule, so what one side of this project sends, the other
/// accepts.
pub fn may_send(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1013 | 3000..=4999)
}

/// Why a close frame may not be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseError {
    /// The code is not one an endpoint may send ([`may_send`]).
    Code(u16),
    /// The reason is this many bytes, more than [`MAX_CLOSE_REASON_LEN`].
    ReasonTooLong(usize),
}

impl fmt::Display for CloseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseError::Code(code) => write!(f, "code {code} may not be sent by an endpoint"),
            CloseError::ReasonTooLong(len) => write!(
                f,
                "reason is {len} bytes, the limit is {MAX_CLOSE_REASON_LEN}"
            ),
        }
    }
}

impl std::error::Error for CloseError {}

/// Checks a close an endpoint is about to send and returns the code its
/// frame carries: `None` (an empty close frame) for no code and no reason,
/// [`NORMAL`] for a reason without a code, else the code given, when
/// [`may_send`] allows it. A reason longer than [`MAX_CLOSE_REASON_LEN`]
/// bytes is refused.
pub fn outgoing(code: Option<u16>, reason: &str) -> Result<Option<u16>, CloseError> {
    if let Some(code) = code.filter(|&code| !may_send(code)) {
        return Err(CloseError::Code(code));
    }
    if reason.len() > MAX_CLOSE_REASON_LEN {
        return Err(CloseError::ReasonTooLong(reason.len()));
    }
    Ok(match code {
        None if reason.is_empty() => None,
        None => Some(NORMAL),
        Some(code) => Some(code),
    })
}

/// A ping or pong payload longer than [`MAX_CONTROL_PAYLOAD`] bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlTooLong {
    /// The payload's length.
    pub len: usize,
}

impl fmt::Display for ControlTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a control frame (ping, pong) carries at most {MAX_CONTROL_PAYLOAD} bytes, not {}",
            self.len
        )
    }
}

impl std::error::Error for ControlTooLong {}

/// Checks the payload of a ping or pong about to be sent.
pub fn check_control_payload(payload: &[u8]) -> Result<(), ControlTooLong> {
    if payload.len() > MAX_CONTROL_PAYLOAD {
        return Err(ControlTooLong { len: payload.len() });
    }
    Ok(())
}

/// What a peer's close frame says, read from its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerClose<'a> {
    /// No code (an empty payload): reported as [`NO_STATUS`].
    NoStatus,
    /// A code an endpoint may send, and the reason.
    Closed {
        /// The close code.
        code: u16,
        /// The reason, UTF-8.
        reason: &'a str,
    },
    /// The payload breaks the protocol: the connection fails with 1002 (or
    /// 1007 for [`PayloadError::Utf8`]).
    Invalid(PayloadError),
}

/// How a close payload breaks the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadError {
    /// One byte: half a code.
    HalfCode,
    /// More than [`MAX_CONTROL_PAYLOAD`] bytes, this many.
    TooLong(usize),
    /// A code that may not be sent ([`may_send`]).
    Code(u16),
    /// The reason is not UTF-8.
    Utf8,
}

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PayloadError::HalfCode => f.write_str("a close payload of one byte (half a code)"),
            PayloadError::TooLong(len) => write!(
                f,
                "a close payload of {len} bytes (a control frame carries at most \
                 {MAX_CONTROL_PAYLOAD})"
            ),
            PayloadError::Code(code) => {
                write!(f, "close code {code}, which may not be sent on the wire")
            }
            PayloadError::Utf8 => f.write_str("a close reason that is not UTF-8"),
        }
    }
}

impl std::error::Error for PayloadError {}

impl PeerClose<'_> {
    /// The code the close is reported with: [`NO_STATUS`] for a close
    /// without one; `None` for an invalid payload.
    pub fn reported_code(&self) -> Option<u16> {
        match self {
            PeerClose::NoStatus => Some(NO_STATUS),
            PeerClose::Closed { code, .. } => Some(*code),
            PeerClose::Invalid(_) => None,
        }
    }
}

/// Reads a close frame's (unmasked) payload: empty, or a two-byte code and
/// a UTF-8 reason, at most [`MAX_CONTROL_PAYLOAD`] bytes in all.
pub fn read_payload(payload: &[u8]) -> PeerClose<'_> {
    let invalid = PeerClose::Invalid;
    if payload.len() > MAX_CONTROL_PAYLOAD {
        return invalid(PayloadError::TooLong(payload.len()));
    }
    match payload {
        [] => PeerClose::NoStatus,
        [_] => invalid(PayloadError::HalfCode),
        [high, low, reason @ ..] => {
            let code = u16::from_be_bytes([*high, *low]);
            if !may_send(code) {
                return invalid(PayloadError::Code(code));
            }
            match std::str::from_utf8(reason) {
                Ok(reason) => PeerClose::Closed { code, reason },
                Err(_) => invalid(PayloadError::Utf8),
            }
        }
    }
}

/// A close frame's payload for `code` and `reason` (as [`outgoing`] checked
/// them): empty without a code.
pub fn payload(code: Option<u16>, reason: &str) -> Vec<u8> {
    match code {
        None => Vec::new(),
        Some(code) => {
            let mut bytes = Vec::with_capacity(2 + reason.len());
            bytes.extend_from_slice(&code.to_be_bytes());
            bytes.extend_from_slice(reason.as_bytes());
            bytes
        }
    }
}

/// A reported code read back: `None` for [`NO_STATUS`] (a close without a
/// code), else the code.
pub fn code_or_none(reported: u16) -> Option<u16> {
    (reported != NO_STATUS).then_some(reported)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sendable_codes() {
        let allowed: Vec<u16> = (0..=u16::MAX).filter(|&c| may_send(c)).collect();
        let expected: Vec<u16> = (1000..=1003)
            .chain(1007..=1013)
            .chain(3000..=4999)
            .collect();
        assert_eq!(allowed, expected);
    }

    #[test]
    fn an_outgoing_close_gets_its_code() {
        assert_eq!(outgoing(None, ""), Ok(None));
        assert_eq!(outgoing(None, "bye"), Ok(Some(1000)));
        assert_eq!(outgoing(Some(4000), "bye"), Ok(Some(4000)));
        assert_eq!(outgoing(Some(1000), &"x".repeat(123)), Ok(Some(1000)));
        for bad in [0, 999, 1004, 1005, 1006, 1014, 1015, 1016, 2999, 5000] {
            assert_eq!(outgoing(Some(bad), ""), Err(CloseError::Code(bad)));
        }
        assert_eq!(
            outgoing(Some(1000), &"\u{e9}".repeat(62)),
            Err(CloseError::ReasonTooLong(124))
        );
        assert_eq!(
            CloseError::ReasonTooLong(124).to_string(),
            "reason is 124 bytes, the limit is 123"
        );
    }

    #[test]
    fn control_payloads_are_at_most_125_bytes() {
        assert!(check_control_payload(&[0; 125]).is_ok());
        assert_eq!(
            check_control_payload(&[0; 126]),
            Err(ControlTooLong { len: 126 })
        );
    }

    #[test]
    fn peer_payloads_are_read() {
        assert_eq!(read_payload(&[]), PeerClose::NoStatus);
        assert_eq!(read_payload(&[]).reported_code(), Some(1005));
        assert_eq!(
            read_payload(b"\x03\xe8bye"),
            PeerClose::Closed {
                code: 1000,
                reason: "bye"
            }
        );
        assert_eq!(
            read_payload(&[3]),
            PeerClose::Invalid(PayloadError::HalfCode)
        );
        assert_eq!(
            read_payload(&[0x03, 0xed]),
            PeerClose::Invalid(PayloadError::Code(1005))
        );
        assert_eq!(
            read_payload(&[0x03, 0xe8, 0xff]),
            PeerClose::Invalid(PayloadError::Utf8)
        );
        assert_eq!(
            read_payload(&[b'a'; 126]),
            PeerClose::Invalid(PayloadError::TooLong(126))
        );
        assert_eq!(
            read_payload(&payload(Some(4001), "x")).reported_code(),
            Some(4001)
        );
        assert_eq!(code_or_none(1005), None);
        assert_eq!(code_or_none(1000), Some(1000));
    }
}
