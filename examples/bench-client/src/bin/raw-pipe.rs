//! The runtime's ceiling for the `pipe` workload: the same round trips (N
//! binary messages of SIZE bytes, WINDOW in flight, against the bench's echo
//! server) with no WebSocket library and next to no guest work. It writes
//! one prebuilt frame again and again, one `write` per frame (masked with a
//! zero key, so the payload needs no masking, which a real client may not
//! do), and only counts the echoes' bytes, straight over `wasi:sockets`,
//! waiting with `wasi:io/poll`. What it costs is the runtime's: the host
//! calls, their copies and the thread hand-offs. `just bench` runs it
//! beside the native client ("(runtime ceiling)" rows).
//!
//! ```text
//! raw-pipe pipe <ws://IPv4:port/> <size> <count> <window>
//! ```
//!
//! The command line and the one-line JSON report are bench-client's.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Instant;

use wasm_websocket_bench::{Report, Workload};

use wasip2::io::poll::{Pollable, poll};
use wasip2::io::streams::{InputStream, OutputStream, StreamError};
use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::network::{IpAddressFamily, IpSocketAddress, Ipv4SocketAddress};
use wasip2::sockets::tcp_create_socket::create_tcp_socket;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("raw-pipe: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: raw-pipe pipe <ws://IPv4:port/> <size> <count> <window>";
    let (
        Workload::Pipelined {
            size,
            count,
            window,
        },
        url,
    ) = Workload::parse(&args)?
    else {
        return Err(usage.to_owned());
    };
    let addr = url
        .strip_prefix("ws://")
        .and_then(|rest| rest.strip_suffix('/'))
        .ok_or(usage)?;
    let connecting = Instant::now();
    let (input, output) = connect(addr)?;
    handshake(&input, &output, addr)?;
    let connect = connecting.elapsed();

    let size = size as u64;
    let frame = frame(size);
    let echo_len = size + echo_header_len(size);
    let start = Instant::now();
    let (mut sent, mut received_bytes) = (0u64, 0u64);
    // Bytes of the current frame already written.
    let mut written = 0usize;
    while received_bytes < count * echo_len {
        let received = received_bytes / echo_len;
        let mut progress = false;
        if sent < count && sent - received < window {
            let permit = output.check_write().map_err(stream_error)?;
            if permit > 0 {
                let end = frame.len().min(written + permit as usize);
                output.write(&frame[written..end]).map_err(stream_error)?;
                written = end;
                if written == frame.len() {
                    written = 0;
                    sent += 1;
                }
                progress = true;
            }
        }
        match input.read(64 * 1024) {
            Ok(chunk) if !chunk.is_empty() => {
                received_bytes += chunk.len() as u64;
                progress = true;
            }
            Ok(_) => {}
            Err(e) => return Err(stream_error(e)),
        }
        if !progress {
            let mut waits: Vec<Pollable> = vec![input.subscribe()];
            if sent < count && sent - received < window {
                waits.push(output.subscribe());
            }
            let refs: Vec<&Pollable> = waits.iter().collect();
            poll(&refs);
        }
    }
    let report = Report {
        workload: "pipe",
        messages: count,
        bytes: count * size,
        connect,
        elapsed: start.elapsed(),
        percentiles: None,
    };
    println!("{}", report.to_json());
    Ok(())
}

/// A masked binary frame of `size` zero bytes with a zero masking key (the
/// payload on the wire is the payload itself).
fn frame(size: u64) -> Vec<u8> {
    let mut frame = vec![0x82];
    match size {
        0..=125 => frame.push(0x80 | size as u8),
        126..=0xffff => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(size as u16).to_be_bytes());
        }
        _ => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&size.to_be_bytes());
        }
    }
    frame.extend_from_slice(&[0; 4]);
    frame.resize(frame.len() + size as usize, 0);
    frame
}

/// The header length of the server's (unmasked) echo of `size` bytes.
fn echo_header_len(size: u64) -> u64 {
    match size {
        0..=125 => 2,
        126..=0xffff => 4,
        _ => 10,
    }
}

/// A TCP connection to a loopback IPv4 address, blocking until it is open.
fn connect(addr: &str) -> Result<(InputStream, OutputStream), String> {
    let SocketAddr::V4(v4) = addr.parse::<SocketAddr>().map_err(|e| e.to_string())? else {
        return Err("an IPv4 address, please".to_owned());
    };
    let [a, b, c, d] = v4.ip().octets();
    let socket = create_tcp_socket(IpAddressFamily::Ipv4).map_err(|e| format!("{e:?}"))?;
    let remote = IpSocketAddress::Ipv4(Ipv4SocketAddress {
        port: v4.port(),
        address: (a, b, c, d),
    });
    socket
        .start_connect(&instance_network(), remote)
        .map_err(|e| format!("{e:?}"))?;
    loop {
        match socket.finish_connect() {
            Ok(streams) => {
                // The socket may go: the streams keep the connection.
                std::mem::forget(socket);
                return Ok(streams);
            }
            Err(wasip2::sockets::network::ErrorCode::WouldBlock) => {
                socket.subscribe().block();
            }
            Err(e) => return Err(format!("connect: {e:?}")),
        }
    }
}

/// The opening handshake; the answer is read up to its blank line.
fn handshake(input: &InputStream, output: &OutputStream, addr: &str) -> Result<(), String> {
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    output
        .blocking_write_and_flush(request.as_bytes())
        .map_err(stream_error)?;
    let mut answer = Vec::new();
    while !answer.ends_with(b"\r\n\r\n") {
        // One byte at a time: nothing after the answer may be taken.
        let byte = input.blocking_read(1).map_err(stream_error)?;
        answer.extend_from_slice(&byte);
    }
    if !answer.starts_with(b"HTTP/1.1 101") {
        return Err(format!("refused: {}", String::from_utf8_lossy(&answer)));
    }
    Ok(())
}

fn stream_error(e: StreamError) -> String {
    match e {
        StreamError::Closed => "the connection was closed".to_owned(),
        StreamError::LastOperationFailed(e) => e.to_debug_string(),
    }
}
