//! How tungstenite's errors become the WIT `error` variant (pure; unit-tested on the
//! host). The connection decides what to do; this module only classifies.

use std::io;

use tungstenite::error::{CapacityError, Error, ProtocolError, SubProtocolError};
use wasm_websocket_protocol::limits;
use wasm_websocket_protocol::unmask::UnmaskedFrame;

/// What a failed read means for the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadFailure {
    /// The peer violated the protocol: send a close frame with `code`, then report
    /// `protocol-error(text)`; the connection is over.
    Violation { code: u16, text: String },
    /// The transport ended or failed without a closing handshake (TCP end or reset,
    /// TLS alert or bad record): `closed(none)`.
    Abrupt,
    /// The connection was already finished: `closed` with what is known.
    AlreadyClosed,
    /// Anything else (not expected while reading): `receive-failure(text)`.
    Other(String),
    /// The peer answered no keepalive ping within this timeout
    /// ([`crate::keepalive`]): the session sent close 1011 and is over.
    KeepaliveTimeout(std::time::Duration),
}

/// Close code 1002: protocol error.
pub const PROTOCOL: u16 = 1002;
/// Close code 1007: invalid payload data (not UTF-8).
pub const INVALID_PAYLOAD: u16 = 1007;
/// Close code 1009: message too big.
pub const TOO_BIG: u16 = 1009;

/// Classifies an error from `WebSocket::read` (never `WouldBlock`; the caller
/// handles that). `size_settings` names where the connection's message and
/// frame size limits were set, for the text of a message over them (e.g.
/// [`crate::settings::SIZE_SETTINGS`], or [`crate::accept::SIZE_SETTINGS`] for a
/// server's connection).
pub fn classify_read(err: &Error, size_settings: &str) -> ReadFailure {
    match err {
        Error::Capacity(CapacityError::MessageTooLong { size, max_size }) => {
            ReadFailure::Violation {
                code: TOO_BIG,
                text: limits::too_big_text(*size, *max_size, size_settings),
            }
        }
        Error::Capacity(other) => ReadFailure::Violation {
            code: TOO_BIG,
            text: other.to_string(),
        },
        Error::Utf8(detail) => ReadFailure::Violation {
            code: INVALID_PAYLOAD,
            text: format!("invalid UTF-8 in a text message or close reason: {detail}"),
        },
        Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => ReadFailure::Abrupt,
        Error::Protocol(ProtocolError::SendAfterClosing) => ReadFailure::AlreadyClosed,
        Error::Protocol(p) => ReadFailure::Violation {
            code: PROTOCOL,
            text: protocol_text(p),
        },
        Error::AttackAttempt => ReadFailure::Violation {
            code: PROTOCOL,
            text: "attack attempt detected".to_string(),
        },
        Error::Io(e) if e.get_ref().is_some_and(|e| e.is::<UnmaskedFrame>()) => {
            ReadFailure::Violation {
                code: PROTOCOL,
                text: UnmaskedFrame.to_string(),
            }
        }
        Error::Io(_) | Error::Tls(_) => ReadFailure::Abrupt,
        Error::ConnectionClosed | Error::AlreadyClosed => ReadFailure::AlreadyClosed,
        other => ReadFailure::Other(other.to_string()),
    }
}

fn protocol_text(p: &ProtocolError) -> String {
    match p {
        ProtocolError::NonZeroReservedBits => {
            "reserved bits set in a frame (no extension was negotiated)".to_string()
        }
        ProtocolError::MaskedFrameFromServer => "the server sent a masked frame".to_string(),
        ProtocolError::InvalidCloseSequence => "invalid close frame payload".to_string(),
        other => other.to_string(),
    }
}

/// The `connection-failure` text for an error during the opening handshake.
pub fn handshake_text(err: &Error) -> String {
    match err {
        Error::Http(response) => {
            let status = response.status();
            let mut text = format!(
                "the server answered HTTP {} {} instead of 101 Switching Protocols",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            )
            .replace("  ", " ");
            if status.is_redirection() {
                match response
                    .headers()
                    .get("location")
                    .and_then(|l| l.to_str().ok())
                {
                    Some(location) => {
                        text.push_str(&format!(" (redirect to {location}, not followed)"))
                    }
                    None => text.push_str(" (redirect, not followed)"),
                }
            }
            text
        }
        Error::Protocol(ProtocolError::SecWebSocketAcceptKeyMismatch) => {
            "the server's Sec-WebSocket-Accept does not match the key sent (HTTP 101)".to_string()
        }
        Error::Protocol(ProtocolError::SecWebSocketSubProtocolError(sub)) => match sub {
            SubProtocolError::ServerSentSubProtocolNoneRequested => {
                "the server chose a subprotocol though none was offered \
                 (Sec-WebSocket-Protocol, HTTP 101)"
                    .to_string()
            }
            SubProtocolError::InvalidSubProtocol => {
                "the server chose a subprotocol that was not offered \
                 (Sec-WebSocket-Protocol, HTTP 101)"
                    .to_string()
            }
            // Going on would let the app speak a subprotocol the server did not
            // agree to.
            SubProtocolError::NoSubProtocol => "the server accepted none of the offered \
                 subprotocols (its HTTP 101 answer has no Sec-WebSocket-Protocol header); \
                 the connect fails rather than speak a subprotocol the server did not \
                 agree to (offer none to connect without one)"
                .to_string(),
        },
        Error::Protocol(ProtocolError::MissingUpgradeWebSocketHeader) => {
            "the server's 101 answer has no \"Upgrade: websocket\" header".to_string()
        }
        Error::Protocol(ProtocolError::MissingConnectionUpgradeHeader) => {
            "the server's 101 answer has no \"Connection: upgrade\" header".to_string()
        }
        Error::Protocol(ProtocolError::HandshakeIncomplete) => {
            "the connection ended during the WebSocket handshake".to_string()
        }
        Error::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
            "the connection ended during the WebSocket handshake".to_string()
        }
        // The TLS layer reports its failures (alerts, bad records) as InvalidData.
        Error::Io(e) if e.kind() == io::ErrorKind::InvalidData => {
            format!("TLS failed during the WebSocket handshake: {e}")
        }
        Error::Io(e) => format!("I/O error during the WebSocket handshake: {e}"),
        other => format!("WebSocket handshake failed: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings;
    use tungstenite::http::Response;

    fn http_error(status: u16, location: Option<&str>) -> Error {
        let mut builder = Response::builder().status(status);
        if let Some(l) = location {
            builder = builder.header("Location", l);
        }
        Error::Http(Box::new(builder.body(None).unwrap()))
    }

    #[test]
    fn a_clients_unmasked_frame_is_1002_and_other_io_errors_abrupt() {
        let unmasked = Error::Io(io::Error::new(io::ErrorKind::InvalidData, UnmaskedFrame));
        assert_eq!(
            classify_read(&unmasked, settings::SIZE_SETTINGS),
            ReadFailure::Violation {
                code: PROTOCOL,
                text: "the client sent an unmasked frame".to_string()
            }
        );
        let other = Error::Io(io::Error::new(io::ErrorKind::InvalidData, "bad record"));
        assert_eq!(
            classify_read(&other, settings::SIZE_SETTINGS),
            ReadFailure::Abrupt
        );
    }

    #[test]
    fn oversize_is_1009() {
        let e = Error::Capacity(CapacityError::MessageTooLong {
            size: 70_000_000,
            max_size: 67_108_864,
        });
        match classify_read(&e, settings::SIZE_SETTINGS) {
            ReadFailure::Violation { code, text } => {
                assert_eq!(code, 1009);
                assert!(text.contains("70000000 bytes"), "{text}");
                assert!(text.contains("67108864"), "{text}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn oversize_names_the_setting_the_caller_gives() {
        let e = Error::Capacity(CapacityError::MessageTooLong {
            size: 11,
            max_size: 10,
        });
        let ReadFailure::Violation { text, .. } = classify_read(&e, settings::SIZE_SETTINGS) else {
            unreachable!()
        };
        assert!(
            text.ends_with("(WASM_WEBSOCKET_MAX_MESSAGE_SIZE / WASM_WEBSOCKET_MAX_FRAME_SIZE)"),
            "{text}"
        );
        let ReadFailure::Violation { text, .. } = classify_read(&e, crate::accept::SIZE_SETTINGS)
        else {
            unreachable!()
        };
        assert_eq!(
            text,
            "message too big: 11 bytes, the limit is 10 \
             (ServerConfig::max_message_size / ServerConfig::max_frame_size)"
        );
        assert!(!text.contains("WASM_WEBSOCKET"), "{text}");
    }

    #[test]
    fn bad_utf8_is_1007() {
        let e = Error::Utf8("invalid utf-8 sequence of 1 bytes from index 0".into());
        assert!(matches!(
            classify_read(&e, settings::SIZE_SETTINGS),
            ReadFailure::Violation { code: 1007, .. }
        ));
    }

    #[test]
    fn protocol_violations_are_1002() {
        for p in [
            ProtocolError::NonZeroReservedBits,
            ProtocolError::MaskedFrameFromServer,
            ProtocolError::FragmentedControlFrame,
            ProtocolError::ControlFrameTooBig,
            ProtocolError::UnknownControlFrameType(11),
            ProtocolError::UnknownDataFrameType(3),
            ProtocolError::UnexpectedContinueFrame,
            ProtocolError::InvalidCloseSequence,
            ProtocolError::ReceivedAfterClosing,
        ] {
            let failure = classify_read(&Error::Protocol(p), settings::SIZE_SETTINGS);
            assert!(
                matches!(failure, ReadFailure::Violation { code: 1002, .. }),
                "{failure:?}"
            );
        }
        let ReadFailure::Violation { text, .. } = classify_read(
            &Error::Protocol(ProtocolError::NonZeroReservedBits),
            settings::SIZE_SETTINGS,
        ) else {
            unreachable!()
        };
        assert!(text.contains("reserved bits"), "{text}");
    }

    #[test]
    fn transport_end_is_abrupt() {
        assert_eq!(
            classify_read(
                &Error::Protocol(ProtocolError::ResetWithoutClosingHandshake),
                settings::SIZE_SETTINGS
            ),
            ReadFailure::Abrupt
        );
        let reset = io::Error::new(io::ErrorKind::ConnectionReset, "reset");
        assert_eq!(
            classify_read(&Error::Io(reset), settings::SIZE_SETTINGS),
            ReadFailure::Abrupt
        );
        let tls = io::Error::new(io::ErrorKind::InvalidData, "received fatal alert");
        assert_eq!(
            classify_read(&Error::Io(tls), settings::SIZE_SETTINGS),
            ReadFailure::Abrupt
        );
        assert_eq!(
            classify_read(&Error::AlreadyClosed, settings::SIZE_SETTINGS),
            ReadFailure::AlreadyClosed
        );
        assert_eq!(
            classify_read(&Error::ConnectionClosed, settings::SIZE_SETTINGS),
            ReadFailure::AlreadyClosed
        );
    }

    #[test]
    fn non_101_names_the_status() {
        let text = handshake_text(&http_error(403, None));
        assert_eq!(
            text,
            "the server answered HTTP 403 Forbidden instead of 101 Switching Protocols"
        );
        let text = handshake_text(&http_error(599, None));
        assert!(text.contains("HTTP 599 instead of 101"), "{text}");
    }

    #[test]
    fn redirects_are_not_followed() {
        let text = handshake_text(&http_error(302, Some("ws://elsewhere/")));
        assert!(text.contains("HTTP 302 Found"), "{text}");
        assert!(
            text.contains("redirect to ws://elsewhere/, not followed"),
            "{text}"
        );
    }

    #[test]
    fn transport_failures_during_the_handshake() {
        let eof = io::Error::new(io::ErrorKind::UnexpectedEof, "eof");
        let text = handshake_text(&Error::Io(eof));
        assert_eq!(text, "the connection ended during the WebSocket handshake");
        let alert = io::Error::new(
            io::ErrorKind::InvalidData,
            "received fatal alert: CertificateRequired",
        );
        let text = handshake_text(&Error::Io(alert));
        assert_eq!(
            text,
            "TLS failed during the WebSocket handshake: received fatal alert: CertificateRequired"
        );
        let reset = io::Error::new(io::ErrorKind::ConnectionReset, "reset");
        let text = handshake_text(&Error::Io(reset));
        assert_eq!(text, "I/O error during the WebSocket handshake: reset");
    }

    #[test]
    fn bad_accept_and_subprotocols() {
        let text = handshake_text(&Error::Protocol(
            ProtocolError::SecWebSocketAcceptKeyMismatch,
        ));
        assert!(text.contains("Sec-WebSocket-Accept"), "{text}");
        assert!(text.contains("101"), "{text}");
        let text = handshake_text(&Error::Protocol(
            ProtocolError::SecWebSocketSubProtocolError(SubProtocolError::InvalidSubProtocol),
        ));
        assert!(text.contains("not offered"), "{text}");
        let text = handshake_text(&Error::Protocol(
            ProtocolError::SecWebSocketSubProtocolError(SubProtocolError::NoSubProtocol),
        ));
        assert!(
            text.starts_with("the server accepted none of the offered subprotocols"),
            "{text}"
        );
        assert!(text.contains("the connect fails"), "{text}");
        assert!(!text.contains("interface"), "{text}");
    }
}
