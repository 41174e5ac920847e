//! Against a second independent implementation, node's `ws`: echo of text
//! and binary (composed and direct), messages the server sends as fragments
//! with a ping before them, and close codes and reasons in both directions
//! (on both hosts). The scenarios are `python_peer`'s.

use wasm_websocket_tests::node_ws::NodeWsPeer;
use wasm_websocket_tests::testhost::Host;

use super::python_peer::{apps_close_reaches, round_trips, servers_close_reaches};

on_both_hosts!(
    the_apps_close_code_and_reason_reach_ws,
    the_close_code_and_reason_of_ws_reach_the_app,
);

/// 7-bit, 16-bit and 64-bit frame lengths, and a message over a receive
/// slice.
#[test]
fn text_and_binary_round_trip_byte_exact() {
    round_trips(
        &NodeWsPeer::start(),
        "/echo",
        &["0", "5", "125", "126", "65536", "70000", "1048576"],
    );
}

/// `ws` sends each echo as five frames (the first, then continuations), a
/// ping before them: the app reads one whole message, and the ping is
/// answered on the way.
#[test]
fn a_message_sent_as_fragments_arrives_whole() {
    round_trips(
        &NodeWsPeer::start(),
        "/fragments?pieces=5",
        &["5", "126", "70000", "1048576"],
    );
}

fn the_apps_close_code_and_reason_reach_ws(host: Host) {
    apps_close_reaches(&mut NodeWsPeer::start(), host);
}

fn the_close_code_and_reason_of_ws_reach_the_app(host: Host) {
    servers_close_reaches(&mut NodeWsPeer::start(), host);
}
