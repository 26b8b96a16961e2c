/**
 * What every scenario shares: the broker, the pinned stack, the generator with N clients connected
 * and warm, the publisher, and /proc sampling of the stack's process tree.
 */
import { readdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Generator, percentileOf } from "./generator.mjs";
import { attach } from "./inspector.mjs";
import { freePort } from "./proc.mjs";
import { brokerPublisher, startBrokerServer } from "./brokers.mjs";
import { httpPublisher, warmUp } from "./publisher.mjs";
import { SUBSCRIPTION } from "./schema.mjs";
import { STACKS } from "./stacks.mjs";
import { cpuWindow, nofileLimit, sockstat, treeCpuSeconds, treeRss } from "./sys.mjs";

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const MB = 1024 * 1024;
export const mb = (bytes) => Math.round((bytes / MB) * 10) / 10;

/** Samples RSS (and kernel socket memory) of `pids` every `everyMs` until stop(); keeps max. */
export function rssSampler(pids, everyMs = 250) {
  let max = treeRss(pids);
  let last = max;
  let maxSock = sockstat()?.tcpMemBytes ?? 0;
  const timer = setInterval(() => {
    last = treeRss(pids);
    if (last > max) max = last;
    const s = sockstat()?.tcpMemBytes ?? 0;
    if (s > maxSock) maxSock = s;
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return { maxRss: max, lastRss: last, maxSocketMem: maxSock };
    },
  };
}

/** The broker for the run: its server pinned with the load side, or memory://. */
export async function startBroker(broker, layout, { topics } = {}) {
  return startBrokerServer(broker, { cpus: layout?.load, topics });
}

/**
 * Starts `stackName`, connects `clients` clients (one subscription each on `topics`), warms up.
 * Returns the context a scenario body uses; `close()` tears everything down.
 */
export async function setUp({ stackName, opts, broker, layout, limits, nodeArgs, topics }) {
  const stack = STACKS[stackName];
  const limit = nofileLimit()?.soft ?? Number.POSITIVE_INFINITY;
  const needed = opts.clients * stack.fdsPerClient + 256;
  if (needed > limit) {
    return {
      skipped: `needs ~${needed} file descriptors in one process (${stack.fdsPerClient} per client); RLIMIT_NOFILE is ${limit} here and cannot be raised (no CAP_SYS_RESOURCE)`,
    };
  }
  if (!stack.brokers.includes(broker.kind)) {
    return { skipped: `does not support the ${broker.kind} broker path` };
  }
  const inspectPort = opts.profileDir && stackName === "streamgate" ? await freePort() : undefined;
  // A variant's shared state (the JWKS server and key) and what its clients send (tokens, query).
  const fixture = await stack.variant?.fixture?.();
  const client = {
    query: SUBSCRIPTION,
    ...(await stack.variant?.clients?.({ clients: opts.clients, topics, fixture })),
  };
  const started = await stack.start({
    brokerKind: broker.kind,
    brokerUrl: broker.url,
    cpus: layout?.router,
    limits,
    nodeArgs: inspectPort ? [...nodeArgs, `--inspect-port=127.0.0.1:${inspectPort}`] : nodeArgs,
    fixture,
  });
  const pids = started.pids;
  const rssEmpty = treeRss(pids);
  const gen = new Generator({ workers: opts.workers, totalClients: opts.clients, client: opts.client });
  const url = `ws://127.0.0.1:${started.port}/graphql`;
  const pub =
    broker.kind === "memory"
      ? httpPublisher(`http://127.0.0.1:${started.port}/graphql`)
      : await brokerPublisher(broker.kind, broker.url);
  const ctx = {
    stackName,
    brokerKind: broker.kind,
    stack,
    started,
    pids,
    gen,
    pub,
    url,
    topics,
    rssEmpty,
    query: client.query,
    client,
    /** Every measured delivery of this stack carries extensions.cursor (none may otherwise). */
    cursors: Boolean(stack.variant?.cursors),
    /**
     * Connects `count` more clients (global indices from `from`); all `from + count` must be live.
     * `track`: each client keeps its last cursor and which events it saw (scenario herd).
     */
    async connect(count = opts.clients, from = 0, { track = false } = {}) {
      const cpu = cpuWindow(ctx.pids);
      const r = await gen.connect({
        url: ctx.url,
        ...client,
        count,
        from,
        topics,
        concurrency: opts.concurrency,
        track,
      });
      const cpuConnect = cpu.stop();
      const warm = await warmUp(pub, gen, { topics, expect: from + count, timeoutMs: opts.warmupTimeoutMs });
      return {
        clients: count,
        acked: r.acked,
        failed: r.failed,
        connectMs: Math.round(r.ms),
        connectRate: r.acked > 0 ? Math.round(r.acked / (r.acks[r.acks.length - 1] / 1000)) : 0,
        ack95Ms: Math.round(percentileOf(r.acks, 95) ?? 0),
        lastAckMs: Math.round(r.acks[r.acks.length - 1] ?? 0),
        readyMs: Math.round(r.ms + warm.ms),
        allLive: warm.ok,
        live: warm.warm,
        routerCpuDuringConnectPct: round1(cpuConnect.percent),
      };
    },
    measureCpu: () => cpuWindow(ctx.pids),
    /** Starts a CPU profile of the stack (Streamgate with --cpu-prof only); resolves to stop(label). */
    async profileWindow() {
      if (!inspectPort) return { stop: async () => undefined };
      const session = await attach(pids[0], inspectPort);
      await session.startProfile();
      return {
        async stop(label) {
          const profile = await session.stopProfile();
          session.close();
          const file = join(opts.profileDir, `${stackName}-${label}.cpuprofile`);
          writeFileSync(file, JSON.stringify(profile));
          return file;
        },
      };
    },
    /** Asks the stack for a heap snapshot (started with --heapsnapshot-signal=SIGUSR2). */
    async heapSnapshot(label) {
      const dir = opts.heapSnapshot;
      const before = new Set(readdirSync(dir));
      process.kill(pids[0], "SIGUSR2");
      let file;
      let size = -1;
      for (let i = 0; i < 600; i++) {
        await sleep(500);
        file ??= readdirSync(dir).find((f) => !before.has(f) && f.endsWith(".heapsnapshot"));
        if (!file) continue;
        const now = statSync(join(dir, file)).size;
        if (now === size && now > 0) break;
        size = now;
      }
      if (file) renameSync(join(dir, file), join(dir, `${stackName}-${label}.heapsnapshot`));
    },
    rss: () => treeRss(ctx.pids),
    cpuSeconds: () => treeCpuSeconds(ctx.pids),
    /** SIGKILLs the stack (scenario herd); resolves with how it ended. */
    kill: () => ctx.started.child.stop("SIGKILL"),
    /** Starts the stack again on the same config (Streamgate only); `ctx.url`/`ctx.pids` follow. */
    async respawn() {
      if (!ctx.started.respawn) throw new Error(`${stackName} cannot be restarted by the harness`);
      ctx.started = await ctx.started.respawn();
      ctx.pids = ctx.started.pids;
      ctx.url = `ws://127.0.0.1:${ctx.started.port}/graphql`;
      return ctx.started;
    },
    async close() {
      await gen.close().catch(() => {});
      await pub.close().catch(() => {});
      const code = await ctx.started.child.stop("SIGTERM", 5000);
      return code;
    },
  };
  return ctx;
}

export const round1 = (x) => (x === null || x === undefined ? x : Math.round(x * 10) / 10);

/** Median of numbers (null-safe). */
export function median(xs) {
  const v = xs.filter((x) => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}
