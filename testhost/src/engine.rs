//! The wasmtime engine and the linker both modes share: WASI 0.2 and 0.3
//! (network denied by the context), WASI HTTP, the durable WASI calls over
//! wasmtime-wasi's, and golem:websocket in the shape the component imports.
//! The engine has component-model-async (on by default with the cargo
//! feature), as `wasmtime run` 48 has it.

use std::path::Path;

use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::error::Context as _;
use wasmtime::{Cache, Config, Engine};

use crate::ctx::Ctx;

/// An engine (with wasmtime's compilation cache, as the CLI has it), the
/// component at `path` compiled on it, and a linker with every import this
/// host provides.
pub(crate) fn load(path: &Path) -> wasmtime::Result<(Engine, Component, Linker<Ctx>)> {
    let mut config = Config::new();
    config.cache(Some(Cache::from_file(None)?));
    let engine = Engine::new(&config)?;
    let component = Component::from_file(&engine, path)
        .with_context(|| format!("loading {}", path.display()))?;
    let mut linker = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    wasmtime_wasi::p3::add_to_linker(&mut linker)?;
    crate::durable::add_to_linker(&mut linker)?;
    // Both shapes of golem:websocket share one name: the component's import
    // says which one it is given.
    if crate::p3::imports_p3_shape(&engine, &component) {
        crate::p3::add_to_linker(&mut linker)?;
    } else {
        crate::bindings::golem::websocket::client::add_to_linker::<Ctx, HasSelf<Ctx>>(
            &mut linker,
            |ctx| ctx,
        )?;
    }
    Ok((engine, component, linker))
}
