//! A TCP listener over wasi:sockets: bind, listen with a backlog, and accept
//! without blocking, with the pollable exposed so that a caller can await it
//! on its own reactor. Accepted sockets come out as [`TcpConnection`]s, the
//! same type a connect makes, so [`crate::io::TcpIo`] runs over them alike.

use std::net::{IpAddr, SocketAddr};

use wasip2::io::poll::Pollable;
use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::network::{
    ErrorCode, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress, Network,
};
use wasip2::sockets::tcp::TcpSocket;
use wasip2::sockets::tcp_create_socket::create_tcp_socket;

use crate::net::TcpConnection;
use crate::wait::{Deadline, wait_for};

/// How long `bind` waits for the host to finish binding and to start
/// listening (wasmtime does both at once; the bound only keeps a host that
/// does not from hanging the caller).
const SETUP_TIMEOUT_MS: u64 = 10_000;

/// A listening TCP socket.
pub struct TcpListener {
    socket: TcpSocket,
    // The socket's network; dropped after it (fields drop in order).
    _network: Network,
    local: SocketAddr,
}

impl TcpListener {
    /// Binds `address` (port 0: one the system picks, see
    /// [`local_addr`](TcpListener::local_addr)) and listens with room for
    /// `backlog` connections the app has not accepted yet.
    pub fn bind(address: SocketAddr, backlog: u32) -> Result<TcpListener, String> {
        let network = instance_network();
        let family = match address.ip() {
            IpAddr::V4(_) => IpAddressFamily::Ipv4,
            IpAddr::V6(_) => IpAddressFamily::Ipv6,
        };
        let failed = |step: &str, e: ErrorCode| format!("cannot {step} {address}: {}", text(e));
        let socket = create_tcp_socket(family).map_err(|e| failed("open a socket for", e))?;
        let deadline = Deadline::after_ms(SETUP_TIMEOUT_MS);
        socket
            .start_bind(&network, to_wasi(address))
            .map_err(|e| failed("bind", e))?;
        finish(&socket, deadline, TcpSocket::finish_bind).map_err(|e| failed("bind", e))?;
        // A host may cap or round the backlog; its refusal to set one is no
        // reason not to listen.
        let _ = socket.set_listen_backlog_size(u64::from(backlog.max(1)));
        socket.start_listen().map_err(|e| failed("listen on", e))?;
        finish(&socket, deadline, TcpSocket::finish_listen).map_err(|e| failed("listen on", e))?;
        let local = socket
            .local_address()
            .map(from_wasi)
            .map_err(|e| failed("read the address bound for", e))?;
        Ok(TcpListener {
            socket,
            _network: network,
            local,
        })
    }

    /// The address the listener is bound to (with the port the system picked
    /// for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The pollable that is ready when a connection waits to be accepted (or
    /// the listener failed).
    pub fn subscribe(&self) -> Pollable {
        self.socket.subscribe()
    }

    /// Takes one waiting connection without blocking: `Ok(None)` when none
    /// waits. A connection the peer reset before it was taken is skipped.
    pub fn try_accept(&self) -> Result<Option<(TcpConnection, SocketAddr)>, String> {
        loop {
            match self.socket.accept() {
                Ok((socket, input, output)) => {
                    let peer = socket.remote_address().map(from_wasi);
                    let connection = TcpConnection {
                        network: instance_network(),
                        socket,
                        input,
                        output,
                    };
                    match peer {
                        Ok(peer) => return Ok(Some((connection, peer))),
                        // Gone already (reset before it was taken).
                        Err(_) => connection.close(),
                    }
                }
                Err(ErrorCode::WouldBlock) => return Ok(None),
                Err(ErrorCode::ConnectionAborted | ErrorCode::ConnectionReset) => {}
                Err(e) => {
                    return Err(format!(
                        "cannot accept a connection on {}: {}",
                        self.local,
                        text(e)
                    ));
                }
            }
        }
    }
}

/// Runs a `finish-*` step until it is no longer `would-block`.
fn finish(
    socket: &TcpSocket,
    deadline: Deadline,
    step: impl Fn(&TcpSocket) -> Result<(), ErrorCode>,
) -> Result<(), ErrorCode> {
    loop {
        match step(socket) {
            Err(ErrorCode::WouldBlock) => {
                if !wait_for(&socket.subscribe(), deadline) {
                    return Err(ErrorCode::Timeout);
                }
            }
            other => return other,
        }
    }
}

fn text(e: ErrorCode) -> String {
    match e {
        ErrorCode::AccessDenied => {
            format!(
                "{e} (is listening allowed? wasmtime: -Sinherit-network, or -Stcp-listen with an allow-list)"
            )
        }
        ErrorCode::AddressInUse => "the address is in use".to_string(),
        ErrorCode::AddressNotBindable => "the address is not one of this host's".to_string(),
        e => e.to_string(),
    }
}

fn to_wasi(address: SocketAddr) -> IpSocketAddress {
    match address {
        SocketAddr::V4(v4) => {
            let [a, b, c, d] = v4.ip().octets();
            IpSocketAddress::Ipv4(Ipv4SocketAddress {
                port: v4.port(),
                address: (a, b, c, d),
            })
        }
        SocketAddr::V6(v6) => {
            let [a, b, c, d, e, f, g, h] = v6.ip().segments();
            IpSocketAddress::Ipv6(Ipv6SocketAddress {
                port: v6.port(),
                flow_info: v6.flowinfo(),
                address: (a, b, c, d, e, f, g, h),
                scope_id: v6.scope_id(),
            })
        }
    }
}

fn from_wasi(address: IpSocketAddress) -> SocketAddr {
    match address {
        IpSocketAddress::Ipv4(v4) => {
            let (a, b, c, d) = v4.address;
            SocketAddr::new(IpAddr::from([a, b, c, d]), v4.port)
        }
        IpSocketAddress::Ipv6(v6) => {
            let (a, b, c, d, e, f, g, h) = v6.address;
            SocketAddr::new(IpAddr::from([a, b, c, d, e, f, g, h]), v6.port)
        }
    }
}
