//! The WASI calls Golem's executor writes to the oplog besides
//! golem:websocket, over wasmtime-wasi's own implementations: `wasi:io/poll`
//! (`poll` records how many pollables it was given and which were ready;
//! `pollable.ready` its answer; `block` is a poll of one), the monotonic
//! clock (`now`, `resolution`, and `subscribe-duration`, which records the
//! time it started from), the wall clock, and `wasi:random`'s three
//! interfaces. `subscribe-instant` is not recorded (as in Golem): the
//! instant is the guest's.
//!
//! They replace wasmtime-wasi's in the linker (which must allow shadowing).

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use wasmtime::component::{HasSelf, Linker, Resource};
use wasmtime_wasi::clocks::WasiClocksView as _;
use wasmtime_wasi::p2::DynPollable;
use wasmtime_wasi::p2::bindings::clocks::{monotonic_clock, wall_clock};
use wasmtime_wasi::p2::bindings::io::poll;
use wasmtime_wasi::p2::bindings::random::{insecure, insecure_seed, random};
use wasmtime_wasi::random::WasiRandomView as _;

use crate::ctx::Ctx;

/// Puts the durable versions into `linker`, over the ones wasmtime-wasi
/// added.
pub(crate) fn add_to_linker(linker: &mut Linker<Ctx>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    poll::add_to_linker::<Ctx, HasSelf<Ctx>>(linker, |ctx| ctx)?;
    monotonic_clock::add_to_linker::<Ctx, HasSelf<Ctx>>(linker, |ctx| ctx)?;
    wall_clock::add_to_linker::<Ctx, HasSelf<Ctx>>(linker, |ctx| ctx)?;
    random::add_to_linker::<Ctx, HasSelf<Ctx>>(linker, |ctx| ctx)?;
    insecure::add_to_linker::<Ctx, HasSelf<Ctx>>(linker, |ctx| ctx)?;
    insecure_seed::add_to_linker::<Ctx, HasSelf<Ctx>>(linker, |ctx| ctx)?;
    linker.allow_shadowing(false);
    Ok(())
}

impl Ctx {
    /// A call that does not wait: replayed, or run and recorded.
    fn durably<R: Serialize + DeserializeOwned>(
        &mut self,
        call: &str,
        args: Value,
        live: impl FnOnce(&mut Ctx) -> wasmtime::Result<R>,
    ) -> wasmtime::Result<R> {
        if let Some(result) = self.oplog.replay(call, &args)? {
            return Ok(result);
        }
        let result = live(self)?;
        self.oplog.record(call, args, &result)?;
        Ok(result)
    }

    /// A monotonic reading, replayed or live; a replayed one keeps the
    /// guest's clock from reading earlier later on.
    fn monotonic(&mut self, call: &str, args: Value) -> wasmtime::Result<u64> {
        let live = self.oplog.is_live();
        let nanos = self.durably(call, args, |ctx| {
            monotonic_clock::Host::now(&mut ctx.clocks())
        })?;
        if !live {
            self.clock.not_before(nanos);
        }
        Ok(nanos)
    }
}

impl poll::Host for Ctx {
    async fn poll(&mut self, pollables: Vec<Resource<DynPollable>>) -> wasmtime::Result<Vec<u32>> {
        let args = json!({ "count": pollables.len() });
        let result: Result<Vec<u32>, String> = match self.oplog.replay("io::poll::poll", &args)? {
            Some(result) => result,
            None => {
                let result = poll::Host::poll(&mut self.table, pollables)
                    .await
                    .map_err(|err| err.to_string());
                self.oplog.record("io::poll::poll", args, &result)?;
                result
            }
        };
        result.map_err(wasmtime::Error::msg)
    }
}

impl poll::HostPollable for Ctx {
    async fn ready(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<bool> {
        let call = "io::poll::pollable::ready";
        let result: Result<bool, String> = match self.oplog.replay(call, &json!({}))? {
            Some(result) => result,
            None => {
                let result = poll::HostPollable::ready(&mut self.table, pollable)
                    .await
                    .map_err(|err| err.to_string());
                self.oplog.record(call, json!({}), &result)?;
                result
            }
        };
        result.map_err(wasmtime::Error::msg)
    }

    async fn block(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<()> {
        poll::Host::poll(self, vec![pollable]).await?;
        Ok(())
    }

    fn drop(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<()> {
        poll::HostPollable::drop(&mut self.table, pollable)
    }
}

impl monotonic_clock::Host for Ctx {
    fn now(&mut self) -> wasmtime::Result<u64> {
        self.monotonic("monotonic_clock::now", json!({}))
    }

    fn resolution(&mut self) -> wasmtime::Result<u64> {
        self.durably("monotonic_clock::resolution", json!({}), |ctx| {
            monotonic_clock::Host::resolution(&mut ctx.clocks())
        })
    }

    fn subscribe_instant(&mut self, when: u64) -> wasmtime::Result<Resource<DynPollable>> {
        monotonic_clock::Host::subscribe_instant(&mut self.clocks(), when)
    }

    fn subscribe_duration(&mut self, duration: u64) -> wasmtime::Result<Resource<DynPollable>> {
        let args = json!({ "duration_in_nanos": duration });
        let now = self.monotonic("monotonic_clock::subscribe_duration", args)?;
        monotonic_clock::Host::subscribe_instant(&mut self.clocks(), now.saturating_add(duration))
    }
}

impl wall_clock::Host for Ctx {
    fn now(&mut self) -> wasmtime::Result<wall_clock::Datetime> {
        let (seconds, nanoseconds) = self.durably("wall_clock::now", json!({}), |ctx| {
            let now = wall_clock::Host::now(&mut ctx.clocks())?;
            Ok((now.seconds, now.nanoseconds))
        })?;
        Ok(wall_clock::Datetime {
            seconds,
            nanoseconds,
        })
    }

    fn resolution(&mut self) -> wasmtime::Result<wall_clock::Datetime> {
        let (seconds, nanoseconds) = self.durably("wall_clock::resolution", json!({}), |ctx| {
            let resolution = wall_clock::Host::resolution(&mut ctx.clocks())?;
            Ok((resolution.seconds, resolution.nanoseconds))
        })?;
        Ok(wall_clock::Datetime {
            seconds,
            nanoseconds,
        })
    }
}

impl random::Host for Ctx {
    fn get_random_bytes(&mut self, len: u64) -> wasmtime::Result<Vec<u8>> {
        self.durably(
            "random::get_random_bytes",
            json!({ "length": len }),
            |ctx| random::Host::get_random_bytes(ctx.random(), len),
        )
    }

    fn get_random_u64(&mut self) -> wasmtime::Result<u64> {
        self.durably("random::get_random_u64", json!({}), |ctx| {
            random::Host::get_random_u64(ctx.random())
        })
    }
}

impl insecure::Host for Ctx {
    fn get_insecure_random_bytes(&mut self, len: u64) -> wasmtime::Result<Vec<u8>> {
        let args = json!({ "length": len });
        self.durably("random::insecure::get_insecure_random_bytes", args, |ctx| {
            insecure::Host::get_insecure_random_bytes(ctx.random(), len)
        })
    }

    fn get_insecure_random_u64(&mut self) -> wasmtime::Result<u64> {
        self.durably(
            "random::insecure::get_insecure_random_u64",
            json!({}),
            |ctx| insecure::Host::get_insecure_random_u64(ctx.random()),
        )
    }
}

impl insecure_seed::Host for Ctx {
    fn insecure_seed(&mut self) -> wasmtime::Result<(u64, u64)> {
        self.durably("random::insecure_seed::insecure_seed", json!({}), |ctx| {
            insecure_seed::Host::insecure_seed(ctx.random())
        })
    }
}
