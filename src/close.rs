//! Close frames and the status codes of RFC 6455 and the IANA registry; the
//! rules for sending them are the protocol crate's
//! (`wasm_websocket_protocol::close`).

use std::fmt;

use wasm_websocket_protocol::close;

use crate::Error;

/// The longest close reason a frame can carry: a control frame's payload is at
/// most 125 bytes, two of which hold the code.
pub const MAX_CLOSE_REASON_LEN: usize = close::MAX_CLOSE_REASON_LEN;

/// A close frame: the status code and a human-readable reason.
///
/// ```
/// use wasm_websocket::{CloseCode, CloseFrame};
///
/// let frame = CloseFrame::new(CloseCode::Normal, "bye");
/// assert_eq!(u16::from(frame.code), 1000);
/// assert_eq!(frame.to_string(), "1000 (normal): bye");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CloseFrame {
    /// Why the connection is closing.
    pub code: CloseCode,
    /// A reason for people to read, at most [`MAX_CLOSE_REASON_LEN`] bytes of UTF-8.
    pub reason: String,
}

impl CloseFrame {
    /// A close frame with a code and a reason.
    pub fn new(code: impl Into<CloseCode>, reason: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            reason: reason.into(),
        }
    }

    /// Checks that a client may send this frame: the code is one a peer may put
    /// on the wire ([`CloseCode::is_allowed`]) and the reason fits in a frame.
    pub(crate) fn check_sendable(&self) -> Result<(), Error> {
        close::outgoing(Some(self.code.into()), &self.reason)
            .map(drop)
            .map_err(|e| Error::InvalidCloseFrame(e.to_string()))
    }
}

impl fmt::Display for CloseFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.reason.is_empty() {
            write!(f, "{}", self.code)
        } else {
            write!(f, "{}: {}", self.code, self.reason)
        }
    }
}

/// A close status code, as registered in RFC 6455 section 7.4 and the IANA
/// "WebSocket Close Code Number Registry".
///
/// Converts to and from `u16` without loss:
///
/// ```
/// use wasm_websocket::CloseCode;
///
/// assert_eq!(CloseCode::from(1009), CloseCode::Size);
/// assert_eq!(u16::from(CloseCode::Library(4001)), 4001);
/// assert!(CloseCode::Normal.is_allowed());
/// assert!(!CloseCode::Abnormal.is_allowed()); // 1006 is never sent on the wire
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseCode {
    /// 1000: the purpose of the connection has been fulfilled.
    Normal,
    /// 1001: the endpoint is going away (server shutdown, page navigation).
    Away,
    /// 1002: the endpoint saw a protocol error.
    Protocol,
    /// 1003: the endpoint received a type of data it cannot accept.
    Unsupported,
    /// 1005: no status code was present. Reported locally, never sent.
    Status,
    /// 1006: the connection ended without a close frame. Reported locally, never sent.
    Abnormal,
    /// 1007: a message's data was not consistent with its type (e.g. bad UTF-8).
    Invalid,
    /// 1008: a message violated the endpoint's policy.
    Policy,
    /// 1009: a message was too big to process.
    Size,
    /// 1010: the client expected the server to negotiate an extension.
    Extension,
    /// 1011: the server met an unexpected condition.
    Error,
    /// 1012: the service is restarting.
    Restart,
    /// 1013: the service is overloaded; try again later.
    Again,
    /// 1014: a gateway or proxy received an invalid response upstream.
    /// Registered with IANA after RFC 6455; the protocol engine of the
    /// polyfill (tungstenite) rejects it on the wire, so it is not allowed.
    BadGateway,
    /// 1015: the TLS handshake failed. Reported locally, never sent.
    Tls,
    /// 1004 and 1016–2999: reserved by the protocol; never sent.
    Reserved(u16),
    /// 3000–3999: registered with IANA by libraries, frameworks and applications.
    Iana(u16),
    /// 4000–4999: private use by applications.
    Library(u16),
    /// 0–999 and 5000 and above: not valid close codes.
    Bad(u16),
}

impl CloseCode {
    /// Whether an endpoint may send this code in a close frame.
    ///
    /// False for 1005, 1006 and 1015 (only ever reported locally), for the
    /// reserved 1004 and 1016–2999, for 1014 (see [`CloseCode::BadGateway`]),
    /// and for codes below 1000 or above 4999. This is tungstenite's rule, so
    /// what this crate sends, the polyfill accepts.
    pub fn is_allowed(self) -> bool {
        close::may_send(self.into())
    }

    fn name(self) -> &'static str {
        match self {
            CloseCode::Normal => "normal",
            CloseCode::Away => "going away",
            CloseCode::Protocol => "protocol error",
            CloseCode::Unsupported => "unsupported data",
            CloseCode::Status => "no status",
            CloseCode::Abnormal => "abnormal closure",
            CloseCode::Invalid => "invalid payload",
            CloseCode::Policy => "policy violation",
            CloseCode::Size => "message too big",
            CloseCode::Extension => "extension required",
            CloseCode::Error => "internal error",
            CloseCode::Restart => "service restart",
            CloseCode::Again => "try again later",
            CloseCode::BadGateway => "bad gateway",
            CloseCode::Tls => "TLS handshake failure",
            CloseCode::Reserved(_) => "reserved",
            CloseCode::Iana(_) => "registered",
            CloseCode::Library(_) => "application",
            CloseCode::Bad(_) => "invalid",
        }
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", u16::from(*self), self.name())
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> Self {
        match code {
            1000 => CloseCode::Normal,
            1001 => CloseCode::Away,
            1002 => CloseCode::Protocol,
            1003 => CloseCode::Unsupported,
            1005 => CloseCode::Status,
            1006 => CloseCode::Abnormal,
            1007 => CloseCode::Invalid,
            1008 => CloseCode::Policy,
            1009 => CloseCode::Size,
            1010 => CloseCode::Extension,
            1011 => CloseCode::Error,
            1012 => CloseCode::Restart,
            1013 => CloseCode::Again,
            1014 => CloseCode::BadGateway,
            1015 => CloseCode::Tls,
            1004 | 1016..=2999 => CloseCode::Reserved(code),
            3000..=3999 => CloseCode::Iana(code),
            4000..=4999 => CloseCode::Library(code),
            _ => CloseCode::Bad(code),
        }
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> u16 {
        match code {
            CloseCode::Normal => 1000,
            CloseCode::Away => 1001,
            CloseCode::Protocol => 1002,
            CloseCode::Unsupported => 1003,
            CloseCode::Status => 1005,
            CloseCode::Abnormal => 1006,
            CloseCode::Invalid => 1007,
            CloseCode::Policy => 1008,
            CloseCode::Size => 1009,
            CloseCode::Extension => 1010,
            CloseCode::Error => 1011,
            CloseCode::Restart => 1012,
            CloseCode::Again => 1013,
            CloseCode::BadGateway => 1014,
            CloseCode::Tls => 1015,
            CloseCode::Reserved(code)
            | CloseCode::Iana(code)
            | CloseCode::Library(code)
            | CloseCode::Bad(code) => code,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_u16_round_trips() {
        for code in 0..=u16::MAX {
            assert_eq!(u16::from(CloseCode::from(code)), code);
        }
    }

    #[test]
    fn named_codes_are_the_registered_numbers() {
        let named = [
            (1000, CloseCode::Normal),
            (1001, CloseCode::Away),
            (1002, CloseCode::Protocol),
            (1003, CloseCode::Unsupported),
            (1005, CloseCode::Status),
            (1006, CloseCode::Abnormal),
            (1007, CloseCode::Invalid),
            (1008, CloseCode::Policy),
            (1009, CloseCode::Size),
            (1010, CloseCode::Extension),
            (1011, CloseCode::Error),
            (1012, CloseCode::Restart),
            (1013, CloseCode::Again),
            (1014, CloseCode::BadGateway),
            (1015, CloseCode::Tls),
        ];
        for (number, code) in named {
            assert_eq!(CloseCode::from(number), code);
        }
        assert_eq!(CloseCode::from(1004), CloseCode::Reserved(1004));
        assert_eq!(CloseCode::from(2999), CloseCode::Reserved(2999));
        assert_eq!(CloseCode::from(3000), CloseCode::Iana(3000));
        assert_eq!(CloseCode::from(4999), CloseCode::Library(4999));
        assert_eq!(CloseCode::from(999), CloseCode::Bad(999));
        assert_eq!(CloseCode::from(5000), CloseCode::Bad(5000));
    }

    #[test]
    fn allowed_codes_are_exactly_the_sendable_ones() {
        let allowed: Vec<u16> = (0..=u16::MAX)
            .filter(|&c| CloseCode::from(c).is_allowed())
            .collect();
        let expected: Vec<u16> = (1000..=1003)
            .chain(1007..=1013)
            .chain(3000..=4999)
            .collect();
        assert_eq!(allowed, expected);
    }

    #[test]
    fn sendable_frames_are_checked() {
        assert!(CloseFrame::new(1000, "").check_sendable().is_ok());
        assert!(
            CloseFrame::new(4000, "x".repeat(123))
                .check_sendable()
                .is_ok()
        );
        for code in [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] {
            let err = CloseFrame::new(code, "").check_sendable().unwrap_err();
            assert!(
                matches!(&err, Error::InvalidCloseFrame(m) if m.contains(&code.to_string())),
                "{code}: {err}"
            );
        }
        let err = CloseFrame::new(1000, "é".repeat(62)).check_sendable();
        assert!(matches!(err, Err(Error::InvalidCloseFrame(m)) if m.contains("124 bytes")));
    }

    #[test]
    fn display_reads_well() {
        assert_eq!(CloseCode::Size.to_string(), "1009 (message too big)");
        assert_eq!(CloseFrame::new(1001, "").to_string(), "1001 (going away)");
        assert_eq!(
            CloseFrame::new(4001, "kicked").to_string(),
            "4001 (application): kicked"
        );
    }
}
