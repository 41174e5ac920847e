//! Opening a client session step by step: name lookup and TCP ([`net`]),
//! TLS for `wss://`, then the opening handshake, all within the connect
//! bound. [`Connecting::step`] never waits; between steps a driver waits on
//! [`Connecting::subscribe`] until [`Connecting::wait_deadline`] (blocking
//! in the polyfill, on the reactor in the SDK).

use std::rc::Rc;

use tungstenite::ClientHandshake;
use tungstenite::handshake::MidHandshake;
use tungstenite::handshake::client::Request;
use tungstenite::{HandshakeError, WebSocket};
use wasip2::io::poll::Pollable;

use crate::errors;
use crate::io::TcpIo;
use crate::net;
use crate::session::{self, Session};
use crate::settings::{self, Settings};
use crate::target::{self, Target, WsUrl};
use crate::transport::Transport;
use crate::wait::Deadline;

/// A session the handshake opened, and what the server's answer agreed.
pub struct Opened {
    /// The open session.
    pub session: Session,
    /// The subprotocol the response names.
    pub protocol: Option<String>,
    /// The response's headers, names in lower case.
    pub headers: Vec<(String, String)>,
}

/// A connect under way.
pub struct Connecting {
    url: String,
    /// Where TLS goes (`wss://`).
    #[cfg(feature = "tls")]
    target: Target,
    settings: Settings,
    pongs: bool,
    deadline: Deadline,
    phase: Phase,
}

enum Phase {
    /// Name lookup and TCP; the handshake request waits its turn.
    Tcp(net::Connect, Box<Request>),
    /// The TLS handshake.
    #[cfg(feature = "tls")]
    Tls(Box<crate::tls::TlsStream>, Rc<TcpIo>, Box<Request>),
    /// The WebSocket handshake.
    Handshake(Box<MidHandshake<ClientHandshake<Transport>>>, Rc<TcpIo>),
    /// Done, or failed.
    Over,
}

impl Connecting {
    /// Starts connecting to `url` (parsed already: [`target::parse`] for a
    /// URL given as text) with the app's extra `headers`, within
    /// `settings`' connect timeout and limits. `pongs`: the session hands
    /// the peer's pongs up.
    pub fn start(
        url: &WsUrl,
        headers: &[(String, String)],
        settings: Settings,
        pongs: bool,
    ) -> Result<Connecting, String> {
        let target = Target::new(url)?;
        let request = target::request(&target, headers)?;
        let url = url.as_str();
        #[cfg(not(feature = "tls"))]
        if target.secure {
            return Err(format!(
                "cannot connect to {url}: wss:// needs TLS, and this is the ws://-only build \
                 (built without the `tls` feature)"
            ));
        }
        let deadline = Deadline::after(settings.connect_timeout);
        let tcp = net::Connect::start(&target.host, target.ip(), target.port, deadline)?;
        Ok(Connecting {
            url: url.to_owned(),
            #[cfg(feature = "tls")]
            target,
            settings,
            pongs,
            deadline,
            phase: Phase::Tcp(tcp, Box::new(request)),
        })
    }

    /// Goes as far as it can without waiting: `Some` once the handshake is
    /// done, `None` when it waits for [`Connecting::subscribe`]. A failure at
    /// the deadline names the bound that cut it short.
    pub fn step(&mut self) -> Result<Option<Opened>, String> {
        let stepped = self.advance();
        if stepped.is_err() {
            self.phase = Phase::Over;
        }
        stepped.map_err(|text| self.bounded(text))
    }

    /// What the next step waits for.
    pub fn subscribe(&self) -> Vec<Pollable> {
        match &self.phase {
            Phase::Tcp(connect, _) => vec![connect.subscribe()],
            #[cfg(feature = "tls")]
            Phase::Tls(_, io, _) => streams(io),
            Phase::Handshake(_, io) => streams(io),
            Phase::Over => Vec::new(),
        }
    }

    /// Until when the next step waits (a TCP attempt's share of the time,
    /// else the connect deadline).
    pub fn wait_deadline(&self) -> Deadline {
        match &self.phase {
            Phase::Tcp(connect, _) => connect.wait_deadline(),
            _ => self.deadline,
        }
    }

    fn advance(&mut self) -> Result<Option<Opened>, String> {
        loop {
            match std::mem::replace(&mut self.phase, Phase::Over) {
                Phase::Tcp(mut connect, request) => match connect.step()? {
                    Some(tcp) => {
                        let io = Rc::new(TcpIo::new(tcp));
                        match self.secure(io, *request)? {
                            Next::Wait(phase) => self.phase = phase,
                            Next::Open(opened) => return Ok(Some(*opened)),
                        }
                    }
                    None => {
                        self.phase = Phase::Tcp(connect, request);
                        return Ok(None);
                    }
                },
                #[cfg(feature = "tls")]
                Phase::Tls(mut tls, io, request) => {
                    if !tls.handshake_step(&self.target.host)? {
                        if self.deadline.passed() {
                            return Err(format!(
                                "TLS with {} failed: handshake timed out",
                                self.target.host
                            ));
                        }
                        self.phase = Phase::Tls(tls, io, request);
                        return Ok(None);
                    }
                    match self.handshake(Transport::tls(*tls), io, *request)? {
                        Next::Wait(phase) => self.phase = phase,
                        Next::Open(opened) => return Ok(Some(*opened)),
                    }
                }
                Phase::Handshake(mid, io) => match mid.handshake() {
                    Ok((ws, response)) => return Ok(Some(self.opened(ws, io, &response))),
                    Err(HandshakeError::Interrupted(mid)) => {
                        if self.deadline.passed() {
                            return Err(format!(
                                "cannot connect to {}: no WebSocket handshake answer within \
                                 {} ms ({})",
                                self.url,
                                self.settings.connect_timeout.as_millis(),
                                settings::CONNECT_TIMEOUT_MS
                            ));
                        }
                        self.phase = Phase::Handshake(Box::new(mid), io);
                        return Ok(None);
                    }
                    Err(HandshakeError::Failure(e)) => return Err(self.refused(&e)),
                },
                Phase::Over => return Err("the connect is over".to_owned()),
            }
        }
    }

    /// TLS over `io` for `wss://`, else the handshake straight away.
    fn secure(&self, io: Rc<TcpIo>, request: Request) -> Result<Next, String> {
        #[cfg(feature = "tls")]
        if self.target.secure {
            let extra = self.settings.extra_roots.clone()?;
            let config = crate::tls::client_config(&extra)?;
            let tls = crate::tls::TlsStream::new(config, &self.target.host, io.clone())?;
            return Ok(Next::Wait(Phase::Tls(Box::new(tls), io, Box::new(request))));
        }
        self.handshake(Transport::plain(io.clone()), io, request)
    }

    /// Starts the WebSocket handshake over `transport`.
    fn handshake(
        &self,
        transport: Transport,
        io: Rc<TcpIo>,
        request: Request,
    ) -> Result<Next, String> {
        let config =
            session::ws_config(self.settings.max_message_size, self.settings.max_frame_size);
        match tungstenite::client::client_with_config(request, transport, Some(config)) {
            Ok((ws, response)) => Ok(Next::Open(Box::new(self.opened(ws, io, &response)))),
            Err(HandshakeError::Interrupted(mid)) => {
                Ok(Next::Wait(Phase::Handshake(Box::new(mid), io)))
            }
            Err(HandshakeError::Failure(e)) => Err(self.refused(&e)),
        }
    }

    fn opened(
        &self,
        ws: WebSocket<Transport>,
        io: Rc<TcpIo>,
        response: &tungstenite::handshake::client::Response,
    ) -> Opened {
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_owned(), value)
            })
            .collect();
        let protocol = headers
            .iter()
            .find(|(name, _)| name == "sec-websocket-protocol")
            .map(|(_, value)| value.trim().to_owned());
        Opened {
            session: Session::new(ws, io, self.pongs),
            protocol,
            headers,
        }
    }

    fn refused(&self, err: &tungstenite::Error) -> String {
        format!(
            "cannot connect to {}: {}",
            self.url,
            errors::handshake_text(err)
        )
    }

    /// `text`, with the bound named when the deadline has passed.
    fn bounded(&self, text: String) -> String {
        if self.deadline.passed() && !text.contains(settings::CONNECT_TIMEOUT_MS) {
            format!(
                "{text} (after {} ms, {})",
                self.settings.connect_timeout.as_millis(),
                settings::CONNECT_TIMEOUT_MS
            )
        } else {
            text
        }
    }
}

/// Where a step of [`Connecting`] leaves it.
enum Next {
    /// Waiting in this phase.
    Wait(Phase),
    /// Open.
    Open(Box<Opened>),
}

/// The pollables of the stream(s) that last returned `WouldBlock`.
fn streams(io: &TcpIo) -> Vec<Pollable> {
    let (read, write) = io.take_wants();
    let mut pollables = Vec::with_capacity(2);
    if read {
        pollables.push(io.subscribe_input());
    }
    if write {
        pollables.push(io.subscribe_output());
    }
    pollables
}
