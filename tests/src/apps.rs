//! The HTTP contracts of the example apps, as typed answers.
//!
//! Parsing into these types checks the shape of every answer a test gets.

use serde::Deserialize;

use crate::http::HttpResponse;
use crate::wasmtime::ServedApp;

/// What `echo` answered.
#[derive(Debug)]
pub enum EchoOutcome {
    /// 200: the connection was made; what happened on it.
    Report(Box<EchoReport>),
    /// 502: the connection could not be made.
    ConnectFailed(Failure),
    /// 400: the query was refused, with the reason.
    BadRequest(String),
}

/// The 200 answer of `echo`.
#[derive(Debug, Deserialize)]
pub struct EchoReport {
    pub sent: usize,
    pub received: Vec<Reply>,
    /// The peer's close frame, if one came (a code-less close reads as 1005).
    pub close: Option<Close>,
    /// `ok`, `timeout` or an error text; `None` when the socket was dropped.
    pub close_result: Option<String>,
    pub error: Option<String>,
    pub error_kind: Option<String>,
    /// With `send_after_close=1`: `ok` or the variant name of the error of
    /// one more send after the close.
    pub after_close: Option<String>,
    /// With `ping=...`: `ok` or the variant name of the ping's error.
    #[serde(default)]
    pub ping: Option<String>,
    /// `WebSocket::protocol`.
    #[serde(default)]
    pub protocol: Option<String>,
    /// `WebSocket::handshake_headers` as `[name, value]` pairs; `None` where
    /// the connection does not report them.
    #[serde(default)]
    pub handshake_headers: Option<Vec<(String, String)>>,
    /// With `via=try`: how often `try_send` gave a message back
    /// (`Error::WriteBufferFull`) before it was taken.
    #[serde(default)]
    pub would_block: u32,
    /// With `reunite=1`: `ok`, or what went wrong with `reunite`.
    #[serde(default)]
    pub reunite: Option<String>,
}

/// One reply collected by `echo`.
#[derive(Debug, Deserialize)]
pub struct Reply {
    #[serde(rename = "type")]
    pub kind: String,
    pub len: usize,
    /// The text, or lowercase hex of binary data; absent above 4096 bytes.
    pub data: Option<String>,
    /// Whether the reply equals the message sent at its index.
    pub echo_exact: bool,
}

/// A close frame's code and reason.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Close {
    pub code: u16,
    pub reason: String,
}

impl Close {
    pub fn new(code: u16, reason: &str) -> Close {
        Close {
            code,
            reason: reason.to_owned(),
        }
    }
}

/// An error as the apps report it: the `Display` text and the variant name
/// of `wasm_websocket::Error`.
#[derive(Debug, Deserialize)]
pub struct Failure {
    pub error: String,
    pub error_kind: String,
}

impl EchoOutcome {
    /// The 200 report; panics on anything else.
    pub fn report(self) -> EchoReport {
        match self {
            EchoOutcome::Report(report) => *report,
            other => panic!("expected a report from echo, got {other:?}"),
        }
    }

    /// The 502 failure; panics on anything else.
    pub fn connect_failure(self) -> Failure {
        match self {
            EchoOutcome::ConnectFailed(failure) => failure,
            other => panic!("expected a connect failure from echo, got {other:?}"),
        }
    }
}

/// The answer of `fanin`.
#[derive(Debug, Deserialize)]
pub struct FaninReport {
    pub connections: Vec<FaninConnection>,
    pub events: Vec<FaninEvent>,
    pub count_reached: bool,
    pub deadline_hit: bool,
    pub elapsed_ms: u64,
}

/// One connection of a `fanin` request.
#[derive(Debug, Deserialize)]
pub struct FaninConnection {
    pub url: String,
    /// Why the connection could not be made.
    pub error: Option<String>,
    /// Data messages received on it.
    pub received: usize,
    pub close_result: Option<String>,
}

/// One item of the merged stream: a data message, a close or an error.
#[derive(Debug, Deserialize)]
pub struct FaninEvent {
    pub conn: usize,
    #[serde(rename = "type")]
    pub kind: String,
    pub data: Option<String>,
    pub code: Option<u16>,
    pub reason: Option<String>,
    pub error: Option<String>,
}

impl ServedApp {
    /// Asks the served `echo` app for one run; see its HTTP contract.
    pub fn echo(&self, params: &[(&str, &str)]) -> EchoOutcome {
        let response = self.get(params);
        match response.status {
            200 => EchoOutcome::Report(Box::new(json(&response))),
            502 => EchoOutcome::ConnectFailed(json(&response)),
            400 => EchoOutcome::BadRequest(response.text()),
            status => panic!("echo answered {status}: {}", response.text()),
        }
    }

    /// Asks the served `fanin` app for one run; panics unless it answers 200.
    pub fn fanin(&self, params: &[(&str, &str)]) -> FaninReport {
        let response = self.get(params);
        assert_eq!(response.status, 200, "fanin answered {}", response.text());
        json(&response)
    }
}

fn json<T: for<'de> Deserialize<'de>>(response: &HttpResponse) -> T {
    assert_eq!(
        response.content_type.as_deref(),
        Some("application/json"),
        "{response:?}"
    );
    serde_json::from_slice(&response.body)
        .unwrap_or_else(|err| panic!("unexpected JSON ({err}): {}", response.text()))
}
