/**
 * Preloaded into Streamgate (`--node-args="--require ./bench/lib/alloc-sampler.cjs"`): V8's sampling
 * heap profiler from start-up to ALLOC_STOP_MS (default 25 s), counting objects that were already
 * collected too, so it shows what a connection burst allocates, garbage included. Writes the
 * profile to ALLOC_OUT (default /tmp/alloc-<pid>.json); `node bench/per-client.mjs alloc <file> N`
 * groups it by the uWS handler it ran under (upgrade, open, message). ALLOC_INTERVAL: mean bytes
 * between samples (1024). The profile write itself grows RSS: take no figure from such a run.
 */
const inspector = require("node:inspector");
const fs = require("node:fs");
const s = new inspector.Session();
s.connect();
s.post("HeapProfiler.enable");
s.post("HeapProfiler.startSampling", {
  samplingInterval: Number(process.env.ALLOC_INTERVAL ?? 1024),
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
}, (err) => { if (err) console.error("alloc sampling", err); });
const t = setTimeout(() => {
  s.post("HeapProfiler.stopSampling", (err, r) => {
    if (err) { console.error(err); return; }
    fs.writeFileSync(process.env.ALLOC_OUT ?? `/tmp/alloc-${process.pid}.json`, JSON.stringify(r.profile));
  });
}, Number(process.env.ALLOC_STOP_MS ?? 25000));
t.unref();
