#!/usr/bin/env node
/**
 * Scenario 4 of shared/spec/bench.md, "resolve": as scenario 2 (N subscribers on one topic, events
 * through NATS), but every event needs `_entities` from an HTTP federation subgraph. Run with 1 and
 * with K distinct operations on the one trigger; report the subgraph's `_entities` requests per
 * event (the dedup proof: docs/architecture.md "Entity resolution"), publish→receive latency
 * (HDR, merged over generator threads), delivered/expected, router CPU and RSS.
 *
 *   node bench/resolve.mjs [--clients 10000] [--events 20] [--rate 2] [--ops 1,100] [--repeat 2]
 *                          [--workers n] [--concurrency 256] [--no-pin] [--out bench/results]
 *   node bench/resolve.mjs --render-only      re-renders bench/results/resolve.md from latest-resolve.json
 *
 * Processes: nats-server (`-a 127.0.0.1 -p <free port>`), the subgraph (bench/resolve-subgraph.mjs,
 * counts the requests it receives), and the router (`node dist/bin/streamgate.js --config <tmp>/c.yaml`, pinned
 * with `taskset -c <last core>`); this process (publisher + generator worker threads), the broker
 * and the subgraph share the other core(s).
 *
 * Operations: client i subscribes with variant i % K,
 *   subscription V<k> { employeeUpdated(id: "1") { id name department v<k>: name } }
 * distinct documents (so K resolution groups) on one trigger (subject employeeUpdated.1), each
 * needing `name` and `department` from the employees subgraph.
 *
 * Latency. Events are `{"id":"1","ts":<performance.timeOrigin + performance.now()>}`; the router
 * forwards selected fields only and `ts` is not in the schema, so clients never see the stamp.
 * Instead this process records the publish time of event k, and a client's k-th measured `next` is
 * matched to event k (one trigger, one publisher, groups keep event order). The match is checked,
 * not assumed: the subgraph tags `department` with the ordinal of the `_entities` request that
 * produced it ("Engineering #m<n>"), so every delivered frame says which subgraph request served
 * it; the tags must increase strictly from one event position to the next at every client
 * (`orderVerified`). Warm-up frames carry "w<n>" tags and cannot be mistaken for measured ones.
 *
 * Pass/fail: every client must receive exactly E measured frames, every frame must be a valid
 * `next` with the expected data (id, name, department tag, alias), no error frames or unexpected
 * closes, and the router must show 1 trigger, K groups and N subscriptions; otherwise the command
 * exits 1. Requests per event ≠ 1 is a missed target (printed, recorded), not a harness failure.
 */
import { isMainThread, parentPort, Worker } from "node:worker_threads";
import hdr from "hdr-histogram-js";
import WebSocket from "ws";

const HDR = {
  lowestDiscernibleValue: 1,
  highestTrackableValue: 600_000_000,
  numberOfSignificantValueDigits: 3,
};
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const T_NEXT = Buffer.from('"type":"next"');

/** The K operation documents: same fields, distinct alias and name, all on one trigger. */
export function operation(k) {
  return `subscription V${k} { employeeUpdated(id: "1") { id name department v${k}: name } }`;
}

if (isMainThread) {
  await main();
} else {
  workerMain();
}

// ---------------------------------------------------------------------------------------------
// Generator worker thread: raw `ws` sockets speaking graphql-transport-ws.
// ---------------------------------------------------------------------------------------------

function workerMain() {
  const clients = [];
  let phase = "warm"; // "warm" | "measure"
  let E = 0;
  const counters = { received: 0, warmReceived: 0, extra: 0, errors: 0, mismatches: 0, closes: {} };
  const samples = { errors: [], extra: [], mismatches: [] };
  const refs = new Map(); // variant * E + k → first frame seen at position k for that variant
  const sample = (list, text) => {
    if (list.length < 5) list.push(text.slice(0, 400));
  };
  const noteError = (text) => {
    counters.errors++;
    sample(samples.errors, text);
  };

  class Client {
    constructor(index, variant, query) {
      this.index = index;
      this.variant = variant;
      this.query = query;
      this.acked = false;
      this.closed = false;
      this.expectClose = false;
      this.warm = false;
      this.n = 0;
      this.recv = null;
    }

    connect(url) {
      return new Promise((resolve) => {
        const ws = new WebSocket(url, "graphql-transport-ws", {
          perMessageDeflate: false,
          skipUTF8Validation: true,
        });
        this.ws = ws;
        let settled = false;
        const settle = (ok) => {
          if (!settled) {
            settled = true;
            resolve(ok);
          }
        };
        ws.on("open", () => ws.send('{"type":"connection_init"}'));
        ws.on("message", (data) => this.onMessage(data, settle));
        ws.on("error", (err) => {
          if (!this.expectClose) noteError(`socket error: ${err.message}`);
          settle(false);
        });
        ws.on("close", (code) => {
          this.closed = true;
          if (!this.expectClose) {
            counters.closes[code] = (counters.closes[code] ?? 0) + 1;
            noteError(`unexpected close ${code} (client ${this.index})`);
          }
          settle(false);
        });
      });
    }

    onMessage(data, settle) {
      const t = now();
      if (data.indexOf(T_NEXT) >= 0) {
        if (phase === "warm") {
          this.warm = true;
          counters.warmReceived++;
          return;
        }
        const k = this.n++;
        if (k >= E) {
          counters.extra++;
          sample(samples.extra, `client ${this.index}: ${data.toString()}`);
          return;
        }
        this.recv[k] = t;
        counters.received++;
        const key = this.variant * E + k;
        const ref = refs.get(key);
        if (!ref) refs.set(key, Buffer.from(data));
        else if (!ref.equals(data)) {
          counters.mismatches++;
          sample(
            samples.mismatches,
            `client ${this.index} event ${k}: ${data.toString()} vs ${ref.toString()}`,
          );
        }
        return;
      }
      const text = data.toString();
      if (text.includes('"connection_ack"')) {
        this.acked = true;
        this.ws.send(`{"id":"1","type":"subscribe","payload":{"query":${JSON.stringify(this.query)}}}`);
        settle(true);
      } else if (text.includes('"type":"ping"')) this.ws.send('{"type":"pong"}');
      else if (text.includes('"type":"pong"')) {
        // ignore
      } else if (text.includes('"type":"error"')) noteError(`error frame: ${text}`);
      else if (text.includes('"type":"complete"')) noteError(`server completed: ${text}`);
      else noteError(`unexpected frame: ${text}`);
    }
  }

  async function pool(items, limit, fn) {
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(limit, items.length) }, async () => {
        while (next < items.length) await fn(items[next++]);
      }),
    );
  }

  const ops = {
    async connect({ url, indices, ops: K, concurrency }) {
      const fresh = indices.map((i) => new Client(i, i % K, operation(i % K)));
      clients.push(...fresh);
      let failed = 0;
      await pool(fresh, concurrency, async (c) => {
        if (!(await c.connect(url))) failed++;
      });
      return { failed };
    },
    async status() {
      let acked = 0;
      let warm = 0;
      let open = 0;
      for (const c of clients) {
        if (c.acked) acked++;
        if (c.warm) warm++;
        if (!c.closed) open++;
      }
      return { clients: clients.length, acked, warm, open };
    },
    async count() {
      return { received: counters.received, extra: counters.extra, errors: counters.errors };
    },
    async startMeasure({ events }) {
      E = events;
      phase = "measure";
      for (const c of clients) {
        c.n = 0;
        c.recv = new Float64Array(events);
      }
      Object.assign(counters, { received: 0, extra: 0, mismatches: 0 });
      refs.clear();
      return {};
    },
    /** Matches each client's k-th frame to event k's publish time; histograms in µs. */
    async stats({ pubTimes }) {
      const h = hdr.build(HDR);
      const first = new Array(E).fill(Number.POSITIVE_INFINITY);
      const last = new Array(E).fill(0);
      let missingClients = 0;
      let missing = 0;
      let negative = 0;
      for (const c of clients) {
        const got = Math.min(c.n, E);
        if (c.n !== E) missingClients++;
        missing += E - got;
        for (let k = 0; k < got; k++) {
          const ms = c.recv[k] - pubTimes[k];
          if (ms < 0) negative++;
          h.recordValue(Math.max(1, Math.round(ms * 1000)));
          if (c.recv[k] < first[k]) first[k] = c.recv[k];
          if (c.recv[k] > last[k]) last[k] = c.recv[k];
        }
      }
      const frames = [...refs].map(([key, buf]) => ({
        variant: Math.floor(key / E),
        k: key % E,
        text: buf.toString(),
      }));
      return {
        ...counters,
        closes: { ...counters.closes },
        samples,
        clients: clients.length,
        missingClients,
        missing,
        negative,
        first: first.map((x) => (Number.isFinite(x) ? x : null)),
        last: last.map((x) => (x > 0 ? x : null)),
        frames,
        histogram: hdr.encodeIntoCompressedBase64(h),
      };
    },
    async closeAll() {
      await Promise.all(
        clients.map(
          (c) =>
            new Promise((r) => {
              c.expectClose = true;
              if (!c.ws || c.ws.readyState === WebSocket.CLOSED) return r();
              c.ws.once("close", r);
              c.ws.close(1000);
              setTimeout(() => {
                c.ws.terminate();
                r();
              }, 2000).unref();
            }),
        ),
      );
      return {};
    },
  };

  parentPort.on("message", async ({ op, reqId, ...args }) => {
    try {
      parentPort.postMessage({ reqId, ok: true, result: await ops[op](args) });
    } catch (err) {
      parentPort.postMessage({ reqId, ok: false, error: String(err?.stack ?? err) });
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Main thread: processes, publisher, phases, results.
// ---------------------------------------------------------------------------------------------

async function main() {
  const { execFileSync } = await import("node:child_process");
  const { existsSync } = await import("node:fs");
  const { mkdir, mkdtemp, rm, writeFile } = await import("node:fs/promises");
  const os = (await import("node:os")).default;
  const { join, relative } = await import("node:path");
  const { parseArgs } = await import("node:util");
  const { connect: natsConnect } = await import("@nats-io/transport-node");
  const { summarize, percentileOf } = await import("./lib/generator.mjs");
  const { spawnReady, startNats } = await import("./lib/proc.mjs");
  const sys = await import("./lib/sys.mjs");
  const { EMPLOYEES_SDL } = await import("./resolve-subgraph.mjs");

  const { values } = parseArgs({
    options: {
      clients: { type: "string", default: "10000" },
      events: { type: "string", default: "20" },
      rate: { type: "string", default: "2" },
      ops: { type: "string", default: "1,100" },
      repeat: { type: "string", default: "2" },
      workers: { type: "string" },
      concurrency: { type: "string", default: "256" },
      "drain-timeout": { type: "string", default: "120" },
      "no-pin": { type: "boolean", default: false },
      out: { type: "string", default: join(sys.REPO_ROOT, "bench/results") },
      "render-only": { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values["render-only"]) {
    const { readFileSync } = await import("node:fs");
    const r = JSON.parse(readFileSync(join(values.out, "latest-resolve.json"), "utf8"));
    const file = join(values.out, `resolve-${r.timestamp.replace(/[:.]/g, "-")}.json`);
    await writeFile(join(values.out, "resolve.md"), renderMd(r, relative(sys.REPO_ROOT, file)));
    process.stdout.write(`rendered ${join(values.out, "resolve.md")} from latest-resolve.json\n`);
    return;
  }
  if (values.help) {
    process.stdout.write(
      "node bench/resolve.mjs [--clients 10000] [--events 20] [--rate 2] [--ops 1,100] [--repeat 2]\n" +
        "                       [--workers n] [--concurrency 256] [--drain-timeout s] [--no-pin] [--out dir]\n" +
        "node bench/resolve.mjs --render-only [--out dir]   (re-renders resolve.md from latest-resolve.json)\n",
    );
    return;
  }
  const N = Number(values.clients);
  const E = Number(values.events);
  const R = Number(values.rate);
  const OPS = values.ops.split(",").map(Number);
  const REPEAT = Number(values.repeat);
  const concurrency = Number(values.concurrency);
  const drainTimeoutMs = Number(values["drain-timeout"]) * 1000;
  for (const [name, v] of Object.entries({ clients: N, events: E, rate: R, repeat: REPEAT })) {
    if (!(v > 0)) throw new Error(`--${name} must be a positive number`);
  }
  if (OPS.some((k) => !(Number.isInteger(k) && k > 0))) throw new Error("--ops: positive integers");

  const CLI = process.env.STREAMGATE_CLI ?? join(sys.REPO_ROOT, "dist/bin/streamgate.js");
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  const command = `node bench/resolve.mjs ${process.argv.slice(2).join(" ")}`.trim();
  const log = (msg) => process.stderr.write(`[resolve ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
  const round = (x, d = 1) => (x === null || x === undefined ? null : Math.round(x * 10 ** d) / 10 ** d);
  const MB = 1024 * 1024;

  // --- file descriptors: the generator holds N sockets, the router N (children inherit ours).
  const nofile = { before: sys.nofileLimit(), raised: null, after: null };
  try {
    execFileSync("prlimit", ["--nofile=200000", "--pid", String(process.pid)], { stdio: "pipe" });
    nofile.raised = "200000";
  } catch (err) {
    nofile.raised = `prlimit --nofile=200000 failed (${String(err.stderr ?? err.message).trim()})`;
    const hard = nofile.before?.hard;
    if (hard && nofile.before.soft < hard) {
      try {
        execFileSync("prlimit", [`--nofile=${hard}:${hard}`, "--pid", String(process.pid)], {
          stdio: "pipe",
        });
        nofile.raised += `; soft raised to the hard limit ${hard}`;
      } catch {
        // keep what we have
      }
    }
  }
  nofile.after = sys.nofileLimit();
  if (nofile.after && N + 512 > nofile.after.soft) {
    throw new Error(
      `${N} clients need ~${N + 512} file descriptors here; RLIMIT_NOFILE is ${nofile.after.soft} (${nofile.raised})`,
    );
  }

  // --- cores: router on the last core, everything else on the others.
  const layout = sys.coreLayout(values["no-pin"]);
  if (layout) sys.pin(process.pid, layout.load);
  const W = Number(values.workers ?? layout?.loadCores ?? Math.max(1, os.availableParallelism() - 1));

  const loadBefore = sys.loadavg();
  const busyBefore = sys.busyProcesses();
  const startedAt = new Date();
  const source = sys.sourceState();
  log(
    `load average ${loadBefore.join(" ")}; ${N} clients, ${E} events at ${R}/s, ops ${OPS.join(",")} ×${REPEAT}`,
  );

  // --- processes
  const cleanups = [];
  const cleanup = async () => {
    while (cleanups.length)
      await cleanups
        .pop()()
        .catch(() => {});
  };
  let exitCode = 1;
  try {
    const nats = await startNats({ cpus: layout?.load });
    cleanups.push(() => nats.stop());
    log(`nats-server on ${nats.url}`);

    const subgraph = spawnReady(process.execPath, [join(sys.REPO_ROOT, "bench/resolve-subgraph.mjs")], {
      cpus: layout?.load,
      name: "employees subgraph",
      ready: (line) => jsonField(line, "port"),
    });
    cleanups.push(() => subgraph.stop("SIGTERM", 3000));
    const subgraphUrl = `http://127.0.0.1:${await subgraph.value}`;
    log(`employees subgraph on ${subgraphUrl}`);

    const dir = await mkdtemp(join(os.tmpdir(), "streamgate-resolve-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const eventsSdl = `type Subscription {
  employeeUpdated(id: ID!): Employee! @edfs__natsSubscribe(subjects: ["employeeUpdated.{{ args.id }}"])
}
type Employee @key(fields: "id", resolvable: false) {
  id: ID! @external
}
`;
    const configYaml = `listen_addr: 127.0.0.1:0
playground: false
log_level: info
workers: 1
shutdown_grace_period: 2s
subgraphs:
  - name: employees
    routing_url: ${subgraphUrl}/graphql
    schema_file: employees.graphql
  - name: events
    schema_file: events.graphql
events:
  providers:
    nats:
      - id: default
        url: ${nats.url}
limits:
  connection_init_timeout: 60s
  # Every generator socket comes from 127.0.0.1: the default (1,000 per address) would refuse the rest with 429.
  max_connections_per_ip: 1000000
`;
    await writeFile(join(dir, "events.graphql"), eventsSdl);
    await writeFile(join(dir, "employees.graphql"), EMPLOYEES_SDL);
    await writeFile(join(dir, "c.yaml"), configYaml);

    const router = spawnReady(process.execPath, [CLI, "--config", join(dir, "c.yaml")], {
      cpus: layout?.router,
      name: "streamgate",
      ready: (line) => {
        const port = jsonField(line, "port");
        return port && String(jsonField(line, "msg")).includes("listening") ? port : undefined;
      },
    });
    cleanups.push(() => router.stop("SIGTERM", 5000));
    const routerPort = await router.value;
    const routerPid = router.pid; // taskset execs node: same pid
    log(`router pid ${routerPid} on port ${routerPort}${layout ? ` (core ${layout.router})` : ""}`);
    const wsUrl = `ws://127.0.0.1:${routerPort}/graphql`;

    const nc = await natsConnect({ servers: nats.url, noEcho: true });
    cleanups.push(() => nc.close());
    const enc = new TextEncoder();
    const publish = () => {
      const ts = now();
      nc.publish("employeeUpdated.1", enc.encode(`{"id":"1","ts":${ts}}`));
      return ts;
    };

    const http = {
      async json(url, init) {
        const r = await fetch(url, init);
        if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
        return r.json();
      },
      async metrics() {
        const r = await fetch(`http://127.0.0.1:${routerPort}/metrics`);
        return parseMetrics(await r.text());
      },
    };

    // --- one phase: K distinct operations over N fresh clients
    const runPhase = async (K, rep) => {
      const failures = [];
      const label = `K=${K}#${rep}`;
      // The previous phase's subscriptions must be gone (else their groups would be counted).
      for (let i = 0; i < 100; i++) {
        const m = await http.metrics();
        if ((m.streamgate_subscriptions ?? 0) === 0) break;
        await sleep(100);
      }
      const workers = Array.from(
        { length: W },
        () => new Worker(new URL(import.meta.url), { workerData: { role: "generator" } }),
      );
      const gen = workerPool(workers);
      try {
        const t0 = performance.now();
        const shares = workers.map(() => []);
        for (let i = 0; i < N; i++) shares[i % W].push(i);
        const conn = await Promise.all(
          workers.map((w, j) =>
            gen.call(w, "connect", { url: wsUrl, indices: shares[j], ops: K, concurrency }),
          ),
        );
        const failed = conn.reduce((s, r) => s + r.failed, 0);
        const connectMs = Math.round(performance.now() - t0);
        if (failed > 0) failures.push(`${label}: ${failed} clients failed to connect`);
        log(`${label}: ${N - failed}/${N} connected in ${connectMs} ms`);

        // Warm-up: publish until every client got a frame (its subscription is live).
        await http.json(`${subgraphUrl}/reset?phase=w`, { method: "POST" });
        const tw = performance.now();
        let st = await gen.status();
        let warmEvents = 0;
        while (st.warm < N && performance.now() - tw < 60_000) {
          publish();
          warmEvents++;
          await nc.flush();
          await sleep(250);
          st = await gen.status();
        }
        if (st.warm < N) failures.push(`${label}: only ${st.warm}/${N} subscriptions became live`);
        await sleep(1500); // let in-flight warm-up frames land
        const before = await http.metrics();
        const setup = {
          triggers: before.streamgate_triggers,
          resolutionGroups: before.streamgate_resolution_groups,
          subscriptions: before.streamgate_subscriptions,
          connections: before.streamgate_connections,
        };
        const expectedGroups = Math.min(K, N);
        if (setup.triggers !== 1 || setup.resolutionGroups !== expectedGroups || setup.subscriptions !== N)
          failures.push(
            `${label}: router shows ${setup.triggers} trigger(s), ${setup.resolutionGroups} group(s), ${setup.subscriptions} subscriptions; expected 1, ${expectedGroups}, ${N}`,
          );
        log(
          `${label}: ${st.warm}/${N} live after ${warmEvents} warm-up events; router: ${setup.triggers} trigger, ${setup.resolutionGroups} groups, ${setup.subscriptions} subscriptions`,
        );

        // Measured window.
        await gen.all("startMeasure", { events: E });
        await http.json(`${subgraphUrl}/reset?phase=m`, { method: "POST" });
        const loadAtStart = sys.loadavg();
        await sleep(300);
        const m0 = await http.metrics();
        let maxRss = sys.rssOf(routerPid);
        const rssTimer = setInterval(() => {
          maxRss = Math.max(maxRss, sys.rssOf(routerPid));
        }, 100);
        const cpu = sys.cpuWindow([routerPid], { children: false });
        const gcpu = sys.cpuWindow([process.pid], { children: false });
        const scpu = sys.cpuWindow([subgraph.pid], { children: false });
        const cores = sys.coreWindow();
        const pubTimes = [];
        const interval = 1000 / R;
        const tp = performance.now();
        let lateMs = 0;
        for (let k = 0; k < E; k++) {
          const wait = tp + k * interval - performance.now();
          if (wait > 1) await sleep(wait);
          else lateMs = Math.max(lateMs, -wait);
          pubTimes.push(publish());
        }
        await nc.flush();
        const expected = N * E;
        const got = await drain(gen, expected, { stallMs: 10_000, maxMs: drainTimeoutMs });
        const routerCpu = cpu.stop();
        const genCpu = gcpu.stop();
        const subCpu = scpu.stop();
        const coreUse = cores.stop();
        clearInterval(rssTimer);
        await sleep(500); // late duplicates would show up as extra frames
        const m1 = await http.metrics();
        const sg = await http.json(`${subgraphUrl}/count`);
        const parts = await gen.all("stats", { pubTimes });

        // Merge.
        const h = hdr.build(HDR);
        const agg = {
          received: 0,
          extra: 0,
          errors: 0,
          mismatches: 0,
          missingClients: 0,
          missing: 0,
          negative: 0,
          closes: {},
          samples: { errors: [], extra: [], mismatches: [] },
        };
        const first = new Array(E).fill(Number.POSITIVE_INFINITY);
        const last = new Array(E).fill(0);
        const frames = [];
        for (const p of parts) {
          for (const key of [
            "received",
            "extra",
            "errors",
            "mismatches",
            "missingClients",
            "missing",
            "negative",
          ])
            agg[key] += p[key];
          for (const [c, n] of Object.entries(p.closes)) agg.closes[c] = (agg.closes[c] ?? 0) + n;
          for (const key of Object.keys(agg.samples)) agg.samples[key].push(...p.samples[key]);
          h.add(hdr.decodeFromCompressedBase64(p.histogram));
          p.first.forEach((x, k) => {
            if (x !== null && x < first[k]) first[k] = x;
          });
          p.last.forEach((x, k) => {
            if (x !== null && x > last[k]) last[k] = x;
          });
          frames.push(...p.frames);
        }
        const latency = summarize(h);

        // Validate the frames (one per variant, event position and worker) and collect tags.
        const tagsAt = Array.from({ length: E }, () => new Set());
        let invalid = 0;
        const invalidSamples = [];
        for (const f of frames) {
          const problem = checkFrame(f.text, f.variant);
          if (problem.error) {
            invalid++;
            if (invalidSamples.length < 5) invalidSamples.push(`${problem.error}: ${f.text.slice(0, 300)}`);
          } else tagsAt[f.k].add(problem.tag);
        }
        const distinctTags = tagsAt.map((s) => s.size);
        let orderVerified = invalid === 0;
        for (let k = 1; k < E && orderVerified; k++) {
          const prev = Math.max(...[...tagsAt[k - 1]].map(Number));
          const cur = Math.min(...[...tagsAt[k]].map(Number));
          if (!(cur > prev)) orderVerified = false;
        }

        const routerSent = (m1.subgraphSent ?? 0) - (m0.subgraphSent ?? 0);
        const resolutions = (m1.streamgate_resolutions_total ?? 0) - (m0.streamgate_resolutions_total ?? 0);
        const eventsReceived =
          (m1.streamgate_events_received_total ?? 0) - (m0.streamgate_events_received_total ?? 0);
        const perEvent = (x) => round(x / E, 3);
        const toSubgraph =
          sg.arrivals.length === E ? sg.arrivals.map((a, k) => a - pubTimes[k]).sort((a, b) => a - b) : null;
        const firstMs = first.map((x, k) => x - pubTimes[k]).sort((a, b) => a - b);
        const lastMs = last.map((x, k) => x - pubTimes[k]).sort((a, b) => a - b);
        const spanS = (Math.max(...last) - pubTimes[0]) / 1000;

        if (got < expected || agg.received < expected || agg.missingClients > 0)
          failures.push(
            `${label}: delivered ${agg.received}/${expected} (${agg.missingClients} clients missed deliveries)`,
          );
        if (agg.extra > 0)
          failures.push(`${label}: ${agg.extra} extra frames (${agg.samples.extra.slice(0, 2).join("; ")})`);
        if (agg.errors > 0)
          failures.push(`${label}: ${agg.errors} errors (${agg.samples.errors.slice(0, 3).join("; ")})`);
        if (agg.mismatches > 0)
          failures.push(
            `${label}: ${agg.mismatches} frames differ from their group's frame for the same event (${agg.samples.mismatches[0]})`,
          );
        if (invalid > 0)
          failures.push(`${label}: ${invalid} invalid payloads (${invalidSamples.join("; ")})`);
        if (eventsReceived !== E) failures.push(`${label}: router received ${eventsReceived}/${E} events`);
        if (sg.errors > 0) failures.push(`${label}: the subgraph answered ${sg.errors} requests with errors`);
        if (!orderVerified && invalid === 0)
          failures.push(
            `${label}: department tags do not increase with event position (order match unproven)`,
          );

        const phase = {
          ops: K,
          rep,
          clients: N,
          events: E,
          rate: R,
          achievedPublishRate: E > 1 ? round((E - 1) / ((pubTimes[E - 1] - pubTimes[0]) / 1000), 2) : R,
          publishMaxLateMs: round(lateMs, 2),
          connectMs,
          warmUpEvents: warmEvents,
          router: setup,
          expected,
          delivered: agg.received,
          missing: agg.missing,
          missingClients: agg.missingClients,
          extraFrames: agg.extra,
          errors: agg.errors,
          closes: agg.closes,
          subgraphRequests: sg.requests,
          subgraphEntitiesRequests: sg.entitiesRequests,
          subgraphRequestsPerEvent: perEvent(sg.entitiesRequests),
          subgraphRepresentationsPerRequest:
            sg.entitiesRequests > 0 ? round(sg.representations / sg.entitiesRequests, 3) : null,
          subgraphSelections: sg.selections,
          routerReportedSubgraphRequestsPerEvent: perEvent(routerSent),
          routerResolutionsPerEvent: perEvent(resolutions),
          routerEventsReceived: eventsReceived,
          distinctSubgraphResponsesSeenPerEvent: {
            min: Math.min(...distinctTags),
            max: Math.max(...distinctTags),
          },
          orderVerified,
          latencyMs: latency,
          negativeLatencies: agg.negative,
          publishToSubgraphMs: toSubgraph
            ? { p50: round(percentileOf(toSubgraph, 50), 3), max: round(toSubgraph.at(-1), 3) }
            : null,
          publishToFirstDeliveryMs: {
            p50: round(percentileOf(firstMs, 50), 3),
            max: round(firstMs.at(-1), 3),
          },
          publishToLastDeliveryMs: { p50: round(percentileOf(lastMs, 50), 3), max: round(lastMs.at(-1), 3) },
          deliveriesPerSec: spanS > 0 ? Math.round(agg.received / spanS) : null,
          windowS: round(routerCpu.seconds, 2),
          routerCpuPct: round(routerCpu.percent),
          routerKernelCpuPct: round(routerCpu.sysPercent),
          routerRunQueueWaitPct: round(routerCpu.runQueueWaitPercent),
          routerCpuMsPerEvent: round((routerCpu.cpuSeconds * 1000) / E, 2),
          routerRssMaxMB: round(maxRss / MB),
          routerRssAfterMB: round(sys.rssOf(routerPid) / MB),
          generatorCpuPct: round(genCpu.percent),
          generatorSaturated: genCpu.percent > 90 * (layout?.loadCores ?? 1),
          subgraphCpuPct: round(subCpu.percent),
          coreUse,
          loadAtStart,
          loadAtEnd: sys.loadavg(),
          othersBusy: sys.busyProcesses(),
          // The router waited for its core (another process on it) for > 5% of the window.
          contended: routerCpu.runQueueWaitPercent > 5,
          ok: failures.length === 0,
          failures,
        };
        log(
          `${label}: ${agg.received}/${expected} delivered; _entities requests/event ${phase.subgraphRequestsPerEvent}` +
            ` (router says ${phase.routerReportedSubgraphRequestsPerEvent}); p50 ${latency?.p50} p99 ${latency?.p99}` +
            ` max ${latency?.max} ms; router CPU ${phase.routerCpuPct}%; RSS ${phase.routerRssMaxMB} MB` +
            `${failures.length ? `; FAILED: ${failures.join(" | ")}` : ""}`,
        );
        return phase;
      } finally {
        await gen.all("closeAll").catch(() => {});
        await Promise.all(workers.map((w) => w.terminate()));
      }
    };

    const phases = [];
    for (let rep = 1; rep <= REPEAT; rep++) for (const K of OPS) phases.push(await runPhase(K, rep));

    // --- results
    const loadAfter = sys.loadavg();
    const busyAfter = sys.busyProcesses();
    const failures = phases.flatMap((p) => p.failures);
    const status = failures.length === 0 ? "PASSED" : "FAILED";
    const med = (xs) => {
      const v = xs.filter((x) => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b);
      if (v.length === 0) return null;
      const m = Math.floor(v.length / 2);
      return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
    };
    const byOps = {};
    for (const K of OPS) {
      const ps = phases.filter((p) => p.ops === K);
      const pick = (f) => round(med(ps.map(f)), 3);
      byOps[K] = {
        runs: ps.length,
        passed: ps.filter((p) => p.ok).length,
        subgraphRequestsPerEvent: ps.map((p) => p.subgraphRequestsPerEvent),
        p50: pick((p) => p.latencyMs?.p50),
        p99: pick((p) => p.latencyMs?.p99),
        max: pick((p) => p.latencyMs?.max),
        delivered: ps.reduce((s, p) => s + p.delivered, 0),
        expected: ps.reduce((s, p) => s + p.expected, 0),
        routerCpuPct: pick((p) => p.routerCpuPct),
        routerCpuMsPerEvent: pick((p) => p.routerCpuMsPerEvent),
        routerRssMaxMB: pick((p) => p.routerRssMaxMB),
        generatorCpuPct: pick((p) => p.generatorCpuPct),
        publishToSubgraphP50: pick((p) => p.publishToSubgraphMs?.p50),
        publishToFirstDeliveryP50: pick((p) => p.publishToFirstDeliveryMs?.p50),
      };
    }
    const targets = OPS.map((K) => {
      const rpe = byOps[K].subgraphRequestsPerEvent;
      const worst = Math.max(...rpe);
      return {
        figure: `subgraph _entities requests per event, ${N} subscribers on one trigger, ${K} distinct operation(s)`,
        target: "1",
        measured: worst,
        met: rpe.every((x) => x === 1),
        by: rpe.every((x) => x === 1) ? undefined : `${rpe.join(", ")} per event`,
      };
    });
    // The same rule as bench/run.mjs.
    const machineBusy = loadBefore[0] > 0.7 || busyBefore.length > 0 || busyAfter.length > 0;
    // Flat medians for the shared renderer (bench/lib/report.mjs renders every latest-*.json).
    const median = {};
    for (const K of OPS) {
      const b = byOps[K];
      median[`ops${K}_requestsPerEvent`] = med(b.subgraphRequestsPerEvent);
      median[`ops${K}_p50`] = b.p50;
      median[`ops${K}_p99`] = b.p99;
      median[`ops${K}_max`] = b.max;
      median[`ops${K}_missing`] = b.expected - b.delivered;
      median[`ops${K}_routerCpuPct`] = b.routerCpuPct;
      median[`ops${K}_rssMB`] = b.routerRssMaxMB;
    }
    const timestamp = startedAt.toISOString();
    const result = {
      scenario: "resolve",
      // 4 in shared/spec/bench.md. Recorded as 94: bench/lib/report.mjs has no "resolve" headline,
      // and its --render-only re-evaluation skips numbers >= 90 instead of emptying this summary.
      number: 94,
      specScenario: 4,
      timestamp,
      command,
      status,
      machine: sys.machine(),
      versions: sys.versions(),
      source,
      layout: {
        pinned: Boolean(layout),
        router: layout?.router ?? null,
        load: layout?.load ?? null,
        generatorWorkers: W,
      },
      broker: "nats",
      options: { clients: N, events: E, rate: R, ops: OPS, repeat: REPEAT, concurrency, nofile },
      loadBefore,
      loadAfter,
      busyBefore,
      busyAfter,
      machineBusy,
      config: {
        routerYaml: configYaml,
        eventsSdl,
        employeesSdl: EMPLOYEES_SDL,
        operations: [operation(0), "… up to", operation(Math.max(...OPS) - 1)],
      },
      byOps,
      summary: { streamgate: { runs: phases.length, passed: phases.filter((p) => p.ok).length, median } },
      ratios: {},
      targets,
      notes: [
        "Latency is matched by order (a client's k-th frame ↔ event k's publish time) because the event-driven schema exposes only `id` and the events all carry id 1; the subgraph's per-request department tag verifies the match (orderVerified).",
        "Subgraph requests per event = `_entities` requests the subgraph counted over the measured window / events published (warm-up excluded by a counter reset).",
        "The machine is shared (other engineers' benchmarks and test suites): see loadBefore/loadAfter and busyBefore/busyAfter.",
        `RLIMIT_NOFILE: ${nofile.raised}; soft limit used ${nofile.after?.soft}.`,
      ],
      runs: phases.map((p) => ({
        stack: "streamgate",
        rep: p.rep,
        ops: p.ops,
        status: p.ok ? "PASSED" : "FAILED",
        failures: p.failures,
        figures: p,
      })),
    };
    await mkdir(values.out, { recursive: true });
    const stampName = timestamp.replace(/[:.]/g, "-");
    const text = `${JSON.stringify(result, null, 2)}\n`;
    const file = join(values.out, `resolve-${stampName}.json`);
    await writeFile(file, text);
    await writeFile(join(values.out, "latest-resolve.json"), text);
    await writeFile(join(values.out, "resolve.md"), renderMd(result, relative(sys.REPO_ROOT, file)));
    log(`wrote ${file}, latest-resolve.json and resolve.md: ${status}`);
    process.stdout.write(`${renderTable(result)}\n`);
    if (failures.length) process.stdout.write(`FAILED:\n${failures.map((f) => `- ${f}`).join("\n")}\n`);
    for (const t of targets)
      if (!t.met) process.stdout.write(`TARGET MISSED: ${t.figure}: ${t.by} (target ${t.target})\n`);
    exitCode = failures.length === 0 ? 0 : 1;
  } catch (err) {
    process.stderr.write(`resolve benchmark error: ${err?.stack ?? err}\n`);
    exitCode = 1;
  } finally {
    await cleanup();
  }
  process.exit(exitCode);

  // --- helpers (main thread)

  function workerPool(ws) {
    const pending = new Map();
    let next = 1;
    for (const w of ws) {
      w.on("message", ({ reqId, ok, result, error }) => {
        const p = pending.get(reqId);
        pending.delete(reqId);
        if (ok) p?.resolve(result);
        else p?.reject(new Error(error));
      });
      w.on("error", (err) => {
        for (const p of pending.values()) p.reject(err);
      });
    }
    const call = (w, op, args = {}) =>
      new Promise((resolve, reject) => {
        const reqId = next++;
        pending.set(reqId, { resolve, reject });
        w.postMessage({ op, reqId, ...args });
      });
    return {
      call,
      all: (op, args) => Promise.all(ws.map((w) => call(w, op, args))),
      async status() {
        const r = await Promise.all(ws.map((w) => call(w, "status")));
        return r.reduce(
          (s, x) => ({ warm: s.warm + x.warm, acked: s.acked + x.acked, open: s.open + x.open }),
          {
            warm: 0,
            acked: 0,
            open: 0,
          },
        );
      },
    };
  }

  async function drain(gen, target, { stallMs, maxMs }) {
    const t0 = performance.now();
    let lastCount = -1;
    let lastChange = performance.now();
    for (;;) {
      const c = (await gen.all("count")).reduce((s, x) => s + x.received, 0);
      if (c >= target) return c;
      if (c !== lastCount) {
        lastCount = c;
        lastChange = performance.now();
      }
      if (performance.now() - lastChange > stallMs || performance.now() - t0 > maxMs) return c;
      await sleep(50);
    }
  }
}

/** A JSON log line's field, or undefined. */
function jsonField(line, field) {
  if (!line.startsWith("{")) return undefined;
  try {
    return JSON.parse(line)[field];
  } catch {
    return undefined;
  }
}

/** Prometheus text → {name: value} for unlabelled series, plus subgraphSent (outcome="sent" summed). */
function parseMetrics(text) {
  const out = { subgraphSent: 0 };
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const value = Number(m[3]);
    if (m[1] === "streamgate_subgraph_requests_total") {
      if (m[2]?.includes('outcome="sent"')) out.subgraphSent += value;
    } else if (!m[2]) out[m[1]] = value;
  }
  return out;
}

/** Checks one delivered frame of variant `v`; returns {tag} (the _entities request ordinal) or {error}. */
function checkFrame(text, v) {
  let msg;
  try {
    msg = JSON.parse(text);
  } catch {
    return { error: "not JSON" };
  }
  if (msg.type !== "next" || msg.id !== "1") return { error: "not a next for subscription 1" };
  if (msg.payload?.errors) return { error: "payload has errors" };
  const e = msg.payload?.data?.employeeUpdated;
  if (!e) return { error: "no data.employeeUpdated" };
  const keys = Object.keys(e).sort().join(",");
  const want = ["department", "id", "name", `v${v}`].sort().join(",");
  if (keys !== want) return { error: `fields ${keys}, expected ${want}` };
  if (e.id !== "1" || e.name !== "Employee 1" || e[`v${v}`] !== "Employee 1")
    return { error: "wrong values" };
  const m = /^Engineering #m(\d+)$/.exec(e.department);
  if (!m) return { error: `department ${JSON.stringify(e.department)} is not a measured-phase tag` };
  return { tag: m[1] };
}

function fmt(x) {
  if (x === null || x === undefined) return "–";
  return typeof x === "number" ? String(Math.round(x * 1000) / 1000) : String(x);
}

function busyList(list) {
  return list?.length ? list.map((p) => `${p.comm} ${p.pid} (${p.pcpu}%)`).join(", ") : "none";
}

function renderTable(r) {
  const lines = [
    "| distinct ops | run | `_entities` requests / event | p50 ms | p99 ms | max ms | delivered / expected | router CPU % | router starved % | router CPU ms / event | router RSS max MB | generator CPU % | publish→subgraph p50 ms | publish→first delivery p50 ms |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const { figures: p } of r.runs)
    lines.push(
      `| ${p.ops} | ${p.rep} | **${fmt(p.subgraphRequestsPerEvent)}** | ${fmt(p.latencyMs?.p50)} | ${fmt(p.latencyMs?.p99)} | ${fmt(p.latencyMs?.max)} | ${p.delivered} / ${p.expected} | ${fmt(p.routerCpuPct)} | ${fmt(p.routerRunQueueWaitPct)}${p.contended ? " **contended**" : ""} | ${fmt(p.routerCpuMsPerEvent)} | ${fmt(p.routerRssMaxMB)} | ${fmt(p.generatorCpuPct)} | ${fmt(p.publishToSubgraphMs?.p50)} | ${fmt(p.publishToFirstDeliveryMs?.p50)} |`,
    );
  return lines.join("\n");
}

function renderMd(r, file) {
  const m = r.machine;
  const out = [
    "# Scenario 4: resolve (entity resolution per event, 1 vs K distinct operations)",
    "",
    "Written by `bench/resolve.mjs` (do not edit by hand; full figures in the JSON).",
    "",
    `Command: \`${r.command}\` — ${r.timestamp} — **${r.status}** — \`${file}\``,
    "",
    `Machine: ${m.cpuModel}, ${m.cores} cores, ${Math.round(m.memBytes / 2 ** 30)} GiB, ${m.kernel}; node ${r.versions.node}; ${r.versions["nats-server"] ?? "nats-server ?"}. ` +
      `Pinning: ${r.layout.pinned ? `router on core ${r.layout.router}; generator (${r.layout.generatorWorkers} worker thread(s)), publisher, nats-server and subgraph on ${r.layout.load}` : "none"}. ` +
      `Commit ${r.source?.commit?.slice(0, 7) ?? "?"}, dist built ${r.source?.distFingerprint?.builtAt ?? "?"}${r.source?.srcChangedSinceCommit?.length ? ` (src/ differs from the commit: ${r.source.srcChangedSinceCommit.join(", ")})` : ""}.`,
    "",
    `Load average before/after: ${r.loadBefore.join(" ")} / ${r.loadAfter.join(" ")}. ` +
      `Processes of others at ≥ 5% CPU before/after: ${busyList(r.busyBefore)} / ${busyList(r.busyAfter)}. ` +
      `The machine is shared with other engineers' benchmarks and test suites${r.machineBusy ? "; this run counts as busy by bench/run.mjs's rule (1-min load > 0.7 or such processes): treat latency and CPU as noisy" : ""}.`,
    "",
    `${r.options.clients} clients (one subscription each, all on \`employeeUpdated(id: "1")\`), ${r.options.events} events at ${r.options.rate} ev/s per run, runs in the order ${r.runs.map((x) => `K=${x.ops}`).join(", ")}.`,
    "",
    renderTable(r),
    "",
    "Router starved % = time the router was runnable but waiting for its core (`/proc/<pid>/task/*/schedstat`), as % of the window; above 5% the run is marked contended (another process shared the router's core) and its latency is not the router's.",
    "",
    "| target | goal | measured (worst run) | met |",
    "| --- | --- | ---: | --- |",
    ...r.targets.map(
      (t) => `| ${t.figure} | ${t.target} | ${fmt(t.measured)} | ${t.met ? "yes" : `**no** (${t.by})`} |`,
    ),
    "",
    "How it is measured:",
    "",
    '- Processes: `nats-server -a 127.0.0.1 -p <free port>`; `bench/resolve-subgraph.mjs` (`@apollo/subgraph` schema on node:http, owns `Employee @key(fields: "id") { id name department }`, counts requests); `node dist/bin/streamgate.js --config <tmp>/c.yaml` (`taskset -c <last core>`, 1 worker) with the event-driven subgraph `employeeUpdated(id: ID!): Employee! @edfs__natsSubscribe(subjects: ["employeeUpdated.{{ args.id }}"])` and the employees subgraph by `routing_url` + `schema_file`.',
    '- Clients: raw `ws` sockets speaking graphql-transport-ws over generator worker threads; client i subscribes with `subscription V<k> { employeeUpdated(id: "1") { id name department v<k>: name } }`, k = i mod K. Fresh clients per run; warm-up events until every subscription delivered once, then the subgraph\'s counters are reset.',
    "- Requests per event: `_entities` requests counted by the subgraph over the measured window ÷ events. The router's own `streamgate_subgraph_requests_total` delta and its resolutions per event (= number of groups) are in the JSON too.",
    '- Latency: events are `{"id":"1","ts":…}`; clients cannot see `ts` (not in the schema), so a client\'s k-th frame is matched to event k\'s recorded publish time. The subgraph tags `department` with the ordinal of the `_entities` request (`Engineering #m<n>`), which proves the match (tags increase strictly with event position at every client) and shows from the client side how many subgraph answers each event used. Percentiles from HDR histograms merged over the worker threads.',
    "- Router CPU: utime+stime from `/proc/<pid>/stat` from the first publish to the last delivery; RSS: VmRSS sampled every 100 ms.",
    "",
  ];
  const failures = r.runs.flatMap((x) => x.failures);
  if (failures.length) out.push("Failures:", "", ...failures.map((f) => `- ${f}`), "");
  return `${out.join("\n")}\n`;
}
