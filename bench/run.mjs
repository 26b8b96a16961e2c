#!/usr/bin/env node
/**
 * Streamgate's benchmark harness (shared/spec/bench.md). Plain ESM JavaScript: no build step.
 *
 *   npm run bench -- <scenario> [--clients N] [--stack a,b,c] [--duration s] [--rate r] [options]
 *   npm run bench -- --help
 *
 * Stacks run one at a time, each as its own process pinned to the last core; this process is the
 * load generator (worker threads) and publisher, pinned with the broker to the other cores. With
 * --repeat 2 (the default) the order is A B C D A B C D and the figures are medians.
 */
import os from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { setUp, startBroker } from "./lib/harness.mjs";
import { evaluate, reevaluate, renderAll, summarize, writeResult } from "./lib/report.mjs";
import { fetchWaitMs, kafkaNote, kafkaVersions, setFetchWaitMs } from "./lib/kafka.mjs";
import { availableBrokers, brokerTodo, DEFAULT_STACKS, STACKS } from "./lib/stacks.mjs";
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
import { PRESETS } from "./lib/presets.mjs";
import broadcast from "./scenarios/broadcast.mjs";
import churn from "./scenarios/churn.mjs";
import herd from "./scenarios/herd.mjs";
import idle from "./scenarios/idle.mjs";
import { resolve as resolveScenario } from "./scenarios/later.mjs";
import resume from "./scenarios/resume.mjs";
import sharded from "./scenarios/sharded.mjs";
import slow from "./scenarios/slow.mjs";

const SCENARIOS = { idle, broadcast, sharded, resolve: resolveScenario, churn, slow, resume, herd };
const ALIASES = { 1: "idle", 2: "broadcast", 3: "sharded", 4: "resolve", 5: "churn", 6: "slow" };

const HELP = `npm run bench -- <scenario> [options]

Scenarios: 1|idle, 2|broadcast, 3|sharded, 5|churn, 6|slow  (4|resolve: bench/resolve.mjs)
           resume, herd (issue 11; JetStream, at-least-once)
           many-instances, ceiling (issue 16; bench/many.mjs: --help there)
Comparisons (a scenario on two variants, A B A B; see bench/README.md):
           ${Object.entries(PRESETS)
             .map(
               ([n, p]) =>
                 `${n} = ${p.scenario} --stack ${p.stacks.join(",")}${p.broker ? ` --broker ${p.broker}` : ""}`,
             )
             .join("\n           ")}
           --render-only re-renders bench/results/README.md and chart.svg from latest-*.json

Options:
  --clients N            clients (one subscription each); default per scenario (10000)
  --stack a,b,c          ${Object.keys(STACKS).join(", ")} (default ${DEFAULT_STACKS.join(",")})
  --duration s           idle hold / publish window / churn window / sharded step, seconds
                         (broadcast: a comma list gives one duration per rate, e.g. 10,5,2)
  --rate r               broadcast: events/s, comma list (default 1,10,100); churn: cycles/s (500);
                         slow: events/s (100); sharded: first step's events/s, all topics (500)
  --max-rate r           sharded: last step's events/s at most (default 256000; steps double)
  --p99-limit ms         sharded: a step with a higher p99 ends the ramp (default 100)
  --events n             broadcast: at least n events per rate (default 5)
  --broker b             nats (default) | jetstream (nats-server -js, a stream, acked publishes)
                         | memory (Streamgate only: publish mutation over HTTP)${availableBrokers().includes("redis") ? " | redis" : ""}${availableBrokers().includes("kafka") ? " | kafka\n                         (kafka = librdkafka's in-memory mock cluster, not Apache Kafka)" : ""}${brokerTodo()
                           .map((t) => `\n                         ${t}`)
                           .join("")}
  --kafka-fetch-wait ms  kafka: fetch.wait.max.ms of every stack's consumer (default 10; see README)
  --topics k             spread clients over k topics (default 1; sharded: 1000)
  --repeat n             repetitions, stacks interleaved (default 2: A B A B)
  --payload bytes        slow: event size (default 1024)
  --max-backpressure b   slow: Streamgate limits.max_backpressure and the floor's (default 262144)
  --policy drop|close    slow: Streamgate limits.slow_client_policy (default drop)
  --workers n            generator worker threads (default: cores left to the generator)
  --concurrency n        handshakes in flight per worker (default 256)
  --client ws|raw        generator sockets: the \`ws\` library (default) or bench/lib/raw-ws.mjs, a
                         minimal client on \`net\` that parses frames in place (cheaper per delivery)
  --no-pin               do not pin with taskset
  --out dir              results directory (default bench/results)
  --tag name             a variant's name: results go to latest-<scenario>-<name>.json
  --no-render            do not re-render README.md / chart.svg
  --cpu-prof dir         CPU-profile Streamgate over the measurement window (inspector, not start-up):
                         idle hold, every broadcast phase; <dir>/streamgate-<scenario>.cpuprofile
  --heap-snapshot dir    idle: heap snapshots of Streamgate before connecting and after the hold
  --node-args="a b"      extra node flags for Streamgate's process (e.g. --max-semi-space-size=1)
  --trials n             resume: trials (default 20)
  --missed n             resume: events missed before each resume (default 1000)
  --kill-at s            herd: SIGKILL the router s seconds into publishing (default 5)
  --down s               herd: seconds before it starts again (default 2)
  --resume-concurrency n herd: reconnects in flight per generator worker (default: all at once)
`;

function parse() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      clients: { type: "string" },
      stack: { type: "string" },
      duration: { type: "string" },
      rate: { type: "string" },
      events: { type: "string" },
      broker: { type: "string" },
      trials: { type: "string" },
      missed: { type: "string" },
      "kill-at": { type: "string" },
      down: { type: "string" },
      "resume-concurrency": { type: "string" },
      topics: { type: "string" },
      "max-rate": { type: "string" },
      "p99-limit": { type: "string" },
      "kafka-fetch-wait": { type: "string" },
      repeat: { type: "string", default: "2" },
      payload: { type: "string" },
      "max-backpressure": { type: "string", default: "262144" },
      policy: { type: "string", default: "drop" },
      workers: { type: "string" },
      concurrency: { type: "string", default: "256" },
      client: { type: "string", default: "ws" },
      "no-pin": { type: "boolean" },
      out: { type: "string", default: join(REPO_ROOT, "bench/results") },
      "no-render": { type: "boolean" },
      "render-only": { type: "boolean" },
      "cpu-prof": { type: "string" },
      "heap-snapshot": { type: "string" },
      "node-args": { type: "string" },
      tag: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  return { values, positionals };
}

/** Runs that spread the generator over processes live in bench/many.mjs (issue 16). */
const MANY = new Set(["many-instances", "ceiling"]);

async function main() {
  if (MANY.has(process.argv[2])) return (await import("./many.mjs")).main(process.argv.slice(2));
  const { values, positionals } = parse();
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values["render-only"]) {
    await reevaluate(values.out);
    await renderAll(values.out);
    process.stdout.write(`rendered ${values.out}/README.md and chart.svg\n`);
    return 0;
  }
  const preset = PRESETS[positionals[0]];
  const name = preset?.scenario ?? ALIASES[positionals[0]] ?? positionals[0];
  const scenario = SCENARIOS[name];
  if (preset) values.tag ??= positionals[0];
  if (!scenario) {
    process.stderr.write(`unknown scenario ${positionals[0] ?? "(none)"}\n\n${HELP}`);
    return 2;
  }
  if (scenario.notBuilt) {
    process.stderr.write(`scenario ${scenario.number} (${name}): ${scenario.notBuilt}\n`);
    return 2;
  }
  const d = { ...scenario.defaults, ...preset?.defaults };
  const stacks = (values.stack ?? (preset?.stacks ?? d.stacks ?? DEFAULT_STACKS).join(","))
    .split(",")
    .map((s) => s.trim());
  for (const s of stacks) if (!STACKS[s]) throw new Error(`unknown stack ${s}`);
  const broker = values.broker ?? preset?.broker ?? d.broker ?? "nats";
  if (!availableBrokers().includes(broker)) {
    process.stderr.write(`broker ${broker}: not runnable here. ${brokerTodo().join(" ")}\n`);
    return 2;
  }

  if (values["kafka-fetch-wait"] !== undefined) setFetchWaitMs(Number(values["kafka-fetch-wait"]));
  const layout = coreLayout(values["no-pin"]);
  if (layout) pin(process.pid, layout.load);
  const loadCores = layout?.loadCores ?? os.availableParallelism();
  const rates = values.rate ? values.rate.split(",").map(Number) : undefined;
  const opts = {
    clients: Number(values.clients ?? d.clients),
    duration: Number((values.duration ?? String(d.duration)).split(",")[0]),
    durations: values.duration?.includes(",")
      ? values.duration.split(",").map(Number)
      : values.duration
        ? undefined
        : d.durations,
    rates: name === "broadcast" ? (rates ?? d.rates) : undefined,
    rate: name !== "broadcast" ? (rates?.[0] ?? d.rate) : undefined,
    events: Number(values.events ?? d.events ?? 5),
    payload: Number(values.payload ?? d.payload ?? 0),
    slowFraction: d.slowFraction,
    topicsCount: Number(values.topics ?? d.topics ?? 1),
    maxRate: Number(values["max-rate"] ?? d.maxRate ?? 0),
    p99Limit: Number(values["p99-limit"] ?? d.p99Limit ?? 100),
    ...(broker === "kafka" ? { kafkaFetchWaitMs: fetchWaitMs() } : {}),
    trials: Number(values.trials ?? d.trials ?? 20),
    missed: Number(values.missed ?? d.missed ?? 1000),
    killAt: Number(values["kill-at"] ?? d.killAt ?? 5),
    down: Number(values.down ?? d.down ?? 2),
    resumeConcurrency: Number(values["resume-concurrency"] ?? values.clients ?? d.clients),
    resumeTimeoutMs: 30_000,
    ...(preset ? { preset: positionals[0] } : {}),
    repeat: Number(values.repeat),
    workers: Number(values.workers ?? loadCores),
    loadCores,
    concurrency: Number(values.concurrency),
    client: values.client,
    warmupTimeoutMs: 120_000,
    drainTimeoutMs: 180_000,
  };
  const limits =
    name === "slow"
      ? { max_backpressure: Number(values["max-backpressure"]), slow_client_policy: values.policy }
      : {};
  const topics = Array.from({ length: opts.topicsCount }, (_, i) => String(i + 1));
  const nodeArgs = values["node-args"] ? values["node-args"].split(/\s+/).filter(Boolean) : [];
  if (values["cpu-prof"]) opts.profileDir = values["cpu-prof"];
  if (values["heap-snapshot"]) {
    opts.heapSnapshot = values["heap-snapshot"];
    nodeArgs.push("--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${values["heap-snapshot"]}`);
  }

  const loadBefore = loadavg();
  const busyBefore = await busyProcessesNow();
  const startedAt = new Date();
  const log = (m) => process.stderr.write(`[bench ${name}] ${m}\n`);
  log(
    `clients=${opts.clients} stacks=${stacks.join(",")} repeat=${opts.repeat} broker=${broker} load=${loadBefore.join(" ")}`,
  );
  const b = await startBroker(broker, layout, { topics });
  const brokerInfo = { kind: broker, ...b };
  const runs = [];
  try {
    for (let rep = 1; rep <= opts.repeat; rep++) {
      for (const stackName of stacks) {
        const stack = STACKS[stackName];
        if (stack.skip) {
          if (rep === 1) runs.push({ stack: stackName, rep, skipped: stack.skip });
          continue;
        }
        log(`${stackName} #${rep}: starting`);
        const t0 = performance.now();
        const dist = stackName.startsWith("streamgate") ? distFingerprint() : undefined;
        const runLoad = loadavg();
        let ctx;
        try {
          ctx = await setUp({
            stackName,
            opts,
            broker: brokerInfo,
            layout,
            limits,
            nodeArgs: stackName === "streamgate" || STACKS[stackName].variant ? nodeArgs : [],
            topics,
          });
          if (ctx.skipped) {
            log(`${stackName}: skipped (${ctx.skipped})`);
            if (rep === 1) runs.push({ stack: stackName, rep, skipped: ctx.skipped });
            continue;
          }
          const { figures, failures } = await scenario.run(ctx, opts);
          const exitCode = await ctx.close();
          ctx = undefined;
          runs.push({
            stack: stackName,
            rep,
            status: failures.length ? "FAILED" : "PASSED",
            failures,
            seconds: Math.round((performance.now() - t0) / 100) / 10,
            exitCode,
            ...(dist ? { dist } : {}),
            loadBefore: runLoad,
            figures,
          });
          log(`${stackName} #${rep}: ${failures.length ? `FAILED: ${failures.join("; ")}` : "passed"}`);
        } catch (err) {
          log(`${stackName} #${rep}: error ${err?.stack ?? err}`);
          runs.push({
            stack: stackName,
            rep,
            status: "FAILED",
            failures: [`harness error: ${err?.message ?? err}`],
          });
        } finally {
          await ctx?.close?.().catch(() => {});
        }
      }
    }
  } finally {
    await b.stop();
  }

  const loadAfter = loadavg();
  const busyAfter = await busyProcessesNow();
  const summary = summarize(name, runs);
  const { ratios, targets } = evaluate(name, summary, opts, runs);
  const failed = runs.some((r) => r.status === "FAILED");
  const notes = [];
  if (!layout) notes.push("not pinned (one core or no taskset): stack and generator share cores");
  const saturated = runs.some(
    (r) => r.figures?.generatorSaturated || r.figures?.phases?.some((p) => p.generatorSaturated),
  );
  if (saturated)
    notes.push(
      "the load generator saturated its core(s) in at least one phase: deliveries/s and latency there are bounded by the generator, not only by the stack",
    );
  notes.push(`Hive Gateway: ${STACKS.hive.skip}`);
  if (broker === "kafka") notes.push(kafkaNote());
  if (name === "broadcast") notes.push(...brokerTodo());
  const machineBusy = loadBefore[0] > 0.7 || busyBefore.length > 0 || busyAfter.length > 0;
  const result = {
    scenario: name,
    number: scenario.number,
    ...(values.tag ? { tag: values.tag } : {}),
    timestamp: startedAt.toISOString(),
    command: `npm run bench -- ${process.argv.slice(2).join(" ")}`,
    status: failed ? "FAILED" : "PASSED",
    machine: machine(),
    versions: { ...versions(), ...(broker === "kafka" ? kafkaVersions() : {}) },
    source: sourceState(),
    layout: {
      pinned: Boolean(layout),
      router: layout?.router ?? null,
      load: layout?.load ?? null,
      generatorWorkers: opts.workers,
    },
    broker,
    options: { ...opts, stacks, limits, topics: opts.topicsCount },
    loadBefore,
    loadAfter,
    busyBefore,
    busyAfter,
    machineBusy,
    summary,
    ratios,
    targets,
    notes,
    runs,
  };
  const file = await writeResult(values.out, result);
  if (!values["no-render"]) await renderAll(values.out);
  log(`${result.status}: ${file}`);
  process.stdout.write(
    `${JSON.stringify({ status: result.status, file, summary, ratios, targets }, null, 2)}\n`,
  );
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`bench: ${err?.stack ?? err}\n`);
    process.exit(2);
  },
);
