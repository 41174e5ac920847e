//! Bindings to the host interface `golem:websocket/client@1.5.0`, generated
//! from `wit/`. The interface's pollable is wstd's own `wasip2` type, so the
//! wstd reactor can wait on it.

wit_bindgen::generate!({
    path: "wit",
    world: "sdk",
    with: { "wasi:io/poll@0.2.3": wasip2::io::poll },
    generate_all,
});
