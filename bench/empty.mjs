#!/usr/bin/env node
/**
 * The empty router (issue 16): RSS of Streamgate with one NATS provider and one subgraph and no
 * client, next to the bare uWS.js floor, started interleaved (A B A B) on one nats-server. Each
 * process is read `--settle` seconds after it said it listens: VmRSS, VmHWM (the peak of start-up)
 * and smaps_rollup (anonymous = heaps and malloc, file-backed = code and the native addons).
 * `--cli other/dist/cli.js` adds another build as a third stack (a before/after in one run).
 *
 * `--workers 2,4` adds the same router with that many worker threads (issue 16: each worker beyond
 * the first should add at most 15 MiB).
 *
 * The default settle (25 s) lets V8's memory reducer run in every stack; `settledAfterS` per run says
 * when RSS stopped moving.
 *
 *   node bench/empty.mjs [--repeat 3] [--settle 25] [--cli /path/to/before/dist/cli.js] [--workers 2] [--out bench/results]
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { mb, median, sleep } from "./lib/harness.mjs";
import { startNats } from "./lib/proc.mjs";
import { STACKS } from "./lib/stacks.mjs";
import { loadavg, machine, REPO_ROOT, smapsRollup, sourceState, versions } from "./lib/sys.mjs";

const { values } = parseArgs({
  options: {
    repeat: { type: "string", default: "3" },
    settle: { type: "string", default: "25" },
    cli: { type: "string" },
    workers: { type: "string" },
    out: { type: "string", default: join(REPO_ROOT, "bench/results") },
  },
});
const repeat = Number(values.repeat);
const settleMs = Number(values.settle) * 1000;

function status(pid) {
  const text = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0) * 1024;
  return { rss: kb("VmRSS"), hwm: kb("VmHWM"), threads: Number(/^Threads:\s+(\d+)/m.exec(text)?.[1] ?? 0) };
}

function settledAfter(series) {
  const last = series.at(-1);
  let i = series.length - 1;
  while (i > 0 && Math.abs(series[i - 1] - last) <= 0.25 * 1024 * 1024) i--;
  return i;
}

const stacks = [
  { name: "streamgate", start: (url) => STACKS.streamgate.start({ brokerUrl: url }) },
  { name: "uws-floor", start: (url) => STACKS["uws-floor"].start({ brokerUrl: url }) },
];
if (values.cli)
  stacks.push({
    name: "streamgate-other-build",
    start: (url) => STACKS.streamgate.start({ brokerUrl: url, cli: values.cli }),
  });

for (const w of (values.workers ?? "").split(",").filter(Boolean).map(Number)) {
  stacks.push({
    name: `streamgate-workers-${w}`,
    workers: w,
    start: (url) => STACKS.streamgate.start({ brokerUrl: url, workers: w }),
  });
  if (values.cli)
    stacks.push({
      name: `streamgate-other-build-workers-${w}`,
      workers: w,
      base: "streamgate-other-build",
      start: (url) => STACKS.streamgate.start({ brokerUrl: url, workers: w, cli: values.cli }),
    });
}

const nats = await startNats();
const loadBefore = loadavg();
const runs = [];
try {
  for (let rep = 1; rep <= repeat; rep++) {
    for (const s of stacks) {
      const started = await s.start(nats.url);
      const pid = started.pids[0];
      // RSS once a second while settling: V8's memory reducer shrinks an idle heap some seconds
      // after the last full GC (8 s by default), so a reading taken too early is mid-way.
      const series = [];
      for (let t = 0; t < settleMs; t += 1000) {
        series.push(status(pid).rss);
        await sleep(Math.min(1000, settleMs - t));
      }
      const st = status(pid);
      series.push(st.rss);
      const smaps = smapsRollup(pid);
      runs.push({
        stack: s.name,
        rep,
        ...st,
        anonymous: smaps?.anonymous,
        fileBacked: smaps ? smaps.rss - smaps.anonymous : null,
        // Seconds after listening from which RSS stayed within 0.25 MiB of the final reading.
        settledAfterS: settledAfter(series),
        rssSeriesMB: series.map(mb),
      });
      await started.child.stop();
      process.stdout.write(
        `${s.name} #${rep}: rss ${mb(st.rss)} MB, peak ${mb(st.hwm)} MB, settled after ${settledAfter(series)} s\n`,
      );
    }
  }
} finally {
  await nats.stop();
}

const summary = {};
for (const s of stacks) {
  const mine = runs.filter((r) => r.stack === s.name);
  const med = (k) => mb(median(mine.map((r) => r[k])));
  summary[s.name] = {
    rssMB: med("rss"),
    peakMB: med("hwm"),
    anonymousMB: med("anonymous"),
    fileBackedMB: med("fileBacked"),
    threads: median(mine.map((r) => r.threads)),
  };
}
const ratio = Math.round((summary.streamgate.rssMB / summary["uws-floor"].rssMB) * 100) / 100;
const result = {
  scenario: "empty",
  timestamp: new Date().toISOString(),
  command: `node bench/empty.mjs ${process.argv.slice(2).join(" ")}`.trim(),
  machine: machine(),
  versions: versions(),
  source: sourceState(),
  loadBefore,
  loadAfter: loadavg(),
  options: {
    repeat,
    settleSeconds: settleMs / 1000,
    otherCli: values.cli ?? null,
    workers: values.workers ?? null,
  },
  summary,
  targets: [
    { figure: "empty router RSS vs the floor's", target: "≤ 1.1×", measured: ratio, met: ratio <= 1.1 },
    ...stacks
      .filter((s) => s.workers)
      .map((s) => {
        const one = summary[s.base ?? "streamgate"].rssMB;
        const perWorker = Math.round(((summary[s.name].rssMB - one) / (s.workers - 1)) * 10) / 10;
        return {
          figure: `${s.base ?? "streamgate"}: RSS added per worker beyond the first (workers: ${s.workers}), MiB`,
          target: "≤ 15 MiB",
          measured: perWorker,
          met: perWorker <= 15,
        };
      }),
    // What one more worker costs without the first worker thread's own isolate and the primary.
    ...["streamgate", "streamgate-other-build"].flatMap((base) => {
      const w = (n) => stacks.find((s) => (s.base ?? "streamgate") === base && s.workers === n);
      const [w2, w4] = [w(2), w(4)];
      if (!w2 || !w4) return [];
      const perWorker = Math.round(((summary[w4.name].rssMB - summary[w2.name].rssMB) / 2) * 100) / 100;
      const figure = `${base}: RSS one more worker adds, (workers 4 − workers 2) / 2, MiB`;
      return [{ figure, target: "≤ 15 MiB", measured: perWorker, met: perWorker <= 15 }];
    }),
  ],
  runs,
};
mkdirSync(values.out, { recursive: true });
const file = join(values.out, `empty-${result.timestamp.replace(/[:.]/g, "-")}.json`);
writeFileSync(file, `${JSON.stringify(result, null, 1)}\n`);
console.log(JSON.stringify(summary, null, 1));
console.log(`empty router / floor: ${ratio}× (target ≤ 1.1×) — ${file}`);
