/**
 * Issue 16, "several instances, 100k clients on this box": N instances of a stack (each its own
 * process and port, one worker, all on one nats-server), C clients spread evenly over them from a
 * generator spread over several processes and source addresses, every client on the same
 * subscription (one subject). Measured from outside:
 *
 *   - the empty instances (the fixed cost), read `emptySettle` s after they listen;
 *   - time until all C are acknowledged, and until all are live (a warm-up event reached each);
 *   - memory per instance and summed, 3 s after the burst (RSS, peak VmHWM) and after `settle` s idle;
 *   - the broker's view: the connections holding a subscription to the subject (one per instance);
 *   - K events, one at a time: each must reach every client once (else the run fails), and the
 *     publish → receipt latency over all C clients per event and over all events, with the CPU of
 *     the instances and of the generator while it fans out.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { GeneratorFleet } from "../lib/gen-fleet.mjs";
import { mergeStats } from "../lib/generator.mjs";
import { round1, sleep } from "../lib/harness.mjs";
import { attach } from "../lib/inspector.mjs";
import {
  brokerSubscriptions,
  instanceMetrics,
  loggedFdLimit,
  memorySnapshot,
  startInstances,
  stopInstances,
  sumSampler,
} from "../lib/instances.mjs";
import { freePort } from "../lib/proc.mjs";
import { stamp } from "../lib/publisher.mjs";
import { SUBSCRIPTION } from "../lib/schema.mjs";
import { coreWindow, cpuWindow, loadavg, tcpExt } from "../lib/sys.mjs";
import { checkStats, drain } from "./common.mjs";

const TOPIC = "1";
const SUBJECT = `employeeUpdated.${TOPIC}`;
const METRICS = [
  "streamgate_connections",
  "streamgate_subscriptions",
  "streamgate_triggers",
  "streamgate_broker_subscriptions",
  // Ended without a close frame: a vanished client or no pong within the idle timeout.
  "streamgate_connections_lost_total",
  "streamgate_slow_clients_closed_total",
];

/** Clients [from, from + count) of instance i: C split evenly, in contiguous blocks. */
export function spread(clients, n) {
  return Array.from({ length: n }, (_, i) => {
    const from = Math.floor((clients * i) / n);
    return { instance: i, from, count: Math.floor((clients * (i + 1)) / n) - from };
  });
}

/** CPU of the instances (their process trees) and of the generator processes over one window. */
function cpuWindows(instances, fleet) {
  const routers = cpuWindow(instances.map((i) => i.pid));
  const gen = cpuWindow(fleet.pids);
  const cores = coreWindow();
  return {
    stop() {
      const r = routers.stop();
      const g = gen.stop();
      return {
        seconds: round1(r.seconds),
        routersCpuS: round1(r.cpuSeconds),
        generatorCpuS: round1(g.cpuSeconds),
        routersCpuPct: round1(r.percent),
        routersKernelCpuPct: round1(r.sysPercent),
        routersRunQueueWaitPct: round1(r.runQueueWaitPercent),
        generatorCpuPct: round1(g.percent),
        coreUse: cores.stop(),
      };
    },
  };
}

/**
 * Warm-up events ("w<k>:<ts>") until `expect` clients received one, one at a time: the next only
 * when the last stopped reaching new clients for 2 s. (lib/publisher.mjs's warmUp publishes every
 * interval: at 100k clients one fan-out takes longer than that, and a warm-up that cannot finish
 * piles events on the generator until it reads pings too late and servers close it.)
 */
async function warmUpGently(pub, gen, expect, timeoutMs) {
  const t0 = performance.now();
  await gen.all("resetWarm");
  let events = 0;
  let warm = 0;
  while (warm < expect && performance.now() - t0 < timeoutMs) {
    pub.publish(TOPIC, `w${events++}:${stamp()}`);
    await pub.flush();
    let last = -1;
    let lastChange = performance.now();
    while (performance.now() - lastChange < 2000 && performance.now() - t0 < timeoutMs) {
      await sleep(100);
      warm = (await gen.status()).warm;
      if (warm >= expect) break;
      if (warm !== last) {
        last = warm;
        lastChange = performance.now();
      }
    }
  }
  return { ok: warm >= expect, warm, events, ms: performance.now() - t0 };
}

/** Runs the scenario on one stack; resolves with {failures, figures}. */
export async function runManyInstances({ stackName, opts, nats, pub, layout, log }) {
  const C = opts.clients;
  const N = opts.instances;
  const failures = [];
  const inspectPort = opts.profileDir && stackName.startsWith("streamgate") ? await freePort() : undefined;
  const instances = await startInstances({
    stackName,
    n: N,
    brokerUrl: nats.url,
    cpus: layout?.router,
    nodeArgs: opts.nodeArgs,
    inspectFirst: inspectPort,
  });
  let fleet;
  try {
    log(`${N} × ${stackName} listening on ${instances.map((i) => i.port).join(", ")}`);
    await sleep(opts.emptySettleS * 1000);
    const empty = memorySnapshot(instances);
    const openFilesLimit = loggedFdLimit(instances[0]);
    fleet = new GeneratorFleet({
      processes: opts.genProcesses,
      workersPerProcess: opts.genWorkers,
      totalClients: C,
      client: opts.client,
      addressBlock: opts.addressBlock,
      cpus: layout?.load,
    });
    await fleet.ready;
    const jobs = spread(C, N).map((s) => ({
      url: `ws://127.0.0.1:${instances[s.instance].port}/graphql`,
      from: s.from,
      count: s.count,
    }));

    // The connect burst.
    const sampler = sumSampler(instances, 250);
    const connectCpu = cpuWindows(instances, fleet);
    const tcp0 = tcpExt();
    const load0 = loadavg();
    const t0 = performance.now();
    const conn = await fleet.connect({ jobs, query: SUBSCRIPTION, topics: [TOPIC], concurrency: opts.concurrency });
    const connectedMs = performance.now() - t0;
    log(`${conn.acked}/${C} acknowledged in ${Math.round(connectedMs)} ms (${conn.failed} failed); warming up`);
    const connectLoad = connectCpu.stop();
    const tcp1 = tcpExt();
    // Machine-wide: other work's connections count too; a full listen queue costs a client 1 s+.
    const tcpDuringConnect =
      tcp0 && tcp1 ? Object.fromEntries(Object.keys(tcp1).map((k) => [k, tcp1[k] - tcp0[k]])) : null;
    const connectStats = await fleet.stats({});
    // Clients that never connected are a failure of the run (below); the rest is measured on those held.
    const held = conn.acked;
    const warmCpu = cpuWindows(instances, fleet);
    const warm = await warmUpGently(pub, fleet, held, opts.warmupTimeoutMs);
    const liveMs = performance.now() - t0;
    const warmLoad = warmCpu.stop();
    if (conn.acked !== C) failures.push(`only ${conn.acked}/${C} connections acknowledged (${conn.failed} failed)`);
    if (!warm.ok) failures.push(`only ${warm.warm}/${held} subscriptions became live`);
    log(`${warm.warm}/${held} live after ${Math.round(liveMs)} ms (${warm.events} warm-up events)`);

    await sleep(3000);
    const afterBurst = memorySnapshot(instances);
    const burstMax = sampler.stop();
    const broker = await brokerSubscriptions(nats.monitorUrl, SUBJECT);
    const metrics = stackName.startsWith("streamgate") ? await instanceMetrics(instances, METRICS) : null;
    if (broker.holders !== N || broker.matchingSubscriptions !== N)
      failures.push(
        `broker: ${broker.matchingSubscriptions} subscriptions to ${SUBJECT} on ${broker.holders} connections, expected one per instance (${N})`,
      );

    // Idle: memory settles (heap trim, V8 giving back new space).
    const idle = cpuWindows(instances, fleet);
    await sleep(opts.settleS * 1000);
    const idleLoad = idle.stop();
    const settled = memorySnapshot(instances);
    log(`settled: ${settled.sumRssMB} MB summed RSS (${settled.sumPssMB} MB Pss)`);

    // K events, one at a time.
    const session = inspectPort ? await attach(instances[0].pid, inspectPort) : undefined;
    await session?.startProfile();
    const events = [];
    const eventStats = [];
    for (let k = 1; k <= opts.events; k++) {
      await fleet.all("reset");
      await sleep(opts.eventGapMs);
      const cpu = cpuWindows(instances, fleet);
      const t = stamp();
      pub.publish(TOPIC, `${k}:${stamp()}`);
      await pub.flush();
      const got = await drain(fleet, held, { stallMs: 10_000, maxMs: opts.drainTimeoutMs });
      const load = cpu.stop();
      const stats = await fleet.stats({ [TOPIC]: 1 }, { raw: true });
      eventStats.push(stats);
      const eventFailures = checkStats(stats, `event ${k}`);
      if (got < held) eventFailures.push(`event ${k}: delivered to ${stats.received} of ${held} clients`);
      failures.push(...eventFailures);
      events.push({
        event: k,
        delivered: stats.received,
        missing: held - stats.received,
        latencyMs: stats.latency,
        firstReceiptMs: stats.firstRecv ? round1(stats.firstRecv - t) : null,
        lastReceiptMs: stats.lastRecv ? round1(stats.lastRecv - t) : null,
        ...load,
        ok: eventFailures.length === 0,
      });
      log(
        `event ${k}: ${stats.received}/${held}, p50 ${stats.latency?.p50} p99 ${stats.latency?.p99} max ${stats.latency?.max} ms`,
      );
    }
    if (session) {
      const profile = await session.stopProfile();
      session.close();
      const file = join(opts.profileDir, `many-instances-${stackName}-instance0.cpuprofile`);
      writeFileSync(file, JSON.stringify(profile));
      log(`CPU profile of instance 0 over the events: ${file}`);
    }
    const all = mergeStats(eventStats);
    const end = await fleet.stats({});
    const after = memorySnapshot(instances);
    const status = await fleet.status();
    if (status.open !== held) failures.push(`${held - status.open} held connections closed during the run`);
    const dead = after.perInstance.filter((i) => !i.alive).map((i) => i.instance);
    if (dead.length) failures.push(`instance(s) ${dead.join(", ")} exited`);
    return {
      failures,
      figures: {
        clients: C,
        instances: N,
        clientsPerInstance: jobs.map((j) => j.count),
        generatorProcesses: opts.genProcesses,
        sourceAddresses: Math.max(1, Math.ceil(C / opts.addressBlock)),
        sourceAddressesBound: C > opts.addressBlock,
        openFilesLimit,
        connect: {
          acked: conn.acked,
          failed: conn.failed,
          allAckedS: round1(connectedMs / 1000),
          allLiveS: round1(liveMs / 1000),
          live: warm.warm,
          loadBefore: load0,
          tcpDuringConnect,
          failureReasons: connectStats.connectFailures,
          ...connectLoad,
          warmUp: { events: warm.events, seconds: round1(warm.ms / 1000), ...warmLoad },
        },
        memory: {
          empty,
          afterBurst,
          maxSumRssDuringBurstMB: burstMax.maxSumRssMB,
          settled,
          settleS: opts.settleS,
          afterEvents: after,
        },
        idle: idleLoad,
        broker,
        metrics,
        events,
        // Unexpected closes of held clients by close code (1006: the TCP connection ended without a
        // close frame, e.g. a server's idle timeout after pings went unanswered), over the run.
        clientCloses: { byCode: end.closes, errors: end.errors, samples: end.errorSamples.slice(0, 5) },
        allEvents: {
          delivered: all.received,
          expected: held * opts.events,
          clientsNeverConnected: C - held,
          latencyMs: all.latency,
        },
      },
    };
  } finally {
    await fleet?.close().catch(() => {});
    await stopInstances(instances);
  }
}
