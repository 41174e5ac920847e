//! Name lookup and TCP connect over wasi:sockets, bounded by a deadline.

use std::net::IpAddr;

use wasip2::io::streams::{InputStream, OutputStream};
use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::ip_name_lookup::resolve_addresses;
use wasip2::sockets::network::{
    ErrorCode, IpAddress, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress,
    Network,
};
use wasip2::sockets::tcp::TcpSocket;
use wasip2::sockets::tcp_create_socket::create_tcp_socket;

use crate::io::{Deadline, wait_for};

/// A connected TCP socket and its streams. The streams are the socket's
/// children: drop them first, then the socket, then the network.
pub(crate) struct TcpConnection {
    pub(crate) network: Network,
    pub(crate) socket: TcpSocket,
    pub(crate) input: InputStream,
    pub(crate) output: OutputStream,
}

/// Connects to `host:port` (an IP literal or a name looked up through
/// wasi:sockets/ip-name-lookup), trying each address in turn.
pub(crate) fn connect(
    host: &str,
    ip: Option<IpAddr>,
    port: u16,
    deadline: Deadline,
) -> Result<TcpConnection, String> {
    let network = instance_network();
    let addresses = match ip {
        Some(ip) => vec![to_wasi(ip)],
        None => resolve(&network, host, deadline)?,
    };
    let mut failures = Vec::new();
    for address in addresses {
        match connect_one(&network, address, port, deadline) {
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
                    return Err("timed out".to_string());
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
