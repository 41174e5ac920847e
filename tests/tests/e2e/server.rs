//! The server side (`server` feature): the `server` example under `wasmtime
//! run -Sinherit-network`, driven by clients of the Python `websockets`
//! library (`tests/peers/websockets_client.py`).

use std::time::Duration;

use serde_json::json;
use wasm_websocket_tests::component_server::ComponentServer;

use crate::MARGIN;

#[test]
fn echoes_answers_pings_and_reports_the_clients_close() {
    let mut server = ComponentServer::start(&["--protocol", "chat.v2", "--protocol", "chat.v1"]);
    let seen = server.python_client("echo", &["/room/1?x=y", "chat.v1", "chat.v2"]);
    assert_eq!(
        seen,
        json!({
            // The server's preference, among those offered.
            "protocol": "chat.v2",
            "text": "héllo",
            "binary_ok": true,
            "pong": true,
            "close_code": 4001,
        })
    );
    let accepted = server.wait_for_event("accepted ", MARGIN);
    assert!(accepted.ends_with(" /room/1 chat.v2"), "{accepted}");
    let closed = server.wait_for_event("closed ", MARGIN);
    assert!(closed.ends_with(" 4001 client says bye"), "{closed}");
}

/// The server app pings; where it asked for pongs, the client's pong reaches
/// it as a message (it answers with `pong:PAYLOAD`).
#[test]
fn the_server_pings_and_sees_the_clients_pong_where_it_asks_to() {
    let server = ComponentServer::start(&["--pongs"]);
    let seen = server.python_client("first", &["/ping/are-you-there"]);
    assert_eq!(seen, json!({"message": "pong:are-you-there"}));
}

#[test]
fn without_a_common_subprotocol_none_is_chosen() {
    let server = ComponentServer::start(&["--protocol", "chat.v3"]);
    let seen = server.python_client("echo", &["/", "chat.v1"]);
    assert_eq!(seen["protocol"], json!(null));
    assert_eq!(seen["text"], "héllo");
}

#[test]
fn serves_many_clients_at_once() {
    let server = ComponentServer::start(&[]);
    let seen = server.python_client("many", &["50", "20"]);
    assert_eq!(seen, json!({"clients": 50, "all_echoed": true}));
}

#[test]
fn a_client_that_never_reads_does_not_stall_the_others() {
    let server = ComponentServer::start(&[]);
    let seen = server.python_client("slow", &["20"]);
    assert_eq!(seen["fast_echoed"], true, "{seen}");
}

#[test]
fn a_client_that_never_sends_its_handshake_is_closed_and_stalls_nobody() {
    let server = ComponentServer::start(&["--handshake-timeout-ms", "1000"]);
    let seen = server.python_client("silent", &[]);
    assert_eq!(seen["served"], true, "{seen}");
    assert_eq!(seen["closed"], true, "{seen}");
}

#[test]
fn the_app_refuses_with_an_http_status() {
    let server = ComponentServer::start(&[]);
    let seen = server.python_client("status", &["/refuse/403"]);
    assert_eq!(seen, json!({"status": 403, "body": "refused on request"}));
    // What is not a WebSocket handshake never reaches the app.
    let response = wasm_websocket_tests::http::get(server.addr(), "/", Duration::from_secs(60))
        .expect("a plain HTTP GET is answered");
    assert_eq!(response.status, 426, "{}", response.text());
}

#[test]
fn a_message_over_the_limit_is_closed_with_1009() {
    let server = ComponentServer::start(&["--max-message-size", "1000"]);
    assert_eq!(
        server.python_client("big", &["1000"]),
        json!({"echoed": 1000, "close_code": null})
    );
    assert_eq!(
        server.python_client("big", &["1001"]),
        json!({"echoed": null, "close_code": 1009})
    );
}

#[test]
fn the_server_closes_with_its_code() {
    let server = ComponentServer::start(&[]);
    let seen = server.python_client("closed", &["/close/4002"]);
    assert_eq!(
        seen,
        json!({"close_code": 4002, "reason": "closed on request"})
    );
}

#[test]
fn past_the_connection_limit_clients_are_turned_away_until_there_is_room() {
    let server = ComponentServer::start(&["--max-connections", "3"]);
    let seen = server.python_client("hold", &["3"]);
    assert_eq!(seen["over_limit"]["status"], 503, "{seen}");
    assert_eq!(seen["after_close"], 101, "{seen}");
}
