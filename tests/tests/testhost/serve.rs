//! The test host serving a `wasi:http` example (uncomposed: the host
//! provides golem:websocket), as `wasmtime serve` does, with one WebSocket
//! pool for all requests (Golem's executor-wide pool): the default-mode
//! scenarios that the end-to-end tests run on the polyfill (`tests/e2e/`),
//! here on a host built like Golem's.

use std::net::SocketAddr;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use wasm_websocket_tests::apps::{Close, EchoReport};
use wasm_websocket_tests::fault_server::{ClientClose, FaultServer};
use wasm_websocket_tests::http;
use wasm_websocket_tests::process::Process;

use crate::host;
use crate::peer::{Mode, Peer};

/// `wasm-websocket-testhost serve --pool POOL` of the example `app` on a
/// free loopback port, until dropped.
struct Served {
    addr: SocketAddr,
    _process: Process,
}

impl Served {
    fn start(app: &str, pool: usize) -> Served {
        let (binary, _) = host::built();
        let mut command = Command::new(binary);
        command
            .args([
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--pool",
                &pool.to_string(),
            ])
            .arg(wasm_websocket_tests::repo_path(&format!(
                "target/wasm32-wasip2/release/{app}.wasm"
            )));
        let mut process = Process::spawn(&format!("testhost serve {app}"), command);
        let addr = process.wait_for_line(Duration::from_secs(300), |line| {
            line.strip_prefix("Serving HTTP on http://")?
                .trim_end_matches('/')
                .parse()
                .ok()
        });
        Served {
            addr,
            _process: process,
        }
    }

    /// `GET /?<query>`, its JSON answer.
    fn get(&self, query: &str) -> Value {
        let response = http::get(self.addr, &format!("/?{query}"), Duration::from_secs(60))
            .unwrap_or_else(|err| panic!("GET /?{query}: {err}"));
        assert_eq!(
            response.status,
            200,
            "{}",
            String::from_utf8_lossy(&response.body)
        );
        serde_json::from_slice(&response.body).expect("a JSON answer")
    }
}

#[test]
fn a_connect_past_the_pool_waits_until_a_connection_closes() {
    let peer = Peer::start(Mode::Echo);
    let served = Served::start("fanin", 100);
    let url = format!("url={}", peer.url());
    // One request holds the whole pool for 3 s (its count is never
    // reached), then drops its connections.
    let holding = vec![url.as_str(); 100].join("&");
    let first = {
        let served_addr = served.addr;
        let query = format!("{holding}&count=1000&deadline_ms=3000");
        thread::spawn(move || {
            let response = http::get(served_addr, &format!("/?{query}"), Duration::from_secs(60))
                .expect("the holding request");
            serde_json::from_slice::<Value>(&response.body).expect("a JSON answer")
        })
    };
    while peer.accepted() < 100 {
        thread::sleep(Duration::from_millis(10));
    }
    // The 101st connection waits for a permit, then gets its echo.
    let started = Instant::now();
    let second = served.get(&format!("{url}&count=1&deadline_ms=10000"));
    let waited = started.elapsed();
    let first = first.join().expect("the holding request");
    assert_eq!(
        first["connections"].as_array().map(Vec::len),
        Some(100),
        "{first}"
    );
    assert_eq!(second["count_reached"], true, "{second}");
    assert!(
        waited >= Duration::from_millis(1000),
        "the 101st connect did not wait for the pool: {waited:?}"
    );
    assert_eq!(peer.accepted(), 101);
}

/// `echo`'s report for the query `params`.
fn echo(served: &Served, params: &[(&str, &str)]) -> EchoReport {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    serde_json::from_value(served.get(&query)).expect("an echo report")
}

#[test]
fn text_and_binary_round_trip_byte_exact() {
    let server = FaultServer::start();
    let served = Served::start("echo", 100);
    let url = server.url("/echo");
    for size in [0, 1, 125, 126, 65535, 65536, 1 << 20] {
        for binary in ["0", "1"] {
            let size_text = size.to_string();
            let report = echo(
                &served,
                &[
                    ("url", &url),
                    ("size", &size_text),
                    ("binary", binary),
                    ("timeout_ms", "60000"),
                ],
            );
            let what = format!("size {size}, binary={binary}: {report:?}");
            assert_eq!(report.received.len(), 1, "{what}");
            let reply = &report.received[0];
            assert_eq!(
                reply.kind,
                if binary == "1" { "binary" } else { "text" },
                "{what}"
            );
            assert_eq!(reply.len, size, "{what}");
            assert!(reply.echo_exact, "{what}");
            assert_eq!(report.error, None, "{what}");
        }
    }
}

#[test]
fn close_codes_cross_both_ways() {
    // The app's close code and reason reach the peer.
    let server = FaultServer::start();
    let served = Served::start("echo", 100);
    let url = server.url("/echo");
    let report = echo(
        &served,
        &[
            ("url", &url),
            ("close_code", "4001"),
            ("close_reason", "bye"),
        ],
    );
    assert_eq!(report.error, None, "{report:?}");
    assert_eq!(
        server.wait_for_close(Duration::from_secs(10)),
        ClientClose {
            code: Some(4001),
            reason: "bye".into()
        }
    );
    // The peer's reaches the app that reads it (here it waits for a second
    // reply, and the peer closes after the first).
    let url = server.url("/close-after?n=1&code=4002&reason=later");
    let report = echo(&served, &[("url", &url), ("expect", "2")]);
    assert_eq!(report.received.len(), 1, "{report:?}");
    assert_eq!(report.close, Some(Close::new(4002, "later")), "{report:?}");
    // An app that closes first is answered with its own close frame on
    // Golem's host, which never reads the peer's answer; the polyfill reports
    // the peer's (by design: wit/README.md, "After our close").
    let report = echo(&served, &[("url", &url)]);
    assert_eq!(report.close, Some(Close::new(1000, "")), "{report:?}");
}
