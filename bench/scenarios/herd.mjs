/**
 * Scenario herd (issue 11, the thundering herd): N at-least-once clients (default 10,000) on
 * JetStream; events keep being published (`--rate` events/s per topic, stored with a PubAck each)
 * for `--duration` seconds; at `--kill-at` s the router is SIGKILLed, `--down` s later it is started
 * again on the same config (same instance id, a new port), and every client reconnects to it at
 * once (`--resume-concurrency` handshakes in flight per generator worker, default all) and resumes
 * from its last cursor (a failed connection retries with backoff and jitter, as the client SDK does).
 *
 * Passes only when every client holds every event published (1..E on its topic; duplicates are
 * allowed by at-least-once and counted), no frame carries `extensions.gap`, no error frame or
 * unexpected close came after the resume, and no publish was refused. Reports the time from the
 * resume to each client holding every event published before it (p50/p99/all), to all events, the
 * reconnect times, the duplicates, the restarted router's peak RSS (target ≤ 250 MB), and the
 * router's and the generator's CPU from the resume until every client had every event.
 */
import { mb, round1, rssSampler, sleep } from "../lib/harness.mjs";
import { publishAtRate } from "../lib/publisher.mjs";
import { checkStats, generatorCpu, percentiles, readMetrics } from "./common.mjs";

/** The restarted router's warn/error log lines (pino JSON, level ≥ 40) in its output's tail. */
function warnings(tail) {
  const out = [];
  for (const line of tail.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const e = JSON.parse(line);
      if (e.level >= 40 && out.length < 10) out.push(line.slice(0, 500));
    } catch {
      // a line cut by the tail's start
    }
  }
  return out;
}

/** Sums the per-worker herdStats. */
function mergeHerd(parts) {
  const out = { caughtUpMs: [], missingSamples: [] };
  for (const p of parts)
    for (const [k, v] of Object.entries(p)) {
      if (Array.isArray(v)) out[k].push(...v);
      else out[k] = (out[k] ?? 0) + v;
    }
  out.missingSamples = out.missingSamples.slice(0, 5);
  return out;
}

/**
 * Waits until every client holds all `events`, or no client gained an event for `stallMs`, or
 * `maxMs` passed.
 */
async function drainHerd(gen, events, clients, { stallMs, maxMs, t0 }) {
  let last = -1;
  let lastChange = performance.now();
  let allCaughtUpMs = null;
  for (;;) {
    const parts = await gen.all("herdProgress", { events });
    const caughtUp = parts.reduce((s, p) => s + p.caughtUp, 0);
    const complete = parts.reduce((s, p) => s + p.complete, 0);
    const distinct = parts.reduce((s, p) => s + p.distinct, 0);
    if (allCaughtUpMs === null && caughtUp >= clients) allCaughtUpMs = performance.now() - t0;
    if (complete >= clients) return { complete, allCompleteMs: performance.now() - t0, allCaughtUpMs };
    if (distinct !== last) {
      last = distinct;
      lastChange = performance.now();
    }
    if (performance.now() - lastChange > stallMs || performance.now() - t0 > maxMs)
      return { complete, allCompleteMs: null, allCaughtUpMs };
    await sleep(100);
  }
}

export default {
  number: 96,
  name: "herd",
  defaults: {
    clients: 10_000,
    duration: 20,
    // 10,000 clients × 2 ev/s = 20k deliveries/s live: well inside what the one-core generator reads,
    // so what the run measures is the resume, not a generator that fell behind before the kill.
    rate: 2,
    killAt: 5,
    down: 2,
    broker: "jetstream",
    stacks: ["streamgate-alo"],
  },
  async run(ctx, opts) {
    const failures = [];
    if (!ctx.cursors) failures.push(`${ctx.stackName} gives no cursors: resume needs an at-least-once stack`);
    if (!(opts.killAt + opts.down < opts.duration))
      failures.push(
        `--kill-at ${opts.killAt} + --down ${opts.down} must be shorter than --duration ${opts.duration}`,
      );
    const connect = await ctx.connect(opts.clients, 0, { track: true });
    if (!connect.allLive) failures.push(`only ${connect.live}/${opts.clients} subscriptions became live`);
    // A stack without cursors still runs: what it loses is then counted and reported too.
    if (!connect.allLive || failures.some((f) => f.startsWith("--kill-at")))
      return { failures, figures: { ...connect } };
    await ctx.gen.all("reset");

    // Publishing runs through everything below. publishAtRate hands one event per topic to the
    // publisher per tick, synchronously, so `handed / topics` is the last tick handed over.
    let handed = 0;
    const counted = {
      publish(topic, id) {
        ctx.pub.publish(topic, id);
        handed++;
      },
      flush: () => ctx.pub.flush(),
    };
    const sent = () => Math.floor(handed / ctx.topics.length);
    const ticks = Math.round(opts.rate * opts.duration);
    const publishing = publishAtRate(counted, { topics: ctx.topics, rate: opts.rate, count: ticks, seq0: 1 });

    const firstRun = rssSampler(ctx.pids, 250);
    await sleep(opts.killAt * 1000);
    await ctx.gen.all("armDrop");
    const rssBeforeKill = firstRun.stop();
    const killedAt = sent();
    const killed = await ctx.kill();
    await sleep(opts.down * 1000);
    const r0 = performance.now();
    await ctx.respawn();
    const restartMs = performance.now() - r0;
    const sampler = rssSampler(ctx.pids, 100);
    // Who was busy while everyone resumed: the router, or the generator reading the replays.
    const stackCpu = ctx.measureCpu();
    const genCpu = generatorCpu();
    const dropped = (await ctx.gen.all("dropped")).reduce((s, d) => s + d.closed, 0);

    const target = sent();
    const t0 = performance.now();
    const t0Abs = performance.timeOrigin + t0;
    const resumed = await ctx.gen.all("resume", {
      url: ctx.url,
      query: ctx.query,
      concurrency: opts.resumeConcurrency,
      target,
      t0: t0Abs,
    });
    const reconnectMs = performance.now() - t0;
    const pub = await publishing;
    const events = ticks;
    const drained = await drainHerd(ctx.gen, events, opts.clients, {
      stallMs: 15_000,
      maxMs: opts.drainTimeoutMs,
      t0,
    });
    const mem = sampler.stop();
    const cpu = stackCpu.stop();
    const gcpu = genCpu.stop();
    await sleep(300); // late duplicates
    const herd = mergeHerd(await ctx.gen.all("herdStats", { events, t0: t0Abs }));
    const stats = await ctx.gen.stats({});
    const metrics = await readMetrics(ctx.started.port, [
      "streamgate_delivery_resumes_total",
      "streamgate_delivery_replayed_events_total",
      "streamgate_delivery_gaps_total",
      "streamgate_delivery_cursors_refused_total",
    ]);

    const routerWarnings = warnings(ctx.started.child.tail());
    const failedResumes = resumed.reduce((s, r) => s + r.failed, 0);
    const noCursor = resumed.reduce((s, r) => s + r.noCursor, 0);
    failures.push(...checkStats({ ...stats, missingClients: 0, outOfOrder: 0 }, "herd"));
    if (ctx.pub.errors > 0)
      failures.push(`publisher: ${ctx.pub.errors} events refused (${ctx.pub.lastError})`);
    if (noCursor > 0) failures.push(`${noCursor} clients had no cursor to resume from`);
    if (failedResumes > 0) failures.push(`${failedResumes} clients could not reconnect`);
    if (herd.missingClients > 0)
      failures.push(
        `${herd.missingClients} clients missed ${herd.missingEvents} events (${herd.missingSamples.join("; ")})`,
      );
    if (herd.beyond > 0) failures.push(`${herd.beyond} clients received events past the last one published`);
    if (stats.gaps > 0) failures.push(`${stats.gaps} frames carried extensions.gap`);
    if (stats.outOfOrder > 0) failures.push(`${stats.outOfOrder} events arrived after a later one (order)`);
    if (dropped < opts.clients) failures.push(`only ${dropped}/${opts.clients} clients saw the router die`);
    const acks = resumed.flatMap((r) => r.acks);
    return {
      failures,
      figures: {
        clients: opts.clients,
        topics: ctx.topics.length,
        rate: opts.rate,
        durationS: opts.duration,
        killAtS: opts.killAt,
        downS: opts.down,
        resumeConcurrency: opts.resumeConcurrency,
        connect,
        published: events * ctx.topics.length,
        eventsPerClient: events,
        publishedBeforeKill: killedAt,
        publishedBeforeResume: target,
        achievedPublishRate: round1(pub.achievedRate),
        killedWith: killed,
        restartMs: Math.round(restartMs),
        reconnectAllMs: Math.round(reconnectMs),
        reconnectMs: percentiles(acks),
        resumeAttempts: resumed.reduce((s, r) => s + r.attempts, 0),
        caughtUpMs: percentiles(herd.caughtUpMs),
        allCaughtUpMs: drained.allCaughtUpMs === null ? null : Math.round(drained.allCaughtUpMs),
        allCompleteMs: drained.allCompleteMs === null ? null : Math.round(drained.allCompleteMs),
        clientsComplete: herd.complete,
        missingClients: herd.missingClients,
        missingEvents: herd.missingEvents,
        deliveries: stats.received,
        duplicates: herd.duplicates,
        clientsWithDuplicates: herd.clientsWithDuplicates,
        gaps: stats.gaps,
        latencyMs: stats.latency,
        routerCpuPct: round1(cpu.percent),
        routerRunQueueWaitPct: round1(cpu.runQueueWaitPercent),
        generatorCpuPct: round1(gcpu.percent),
        generatorSaturated: gcpu.percent > 90 * opts.loadCores,
        rssBeforeKillMaxMB: mb(rssBeforeKill.maxRss),
        rssPeakMB: mb(mem.maxRss),
        rssAfterMB: mb(ctx.rss()),
        socketMemMaxMB: mb(mem.maxSocketMem),
        routerMetrics: metrics,
        routerWarnings,
      },
    };
  },
};
