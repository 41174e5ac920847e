//! The opening handshake: extra headers and offered subprotocols reach the
//! server and the selection is honoured; a refused handshake (403, a
//! redirect, which is never followed, or a subprotocol that was not offered)
//! is a connection failure naming the cause; so is a server that accepts
//! none of the offered subprotocols (the app could not learn which one is
//! spoken, so the polyfill does not go on without one); host names resolve,
//! and IPv6 loopback works.

use wasm_websocket_tests::fault_server::FaultServer;
use wasm_websocket_tests::wasmtime::Serve;

#[test]
fn extra_headers_reach_the_server() {
    let server = FaultServer::start();
    let app = Serve::app("echo").start();
    let report = app
        .echo(&[
            ("url", &server.url("/headers")),
            ("header", "X-Api-Key: s3cret"),
            ("header", "Authorization:Bearer abc.def"),
        ])
        .report();
    let headers: serde_json::Value =
        serde_json::from_str(report.received[0].data.as_deref().unwrap()).unwrap();
    assert_eq!(headers["x-api-key"], "s3cret", "{headers}");
    assert_eq!(headers["authorization"], "Bearer abc.def", "{headers}");
    assert_eq!(headers["sec-websocket-version"], "13", "{headers}");
    assert_eq!(server.handshakes()[0].header("x-api-key"), Some("s3cret"));
}

#[test]
fn offered_subprotocols_reach_the_server_and_its_selection_holds() {
    let server = FaultServer::start();
    let app = Serve::app("echo").start();
    let selected = |offers: &[&str], supported: &str| {
        let url = server.url(&format!("/subprotocol?supported={supported}"));
        let mut params = vec![("url", url.as_str())];
        params.extend(offers.iter().map(|offer| ("protocol", *offer)));
        let report = app.echo(&params).report();
        report.received[0].data.clone().unwrap()
    };
    assert_eq!(
        selected(&["chat", "superchat"], "superchat,chat"),
        "superchat"
    );
    assert_eq!(selected(&["chat", "superchat"], "chat"), "chat");
    assert_eq!(selected(&[], "chat"), "");
    // All offers travel in one header, in the order given.
    let offered: Vec<_> = server
        .handshakes()
        .iter()
        .map(|h| h.header("sec-websocket-protocol").map(str::to_owned))
        .collect();
    assert_eq!(
        offered,
        [
            Some("chat, superchat".to_owned()),
            Some("chat, superchat".to_owned()),
            None
        ]
    );
}

#[test]
fn a_subprotocol_that_was_not_offered_is_refused() {
    let server = FaultServer::start();
    let app = Serve::app("echo").start();
    let failure = app
        .echo(&[
            ("url", &server.url("/subprotocol?force=evil")),
            ("protocol", "chat"),
        ])
        .connect_failure();
    assert_eq!(failure.error_kind, "Connect", "{failure:?}");
}

#[test]
fn a_declined_subprotocol_offer_is_a_connection_failure() {
    let server = FaultServer::start();
    let app = Serve::app("echo").start();
    // `/subprotocol` supporting none of the offers, and `/echo`, which
    // ignores the offer: both answer 101 without Sec-WebSocket-Protocol.
    for target in ["/subprotocol?supported=mqtt", "/echo"] {
        let failure = app
            .echo(&[
                ("url", &server.url(target)),
                ("protocol", "chat"),
                ("protocol", "superchat"),
            ])
            .connect_failure();
        assert_eq!(failure.error_kind, "Connect", "{target}: {failure:?}");
        assert!(
            failure.error.contains("subprotocol"),
            "{target}: {failure:?}"
        );
    }
    // The offers were made, and the server accepted the handshake.
    let handshakes = server.handshakes();
    assert_eq!(handshakes.len(), 2);
    for handshake in handshakes {
        assert_eq!(
            handshake.header("sec-websocket-protocol"),
            Some("chat, superchat"),
            "{handshake:?}"
        );
    }
}

#[test]
fn a_rejected_handshake_is_a_connection_failure_with_the_status() {
    let server = FaultServer::start();
    let app = Serve::app("echo").start();
    let failure = app
        .echo(&[("url", &server.url("/reject"))])
        .connect_failure();
    assert_eq!(failure.error_kind, "Connect", "{failure:?}");
    assert!(failure.error.contains("403"), "{failure:?}");
}

#[test]
fn a_redirect_is_not_followed() {
    let server = FaultServer::start();
    let app = Serve::app("echo").start();
    let failure = app
        .echo(&[("url", &server.url("/redirect"))])
        .connect_failure();
    assert_eq!(failure.error_kind, "Connect", "{failure:?}");
    assert!(failure.error.contains("302"), "{failure:?}");
    let targets: Vec<_> = server.handshakes().into_iter().map(|h| h.target).collect();
    assert_eq!(
        targets,
        ["/redirect"],
        "the redirect's target was requested"
    );
}

#[test]
fn host_names_resolve_through_ip_name_lookup() {
    let server = FaultServer::start();
    // `localhost` comes from /etc/hosts: no name server is asked.
    let app = Serve::app("echo").allow_name_lookup().start();
    let url = format!("ws://localhost:{}/echo", server.addr().port());
    let report = app.echo(&[("url", &url)]).report();
    assert!(report.received[0].echo_exact, "{report:?}");
    assert_eq!(
        server.handshakes()[0].header("host"),
        Some(&*format!("localhost:{}", server.addr().port()))
    );
}

#[test]
fn ipv6_loopback_works() {
    let server = FaultServer::start_on("[::1]:0");
    let app = Serve::app("echo").start();
    let report = app.echo(&[("url", &server.url("/echo"))]).report();
    assert!(report.received[0].echo_exact, "{report:?}");
}
