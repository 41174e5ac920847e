// Preloaded (`node --require`, passed through jco's JCO_RUN_ARGS) into the
// Node process that `jco serve` and `jco run` start for the component: it
// ends that process once its parent, jco, is gone. jco does not forward a
// kill to it, so without this a test that stops jco would leave the
// component's server running (see tests/src/hosts.rs).
"use strict";

const parent = process.ppid;
setInterval(() => {
    if (process.ppid !== parent) {
        process.exit(1);
    }
}, 200).unref();
