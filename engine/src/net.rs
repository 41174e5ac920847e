//! Name lookup and TCP connect over wasi:sockets, bounded by a deadline, and
//! closing a TCP connection without ever waiting for the peer.

use std::cell::RefCell;
use std::net::IpAddr;

use wasip2::clocks::monotonic_clock;
use wasip2::io::streams::{InputStream, OutputStream};
use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::ip_name_lookup::resolve_addresses;
use wasip2::sockets::network::{
    ErrorCode, IpAddress, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress,
    Network,
};
use wasip2::sockets::tcp::{ShutdownType, TcpSocket};
use wasip2::sockets::tcp_create_socket::create_tcp_socket;

use crate::budget;
use crate::io::{Deadline, wait_for};

/// A connected TCP socket and its streams. The streams are the socket's
/// children: drop them first, then the socket, then the network. End it with
/// [`TcpConnection::close`], not by dropping it.
pub struct TcpConnection {
    pub network: Network,
    pub socket: TcpSocket,
    pub input: InputStream,
    pub output: OutputStream,
}

impl TcpConnection {
    /// Shuts the socket down and releases it, never waiting for the peer.
    ///
    /// wasmtime (48) hands every `write` to a background task, and dropping an
    /// `output-stream` waits for that task to finish, and, when no write is in
    /// flight, for the socket to become writable (`TcpWriter::cancel` awaits
    /// `ready()`). Against a peer that stopped reading, both wait until the
    /// peer reads or goes away. `shutdown` releases an idle stream at once (it
    /// becomes closed), but a write in flight only turns into "close after this
    /// write". Such a stream, and the socket that owns it (a parent may not be
    /// dropped before its children), are parked instead of dropped: released
    /// by a later `sweep` once the write ended (the peer read or reset), or
    /// when the host ends the instance, which aborts the write and closes the
    /// socket.
    pub fn close(self) {
        let TcpConnection {
            network,
            socket,
            input,
            output,
        } = self;
        drop(input);
        let _ = socket.shutdown(ShutdownType::Both);
        if write_in_flight(&output) {
            PARKED.with(|parked| parked.borrow_mut().push(Parked { output, socket }));
        } else {
            drop(output);
            drop(socket);
        }
        drop(network);
        sweep();
    }
}

/// An output stream whose last write had not ended when its connection was
/// closed, and its socket.
struct Parked {
    output: OutputStream,
    socket: TcpSocket,
}

thread_local! {
    static PARKED: RefCell<Vec<Parked>> = const { RefCell::new(Vec::new()) };
}

/// Whether the host is still writing to a stream that was shut down: it then
/// reports 0 bytes of room, while a stream that ended reports an error.
fn write_in_flight(output: &OutputStream) -> bool {
    matches!(output.check_write(), Ok(0))
}

/// Releases the parked connections whose write has ended since.
fn sweep() {
    let done: Vec<Parked> = PARKED.with(|parked| {
        let mut parked = parked.borrow_mut();
        let (done, waiting) = parked
            .drain(..)
            .partition(|p: &Parked| !write_in_flight(&p.output));
        *parked = waiting;
        done
    });
    for Parked { output, socket } in done {
        drop(output);
        drop(socket);
    }
}

/// Connects to `host:port` (an IP literal or a name looked up through
/// wasi:sockets/ip-name-lookup), trying each address in turn, each within its
/// share of the time left.
pub fn connect(
    host: &str,
    ip: Option<IpAddr>,
    port: u16,
    deadline: Deadline,
) -> Result<TcpConnection, String> {
    sweep();
    let network = instance_network();
    let addresses = match ip {
        Some(ip) => vec![to_wasi(ip)],
        None => resolve(&network, host, deadline)?,
    };
    let mut failures = Vec::new();
    let count = addresses.len();
    for (tried, address) in addresses.into_iter().enumerate() {
        // A black-holed address must not starve the ones after it.
        let attempt = share_of(deadline, count - tried);
        match connect_one(&network, address, port, attempt) {
            Ok((socket, input, output)) => {
                return Ok(TcpConnection {
                    network,
                    socket,
                    input,
                    output,
                });
            }
            Err(e) => failures.push((display(address), e)),
        }
        if deadline.passed() {
            break;
        }
    }
    let detail = match failures.as_slice() {
        [(address, e)] if address == host => e.clone(),
        _ => failures
            .iter()
            .map(|(address, e)| format!("{address}: {e}"))
            .collect::<Vec<_>>()
            .join("; "),
    };
    Err(format!("cannot connect to {host} port {port}: {detail}"))
}

/// The deadline of one connect attempt when `left` addresses (this one
/// included) are still to be tried: an even share of the time left
/// ([`budget::attempt_deadline`]).
fn share_of(deadline: Deadline, left: usize) -> Deadline {
    match deadline {
        Deadline::At(t) => Deadline::At(budget::attempt_deadline(monotonic_clock::now(), t, left)),
        other => other,
    }
}

fn resolve(network: &Network, host: &str, deadline: Deadline) -> Result<Vec<IpAddress>, String> {
    let lookup_error = |e: ErrorCode| match e {
        ErrorCode::NameUnresolvable => format!("host name {host:?} not found"),
        // wasmtime reports a lookup it does not allow as a permanent failure.
        ErrorCode::AccessDenied | ErrorCode::NotSupported | ErrorCode::PermanentResolverFailure => {
            format!(
                "cannot look up {host:?}: {e} (is name lookup allowed? \
                 wasmtime needs -Sallow-ip-name-lookup)"
            )
        }
        e => format!("cannot look up {host:?}: {e}"),
    };
    let stream = resolve_addresses(network, host).map_err(lookup_error)?;
    let mut addresses = Vec::new();
    loop {
        match stream.resolve_next_address() {
            Ok(Some(address)) => addresses.push(address),
            Ok(None) => break,
            Err(ErrorCode::WouldBlock) => {
                if !wait_for(&stream.subscribe(), deadline) {
                    return Err(format!("looking up {host:?} timed out"));
                }
            }
            Err(e) => return Err(lookup_error(e)),
        }
    }
    if addresses.is_empty() {
        return Err(format!("host name {host:?} has no addresses"));
    }
    Ok(addresses)
}

fn connect_one(
    network: &Network,
    address: IpAddress,
    port: u16,
    deadline: Deadline,
) -> Result<(TcpSocket, InputStream, OutputStream), String> {
    let (family, remote) = match address {
        IpAddress::Ipv4(address) => (
            IpAddressFamily::Ipv4,
            IpSocketAddress::Ipv4(Ipv4SocketAddress { port, address }),
        ),
        IpAddress::Ipv6(address) => (
            IpAddressFamily::Ipv6,
            IpSocketAddress::Ipv6(Ipv6SocketAddress {
                port,
                flow_info: 0,
                address,
                scope_id: 0,
            }),
        ),
    };
    let socket = create_tcp_socket(family).map_err(|e| e.to_string())?;
    socket
        .start_connect(network, remote)
        .map_err(connect_error)?;
    loop {
        match socket.finish_connect() {
            Ok((input, output)) => return Ok((socket, input, output)),
            Err(ErrorCode::WouldBlock) => {
                if !wait_for(&socket.subscribe(), deadline) {
                    return Err("no answer in time".to_string());
                }
            }
            Err(e) => return Err(connect_error(e)),
        }
    }
}

fn connect_error(e: ErrorCode) -> String {
    match e {
        ErrorCode::ConnectionRefused => "connection refused".to_string(),
        ErrorCode::AccessDenied => {
            format!("access denied (wasmtime needs -Sinherit-network): {e}")
        }
        e => e.to_string(),
    }
}

fn to_wasi(ip: IpAddr) -> IpAddress {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            IpAddress::Ipv4((a, b, c, d))
        }
        IpAddr::V6(v6) => {
            let [a, b, c, d, e, f, g, h] = v6.segments();
            IpAddress::Ipv6((a, b, c, d, e, f, g, h))
        }
    }
}

fn display(address: IpAddress) -> String {
    match address {
        IpAddress::Ipv4((a, b, c, d)) => IpAddr::from([a, b, c, d]).to_string(),
        IpAddress::Ipv6((a, b, c, d, e, f, g, h)) => {
            IpAddr::from([a, b, c, d, e, f, g, h]).to_string()
        }
    }
}
