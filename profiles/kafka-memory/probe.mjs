/**
 * Where a Kafka provider's memory sits, outside the WebSocket side: librdkafka's mock cluster
 * (bench/lib/kafka.mjs) with --topics topics, and per variant a child process (probe-child.mjs)
 * running Streamgate's KafkaProvider with one subscription per topic and the variant's extra
 * librdkafka properties. Phases per run: started (no subscription), subscribed, --rate ev/s of
 * --payload bytes for --duration s round robin over the topics (peak and settled memory, records
 * received), then a --stall ms event-loop block while publishing goes on (what librdkafka
 * prefetches for a router that is busy), with librdkafka's statistics (fetch queue size).
 * Variants run interleaved, --repeat times (B A B A). Needs `npm run build`.
 *
 *   node profiles/kafka-memory/probe.mjs --topics 1000 --rate 2000 --payload 1024 --variants before,after
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { kafkaPublisher, startKafkaMock, TOPIC_PREFIX } from "../../bench/lib/kafka.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const { values: a } = parseArgs({
  options: {
    topics: { type: "string", default: "100" },
    rate: { type: "string", default: "1000" },
    duration: { type: "string", default: "5" },
    payload: { type: "string", default: "1024" },
    stall: { type: "string", default: "3000" },
    repeat: { type: "string", default: "2" },
    variants: { type: "string", default: "current" },
    out: { type: "string" },
    stats: { type: "boolean", default: false },
  },
});
/** Extra librdkafka properties per variant name; "current" = whatever the build's defaults are. */
const VARIANTS = {
  current: {},
  // librdkafka 2.x's own consumer defaults, i.e. what a build without bounds amounts to.
  "librdkafka-defaults": {
    "queued.min.messages": 100000,
    "queued.max.messages.kbytes": 65536,
    "fetch.message.max.bytes": 1048576,
    "fetch.max.bytes": 52428800,
    "fetch.queue.backoff.ms": 1000,
  },
  b8: { "queued.min.messages": 10000, "queued.max.messages.kbytes": 8192, "fetch.queue.backoff.ms": 50 },
  "b8-bo10": { "queued.min.messages": 10000, "queued.max.messages.kbytes": 8192, "fetch.queue.backoff.ms": 10 },
  "b8-bo5": { "queued.min.messages": 10000, "queued.max.messages.kbytes": 8192, "fetch.queue.backoff.ms": 5 },
  "b8-min100k": { "queued.min.messages": 100000, "queued.max.messages.kbytes": 8192, "fetch.queue.backoff.ms": 50 },
  "b32": { "queued.min.messages": 10000, "queued.max.messages.kbytes": 32768, "fetch.queue.backoff.ms": 50 },
  b16: { "queued.min.messages": 10000, "queued.max.messages.kbytes": 16384, "fetch.queue.backoff.ms": 50 },
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const topics = Array.from({ length: Number(a.topics) }, (_, i) => `t${i}`);
const mock = await startKafkaMock({ cpus: "0", topics });
const pub = await kafkaPublisher(mock.url);

function child(variant) {
  const p = spawn("taskset", ["-c", "1", process.execPath, join(here, "probe-child.mjs")], {
    env: {
      ...process.env,
      PROBE_BROKERS: mock.url,
      PROBE_TOPICS: topics.map((t) => TOPIC_PREFIX + t).join(","),
      PROBE_RDKAFKA: JSON.stringify(VARIANTS[variant] ?? JSON.parse(variant)),
      ...(a.stats ? { PROBE_STATS: "1" } : {}),
    },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const waiting = [];
  createInterface({ input: p.stdout }).on("line", (l) => waiting.shift()?.(JSON.parse(l)));
  const cmd = (c) =>
    new Promise((resolve) => {
      waiting.push(resolve);
      p.stdin.write(`${c}\n`);
    });
  return { cmd, pid: p.pid };
}

async function publishFor(ms, rate, payload) {
  const id = "x".repeat(Math.max(1, payload - 10));
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < ms) {
    const due = Math.floor(((performance.now() - t0) / 1000) * rate);
    for (; n < due; n++) pub.publish(topics[n % topics.length], id);
    await sleep(5);
  }
  await pub.flush();
  return n;
}

async function runOnce(variant) {
  const c = child(variant);
  await c.cmd("start");
  await sleep(2000);
  const started = await c.cmd("mem");
  const sub = await c.cmd("subscribe");
  await sleep(3000);
  const subscribed = await c.cmd("mem");
  let peak = subscribed;
  const sampling = setInterval(async () => {
    const m = await c.cmd("mem");
    if (m.rssMB > peak.rssMB) peak = m;
  }, 500);
  const published = await publishFor(Number(a.duration) * 1000, Number(a.rate), Number(a.payload));
  clearInterval(sampling);
  await sleep(2000);
  const afterLoad = await c.cmd("mem");
  const loadStats = await c.cmd("stats");
  const base = afterLoad.received;
  // Publishing goes on while the child's event loop is blocked: librdkafka keeps fetching.
  const stallDone = c.cmd(`stall ${a.stall}`);
  const stallPublished = await publishFor(Number(a.stall), Number(a.rate), Number(a.payload));
  const afterStall = await stallDone; // measured in the child as the stall ends
  await sleep(1200);
  const stallStats = await c.cmd("stats");
  // Drained: every record received (or 30 s passed), then 2 s more for the allocator to settle.
  const t0 = performance.now();
  let drained = await c.cmd("mem");
  while (drained.received < published + stallPublished && performance.now() - t0 < 30_000) {
    await sleep(250);
    drained = await c.cmd("mem");
  }
  const drainMs = Math.round(performance.now() - t0);
  await sleep(2000);
  drained = await c.cmd("mem");
  await c.cmd("stop");
  return {
    variant,
    subscribeMs: sub.ms,
    published,
    started,
    subscribed,
    peakDuringLoad: peak,
    afterLoad,
    loadStats,
    stallPublished,
    afterStall,
    stallStats,
    drained,
    receivedAll: drained.received === published + stallPublished,
    receivedAfterStall: drained.received - base,
    drainMs,
  };
}

const variants = a.variants.split(",");
const runs = [];
for (let r = 0; r < Number(a.repeat); r++)
  for (const v of variants) {
    const res = await runOnce(v);
    runs.push(res);
    const f = (m) => `rss ${m.rssMB} anon ${m.anonMB} file ${m.fileMB} v8 ${m.v8HeapTotalMB} native ${m.nativeAnonMB}`;
    console.log(`[${v} #${r + 1}] started: ${f(res.started)}`);
    console.log(`[${v} #${r + 1}] subscribed (${res.subscribeMs} ms): ${f(res.subscribed)} threads ${res.subscribed.threads} (rdk ${res.subscribed.rdkThreads})`);
    console.log(`[${v} #${r + 1}] load peak: ${f(res.peakDuringLoad)}; after: ${f(res.afterLoad)}`);
    console.log(`[${v} #${r + 1}] stall: ${f(res.afterStall)} fetchq ${res.stallStats?.fetchqCnt} msgs ${res.stallStats?.fetchqSizeMB} MB; drained: ${f(res.drained)}; all received: ${res.receivedAll} (${res.drained.received}/${res.published + res.stallPublished}, drained in ${res.drainMs} ms)`);
  }
await pub.close();
await mock.stop();
const result = {
  args: a,
  variants: Object.fromEntries(variants.map((v) => [v, VARIANTS[v] ?? JSON.parse(v)])),
  load: (await import("node:os")).loadavg(),
  runs,
};
if (a.out) writeFileSync(a.out, `${JSON.stringify(result, null, 1)}\n`);
process.exit(0);
