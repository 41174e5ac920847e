//! The server side (`server` feature): the `server` example under `wasmtime
//! run -Sinherit-network`, driven by clients of the Python `websockets`
//! library (`tests/peers/websockets_client.py`).

use std::io::Write as _;
use std::time::Duration;

use serde_json::json;
use wasm_websocket_tests::component_server::ComponentServer;
use wasm_websocket_tests::raw_client::{masked, open, read_frame};

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

/// The server takes the client's masks off as it reads them: a frame sent
/// with the handshake, one written in pieces that cut its header and its
/// key (one piece is the key alone), and a large one come back as sent; a
/// frame the client did not mask is answered with close 1002, after the
/// frame that came with it in the same write, and the app's connection ends
/// with a protocol error.
#[test]
fn masked_frames_come_back_however_they_arrive_and_an_unmasked_one_is_1002() {
    let mut server = ComponentServer::start(&[]);
    let mut client = open(
        server.addr(),
        "/raw",
        &masked(0x1, b"sent with the handshake", [0x37, 0xfa, 0x21, 0x3d]),
        MARGIN,
    );
    assert_eq!(
        read_frame(&mut client),
        (0x81, b"sent with the handshake".to_vec())
    );

    let payload: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 256) as u8).collect();
    let frame = masked(0x2, &payload, [1, 2, 3, 4]);
    // Two header bytes, then the extended length, the key alone, the payload.
    for piece in [
        &frame[..1],
        &frame[1..4],
        &frame[4..8],
        &frame[8..500],
        &frame[500..],
    ] {
        client.write_all(piece).expect("send a piece");
        std::thread::sleep(Duration::from_millis(30));
    }
    assert_eq!(read_frame(&mut client), (0x82, payload));

    let large: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    client
        .write_all(&masked(0x2, &large, [0xde, 0xad, 0xbe, 0xef]))
        .expect("send a large frame");
    assert_eq!(read_frame(&mut client), (0x82, large));

    let mut last = masked(0x1, b"last words", [4, 3, 2, 1]);
    last.extend_from_slice(&UNMASKED);
    client
        .write_all(&last)
        .expect("send a frame and an unmasked one");
    assert_eq!(read_frame(&mut client), (0x81, b"last words".to_vec()));
    let (opcode, close) = read_frame(&mut client);
    assert_eq!(opcode, 0x88);
    assert_eq!(&close[..2], &1002u16.to_be_bytes(), "{close:?}");
    let ended = server.wait_for_event("ended ", MARGIN);
    assert!(
        ended.ends_with("the client sent an unmasked frame"),
        "{ended}"
    );

    // An unmasked frame in the same write as the handshake.
    let mut client = open(server.addr(), "/raw", &UNMASKED, MARGIN);
    let (opcode, close) = read_frame(&mut client);
    assert_eq!(opcode, 0x88);
    assert_eq!(&close[..2], &1002u16.to_be_bytes(), "{close:?}");
}

/// A text frame "no mask" as a client may not send it.
const UNMASKED: [u8; 9] = [0x81, 7, b'n', b'o', b' ', b'm', b'a', b's', b'k'];
