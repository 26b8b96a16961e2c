#!/usr/bin/env node
/**
 * Issue 16's two runs past one process's open-file limit (bench/README.md, "Many instances"):
 *
 *   npm run bench -- many-instances [--instances 6] [--clients 100000] [--events 5] [options]
 *   npm run bench -- ceiling [--max-clients 30000] [--step 1000] [options]
 *
 * (also `node bench/many.mjs <name> …`). The load generator runs in several processes
 * (lib/gen-fleet.mjs), each holding fewer sockets than RLIMIT_NOFILE, with clients bound across
 * 127.0.0.x source addresses. With 2+ cores and taskset the instances share the last core and the
 * generator processes, the harness and nats-server the others (--no-pin: all float).
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { brokerPublisher } from "./lib/brokers.mjs";
import { startNats } from "./lib/proc.mjs";
import { renderAll, writeResult } from "./lib/report.mjs";
import { manyTargets, summarizeMany } from "./lib/report-many.mjs";
import {
  busyProcessesNow,
  coreLayout,
  distFingerprint,
  loadavg,
  machine,
  pin,
  REPO_ROOT,
  sourceState,
  versions,
} from "./lib/sys.mjs";
import { runCeiling } from "./scenarios/ceiling.mjs";
import { runManyInstances } from "./scenarios/many-instances.mjs";

/** Processes per generator so that none holds more than this many sockets (limit 20,000 here). */
const SOCKETS_PER_PROCESS = 16_700;

export const HELP = `npm run bench -- many-instances | ceiling [options]

many-instances: N router instances (one worker each, own process and port, one nats-server),
  C clients spread evenly, all on one subject; connect time, memory (empty, 3 s after the burst,
  peak, settled), one broker subscription per instance, K events each to every client.
  --instances N          instances (default 6)
  --clients C            clients (default 100000)
  --events K             events, one at a time (default 5)
  --settle s             idle seconds before "settled" memory (default 30)
  --event-gap ms         pause before each event (default 1000)
  --stack a,b            streamgate (default), uws-floor (the bare uWS.js floor, same layout),
                         streamgate-base (STREAMGATE_BASE_CLI); several run one after another
  --cpu-prof dir         CPU profile of instance 0 over the events (Streamgate)
ceiling: one router; clients added --step at a time until connections fail or --max-clients
  were attempted; what stopped it, RSS there, an event to every held client, /health/ready.
  --max-clients n        most clients attempted (default 30000)
  --step n               clients per step (default 1000)
  --handshake-timeout s  a connection not acknowledged by then failed (default 20)
  --max-connections n    the router's limits.max_connections (default: its own, 50000)
Both:
  --gen-processes n      generator processes (default: one per ${SOCKETS_PER_PROCESS} clients, at
                         least one per instance)
  --gen-workers n        worker threads per generator process (default 1)
  --address-block n|auto clients per 127.0.0.x source address. auto (default): none bound while
                         every instance gets < 25000 clients (connect() picks source ports per
                         destination, and each instance is its own), else 10000 per address
  --concurrency n        handshakes in flight per generator worker (default 256)
  --client ws|raw        generator sockets (default ws)
  --empty-settle s       seconds after start before the empty figures (default 10: the
                         router trims its start-up heap 5+ s after it listens)
  --node-args="a b"      node flags for every instance
  --no-pin, --out dir, --tag name, --no-render   as for the other scenarios
`;

/**
 * Clients per bound source address. Binding a source address (`localAddress`) makes the kernel
 * search the port range at bind(2), which cost the generator ~1.5 ms of kernel time per connection
 * once tens of thousands of ports were bound (measured: 85% of its CPU while connecting 100k);
 * connect(2) without a bind picks a port per destination (address, port), so clients spread over
 * several instances need no source addresses until one instance gets ~28k of them.
 */
export function addressBlock(option, perInstance) {
  if (option !== "auto") return Number(option);
  return perInstance < 25_000 ? 1e9 : 10_000;
}

const NUMBERS = { "many-instances": 97, ceiling: 98 };

function parse(argv) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      instances: { type: "string", default: "6" },
      clients: { type: "string", default: "100000" },
      events: { type: "string", default: "5" },
      settle: { type: "string", default: "30" },
      "event-gap": { type: "string", default: "1000" },
      "empty-settle": { type: "string", default: "10" },
      stack: { type: "string", default: "streamgate" },
      "max-clients": { type: "string", default: "30000" },
      step: { type: "string", default: "1000" },
      "handshake-timeout": { type: "string", default: "20" },
      "max-connections": { type: "string" },
      "gen-processes": { type: "string" },
      "gen-workers": { type: "string", default: "1" },
      "address-block": { type: "string", default: "auto" },
      concurrency: { type: "string", default: "256" },
      client: { type: "string", default: "ws" },
      "no-pin": { type: "boolean" },
      "cpu-prof": { type: "string" },
      "node-args": { type: "string" },
      out: { type: "string", default: join(REPO_ROOT, "bench/results") },
      tag: { type: "string" },
      "no-render": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
}

export async function main(argv = process.argv.slice(2)) {
  const { values, positionals } = parse(argv);
  const name = positionals[0];
  if (values.help || !NUMBERS[name]) {
    process.stdout.write(HELP);
    return values.help ? 0 : 2;
  }
  const ceiling = name === "ceiling";
  const clients = Number(ceiling ? values["max-clients"] : values.clients);
  const instances = ceiling ? 1 : Number(values.instances);
  const opts = {
    clients,
    instances,
    events: Number(values.events),
    settleS: Number(values.settle),
    eventGapMs: Number(values["event-gap"]),
    emptySettleS: Number(values["empty-settle"]),
    maxClients: clients,
    step: Number(values.step),
    handshakeTimeoutMs: Number(values["handshake-timeout"]) * 1000,
    maxConnections: values["max-connections"] ? Number(values["max-connections"]) : undefined,
    genProcesses: Number(
      values["gen-processes"] ?? Math.max(ceiling ? 1 : instances, Math.ceil(clients / SOCKETS_PER_PROCESS)),
    ),
    genWorkers: Number(values["gen-workers"]),
    addressBlock: addressBlock(values["address-block"], clients / instances),
    concurrency: Number(values.concurrency),
    client: values.client,
    warmEveryMs: clients > 20_000 ? 1000 : 250,
    warmupTimeoutMs: 180_000,
    drainTimeoutMs: 180_000,
    nodeArgs: values["node-args"] ? values["node-args"].split(/\s+/).filter(Boolean) : [],
    profileDir: values["cpu-prof"],
  };
  const stacks = values.stack.split(",").map((s) => s.trim());
  const layout = coreLayout(values["no-pin"]);
  if (layout) pin(process.pid, layout.load);
  const log = (m) => process.stderr.write(`[bench ${name}] ${m}\n`);

  const loadBefore = loadavg();
  const busyBefore = await busyProcessesNow();
  const startedAt = new Date();
  log(`clients=${clients} instances=${instances} stacks=${stacks.join(",")} generator processes=${opts.genProcesses} load=${loadBefore.join(" ")}`);
  const nats = await startNats({ cpus: layout?.load, monitor: true });
  const pub = await brokerPublisher("nats", nats.url);
  const runs = [];
  try {
    for (const stackName of stacks) {
      const t0 = performance.now();
      const runLoad = loadavg();
      const dist = stackName.startsWith("streamgate") ? distFingerprint() : undefined;
      try {
        const run = ceiling ? runCeiling : runManyInstances;
        const { failures, figures } = await run({ stackName, opts, nats, pub, layout, log });
        runs.push({
          stack: stackName,
          rep: 1,
          status: failures.length ? "FAILED" : "PASSED",
          failures,
          seconds: Math.round((performance.now() - t0) / 100) / 10,
          ...(dist ? { dist } : {}),
          loadBefore: runLoad,
          loadAfter: loadavg(),
          figures,
        });
        log(`${stackName}: ${failures.length ? `FAILED: ${failures.join("; ")}` : "passed"}`);
      } catch (err) {
        log(`${stackName}: error ${err?.stack ?? err}`);
        runs.push({ stack: stackName, rep: 1, status: "FAILED", failures: [`harness error: ${err?.message ?? err}`] });
      }
    }
  } finally {
    await pub.close();
    await nats.stop();
  }
  const loadAfter = loadavg();
  const busyAfter = await busyProcessesNow();
  const failed = runs.some((r) => r.status === "FAILED");
  const summary = summarizeMany(name, runs);
  const result = {
    scenario: name,
    number: NUMBERS[name],
    ...(values.tag ? { tag: values.tag } : {}),
    timestamp: startedAt.toISOString(),
    command: `npm run bench -- ${argv.join(" ")}`,
    status: failed ? "FAILED" : "PASSED",
    machine: machine(),
    versions: versions(),
    source: sourceState(),
    layout: {
      pinned: Boolean(layout),
      router: layout?.router ?? null,
      load: layout?.load ?? null,
      generatorWorkers: `${opts.genProcesses} processes × ${opts.genWorkers} worker thread(s)`,
    },
    broker: "nats",
    options: { ...opts, stacks },
    loadBefore,
    loadAfter,
    busyBefore,
    busyAfter,
    machineBusy: loadBefore[0] > 0.7 || busyBefore.length > 0 || busyAfter.length > 0,
    summary,
    targets: manyTargets(name, summary, opts),
    notes: notesFor(name, opts, layout),
    runs,
  };
  const file = await writeResult(values.out, result);
  if (!values["no-render"]) await renderAll(values.out);
  log(`${result.status}: ${file}`);
  process.stdout.write(`${JSON.stringify({ status: result.status, file, summary, targets: result.targets }, null, 2)}\n`);
  return failed ? 1 : 0;
}

function notesFor(name, opts, layout) {
  const notes = [
    layout
      ? `pinned: every instance on core ${layout.router}; generator processes, harness and nats-server on core(s) ${layout.load}`
      : "not pinned: instances, generator and nats-server float over all cores",
    `the generator (${opts.genProcesses} processes) shares this ${machine().cores}-core machine with the instances: its CPU is in each phase (generatorCpuPct)`,
    "summed RSS counts the node binary's and uWS's shared file-backed pages once per instance; sumSharedOnceMB counts them once (anonymous memory of every instance + one file-backed part); Pss divides shared pages among all node processes, the generator's too",
  ];
  if (name === "ceiling")
    notes.push(
      "a connection the router cannot accept (out of descriptors) waits in the kernel's listen backlog: the client sees no answer, not a refusal; --handshake-timeout decides when it counts as failed",
    );
  return notes;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`bench: ${err?.stack ?? err}\n`);
      process.exit(2);
    },
  );
}
