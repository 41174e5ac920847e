//! The polyfill's settings: a bad value of any setting is a connection
//! failure that names the variable, never a silent fallback to the default.
//! The trust settings are read for `wss://` connections.

use wasm_websocket_tests::apps::EchoOutcome;
use wasm_websocket_tests::certs::{Authority, Validity};
use wasm_websocket_tests::fault_server::FaultServer;
use wasm_websocket_tests::python::PythonPeer;
use wasm_websocket_tests::wasmtime::Serve;

/// Serves `echo` with `name=value`, connects to `url`, and checks the
/// connect failed naming the variable.
fn assert_refused(name: &str, value: &str, url: &str) {
    let app = Serve::app("echo").env(name, value).start();
    let outcome = app.echo(&[("url", url)]);
    let EchoOutcome::ConnectFailed(failure) = outcome else {
        panic!("{name}={value:?} was accepted: {outcome:?}");
    };
    assert_eq!(
        failure.error_kind, "Connect",
        "{name}={value:?}: {failure:?}"
    );
    assert!(
        failure.error.contains(name),
        "{name}={value:?}: {failure:?}"
    );
}

#[test]
fn a_bad_limit_or_timeout_is_a_connection_failure_naming_the_variable() {
    let server = FaultServer::start();
    let url = server.url("/echo");
    assert_refused("WASM_WEBSOCKET_CONNECT_TIMEOUT_MS", "soon", &url);
    assert_refused("WASM_WEBSOCKET_CONNECT_TIMEOUT_MS", "0", &url);
    assert_refused("WASM_WEBSOCKET_MAX_MESSAGE_SIZE", "64MiB", &url);
    assert_refused("WASM_WEBSOCKET_MAX_FRAME_SIZE", "-1", &url);
    assert_eq!(
        server.connections(),
        0,
        "a connect went ahead despite a bad setting"
    );
}

#[test]
fn a_bad_trust_setting_is_a_connection_failure_naming_the_variable() {
    let ca = Authority::new("test CA");
    let identity = ca.issue(&["127.0.0.1"], Validity::Current);
    let peer = PythonPeer::start_tls(&identity.cert, &identity.key);
    let url = peer.url("/echo");
    assert_refused("WASM_WEBSOCKET_CA_PEM", "not a certificate", &url);
    assert_refused("WASM_WEBSOCKET_CA_PEM", "", &url);
    let broken = ca.pem().replace("-----END CERTIFICATE-----", "");
    assert_refused("WASM_WEBSOCKET_CA_PEM", &broken, &url);
    assert_refused("WASM_WEBSOCKET_CA_FILE", "/nowhere/ca.pem", &url);
}
