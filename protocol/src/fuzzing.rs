//! The parsers' fuzz entry points (feature `fuzzing`): each takes arbitrary
//! bytes, runs one parser on them and checks what it returned; a panic is a
//! finding. `fuzz/` runs them under libFuzzer (`just fuzz`), and this crate's
//! tests run them on stable over a bounded set of inputs ([`Inputs`]).

use crate::close::{self, PeerClose};
use crate::close_watch::{CloseWatch, header_len, payload_len};
use crate::headers;
use crate::unmask::Unmasker;
use crate::url::{self, WsUrl};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The URL parser: an accepted URL serializes to plain ASCII that parses
/// back to itself, with its parts where they belong.
pub fn url(data: &[u8]) {
    let raw = String::from_utf8_lossy(data);
    let Ok(url) = WsUrl::parse(&raw) else {
        return;
    };
    let text = url.as_str();
    assert!(text.bytes().all(|b| b.is_ascii_graphic()), "{text:?}");
    assert!(text.starts_with(if url.is_secure() { "wss://" } else { "ws://" }));
    assert!(!url.host().is_empty());
    assert!(url.path_and_query().starts_with('/'), "{text:?}");
    assert!(!text.contains('#'), "{text:?}");
    let authority =
        &text[text.find("://").map_or(0, |i| i + 3)..text.len() - url.path_and_query().len()];
    assert!(!authority.contains('@'), "{text:?}");
    let again = WsUrl::parse(text).unwrap_or_else(|e| panic!("{raw:?} -> {text:?}: {e}"));
    assert_eq!(again, url, "{raw:?}");
}

/// The IP address parsers of the URL parser: whatever the text, each reads
/// it as std's `FromStr` for `Ipv4Addr`, `Ipv6Addr` and `IpAddr` does (the
/// same address, or refused by both).
pub fn ip_addr(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    assert_eq!(
        url::ipv4_addr(&text),
        text.parse::<Ipv4Addr>().ok(),
        "Ipv4Addr {text:?}"
    );
    assert_eq!(
        url::ipv6_addr(&text),
        text.parse::<Ipv6Addr>().ok(),
        "Ipv6Addr {text:?}"
    );
    assert_eq!(
        url::ip_addr(&text),
        text.parse::<IpAddr>().ok(),
        "IpAddr {text:?}"
    );
}

/// Header checks: a header that passes is one HTTP header line, and a
/// subprotocol offer that passes reads back item by item.
pub fn headers(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (name, value) = text.split_once(':').unwrap_or((&text, ""));
    if headers::check_header(name, value).is_ok() {
        assert!(headers::is_token(name));
        assert!(!headers::is_handshake_header(name));
        let line = format!("{name}: {value}\r\n");
        assert_eq!(line.matches(['\r', '\n']).count(), 2, "{line:?}");
    }
    let offer: Vec<String> = text.split(' ').map(str::to_owned).collect();
    if let Ok(Some(value)) = headers::subprotocol_offer(&offer) {
        let back: Vec<&str> = headers::offered_subprotocols(&value).collect();
        assert_eq!(back, offer, "{value:?}");
        assert!(headers::bad_value_char(&value).is_none());
    }
}

/// Close payloads, both ways: a peer's payload that reads as a close is one
/// an endpoint could have sent, and what an endpoint may send reads back.
pub fn close_payload(data: &[u8]) {
    match close::read_payload(data) {
        PeerClose::NoStatus => assert!(data.is_empty()),
        PeerClose::Closed { code, reason } => {
            assert!(close::may_send(code));
            assert_eq!(close::payload(Some(code), reason), data);
        }
        PeerClose::Invalid(_) => {}
    }
    let code = match data {
        [high, low, ..] => Some(u16::from_be_bytes([*high, *low])),
        _ => None,
    };
    let reason = String::from_utf8_lossy(data.get(2..).unwrap_or_default());
    if let Ok(sent) = close::outgoing(code, &reason) {
        let bytes = close::payload(sent, &reason);
        assert!(bytes.len() <= close::MAX_CONTROL_PAYLOAD);
        assert!(close::check_control_payload(&bytes).is_ok());
        match (sent, close::read_payload(&bytes)) {
            (None, PeerClose::NoStatus) => {}
            (
                Some(code),
                PeerClose::Closed {
                    code: read,
                    reason: r,
                },
            ) => {
                assert_eq!((read, r), (code, &*reason));
            }
            (sent, read) => panic!("sent {sent:?} {reason:?}, read {read:?}"),
        }
    }
}

/// The close watch: whatever the chunking (set by the first byte), it keeps
/// the same close payload, of at most 125 bytes.
pub fn close_watch(data: &[u8]) {
    let Some((&chunk, stream)) = data.split_first() else {
        return;
    };
    let mut whole = CloseWatch::frames();
    whole.feed(stream);
    let mut pieces = CloseWatch::frames();
    for piece in stream.chunks(usize::from(chunk).max(1)) {
        pieces.feed(piece);
    }
    let kept = whole.take_close();
    assert_eq!(kept, pieces.take_close());
    assert!(
        kept.as_ref()
            .is_none_or(|p| p.len() <= close::MAX_CONTROL_PAYLOAD)
    );
    let mut head_first = CloseWatch::default();
    head_first.feed(b"HTTP/1.1 101 Switching Protocols\r\n\r\n");
    head_first.feed(stream);
    assert_eq!(head_first.take_close(), kept);
}

/// The unmasker: whatever the bytes and the chunking (set by the first
/// byte), it gives the same output as on the whole stream at once, or
/// refuses it as it does then; it never gives more bytes than came; and no
/// header it gives has a mask bit.
pub fn unmask(data: &[u8]) {
    let Some((&chunk, stream)) = data.split_first() else {
        return;
    };
    let rewrite = |pieces: &mut dyn Iterator<Item = &[u8]>| {
        let mut unmasker = Unmasker::default();
        let mut out = Vec::new();
        for piece in pieces {
            let mut rest = piece;
            while !rest.is_empty() {
                let mut read = vec![0; rest.len()];
                let (taken, n) = unmasker.rewrite(rest, &mut read).ok()?;
                assert!(taken > 0 && n <= taken);
                assert!(taken == rest.len() || unmasker.refused());
                out.extend_from_slice(&read[..n]);
                rest = &rest[taken..];
            }
        }
        // Refused at the stream's last bytes: the next read would say so.
        (!unmasker.refused()).then_some(out)
    };
    let whole = rewrite(&mut std::iter::once(stream));
    let pieces = rewrite(&mut stream.chunks(usize::from(chunk).max(1)));
    assert_eq!(whole.is_none(), pieces.is_none(), "refused one way only");
    let (Some(whole), Some(pieces)) = (whole, pieces) else {
        return;
    };
    assert_eq!(whole, pieces);
    assert!(whole.len() <= stream.len());
    // Every header that came out is unmasked.
    let mut rest = &whole[..];
    while let [_, second, ..] = rest {
        let at = whole.len() - rest.len();
        assert_eq!(second & 0x80, 0, "a mask bit left {at} bytes in");
        let Some(head) = rest.get(..header_len(rest)) else {
            break;
        };
        let (len, _) = payload_len(head);
        match usize::try_from(len)
            .ok()
            .and_then(|len| rest.get(head.len()..)?.get(len..))
        {
            Some(next) => rest = next,
            None => break,
        }
    }
}

/// A bounded, reproducible run of inputs for an entry point on stable: a
/// fixed number of pseudo-random byte strings, and the same number of
/// variants of `seeds` with bytes changed, inserted, cut or repeated.
#[derive(Debug)]
pub struct Inputs {
    state: u64,
    seeds: Vec<Vec<u8>>,
    left: usize,
}

impl Inputs {
    /// `count` inputs in all, half random bytes, half mutated seeds.
    pub fn new(seeds: &[&[u8]], count: usize) -> Inputs {
        Inputs {
            state: 0x9e37_79b9_7f4a_7c15,
            seeds: seeds.iter().map(|s| s.to_vec()).collect(),
            left: count,
        }
    }

    fn next_u64(&mut self) -> u64 {
        // xorshift64*
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// A byte that is often one of the parsers' punctuation.
    fn byte(&mut self) -> u8 {
        const PUNCT: &[u8] = b":/?#@[]%.\\\r\n\t ,;=\"'<>{}`0123456789";
        match self.below(4) {
            0 => PUNCT[self.below(PUNCT.len())],
            _ => self.next_u64() as u8,
        }
    }
}

impl Iterator for Inputs {
    type Item = Vec<u8>;

    fn next(&mut self) -> Option<Vec<u8>> {
        self.left = self.left.checked_sub(1)?;
        if self.seeds.is_empty() || self.left.is_multiple_of(2) {
            let len = self.below(300);
            return Some((0..len).map(|_| self.byte()).collect());
        }
        let pick = self.below(self.seeds.len());
        let mut input = self.seeds[pick].clone();
        for _ in 0..=self.below(4) {
            let at = self.below(input.len() + 1);
            match self.below(4) {
                0 if at < input.len() => input[at] = self.byte(),
                1 => input.insert(at, self.byte()),
                2 if at < input.len() => {
                    let end = (at + self.below(8)).min(input.len());
                    input.drain(at..end);
                }
                _ => {
                    let end = (at + self.below(16)).min(input.len());
                    let copy = input[at..end].to_vec();
                    input.splice(at..at, copy);
                }
            }
        }
        Some(input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How many inputs each entry point gets in `cargo test`.
    const RUNS: usize = 5000;

    #[test]
    fn url_takes_any_bytes() {
        let seeds: [&[u8]; 5] = [
            b"ws://127.0.0.1:9001/path?q=1",
            b"WSS://Example.COM",
            b"ws://[::FFFF:1.2.3.4]:80/a/./b/../c?x=y z",
            b"wss://xn--bcher-kva.example./caf\xc3\xa9?q=%41",
            b"ws://h/..a/%2e%2E/b.",
        ];
        Inputs::new(&seeds, RUNS).for_each(|input| url(&input));
    }

    #[test]
    fn ip_addresses_read_as_std_reads_them() {
        let seeds: [&[u8]; 6] = [
            b"127.0.0.1",
            b"0.0.0.0",
            b"255.255.255.255",
            b"::1",
            b"2001:DB8:0:0:8:800:200C:417A",
            b"::ffff:192.0.2.128",
        ];
        Inputs::new(&seeds, RUNS).for_each(|input| ip_addr(&input));
    }

    #[test]
    fn headers_take_any_bytes() {
        let seeds: [&[u8]; 3] = [b"Authorization:Bearer t", b"X-A:a\tb c", b"chat.v2 chat.v1"];
        Inputs::new(&seeds, RUNS).for_each(|input| headers(&input));
    }

    #[test]
    fn close_payloads_take_any_bytes() {
        let seeds: [&[u8]; 3] = [b"\x03\xe8bye", b"\x0f\xa1", b""];
        Inputs::new(&seeds, RUNS).for_each(|input| close_payload(&input));
    }

    #[test]
    fn the_close_watch_takes_any_bytes() {
        let seeds: [&[u8]; 2] = [
            b"\x03\x81\x02hi\x89\x00\x88\x05\x03\xe8bye",
            b"\x01\x82\x7e\x00\x03abc\x88\x82\x01\x02\x03\x04\x02\xea",
        ];
        Inputs::new(&seeds, RUNS).for_each(|input| close_watch(&input));
    }

    #[test]
    fn the_unmasker_takes_any_bytes() {
        let seeds: [&[u8]; 2] = [
            b"\x03\x81\x82\x01\x02\x03\x04\x69\x6b\x89\x80\x05\x06\x07\x08",
            b"\x05\x82\xfe\x00\x03\xaa\xbb\xcc\xdd\x01\x02\x03\x88\x80\x00\x00\x00\x00",
        ];
        Inputs::new(&seeds, RUNS).for_each(|input| unmask(&input));
    }

    #[test]
    fn the_inputs_are_bounded_and_varied() {
        let inputs: Vec<Vec<u8>> = Inputs::new(&[b"seed"], 100).collect();
        assert_eq!(inputs.len(), 100);
        let distinct: std::collections::HashSet<_> = inputs.iter().collect();
        assert!(distinct.len() > 50);
    }
}
