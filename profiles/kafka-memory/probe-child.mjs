/**
 * The router side of probe.mjs: Streamgate's real KafkaProvider (dist/, so `npm run build` first)
 * with one subscription per topic, as the router makes them. Commands on stdin, one JSON answer
 * per line on stdout: "start", "subscribe", "mem", "stall <ms>" (blocks the event loop, as a
 * router busy fanning out would), "stats" (librdkafka's last statistics JSON, trimmed).
 * Env: PROBE_BROKERS, PROBE_TOPICS (comma list), PROBE_RDKAFKA (JSON: extra librdkafka props).
 */
import { readFileSync, readdirSync } from "node:fs";
import { createInterface } from "node:readline";
import { KafkaProvider } from "../../dist/providers/kafka/provider.js";

const extra = JSON.parse(process.env.PROBE_RDKAFKA || "{}");
const topics = process.env.PROBE_TOPICS.split(",");
const provider = new KafkaProvider(
  { id: "probe", brokers: process.env.PROBE_BROKERS.split(","), fetch_max_wait: Number(process.env.PROBE_FETCH_WAIT || 10) },
  { librdkafka: { ...(process.env.PROBE_STATS ? { "statistics.interval.ms": 500 } : {}), ...extra } },
);
let received = 0;
/** librdkafka statistics JSON strings received since the last "stats" command. */
let statsSeen = [];

function mem() {
  const kb = (file, key) => {
    const m = readFileSync(file, "utf8").match(new RegExp(`^${key}:\\s+(\\d+)`, "m"));
    return m ? Number(m[1]) : undefined;
  };
  const u = process.memoryUsage();
  const threads = readdirSync("/proc/self/task").map((t) => readFileSync(`/proc/self/task/${t}/comm`, "utf8").trim());
  const rollup = "/proc/self/smaps_rollup";
  const MB = (k) => Math.round((k / 1024) * 10) / 10;
  const anon = kb(rollup, "Anonymous");
  const heap = MB(u.heapTotal / 1024);
  return {
    rssMB: MB(kb("/proc/self/status", "VmRSS")),
    hwmMB: MB(kb("/proc/self/status", "VmHWM")),
    anonMB: MB(anon),
    fileMB: MB(kb(rollup, "Rss") - anon),
    v8HeapTotalMB: heap,
    v8HeapUsedMB: MB(u.heapUsed / 1024),
    externalMB: MB(u.external / 1024),
    arrayBuffersMB: MB(u.arrayBuffers / 1024),
    nativeAnonMB: Math.round((MB(anon) - heap) * 10) / 10,
    threads: threads.length,
    rdkThreads: threads.filter((t) => t.startsWith("rdk:")).length,
    received,
  };
}

/** The largest consumer fetch queue among the statistics received since the last call. */
function stats() {
  const seen = statsSeen;
  statsSeen = [];
  let best = null;
  for (const raw of seen) {
    const s = JSON.parse(raw);
    let fetchqCnt = 0;
    let fetchqSize = 0;
    for (const t of Object.values(s.topics ?? {}))
      for (const p of Object.values(t.partitions ?? {})) {
        if (p.partition < 0) continue;
        // Each partition's fetch queue is forwarded to the one consumer queue, whose length and
        // size every partition reports: the largest, not the sum, is the queue.
        fetchqCnt = Math.max(fetchqCnt, p.fetchq_cnt ?? 0);
        fetchqSize = Math.max(fetchqSize, p.fetchq_size ?? 0);
      }
    if (!best || fetchqSize > best.fetchqSizeMB * 1e6)
      best = { replyq: s.replyq, fetchqCnt, fetchqSizeMB: Math.round(fetchqSize / 1e4) / 100 };
  }
  return best;
}

const send = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
createInterface({ input: process.stdin }).on("line", async (line) => {
  const [cmd, arg] = line.split(" ");
  if (cmd === "start") {
    await provider.start();
    provider.reader.client.on("event.stats", (e) => statsSeen.push(e.message));
    send({ ok: true });
  } else if (cmd === "subscribe") {
    const t0 = performance.now();
    await Promise.all(topics.map((t) => provider.subscribe([t], (events) => (received += events.length))));
    send({ ok: true, ms: Math.round(performance.now() - t0) });
  } else if (cmd === "mem") send(mem());
  else if (cmd === "stats") send(stats());
  else if (cmd === "stall") {
    const end = Date.now() + Number(arg);
    while (Date.now() < end);
    send(mem());
  } else if (cmd === "stop") {
    await provider.stop();
    send({ ok: true });
    process.exit(0);
  }
});
