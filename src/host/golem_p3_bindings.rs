//! Bindings to the WASI 0.3 shape of `golem:websocket/client@1.5.0`,
//! generated from `wit/p3/` (the reference golem-rust 3.x apps import) with
//! wit-bindgen's async support.

wit_bindgen_p3::generate!({
    path: "wit/p3",
    world: "sdk",
    runtime_path: "wit_bindgen_p3::rt",
    generate_all,
});
