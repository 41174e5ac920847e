//! Checks made before any network use: bad URLs and bad headers are typed
//! errors (`InvalidUrl`, `InvalidHeader`) and the server never sees a TCP
//! connection for them; a bad query to the app is an HTTP 400, not a trap.

use wasm_websocket_tests::fault_server::FaultServer;
use wasm_websocket_tests::wasmtime::{Serve, ServedApp};

/// After the refused requests, one valid request: the server must have seen
/// exactly that one connection.
fn assert_only_the_valid_request_reached(server: &FaultServer, app: &ServedApp) {
    let report = app.echo(&[("url", &server.url("/echo"))]).report();
    assert!(report.received[0].echo_exact, "{report:?}");
    assert_eq!(server.handshakes().len(), 1);
    assert_eq!(
        server.connections(),
        1,
        "a refused request reached the server"
    );
}

#[test]
fn bad_urls_are_refused_before_any_network_use() {
    let server = FaultServer::start();
    let app = Serve::app("echo").start();
    let port = server.addr().port();
    let urls = [
        format!("http://127.0.0.1:{port}/echo"),
        format!("https://127.0.0.1:{port}/echo"),
        format!("ftp://127.0.0.1:{port}/echo"),
        format!("ws://127.0.0.1:{port}/echo#fragment"),
        format!("127.0.0.1:{port}/echo"),
        "ws://".to_owned(),
        "not a url".to_owned(),
        String::new(),
    ];
    for url in &urls {
        let failure = app.echo(&[("url", url)]).connect_failure();
        assert_eq!(failure.error_kind, "InvalidUrl", "{url:?}: {failure:?}");
        assert!(
            failure.error.starts_with("invalid WebSocket URL"),
            "{failure:?}"
        );
    }
    assert_only_the_valid_request_reached(&server, &app);
}

#[test]
fn bad_headers_are_refused_before_any_network_use() {
    let server = FaultServer::start();
    let app = Serve::app("echo").start();
    let url = server.url("/echo");
    let headers = [
        "Bad Name:value",
        "Bad(Name):value",
        ":no name",
        "X-Injected:a\r\nEvil: 1",
        "X-Newline:a\nb",
        "X-Nul:a\0b",
        "Host:example.com",
        "Upgrade:h2c",
        "Connection:keep-alive",
        "Sec-WebSocket-Key:dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version:8",
        "Sec-WebSocket-Accept:x",
        "Sec-WebSocket-Extensions:permessage-deflate",
        "Sec-WebSocket-Protocol:chat",
    ];
    for header in headers {
        let failure = app
            .echo(&[("url", &url), ("header", header)])
            .connect_failure();
        assert_eq!(
            failure.error_kind, "InvalidHeader",
            "{header:?}: {failure:?}"
        );
    }
    for protocol in ["", "two words", "a,b"] {
        let failure = app
            .echo(&[("url", &url), ("protocol", protocol)])
            .connect_failure();
        assert_eq!(
            failure.error_kind, "InvalidHeader",
            "{protocol:?}: {failure:?}"
        );
    }
    assert_only_the_valid_request_reached(&server, &app);
}

#[test]
fn a_bad_query_is_an_http_400_with_a_reason() {
    let app = Serve::app("echo").start();
    let queries: [&[(&str, &str)]; 7] = [
        &[],
        &[("url", "ws://127.0.0.1:1/"), ("count", "many")],
        &[
            ("url", "ws://127.0.0.1:1/"),
            ("timeout_ms", "18446744073709551615"),
        ],
        &[("url", "ws://127.0.0.1:1/"), ("timeout_ms", "86400001")],
        &[("url", "ws://127.0.0.1:1/"), ("close_code", "70000")],
        &[("url", "ws://127.0.0.1:1/"), ("header", "no colon")],
        &[("url", "ws://127.0.0.1:1/"), ("colour", "blue")],
    ];
    for query in queries {
        let response = app.get(query);
        assert_eq!(response.status, 400, "{query:?}: {}", response.text());
        assert!(!response.body.is_empty(), "{query:?}");
    }
    // The app is still there.
    assert_eq!(app.get(&[]).status, 400);

    let fanin = Serve::app("fanin").start();
    let huge = [
        ("url", "ws://127.0.0.1:1/"),
        ("deadline_ms", "18446744073709551615"),
    ];
    let response = fanin.get(&huge);
    assert_eq!(response.status, 400, "{}", response.text());
    assert!(
        response.text().contains("deadline_ms"),
        "{}",
        response.text()
    );
}
