#!/usr/bin/env node
/**
 * What the Redis provider's subscriptions cost the broker: PUBLISH throughput of one redis-server
 * while N exact channels (`bench.notifications.<i>`, like `notifications.{{ args.id }}` for N users)
 * are subscribed by
 *
 *   - `psubscribe-all`: the old provider, emulated with raw ioredis: every channel PSUBSCRIBEd, so
 *     Redis matches each PUBLISH against all N patterns;
 *   - `provider`: the RedisProvider of src/providers/redis as it is now (one subscribe() call per
 *     channel, as the router makes them), which SUBSCRIBEs channels without wildcards.
 *
 *   node bench/redis-patterns.mjs [--counts 0,1000,10000] [--duration 5] [--targets hit,miss]
 *                                 [--repeat 3] [--batch 200] [--inflight 4] [--warmup 1] [--out <json>]
 *   node bench/redis-patterns.mjs --render bench/results/redis-patterns.json
 *
 * Plain ESM, no build step: the provider's TypeScript is transpiled (typescript's transpileModule,
 * no type check) into a temporary directory and imported from there, so the numbers are for the
 * source in this tree, not for a dist/ someone else may have built. Every measurement gets a fresh
 * `redis-server --save "" --appendonly no` on a free loopback port (Redis 7.0 stays slower after
 * holding many patterns, see onFreshServer); the subscriber runs in a child process so its CPU
 * does not slow the publisher's event loop. The publisher sends pipelined PUBLISH (`--inflight`
 * pipelines of `--batch` commands in flight) for `--duration` seconds after `--warmup`.
 *
 * Targets: `hit` publishes round-robin on the N subscribed channels (each message is delivered to
 * the subscriber once: checked from PUBLISH's receiver counts and from the subscriber's own count);
 * `miss` publishes on channels nobody subscribed (pure matching cost). With N = 0 both publish to
 * nobody. Each (N, target) runs `--repeat` times (default 3), old and new back to back, which one
 * goes first alternating. Writes bench/results/redis-patterns.json and prints a Markdown table;
 * `--render <json>` re-renders the table of a saved run.
 */
import { execFileSync, fork, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import os from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";

const REPO_ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const CHANNEL = (i) => `bench.notifications.${i}`;
const MISS = (i) => `bench.nobody.${i}`;
const PAYLOAD = JSON.stringify({ id: "0000000000", name: "x".repeat(40) }); // ~64 bytes

async function main() {
  const { values } = parseArgs({
    options: {
      counts: { type: "string", default: "0,1000,10000" },
      duration: { type: "string", default: "5" },
      warmup: { type: "string", default: "1" },
      targets: { type: "string", default: "hit,miss" },
      batch: { type: "string", default: "200" },
      inflight: { type: "string", default: "4" },
      repeat: { type: "string", default: "3" },
      out: { type: "string", default: join(REPO_ROOT, "bench/results/redis-patterns.json") },
      render: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(readFileSync(new URL(import.meta.url), "utf8").split("*/")[0]);
    return;
  }
  if (values.render) {
    render(values.render);
    return;
  }
  const counts = values.counts.split(",").map(Number);
  const repeat = Number(values.repeat);
  const targets = values.targets.split(",");
  const opts = {
    durationMs: Number(values.duration) * 1000,
    warmupMs: Number(values.warmup) * 1000,
    batch: Number(values.batch),
    inflight: Number(values.inflight),
  };
  const command = `node bench/redis-patterns.mjs ${process.argv.slice(2).join(" ")}`.trim();

  const build = transpileProvider();
  const { Redis } = await import("ioredis");
  let redisVersion = null;
  /**
   * One measurement on a redis-server of its own: Redis 7.0 does not shrink its pattern table once
   * patterns are gone, and every later PUBLISH still walks it (measured: a server that held 10,000
   * patterns publishes ~5x slower after PUNSUBSCRIBE and disconnect, until restarted).
   */
  const onFreshServer = async (what) => {
    const server = await startRedisServer();
    const admin = new Redis(server.port);
    const pub = new Redis(server.port);
    try {
      redisVersion ??= /redis_version:(\S+)/.exec(await admin.info("server"))?.[1] ?? null;
      return await what(server.port, admin, pub);
    } finally {
      admin.disconnect();
      pub.disconnect();
      await server.stop();
    }
  };
  const loadBefore = os.loadavg();
  const runs = [];
  try {
    for (let rep = 1; rep <= repeat; rep++) {
      for (const n of counts) {
        for (const target of targets) {
          // Old and new back to back for each (N, target), so both see the same machine state;
          // which goes first alternates between repetitions.
          const modes = rep % 2 ? ["psubscribe-all", "provider"] : ["provider", "psubscribe-all"];
          for (const mode of modes) {
            const r = await onFreshServer((port, admin, pub) =>
              measure({ mode, n, target, port, build, admin, pub, opts }),
            );
            runs.push({ rep, ...r, loadavg1: round2(os.loadavg())[0] });
            console.error(
              `#${rep} N=${n} ${target} ${mode}: ${Math.round(r.publishesPerSec)} publishes/s ` +
                `(sub=${r.broker.sub} psub=${r.broker.psub} numpat=${r.broker.numpat}, ` +
                `setup ${r.setupMs} ms, load ${round2(os.loadavg())[0]})${r.ok ? "" : ` FAILED: ${r.problem}`}`,
            );
          }
        }
      }
    }
  } finally {
    rmSync(build.dir, { recursive: true, force: true });
  }

  const results = aggregate(runs);
  const report = {
    benchmark: "redis-patterns",
    timestamp: new Date().toISOString(),
    command,
    options: { counts, targets, repeat, ...opts, payloadBytes: Buffer.byteLength(PAYLOAD) },
    machine: {
      cpuModel: os.cpus()[0]?.model ?? "unknown",
      cores: os.cpus().length,
      loadavgBefore: round2(loadBefore),
      loadavgAfter: round2(os.loadavg()),
    },
    versions: { node: process.version, redis: redisVersion, ioredis: pkgVersion("ioredis") },
    source: sourceState(build),
    results,
    runs,
    table: table(results, runs),
  };
  mkdirSync(dirname(values.out), { recursive: true });
  writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(report.table);
  console.log(`\n${command}\nwrote ${relative(process.cwd(), values.out)}`);
  const bad = runs.filter((r) => !r.ok);
  if (bad.length) {
    console.error(
      `FAILED: ${bad.map((r) => `#${r.rep} ${r.mode} N=${r.n} ${r.target}: ${r.problem}`).join("; ")}`,
    );
    process.exitCode = 1;
  }
}

/** One run: a subscriber child with `n` channels in `mode`, then pipelined PUBLISH for the duration. */
async function measure({ mode, n, target, port, build, admin, pub, opts }) {
  const sub = fork(new URL(import.meta.url).pathname, ["--child"], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const reply = messages(sub);
  sub.send({ mode, n, port, providerUrl: build.providerUrl });
  const { setupMs } = await reply("ready");
  const broker = await brokerView(admin);
  const channel = target === "hit" && n > 0 ? (i) => CHANNEL(i % n) : (i) => MISS(i % 1000);

  let i = 0;
  /** `inflight` pipelines of `batch` PUBLISHes, back to back for `ms`; every reply is checked. */
  const phase = async (ms) => {
    const stopAt = Date.now() + ms;
    let done = 0;
    let receivers = 0;
    const worker = async () => {
      while (Date.now() < stopAt) {
        const p = pub.pipeline();
        for (let k = 0; k < opts.batch; k++) p.publish(channel(i++), PAYLOAD);
        for (const [err, count] of await p.exec()) {
          if (err) throw err;
          receivers += count;
          done++;
        }
      }
    };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: opts.inflight }, worker));
    return { done, receivers, elapsedMs: performance.now() - t0 };
  };
  const deliveries = (published) => (target === "hit" && n > 0 ? published : 0);

  const warm = await phase(opts.warmupMs); // not counted
  // Redis answered every warm-up PUBLISH; wait for their deliveries before the measured phase.
  const { received: warmReceived } = await reply("drained", {
    type: "drain",
    expected: deliveries(warm.done),
  });
  const { done, receivers, elapsedMs } = await phase(opts.durationMs);
  const expected = deliveries(done);
  const { received } = await reply("drained", { type: "drain", expected: warmReceived + expected });
  sub.send({ type: "exit" });
  await new Promise((r) => sub.once("exit", r));
  const delivered = received - warmReceived;
  const problem =
    warmReceived !== deliveries(warm.done)
      ? `the subscriber got ${warmReceived} warm-up messages for ${deliveries(warm.done)} expected`
      : receivers !== expected
        ? `PUBLISH reported ${receivers} receivers for ${expected} expected deliveries`
        : delivered !== expected
          ? `the subscriber got ${delivered} messages for ${expected} expected`
          : mode === "provider" && (broker.psub !== 0 || broker.sub !== n)
            ? `the provider holds sub=${broker.sub} psub=${broker.psub}, expected sub=${n} psub=0`
            : null;
  return {
    mode,
    n,
    target,
    publishes: done,
    elapsedMs: Math.round(elapsedMs),
    publishesPerSec: (done / elapsedMs) * 1000,
    delivered,
    setupMs,
    broker,
    ok: problem === null,
    ...(problem ? { problem } : {}),
  };
}

/** One result per (N, target, mode): the median of its repetitions, and every one of them. */
function aggregate(runs) {
  const groups = new Map();
  for (const r of runs) {
    const k = `${r.n}|${r.target}|${r.mode}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  return [...groups.values()].map((rs) => ({
    mode: rs[0].mode,
    n: rs[0].n,
    target: rs[0].target,
    publishesPerSec: median(rs.map((r) => r.publishesPerSec)),
    perRun: rs.map((r) => Math.round(r.publishesPerSec)),
    setupMs: median(rs.map((r) => r.setupMs)),
    broker: rs[0].broker,
    ok: rs.every((r) => r.ok),
  }));
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The subscriber's connection as the broker sees it (CLIENT LIST sub=/psub=) and PUBSUB NUMPAT. */
async function brokerView(admin) {
  const line = String(await admin.client("LIST"))
    .split("\n")
    .find((l) => / name=(bench|streamgate:bench):sub /.test(l));
  const field = (k) => Number(new RegExp(` ${k}=(\\d+)`).exec(line ?? "")?.[1] ?? Number.NaN);
  return { sub: field("sub"), psub: field("psub"), numpat: Number(await admin.call("PUBSUB", "NUMPAT")) };
}

/**
 * The Markdown table: per (N, target) the median publishes/s of each mode and, since the machine's
 * load changes between repetitions, the speed-up of each back-to-back pair (median, min–max).
 */
function table(results, runs) {
  const rows = [
    "| N exact channels | publishes to | old: PSUBSCRIBE each, publishes/s | now: provider, publishes/s | speed-up per pair: median (min–max) | subscribing N took, old / now |",
    "| ---: | --- | ---: | ---: | ---: | ---: |",
  ];
  const fmt = (x) => Math.round(x).toLocaleString("en-US");
  const note = (r) => (r.ok ? "" : " (FAILED)");
  for (const old of results.filter((r) => r.mode === "psubscribe-all")) {
    const now = results.find((r) => r.mode === "provider" && r.n === old.n && r.target === old.target);
    if (!now) continue;
    const ratios = pairRatios(runs, old.n, old.target);
    const range =
      ratios.length > 1 ? ` (${Math.min(...ratios).toFixed(1)}–${Math.max(...ratios).toFixed(1)})` : "";
    const target =
      old.n === 0 ? `nobody (${old.target} run)` : old.target === "hit" ? "the N channels" : "other channels";
    rows.push(
      `| ${fmt(old.n)} | ${target} | ${fmt(old.publishesPerSec)}${note(old)} | ${fmt(now.publishesPerSec)}${note(now)} | ` +
        `${median(ratios).toFixed(1)}×${range} | ${fmt(old.setupMs)} / ${fmt(now.setupMs)} ms |`,
    );
  }
  return rows.join("\n");
}

/** now/old for each repetition of (n, target): the two ran back to back, on the same machine state. */
function pairRatios(runs, n, target) {
  const reps = [...new Set(runs.map((r) => r.rep))];
  return reps.flatMap((rep) => {
    const pick = (mode) =>
      runs.find((r) => r.rep === rep && r.n === n && r.target === target && r.mode === mode);
    const [old, now] = [pick("psubscribe-all"), pick("provider")];
    return old && now ? [now.publishesPerSec / old.publishesPerSec] : [];
  });
}

/** --render <json>: recomputes results and table of a saved run (after changing how they are shown). */
function render(path) {
  const report = JSON.parse(readFileSync(path, "utf8"));
  report.results = aggregate(report.runs);
  report.table = table(report.results, report.runs);
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`${report.table}\n\n${report.command}`);
}

// ---------------------------------------------------------------------------------------------
// The subscriber child.

async function child() {
  const { Redis } = await import("ioredis");
  let received = 0;
  let close = async () => undefined;
  const onMessage = async (msg) => {
    if (msg.type === "drain") {
      // Everything published was answered by Redis; the deliveries may still be on their way.
      const deadline = Date.now() + 30_000;
      let last = -1;
      let quietSince = Date.now();
      while (Date.now() < deadline && received < msg.expected) await sleep(10);
      // Then a short quiet period, so a duplicate would be counted too.
      while (Date.now() - quietSince < 200 && Date.now() < deadline) {
        if (received !== last) [last, quietSince] = [received, Date.now()];
        await sleep(20);
      }
      process.send({ type: "drained", received });
    } else if (msg.type === "exit") {
      await close();
      process.exit(0);
    } else {
      const { mode, n, port, providerUrl } = msg;
      const channels = Array.from({ length: n }, (_, i) => CHANNEL(i));
      const t0 = performance.now();
      if (mode === "psubscribe-all") {
        const client = new Redis(port, { connectionName: "bench:sub" });
        client.on("pmessageBuffer", () => received++);
        // One pattern per channel, as the old provider sent them; one PSUBSCRIBE per 1000.
        for (let i = 0; i < n; i += 1000) await client.psubscribe(...channels.slice(i, i + 1000));
        if (n === 0) await client.ping();
        close = async () => client.disconnect();
      } else {
        const { RedisProvider } = await import(providerUrl);
        const provider = new RedisProvider({
          id: "bench",
          urls: [`redis://127.0.0.1:${port}`],
          cluster_enabled: false,
        });
        await provider.start();
        const handler = () => received++;
        // One subscribe() per channel, as the router does for N users' `notifications.{{ args.id }}`.
        await Promise.all(channels.map((ch) => provider.subscribe([ch], handler)));
        close = () => provider.stop();
      }
      process.send({ type: "ready", setupMs: Math.round(performance.now() - t0) });
    }
  };
  process.on("message", (msg) => {
    onMessage(msg).catch((err) => {
      console.error(err);
      process.exit(1);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/** Returns `reply(type, send?)`: sends `send` (if any) and resolves with the next message of `type`. */
function messages(proc) {
  const waiting = new Map();
  proc.on("message", (msg) => {
    const w = waiting.get(msg.type);
    waiting.delete(msg.type);
    w?.resolve(msg);
  });
  proc.once("exit", (code) => {
    for (const w of waiting.values()) w.reject(new Error(`subscriber exited (${code})`));
  });
  return (type, send) =>
    new Promise((resolve, reject) => {
      waiting.set(type, { resolve, reject });
      if (send) proc.send(send);
    });
}

/**
 * Transpiles src/providers/redis/provider.ts and every relative module it imports into a temporary
 * directory (with node_modules linked to this repository's) and returns the provider's URL there.
 */
function transpileProvider() {
  const ts = createRequire(join(REPO_ROOT, "package.json"))("typescript");
  const dir = mkdtempSync(join(os.tmpdir(), "streamgate-redis-bench-"));
  writeFileSync(join(dir, "package.json"), '{"type":"module"}\n');
  symlinkSync(join(REPO_ROOT, "node_modules"), join(dir, "node_modules"), "dir");
  const hash = createHash("sha256");
  const seen = new Set();
  const visit = (tsPath) => {
    if (seen.has(tsPath)) return;
    seen.add(tsPath);
    const source = readFileSync(tsPath, "utf8");
    hash.update(`${relative(REPO_ROOT, tsPath)}\n${source}`);
    const { outputText } = ts.transpileModule(source, {
      fileName: tsPath,
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    });
    const out = join(dir, relative(REPO_ROOT, tsPath)).replace(/\.ts$/, ".js");
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, outputText);
    // Type-only imports are gone from the output; what is left must be transpiled too.
    for (const [, spec] of outputText.matchAll(/(?:from|import)\s*["'](\.{1,2}\/[^"']+)\.js["']/g)) {
      visit(resolve(dirname(tsPath), `${spec}.ts`));
    }
  };
  const entry = join(REPO_ROOT, "src/providers/redis/provider.ts");
  visit(entry);
  return {
    dir,
    providerUrl: `file://${join(dir, "src/providers/redis/provider.js")}`,
    files: [...seen].map((p) => relative(REPO_ROOT, p)).sort(),
    sha256: hash.digest("hex"),
  };
}

/** Which code was measured (read-only git): commit, and whether the provider's files differ from it. */
function sourceState(build) {
  const git = (...args) => {
    try {
      return execFileSync("git", ["--no-optional-locks", ...args], { cwd: REPO_ROOT, encoding: "utf8" });
    } catch {
      return null;
    }
  };
  return {
    commit: git("rev-parse", "HEAD")?.trim() ?? null,
    changedSinceCommit: (git("status", "--porcelain", "--", ...build.files)?.trimEnd() ?? "")
      .split("\n")
      .filter(Boolean)
      .map((l) => l.slice(3)),
    transpiledFiles: build.files,
    sourceSha256: build.sha256,
  };
}

/** A redis-server with persistence off on a free loopback port; the pub/sub buffer limit is off. */
async function startRedisServer() {
  const port = await freePort();
  const proc = spawn(
    "redis-server",
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      // A subscriber behind by more than 32 MB would be disconnected; the bench counts deliveries.
      "--client-output-buffer-limit",
      "pubsub 0 0 0",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let log = "";
  await new Promise((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server not ready:\n${log}`)), 15_000);
    const onData = (chunk) => {
      log = (log + chunk).slice(-4096);
      if (log.includes("Ready to accept connections")) {
        clearTimeout(timer);
        resolveReady();
      }
    };
    proc.stdout.on("data", onData);
    proc.stderr.on("data", onData);
    proc.once("error", reject);
    proc.once("exit", (code) => reject(new Error(`redis-server exited (${code}):\n${log}`)));
  });
  return {
    port,
    stop: async () => {
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGTERM");
      await exited;
    },
  };
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolvePort(port));
    });
  });
}

function pkgVersion(name) {
  try {
    return JSON.parse(readFileSync(join(REPO_ROOT, "node_modules", name, "package.json"), "utf8")).version;
  } catch {
    return null;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const round2 = (xs) => xs.map((x) => Math.round(x * 100) / 100);

// Last, so every helper above is initialised before it runs.
if (process.argv[2] === "--child") {
  await child();
} else {
  await main();
}
