//! The default limits (the same for the client, the polyfill and the
//! server) and the timeout clamp.

use std::time::Duration;

/// The largest incoming message by default, in bytes (64 MiB, tungstenite's
/// default).
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 64 << 20;

/// The largest incoming frame payload by default, in bytes (16 MiB,
/// tungstenite's default).
pub const DEFAULT_MAX_FRAME_SIZE: usize = 16 << 20;

/// The bound on a client's connect (name lookup, TCP, TLS, the opening
/// handshake) by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// The bound on one blocking send (the polyfill's) by default.
pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a close waits for the peer's close frame by default.
pub const DEFAULT_CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a server gives a client from its TCP connect to the end of the
/// opening handshake by default.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest request head (request line and headers) a server reads, in
/// bytes. Browsers send well under 2 KiB; cookies can add a few.
pub const MAX_HEAD_SIZE: usize = 16 * 1024;

/// The longest timeout waited for: a year. `Instant + Duration` panics
/// when the sum does not fit, so every timeout a caller gives goes through
/// [`clamp_timeout`] first.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// `timeout`, or [`MAX_TIMEOUT`] when it is longer (`Duration::MAX` counts
/// as a year).
pub fn clamp_timeout(timeout: Duration) -> Duration {
    timeout.min(MAX_TIMEOUT)
}

/// The text of an incoming message or frame over its limit, naming the
/// setting that set the limit (`setting`, e.g. an environment variable or a
/// builder method), so that the reader knows what to raise.
pub fn too_big_text(size: usize, limit: usize, setting: &str) -> String {
    format!("message too big: {size} bytes, the limit is {limit} ({setting})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn a_clamped_timeout_can_be_added_to_now() {
        let now = Instant::now();
        for timeout in [Duration::MAX, Duration::from_secs(u64::MAX), MAX_TIMEOUT] {
            assert_eq!(clamp_timeout(timeout), MAX_TIMEOUT);
            assert!(now.checked_add(clamp_timeout(timeout)).is_some());
        }
        assert_eq!(
            clamp_timeout(Duration::from_millis(5)),
            Duration::from_millis(5)
        );
    }

    #[test]
    fn the_text_names_the_setting() {
        assert_eq!(
            too_big_text(10, 5, "ServerConfig::max_message_size"),
            "message too big: 10 bytes, the limit is 5 (ServerConfig::max_message_size)"
        );
    }
}
