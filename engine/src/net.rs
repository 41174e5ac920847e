//! Name lookup and TCP connect over wasi:sockets, bounded by a deadline, and
//! closing a TCP connection without ever waiting for the peer.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::net::IpAddr;

use wasip2::clocks::monotonic_clock;
use wasip2::io::poll::Pollable;
use wasip2::io::streams::{InputStream, OutputStream};
use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::ip_name_lookup::{ResolveAddressStream, resolve_addresses};
use wasip2::sockets::network::{
    ErrorCode, IpAddress, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress,
    Network,
};
use wasip2::sockets::tcp::{ShutdownType, TcpSocket};
use wasip2::sockets::tcp_create_socket::create_tcp_socket;

use crate::budget;
use crate::wait::Deadline;

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

/// A connect under way, driven by [`Connect::step`] without ever waiting: a
/// caller waits on [`Connect::subscribe`] until [`Connect::wait_deadline`]
/// between steps (and drops that pollable before the next step).
pub struct Connect {
    host: String,
    port: u16,
    deadline: Deadline,
    /// Taken by the connection once connected.
    network: Option<Network>,
    phase: Phase,
    /// The addresses tried so far and why each failed.
    failures: Vec<(String, String)>,
}

enum Phase {
    /// Looking the name up; the addresses found so far.
    Lookup(ResolveAddressStream, Vec<IpAddress>),
    /// Connecting to `address` until `until`; `rest` are tried next.
    Trying {
        socket: TcpSocket,
        address: IpAddress,
        until: Deadline,
        rest: VecDeque<IpAddress>,
    },
    /// Connected, or failed.
    Over,
}

impl Connect {
    /// Starts a connect: the name lookup, or the connect to `ip`.
    pub fn start(
        host: &str,
        ip: Option<IpAddr>,
        port: u16,
        deadline: Deadline,
    ) -> Result<Connect, String> {
        sweep();
        let network = instance_network();
        let mut connect = Connect {
            host: host.to_string(),
            port,
            deadline,
            phase: Phase::Over,
            network: None,
            failures: Vec::new(),
        };
        match ip {
            Some(ip) => {
                connect.network = Some(network);
                connect.try_next(VecDeque::from([to_wasi(ip)]))?;
            }
            None => {
                let stream =
                    resolve_addresses(&network, host).map_err(|e| lookup_error(host, e))?;
                connect.network = Some(network);
                connect.phase = Phase::Lookup(stream, Vec::new());
            }
        }
        Ok(connect)
    }

    /// Goes as far as it can without waiting: `Some` once connected, `None`
    /// when it waits for [`Connect::subscribe`].
    pub fn step(&mut self) -> Result<Option<TcpConnection>, String> {
        loop {
            match &mut self.phase {
                Phase::Lookup(stream, found) => match stream.resolve_next_address() {
                    Ok(Some(address)) => found.push(address),
                    Ok(None) => {
                        if found.is_empty() {
                            self.phase = Phase::Over;
                            return Err(format!("host name {:?} has no addresses", self.host));
                        }
                        let found = VecDeque::from(std::mem::take(found));
                        self.try_next(found)?;
                    }
                    Err(ErrorCode::WouldBlock) => {
                        if self.deadline.passed() {
                            self.phase = Phase::Over;
                            return Err(format!("looking up {:?} timed out", self.host));
                        }
                        return Ok(None);
                    }
                    Err(e) => {
                        self.phase = Phase::Over;
                        return Err(lookup_error(&self.host, e));
                    }
                },
                Phase::Trying {
                    socket,
                    address,
                    until,
                    rest,
                } => {
                    let failed = match socket.finish_connect() {
                        Ok((input, output)) => {
                            let Phase::Trying { socket, .. } =
                                std::mem::replace(&mut self.phase, Phase::Over)
                            else {
                                unreachable!("matched above")
                            };
                            let network = self.network.take().expect("held until connected");
                            return Ok(Some(TcpConnection {
                                network,
                                socket,
                                input,
                                output,
                            }));
                        }
                        Err(ErrorCode::WouldBlock) if !until.passed() => return Ok(None),
                        Err(ErrorCode::WouldBlock) => "no answer in time".to_string(),
                        Err(e) => connect_error(e),
                    };
                    self.failures.push((display(*address), failed));
                    let rest = std::mem::take(rest);
                    self.try_next(rest)?;
                }
                Phase::Over => return Err("the connect is over".to_string()),
            }
        }
    }

    /// What the next step waits for: the lookup or the socket.
    pub fn subscribe(&self) -> Pollable {
        match &self.phase {
            Phase::Lookup(stream, _) => stream.subscribe(),
            Phase::Trying { socket, .. } => socket.subscribe(),
            Phase::Over => crate::wait::ready_pollable(),
        }
    }

    /// Until when the next step waits: the end of this attempt's share.
    pub fn wait_deadline(&self) -> Deadline {
        match &self.phase {
            Phase::Trying { until, .. } => *until,
            _ => self.deadline,
        }
    }

    /// Starts the connect to the first of `addresses` that starts, each
    /// within its share of the time left; the error names every failure once
    /// none is left or the time is up.
    fn try_next(&mut self, mut addresses: VecDeque<IpAddress>) -> Result<(), String> {
        // Dropped before a new socket is made.
        self.phase = Phase::Over;
        let network = self.network.as_ref().expect("held until connected");
        // The first address is always tried; the next ones while time is left.
        while self.failures.is_empty() || !self.deadline.passed() {
            let Some(address) = addresses.pop_front() else {
                break;
            };
            // A black-holed address must not starve the ones after it.
            let until = share_of(self.deadline, addresses.len() + 1);
            match start_one(network, address, self.port) {
                Ok(socket) => {
                    self.phase = Phase::Trying {
                        socket,
                        address,
                        until,
                        rest: addresses,
                    };
                    return Ok(());
                }
                Err(e) => self.failures.push((display(address), e)),
            }
        }
        let detail = match self.failures.as_slice() {
            [(address, e)] if *address == self.host => e.clone(),
            _ => self
                .failures
                .iter()
                .map(|(address, e)| format!("{address}: {e}"))
                .collect::<Vec<_>>()
                .join("; "),
        };
        Err(format!(
            "cannot connect to {} port {}: {detail}",
            self.host, self.port
        ))
    }
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

fn lookup_error(host: &str, e: ErrorCode) -> String {
    match e {
        ErrorCode::NameUnresolvable => format!("host name {host:?} not found"),
        // wasmtime reports a lookup it does not allow as a permanent failure.
        ErrorCode::AccessDenied | ErrorCode::NotSupported | ErrorCode::PermanentResolverFailure => {
            format!(
                "cannot look up {host:?}: {e} (is name lookup allowed? \
                 wasmtime: -Sallow-ip-name-lookup; wash: workload.allowedIpNameLookups)"
            )
        }
        e => format!("cannot look up {host:?}: {e}"),
    }
}

/// Creates a socket and starts its connect.
fn start_one(network: &Network, address: IpAddress, port: u16) -> Result<TcpSocket, String> {
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
    Ok(socket)
}

fn connect_error(e: ErrorCode) -> String {
    match e {
        ErrorCode::ConnectionRefused => "connection refused".to_string(),
        ErrorCode::AccessDenied => {
            format!(
                "access denied (is the connection allowed? wasmtime: -Sinherit-network; \
                 wash: the port in workload.allowedHostLoopbackPorts): {e}"
            )
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
