// Preloaded (`node --require`, passed through jco's JCO_RUN_ARGS) into the
// Node process that `jco serve` and `jco run` start for the component: it
// ends that process once its parent, jco, is gone. jco does not pass a kill
// on to it, so without this a test that stops jco would leave the
// component running (see tests/src/hosts.rs). The watch runs on a worker
// thread of its own: a `wasi:cli` command under `jco run` blocks the main
// thread's event loop while it waits for I/O.
"use strict";

const { Worker } = require("node:worker_threads");

const watch = `
    const parent = ${process.ppid};
    setInterval(() => {
        if (process.ppid !== parent) {
            process.kill(${process.pid}, "SIGKILL");
        }
    }, 200);
`;
new Worker(watch, { eval: true }).unref();
