//! Property tests of the protocol rules (proptest): URLs built from their
//! parts parse back to those parts, header checks agree with the HTTP
//! grammar, close payloads round-trip, and the close watch ignores how its
//! stream is cut. The fuzz entry points (`fuzzing`) run in the crate's unit
//! tests and under `just fuzz`.

use proptest::prelude::*;
use wasm_websocket_protocol::WsUrl;
use wasm_websocket_protocol::close::{self, PeerClose};
use wasm_websocket_protocol::close_watch::CloseWatch;
use wasm_websocket_protocol::headers::{self, HeaderError};
use wasm_websocket_protocol::limits;

/// A DNS name of lowercase labels.
fn dns_name() -> impl Strategy<Value = String> {
    prop::collection::vec("[a-z][a-z0-9-]{0,10}", 1..4).prop_map(|labels| labels.join("."))
}

/// A path of segments without dot segments, in the characters a request
/// line carries as they are.
fn plain_path() -> impl Strategy<Value = String> {
    prop::collection::vec("[A-Za-z0-9_~!$&'()*+,;=:@-]{1,8}", 0..4)
        .prop_map(|segments| format!("/{}", segments.join("/")))
}

proptest! {
    #[test]
    fn a_url_made_of_parts_parses_to_those_parts(
        secure in any::<bool>(),
        host in dns_name(),
        port in prop::option::of(any::<u16>()),
        path in plain_path(),
        query in prop::option::of("[A-Za-z0-9=&/?:@._~-]{0,12}"),
        upper in any::<bool>(),
    ) {
        let scheme = if secure { "wss" } else { "ws" };
        let mut raw = format!("{scheme}://{host}");
        if let Some(port) = port {
            raw.push_str(&format!(":{port}"));
        }
        raw.push_str(&path);
        if let Some(query) = &query {
            raw.push('?');
            raw.push_str(query);
        }
        let given = if upper { raw.to_uppercase() } else { raw.clone() };
        let url = WsUrl::parse(&given).unwrap();
        let default = if secure { 443 } else { 80 };
        prop_assert_eq!(url.is_secure(), secure);
        prop_assert_eq!(url.port(), port.unwrap_or(default));
        if !upper {
            prop_assert_eq!(url.host(), host.as_str());
            let path_and_query = match &query {
                Some(query) => format!("{path}?{query}"),
                None => path.clone(),
            };
            prop_assert_eq!(url.path_and_query(), path_and_query.as_str());
            let expected = match port {
                Some(port) if port != default => raw.clone(),
                _ => format!("{scheme}://{host}{}", url.path_and_query()),
            };
            prop_assert_eq!(url.as_str(), expected.as_str());
        }
        prop_assert_eq!(WsUrl::parse(url.as_str()).unwrap(), url);
    }

    #[test]
    fn ip_hosts_parse_to_the_address(v4 in any::<std::net::Ipv4Addr>(), v6 in any::<std::net::Ipv6Addr>()) {
        let url = WsUrl::parse(&format!("ws://{v4}/")).unwrap();
        prop_assert_eq!(url.ip(), Some(v4.into()));
        let url = WsUrl::parse(&format!("wss://[{v6}]:1/")).unwrap();
        prop_assert_eq!(url.ip(), Some(v6.into()));
        prop_assert_eq!(url.as_str(), format!("wss://[{v6}]:1/"));
    }

    #[test]
    fn what_follows_a_fragment_or_credentials_never_passes(
        host in dns_name(),
        junk in "[ -~]{0,10}",
        user in "[A-Za-z0-9:._~!$&'()*+,;=%-]{0,10}",
    ) {
        for raw in [
            format!("ws://{host}/#{junk}"),
            format!("ws://{user}@{host}/"),
            format!("http://{host}/{junk}"),
        ] {
            prop_assert!(WsUrl::parse(&raw).is_err(), "{:?}", raw);
        }
    }

    #[test]
    fn any_string_parses_or_is_refused_with_a_reason(raw in any::<String>()) {
        match WsUrl::parse(&raw) {
            Ok(url) => prop_assert_eq!(WsUrl::parse(url.as_str()).unwrap(), url),
            Err(e) => prop_assert!(!e.reason().is_empty()),
        }
    }

    #[test]
    fn a_header_passes_exactly_when_the_grammar_says(name in any::<String>(), value in any::<String>()) {
        let token = !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        let owned = headers::HANDSHAKE_HEADERS.contains(&name.to_ascii_lowercase().as_str());
        let good_value = value.chars().all(|c| c == '\t' || (' '..='~').contains(&c));
        let checked = headers::check_header(&name, &value);
        prop_assert_eq!(checked.is_ok(), token && !owned && good_value, "{:?}", checked);
        if !token {
            prop_assert_eq!(checked, Err(HeaderError::BadName(name)));
        }
    }

    #[test]
    fn token_headers_with_visible_values_pass(
        name in "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,20}",
        value in "[\t -~]{0,40}",
    ) {
        prop_assume!(!headers::is_handshake_header(&name));
        prop_assert!(headers::check_header(&name, &value).is_ok());
    }

    #[test]
    fn an_offer_reads_back_as_offered(protocols in prop::collection::hash_set("[A-Za-z0-9.+-]{1,12}", 1..6)) {
        let protocols: Vec<String> = protocols.into_iter().collect();
        let value = headers::subprotocol_offer(&protocols).unwrap().unwrap();
        let back: Vec<&str> = headers::offered_subprotocols(&value).collect();
        prop_assert_eq!(back, protocols.iter().map(String::as_str).collect::<Vec<_>>());
    }

    #[test]
    fn a_sendable_close_round_trips(code in any::<u16>(), reason in "\\PC{0,60}") {
        match close::outgoing(Some(code), &reason) {
            Ok(sent) => {
                prop_assert!(close::may_send(code) && reason.len() <= close::MAX_CLOSE_REASON_LEN);
                let payload = close::payload(sent, &reason);
                prop_assert_eq!(
                    close::read_payload(&payload),
                    PeerClose::Closed { code, reason: &reason }
                );
            }
            Err(close::CloseError::Code(c)) => prop_assert!(c == code && !close::may_send(code)),
            Err(close::CloseError::ReasonTooLong(len)) => {
                prop_assert!(len == reason.len() && len > close::MAX_CLOSE_REASON_LEN);
            }
        }
    }

    #[test]
    fn a_coded_payload_reads_as_the_rules_say(code in any::<u16>(), reason in "[a-z\u{e9}\u{1f980}]{0,80}") {
        let payload = close::payload(Some(code), &reason);
        let expected = if payload.len() > close::MAX_CONTROL_PAYLOAD {
            PeerClose::Invalid(close::PayloadError::TooLong(payload.len()))
        } else if !close::may_send(code) {
            PeerClose::Invalid(close::PayloadError::Code(code))
        } else {
            PeerClose::Closed { code, reason: &reason }
        };
        prop_assert_eq!(close::read_payload(&payload), expected);
    }

    #[test]
    fn any_close_payload_reads_without_panic(payload in prop::collection::vec(any::<u8>(), 0..200)) {
        match close::read_payload(&payload) {
            PeerClose::NoStatus => prop_assert!(payload.is_empty()),
            PeerClose::Closed { code, reason } => {
                prop_assert!(payload.len() <= close::MAX_CONTROL_PAYLOAD);
                prop_assert_eq!(close::payload(Some(code), reason), payload);
            }
            PeerClose::Invalid(_) => {}
        }
    }

    #[test]
    fn the_close_watch_ignores_the_cuts(
        frames in prop::collection::vec((0u8..16, prop::collection::vec(any::<u8>(), 0..300), prop::option::of(any::<[u8; 4]>())), 0..6),
        cut in 1usize..64,
    ) {
        let mut stream = Vec::new();
        let mut last_close = None;
        for (opcode, payload, mask) in &frames {
            stream.push(0x80 | opcode);
            let masked = if mask.is_some() { 0x80 } else { 0 };
            match payload.len() {
                n @ 0..=125 => stream.push(masked | n as u8),
                n => {
                    stream.push(masked | 126);
                    stream.extend_from_slice(&(n as u16).to_be_bytes());
                }
            }
            match mask {
                Some(mask) => {
                    stream.extend_from_slice(mask);
                    stream.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
                }
                None => stream.extend_from_slice(payload),
            }
            if *opcode == 8 {
                last_close = Some(payload[..payload.len().min(125)].to_vec());
            }
        }
        let mut watch = CloseWatch::frames();
        for piece in stream.chunks(cut) {
            watch.feed(piece);
        }
        prop_assert_eq!(watch.take_close(), last_close);
    }

    #[test]
    fn a_clamped_timeout_never_overflows_an_instant(secs in any::<u64>(), nanos in 0u32..1_000_000_000) {
        let timeout = std::time::Duration::new(secs, nanos);
        let clamped = limits::clamp_timeout(timeout);
        prop_assert!(clamped <= limits::MAX_TIMEOUT);
        prop_assert!(std::time::Instant::now().checked_add(clamped).is_some());
    }
}
