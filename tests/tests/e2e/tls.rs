//! `wss://`: TLS inside the guest against the Python `websockets` server
//! with certificates made by the test. A round trip works with the CA given
//! as PEM text or as a file in a preopened directory, for an IP address or a
//! host name, up to 16 MiB byte-exact; an unknown CA, a name mismatch and an
//! expired certificate are refused, each with its reason.

use wasm_websocket_tests::apps::Close;
use wasm_websocket_tests::certs::{Authority, Validity};
use wasm_websocket_tests::python::PythonPeer;
use wasm_websocket_tests::wasmtime::{Serve, ServedApp};

/// `echo` trusting `ca` through `WASM_WEBSOCKET_CA_PEM`.
fn app_trusting(ca: &Authority) -> ServedApp {
    Serve::app("echo")
        .env("WASM_WEBSOCKET_CA_PEM", ca.pem())
        .start()
}

#[test]
fn a_wss_round_trip_works() {
    let ca = Authority::new("test CA");
    let identity = ca.issue(&["127.0.0.1"], Validity::Current);
    let mut peer = PythonPeer::start_tls(&identity.cert, &identity.key);
    let app = app_trusting(&ca);
    let url = peer.url("/echo");
    assert!(url.starts_with("wss://"));
    let text = app
        .echo(&[("url", &url), ("msg", "über TLS"), ("count", "2")])
        .report();
    assert!(
        text.received.iter().all(|r| r.echo_exact) && text.received.len() == 2,
        "{text:?}"
    );
    assert_eq!(peer.wait_for_close().close_code, Some(1000));
    let binary = app
        .echo(&[
            ("url", &url),
            ("size", "70000"),
            ("binary", "1"),
            ("close_code", "4000"),
            ("close_reason", "tls bye"),
        ])
        .report();
    assert!(binary.received[0].echo_exact, "{binary:?}");
    assert_eq!(binary.close, Some(Close::new(4000, "tls bye")));
}

#[test]
fn sixteen_mib_cross_tls_byte_exact() {
    let ca = Authority::new("test CA");
    let identity = ca.issue(&["127.0.0.1"], Validity::Current);
    let peer = PythonPeer::start_tls(&identity.cert, &identity.key);
    let app = app_trusting(&ca);
    let size = (16 << 20).to_string();
    let report = app
        .echo(&[
            ("url", &peer.url("/echo")),
            ("size", &size),
            ("binary", "1"),
            ("timeout_ms", "60000"),
        ])
        .report();
    assert_eq!(report.received.len(), 1, "{report:?}");
    assert_eq!(report.received[0].len, 16 << 20);
    assert!(report.received[0].echo_exact, "{report:?}");
}

#[test]
fn a_host_name_is_verified_against_the_certificate() {
    let ca = Authority::new("test CA");
    let identity = ca.issue(&["localhost"], Validity::Current);
    let peer = PythonPeer::start_tls(&identity.cert, &identity.key);
    let app = Serve::app("echo")
        .env("WASM_WEBSOCKET_CA_PEM", ca.pem())
        .allow_name_lookup()
        .start();
    let report = app
        .echo(&[("url", &peer.url_with_host("localhost", "/echo"))])
        .report();
    assert!(report.received[0].echo_exact, "{report:?}");
}

#[test]
fn the_ca_can_come_from_a_file_in_a_preopened_directory() {
    let ca = Authority::new("test CA");
    let identity = ca.issue(&["127.0.0.1"], Validity::Current);
    let peer = PythonPeer::start_tls(&identity.cert, &identity.key);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
    let app = Serve::app("echo")
        .dir(dir.path(), "/certs")
        .env("WASM_WEBSOCKET_CA_FILE", "/certs/ca.pem")
        .start();
    let report = app.echo(&[("url", &peer.url("/echo"))]).report();
    assert!(report.received[0].echo_exact, "{report:?}");
}

/// Serves a certificate for `names` with `validity`, signed by `signer`,
/// to `echo` trusting `trusted`, and returns the connect error.
fn refused(signer: &Authority, trusted: &Authority, names: &[&str], validity: Validity) -> String {
    let identity = signer.issue(names, validity);
    let peer = PythonPeer::start_tls(&identity.cert, &identity.key);
    let app = app_trusting(trusted);
    let failure = app.echo(&[("url", &peer.url("/echo"))]).connect_failure();
    assert_eq!(failure.error_kind, "Connect", "{failure:?}");
    failure.error
}

#[test]
fn an_unknown_ca_is_refused() {
    let trusted = Authority::new("trusted CA");
    let unknown = Authority::new("unknown CA");
    let error = refused(&unknown, &trusted, &["127.0.0.1"], Validity::Current);
    assert!(error.contains("unknown issuer"), "{error}");
}

#[test]
fn a_name_mismatch_is_refused() {
    let ca = Authority::new("test CA");
    let error = refused(&ca, &ca, &["other.example", "127.0.0.2"], Validity::Current);
    assert!(error.contains("name mismatch"), "{error}");
}

#[test]
fn an_expired_certificate_is_refused() {
    let ca = Authority::new("test CA");
    let error = refused(&ca, &ca, &["127.0.0.1"], Validity::Expired);
    assert!(error.contains("expired"), "{error}");
}

#[test]
fn the_compiled_in_roots_do_not_trust_a_test_ca() {
    let ca = Authority::new("test CA");
    let identity = ca.issue(&["127.0.0.1"], Validity::Current);
    let peer = PythonPeer::start_tls(&identity.cert, &identity.key);
    let app = Serve::app("echo").start();
    let failure = app.echo(&[("url", &peer.url("/echo"))]).connect_failure();
    assert!(failure.error.contains("unknown issuer"), "{failure:?}");
}
