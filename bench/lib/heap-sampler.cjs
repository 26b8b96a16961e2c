/**
 * Preloaded into Streamgate (`--node-args="--require ./bench/lib/heap-sampler.cjs"`) to record
 * where its memory sits over a run: every 250 ms one line of RSS and V8 heap space sizes
 * (used/physical, MB). A timer, so samples stretch while the loop is busy; good enough to see
 * whether RSS growth is V8's old space (promoted objects), new space or outside the heap.
 * Output: $HEAP_SAMPLER_DIR (default the OS temp dir)/heap-<pid>.log
 */
const { appendFileSync } = require("node:fs");
const { tmpdir } = require("node:os");
const { join } = require("node:path");
const v8 = require("node:v8");

const file = join(process.env.HEAP_SAMPLER_DIR || tmpdir(), `heap-${process.pid}.log`);
const t0 = Date.now();
const mb = (n) => (n / 1e6).toFixed(1);
appendFileSync(file, "ms rss heapUsed external space=used/physical...\n");
setInterval(() => {
  const m = process.memoryUsage();
  const spaces = v8
    .getHeapSpaceStatistics()
    .filter((s) => s.physical_space_size > 0)
    .map((s) => `${s.space_name}=${mb(s.space_used_size)}/${mb(s.physical_space_size)}`)
    .join(" ");
  appendFileSync(file, `${Date.now() - t0} ${mb(m.rss)} ${mb(m.heapUsed)} ${mb(m.external)} ${spaces}\n`);
}, 250).unref();
