//! The test host serving a `wasi:http` example (uncomposed: the host
//! provides golem:websocket), as `wasmtime serve` does, with one WebSocket
//! pool for all requests (Golem's executor-wide pool).

use std::net::SocketAddr;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
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
