//! The runtime's ceiling for the component server's rows: an echo server
//! with no WebSocket library on its data path and next to no guest work,
//! straight over `wasi:sockets`, waiting with `wasi:io/poll`. It answers the
//! opening handshake (tungstenite's `derive_accept_key` is its only use of a
//! library), then echoes every frame as it came, unmasked (the one piece of
//! work a server must do): each chunk a `read` brings is appended to one
//! output buffer, the masks removed in place, and the buffer goes out in as
//! few `write`s as the stream's permits allow. A close is echoed like any
//! frame, and the connection ends once it is out. Connections are served one
//! after another. What it costs is the runtime's: the host calls, their
//! copies and the thread hand-offs. `just bench` runs it beside the native
//! server ("(runtime ceiling)" server rows).
//!
//! ```text
//! wasmtime run -Sinherit-network target/direct/raw-echo.wasm --listen 127.0.0.1:0
//! ```
//!
//! It prints `listening on ADDRESS` once it listens, like the `server`
//! example. It is a measuring tool, not a server: it checks no frame beyond
//! its header and trusts its (loopback) peer.

use std::net::SocketAddr;
use std::process::ExitCode;

use wasip2::io::poll::{Pollable, poll};
use wasip2::io::streams::{InputStream, OutputStream, StreamError};
use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::network::{ErrorCode, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress};
use wasip2::sockets::tcp::TcpSocket;
use wasip2::sockets::tcp_create_socket::create_tcp_socket;

/// The output buffer's bound: reading stops while it holds more.
const OUT_BOUND: usize = 256 * 1024;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("raw-echo: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let listen = match args.as_slice() {
        [] => "127.0.0.1:0",
        [flag, address] if flag == "--listen" => address,
        _ => return Err("usage: raw-echo [--listen IPv4:port]".to_owned()),
    };
    let listener = listen_on(listen)?;
    let local = match listener.local_address().map_err(|e| format!("{e:?}"))? {
        IpSocketAddress::Ipv4(Ipv4SocketAddress { port, address }) => {
            let (a, b, c, d) = address;
            format!("{a}.{b}.{c}.{d}:{port}")
        }
        IpSocketAddress::Ipv6(_) => return Err("an IPv4 address, please".to_owned()),
    };
    println!("listening on {local}");
    loop {
        let (connection, input, output) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(ErrorCode::WouldBlock) => {
                listener.subscribe().block();
                continue;
            }
            Err(e) => return Err(format!("accept: {e:?}")),
        };
        // One connection's failure ends that connection, not the server.
        if let Err(e) = handshake(&input, &output).and_then(|()| echo(&input, &output)) {
            eprintln!("raw-echo: {e}");
        }
        drop((input, output, connection));
    }
}

/// A TCP socket listening on a loopback IPv4 address.
fn listen_on(address: &str) -> Result<TcpSocket, String> {
    let SocketAddr::V4(v4) = address.parse::<SocketAddr>().map_err(|e| e.to_string())? else {
        return Err("an IPv4 address, please".to_owned());
    };
    let [a, b, c, d] = v4.ip().octets();
    let socket = create_tcp_socket(IpAddressFamily::Ipv4).map_err(|e| format!("{e:?}"))?;
    let local = IpSocketAddress::Ipv4(Ipv4SocketAddress {
        port: v4.port(),
        address: (a, b, c, d),
    });
    socket
        .start_bind(&instance_network(), local)
        .map_err(|e| format!("bind: {e:?}"))?;
    finish(&socket, TcpSocket::finish_bind).map_err(|e| format!("bind: {e:?}"))?;
    socket
        .start_listen()
        .map_err(|e| format!("listen: {e:?}"))?;
    finish(&socket, TcpSocket::finish_listen).map_err(|e| format!("listen: {e:?}"))?;
    Ok(socket)
}

/// Waits for one of the socket's `finish-*` steps.
fn finish(
    socket: &TcpSocket,
    step: fn(&TcpSocket) -> Result<(), ErrorCode>,
) -> Result<(), ErrorCode> {
    loop {
        match step(socket) {
            Err(ErrorCode::WouldBlock) => socket.subscribe().block(),
            done => return done,
        }
    }
}

/// The opening handshake: the request is read up to its blank line, and
/// answered with 101 and the key's accept value.
fn handshake(input: &InputStream, output: &OutputStream) -> Result<(), String> {
    let mut request = Vec::new();
    while !request.ends_with(b"\r\n\r\n") {
        if request.len() > 8 * 1024 {
            return Err("a request head of over 8 KiB".to_owned());
        }
        // One byte at a time: nothing after the request may be taken.
        let byte = input.blocking_read(1).map_err(stream_error)?;
        request.extend_from_slice(&byte);
    }
    let request = String::from_utf8_lossy(&request);
    let key = request
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("sec-websocket-key"))
        .map(|(_, value)| value.trim())
        .ok_or("a request without Sec-WebSocket-Key")?;
    let answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        tungstenite::handshake::derive_accept_key(key.as_bytes())
    );
    output
        .blocking_write_and_flush(answer.as_bytes())
        .map_err(stream_error)
}

/// Where the reader is in the client's frames.
enum Frame {
    /// Collecting a header: the bytes so far.
    Header(Vec<u8>),
    /// In a payload: the bytes left, the mask, the payload's offset so far.
    Payload {
        left: u64,
        mask: [u8; 4],
        offset: usize,
    },
}

/// Echoes frames until the client's close is echoed or the connection ends.
fn echo(input: &InputStream, output: &OutputStream) -> Result<(), String> {
    let mut frame = Frame::Header(Vec::with_capacity(14));
    let mut out: Vec<u8> = Vec::with_capacity(OUT_BOUND);
    // Bytes of `out` already written.
    let mut written = 0;
    let mut closed = false;
    loop {
        let mut progress = false;
        if !closed && out.len() < OUT_BOUND {
            match input.read(64 * 1024) {
                Ok(chunk) if !chunk.is_empty() => {
                    closed = unmask_into(&mut frame, &chunk, &mut out)?;
                    progress = true;
                }
                Ok(_) => {}
                Err(StreamError::Closed) => return Ok(()),
                Err(e) => return Err(stream_error(e)),
            }
        }
        if written < out.len() {
            let permit = output.check_write().map_err(stream_error)? as usize;
            if permit > 0 {
                let end = out.len().min(written + permit);
                output.write(&out[written..end]).map_err(stream_error)?;
                written = end;
                progress = true;
            }
        }
        if written == out.len() {
            out.clear();
            written = 0;
            if closed {
                return output.blocking_flush().map_err(stream_error);
            }
        }
        if !progress {
            let mut waits: Vec<Pollable> = Vec::new();
            if !closed && out.len() < OUT_BOUND {
                waits.push(input.subscribe());
            }
            if written < out.len() {
                waits.push(output.subscribe());
            }
            let refs: Vec<&Pollable> = waits.iter().collect();
            poll(&refs);
        }
    }
}

/// Appends the server's (unmasked) frames for what `chunk` brings to `out`;
/// whether a close frame was among them.
fn unmask_into(frame: &mut Frame, mut chunk: &[u8], out: &mut Vec<u8>) -> Result<bool, String> {
    let mut closed = false;
    while !chunk.is_empty() {
        match frame {
            Frame::Header(header) => {
                header.push(chunk[0]);
                chunk = &chunk[1..];
                let Some((len, mask)) = parse_header(header)? else {
                    continue;
                };
                closed |= header[0] & 0x0f == 0x8;
                out.push(header[0]);
                match len {
                    0..=125 => out.push(len as u8),
                    126..=0xffff => {
                        out.push(126);
                        out.extend_from_slice(&(len as u16).to_be_bytes());
                    }
                    _ => {
                        out.push(127);
                        out.extend_from_slice(&len.to_be_bytes());
                    }
                }
                *frame = if len == 0 {
                    Frame::Header(Vec::with_capacity(14))
                } else {
                    Frame::Payload {
                        left: len,
                        mask,
                        offset: 0,
                    }
                };
            }
            Frame::Payload { left, mask, offset } => {
                let take = chunk
                    .len()
                    .min(usize::try_from(*left).unwrap_or(usize::MAX));
                let start = out.len();
                out.extend_from_slice(&chunk[..take]);
                apply_mask(&mut out[start..], *mask, *offset);
                chunk = &chunk[take..];
                *left -= take as u64;
                *offset += take;
                if *left == 0 {
                    *frame = Frame::Header(Vec::with_capacity(14));
                }
            }
        }
    }
    Ok(closed)
}

/// A complete client header's payload length and mask, or `None` while
/// bytes are missing.
fn parse_header(header: &[u8]) -> Result<Option<(u64, [u8; 4])>, String> {
    if header.len() < 2 {
        return Ok(None);
    }
    if header[1] & 0x80 == 0 {
        return Err("an unmasked frame from the client".to_owned());
    }
    let (len_bytes, short) = match header[1] & 0x7f {
        126 => (2, None),
        127 => (8, None),
        short => (0, Some(u64::from(short))),
    };
    if header.len() < 2 + len_bytes + 4 {
        return Ok(None);
    }
    let len = short.unwrap_or_else(|| {
        header[2..2 + len_bytes]
            .iter()
            .fold(0, |len, byte| len << 8 | u64::from(*byte))
    });
    let mask: [u8; 4] = header[2 + len_bytes..][..4].try_into().expect("four bytes");
    Ok(Some((len, mask)))
}

/// Removes the mask from `payload`, which starts `offset` bytes into its
/// frame's payload; eight bytes at a time.
fn apply_mask(payload: &mut [u8], mask: [u8; 4], offset: usize) {
    let mut key = [0u8; 8];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = mask[(offset + i) % 4];
    }
    let word = u64::from_ne_bytes(key);
    let mut words = payload.chunks_exact_mut(8);
    for chunk in &mut words {
        let value = u64::from_ne_bytes(chunk.try_into().expect("eight bytes")) ^ word;
        chunk.copy_from_slice(&value.to_ne_bytes());
    }
    for (byte, key) in words.into_remainder().iter_mut().zip(key) {
        *byte ^= key;
    }
}

fn stream_error(e: StreamError) -> String {
    match e {
        StreamError::Closed => "the connection was closed".to_owned(),
        StreamError::LastOperationFailed(e) => e.to_debug_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client frame: `payload` masked with `mask`.
    fn client_frame(opcode: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
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

    /// The server's frame of `payload`: unmasked.
    fn server_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mut frame = client_frame(opcode, payload, [0; 4]);
        let at = match payload.len() {
            0..=125 => 2,
            126..=0xffff => 4,
            _ => 10,
        };
        frame[1] &= 0x7f;
        frame.drain(at..at + 4);
        frame
    }

    #[test]
    fn frames_come_back_unmasked_however_the_reads_cut_them() {
        let payloads: Vec<Vec<u8>> = [0usize, 1, 7, 125, 126, 1000, 70_000]
            .iter()
            .map(|&len| (0..len).map(|i| (i * 31 % 251) as u8).collect())
            .collect();
        let mut wire = Vec::new();
        let mut expected = Vec::new();
        for (i, payload) in payloads.iter().enumerate() {
            let mask = [i as u8 + 1, 0x5a, 0xc3, 0x0f];
            wire.extend(client_frame(0x2, payload, mask));
            expected.extend(server_frame(0x2, payload));
        }
        wire.extend(client_frame(0x8, &[0x03, 0xe8], [9, 8, 7, 6]));
        expected.extend(server_frame(0x8, &[0x03, 0xe8]));
        for cut in [1, 2, 3, 5, 13, 4096, 65_536, wire.len()] {
            let mut frame = Frame::Header(Vec::new());
            let mut out = Vec::new();
            let mut closed = false;
            for chunk in wire.chunks(cut) {
                closed |= unmask_into(&mut frame, chunk, &mut out).unwrap();
            }
            assert!(closed, "cut {cut}");
            assert_eq!(out, expected, "cut {cut}");
        }
    }

    #[test]
    fn an_unmasked_client_frame_is_refused() {
        let mut frame = Frame::Header(Vec::new());
        let unmasked = server_frame(0x2, b"hello");
        assert!(unmask_into(&mut frame, &unmasked, &mut Vec::new()).is_err());
    }
}
