//! A WebSocket client written by hand over a `TcpStream`, for what no
//! library's client sends: a handshake with frames behind it in one write,
//! frames cut anywhere, unmasked frames, or a client that never reads.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A connection to the WebSocket server at `addr`: the handshake for `path`
/// and `first` in one write, then the `101` answer read (and checked);
/// reads wait at most `read_timeout`.
pub fn open(addr: SocketAddr, path: &str, first: &[u8], read_timeout: Duration) -> TcpStream {
    let mut client = TcpStream::connect(addr).expect("connect to the server");
    client
        .set_read_timeout(Some(read_timeout))
        .expect("a read timeout");
    let mut request = format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
    )
    .into_bytes();
    request.extend_from_slice(first);
    client
        .write_all(&request)
        .expect("send the handshake and what follows it");
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0];
        client.read_exact(&mut byte).expect("the 101 answer");
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    client
}

/// A client's frame: `payload` under `mask`, the final one of its message.
pub fn masked(opcode: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
    let mut frame = vec![0x80 | opcode];
    match payload.len() {
        len @ 0..=125 => frame.push(0x80 | len as u8),
        len @ 126..=0xffff => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// The server's next frame: its first byte and its payload (checked to be
/// unmasked, as a server's frames are).
pub fn read_frame(client: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut head = [0; 2];
    client.read_exact(&mut head).expect("a frame header");
    assert_eq!(head[1] & 0x80, 0, "a server frame is never masked");
    let len = match head[1] & 0x7f {
        126 => {
            let mut len = [0; 2];
            client.read_exact(&mut len).expect("a 16-bit length");
            u64::from(u16::from_be_bytes(len))
        }
        127 => {
            let mut len = [0; 8];
            client.read_exact(&mut len).expect("a 64-bit length");
            u64::from_be_bytes(len)
        }
        len => u64::from(len),
    };
    let mut payload = vec![0; usize::try_from(len).expect("a length that fits")];
    client.read_exact(&mut payload).expect("a payload");
    (head[0], payload)
}
